"""OpenVINO runtime techniques (final steps): ov-fp32, ov-bf16, ov-int8.

Route: the same ONNX export as ONNX Runtime (engine.techniques.onnx.export), read by openvino.Core.read_model
(milliseconds). Simpler and sturdier than openvino.convert_model from torch: one exporter for both runtimes,
the graph already takes the task kind's output name, and convert_model would start OpenVINO's telemetry.
- ov-fp32: compiled with INFERENCE_PRECISION_HINT f32 (OpenVINO's default on a bf16 CPU is bf16: the hint
  keeps the same numbers as torch fp32).
- ov-bf16: INFERENCE_PRECISION_HINT bf16: weights stay fp32 in the file, the plugin computes in bfloat16 on
  CPUs that have it (avx512_bf16, AMX) and falls back to f32 where not (recorded: `precision_applied`).
- ov-int8: NNCF post-training static quantization (model_type TRANSFORMER: keeps LayerNorm/softmax/GELU in
  float and smooths activation outliers), calibrated on the task's training sentences (calibration.py).
Size: the IR (.xml + .bin) saved without fp16 compression, so the file is what runs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.models.openvino_model import OpenVinoModel
from engine.models.text_model import TextModel, count_parameters
from engine.techniques.base import TechniqueContext
from engine.techniques.calibration import Calibration, calibration_data
from engine.techniques.onnx import export, mb, output_name, quiet_quantizer, require_fp32, work_dir

# NNCF sends usage telemetry unless told it runs in CI: this environment variable is its only off switch, and
# Rightsize makes no network connection it was not asked for. Set before nncf is first imported.
os.environ.setdefault("NNCF_CI", "1")


# (openvino.Model, the fp32 classifier, ctx, its calibration) -> (the quantized model, facts for the record)
Quantizer = Callable[[Any, TextModel, TechniqueContext, Calibration], tuple[Any, dict[str, Any]]]


def ov_fp32(classifier: TextModel, ctx: TechniqueContext) -> OpenVinoModel:
    return serve(classifier, ctx, "ov-fp32", "f32")


def ov_bf16(classifier: TextModel, ctx: TechniqueContext) -> OpenVinoModel:
    return serve(classifier, ctx, "ov-bf16", "bf16")


def ov_int8(classifier: TextModel, ctx: TechniqueContext) -> OpenVinoModel:
    # f32 around the int8 ops: on a bf16 CPU the default would also turn what stays float into bf16.
    return serve(classifier, ctx, "ov-int8", "f32", _static_int8)


def _static_int8(model: Any, classifier: TextModel, ctx: TechniqueContext,
                 calibration: Calibration) -> tuple[Any, dict[str, Any]]:
    quantized, quantize_s = nncf_int8(model, calibration.batches)
    return quantized, {"quantize_s": round(quantize_s, 2), "quantizer": "NNCF post-training static"}


def serve(classifier: TextModel, ctx: TechniqueContext, step: str, precision: str,
          quantize: Quantizer | None = None) -> OpenVinoModel:
    """Export, read into OpenVINO, quantize (calibrated on the training split) if asked, compile, report."""
    import openvino as ov

    module = require_fp32(classifier, step)
    facts: dict[str, Any] = {}
    with work_dir() as folder:
        ctx.progress(0.0, "Exporting to ONNX")
        onnx_path = folder / "model.onnx"
        facts["export_s"] = round(export(module, onnx_path, output_name(ctx.task)), 2)
        model = ov.Core().read_model(str(onnx_path))
        if quantize:
            calibration = calibration_data(ctx.task, classifier.tokenizer, ctx.seed, classifier.max_length)
            ctx.progress(0.3, f"Calibrating int8 on {len(calibration.texts)} training sentences (NNCF)")
            model, quantized = quantize(model, classifier, ctx, calibration)
            facts.update(model_type="transformer", fake_quantize_nodes=fake_quantize_nodes(model), **quantized,
                         **calibration.facts())
        ctx.progress(0.8, "Compiling for OpenVINO")
        file_bytes = ir_bytes(model, folder / "model.xml")
        served = OpenVinoModel(classifier.name, model, classifier.tokenizer, count_parameters(module), file_bytes,
                               precision, classifier.info, classifier.max_length)
    ctx.report(step, file_mb=mb(file_bytes), precision_hint=precision,
               precision_applied=served.property("INFERENCE_PRECISION_HINT").get_type_name(),  # "bf16" | "f32"
               threads=int(served.property("INFERENCE_NUM_THREADS")), openvino=ov.__version__, **facts)
    ctx.progress(1.0, "OpenVINO ready")
    return served


def nncf_int8(model: Any, batches: list[dict[str, Any]]) -> tuple[Any, float]:
    """NNCF post-training static int8 of an openvino.Model on the calibration batches; (model, seconds)."""
    started = time.perf_counter()
    with quiet_quantizer():
        import nncf  # logs what it found on import

        quantized = nncf.quantize(model, nncf.Dataset(batches), model_type=nncf.ModelType.TRANSFORMER,
                                  subset_size=len(batches))
    return quantized, time.perf_counter() - started


def fake_quantize_nodes(model: Any) -> int:
    """How many int8 quantize points the model has (each op kept in float has none)."""
    return sum(op.get_type_name() == "FakeQuantize" for op in model.get_ops())


def ir_bytes(model: Any, xml_path: Path) -> int:
    """Bytes of the model saved as OpenVINO IR (.xml + .bin), weights as they are (no fp16 compression)."""
    import openvino as ov

    ov.save_model(model, str(xml_path), compress_to_fp16=False)
    return xml_path.stat().st_size + xml_path.with_suffix(".bin").stat().st_size
