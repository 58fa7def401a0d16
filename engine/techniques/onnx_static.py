"""onnx-int8-static: ONNX Runtime with int8 weights AND int8 activations whose ranges were calibrated once on
the task's training sentences (engine.techniques.calibration), instead of measured on every batch.

Format QDQ (QuantizeLinear/DequantizeLinear pairs around each quantized MatMul; ONNX Runtime fuses them into
int8 kernels when it loads the graph): the graph stays readable and every runtime understands it. Weights int8
per output channel in 7 bits and activations uint8, for the reason onnx.py gives (AVX2 without VNNI saturates
8-bit weights). Quantized: the MatMuls with a weight and the embedding lookups (Gather: most of a small
encoder's bytes). Kept in fp32:
- the attention products of two activations, as in dynamic int8: their ranges swing with sentence length;
- the feed-forward down-projections, whose input is the GELU's output: a few huge outliers there stretch one
  per-tensor range so far that ordinary values round to a handful of levels. On minilm-l3 (300 movie test
  sentences) quantizing them changed 22 fp32 answers and cost 4 points; kept in fp32, 6 and 0 points.
Ranges: min/max over the batches (ORT's percentile and entropy calibrators need equal-length batches, and
serving batches are not).
"""

from __future__ import annotations

import time
from pathlib import Path

from engine.models.onnx_model import OnnxModel
from engine.models.text_model import TextModel, count_parameters
from engine.techniques.base import TechniqueContext
from engine.techniques.calibration import Calibration, calibration_data
from engine.techniques.onnx import (
    PER_CHANNEL,
    REDUCE_RANGE,
    export,
    mb,
    op_counts,
    output_name,
    quiet_quantizer,
    require_fp32,
    work_dir,
)

STEP = "onnx-int8-static"


def onnx_int8_static(classifier: TextModel, ctx: TechniqueContext) -> OnnxModel:
    module = require_fp32(classifier, STEP)
    calibration = calibration_data(ctx.task, classifier.tokenizer, ctx.seed, classifier.max_length)
    with work_dir() as folder:
        fp32_path, int8_path = folder / "model-fp32.onnx", folder / "model-int8-static.onnx"
        ctx.progress(0.0, "Exporting to ONNX")
        export_s = export(module, fp32_path, output_name(ctx.task))
        ctx.progress(0.3, f"Calibrating int8 on {len(calibration.texts)} training sentences")
        quantize_s, roles = quantize_static_int8(fp32_path, int8_path, calibration)
        ctx.progress(0.9, "Starting ONNX Runtime")
        served = OnnxModel(classifier.name, int8_path, classifier.tokenizer, count_parameters(module),
                           classifier.info, classifier.max_length)
        fp32_mb = mb(fp32_path.stat().st_size)
        (dequantize_nodes,) = op_counts(int8_path, "DequantizeLinear")
    ctx.report(STEP, file_mb=mb(served.size_bytes()), fp32_file_mb=fp32_mb, export_s=round(export_s, 2),
               quantize_s=round(quantize_s, 2), format="QDQ", weight_type="QInt8", activation_type="QUInt8",
               per_channel=PER_CHANNEL, reduce_range=REDUCE_RANGE, calibrate_method="MinMax",
               matmuls_int8=len(roles["weight"]), matmuls_fp32_after_gelu=len(roles["after_gelu"]),
               matmuls_fp32_activations=len(roles["activations"]), dequantize_nodes=dequantize_nodes,
               providers=served.providers,
               **calibration.facts())
    ctx.progress(1.0, "ONNX Runtime ready")
    return served


GELU_OPS = {"Erf", "Gelu", "FastGelu", "Tanh"}  # what a GELU is built from (exact: Erf; tanh approximation)
# x * 0.5 * (1 + erf(x / sqrt 2)): the Erf is up to 4 nodes above what the MatMul reads (BERT's order: 3, MPNet's:
# 4); a q/k/v or FFN-up MatMul meets LayerNorm, the residual Adds and the previous MatMul within 4 instead.
GELU_DEPTH = 4


def matmul_roles(path: Path) -> dict[str, list[str]]:
    """MatMul node names by role: "weight" (quantized), "activations" (two activations), "after_gelu"
    (a weight MatMul reading a GELU's output)."""
    import onnx

    graph = onnx.load(str(path)).graph
    weights = {init.name for init in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}

    def after_gelu(name: str, depth: int = GELU_DEPTH) -> bool:
        node = producer.get(name)
        if node is None:
            return False
        return node.op_type in GELU_OPS or (depth > 1 and any(after_gelu(i, depth - 1) for i in node.input))

    roles: dict[str, list[str]] = {"weight": [], "activations": [], "after_gelu": []}
    for node in (n for n in graph.node if n.op_type == "MatMul"):
        if not any(i in weights for i in node.input):
            roles["activations"].append(node.name)
        elif any(after_gelu(i) for i in node.input if i not in weights):
            roles["after_gelu"].append(node.name)
        else:
            roles["weight"].append(node.name)
    return roles


def quantize_static_int8(fp32_path: Path, int8_path: Path,
                         calibration: Calibration) -> tuple[float, dict[str, list[str]]]:
    """Static QDQ int8, calibrated on `calibration`; (seconds, the MatMuls by role: matmul_roles)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter(calibration.batches)

        def get_next(self) -> dict | None:
            return next(self.batches, None)

    roles = matmul_roles(fp32_path)
    kept = roles["activations"] + roles["after_gelu"]
    started = time.perf_counter()
    with quiet_quantizer():
        quantize_static(fp32_path, int8_path, Reader(), quant_format=QuantFormat.QDQ, per_channel=PER_CHANNEL,
                        reduce_range=REDUCE_RANGE, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=["MatMul", "Gather"], nodes_to_exclude=kept,
                        calibrate_method=CalibrationMethod.MinMax)
    return time.perf_counter() - started, roles
