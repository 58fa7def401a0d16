"""OpenVINO on image models (the image-classification kind's handlers for ov-fp32, ov-bf16, ov-int8): the ONNX
export of engine.techniques.vision read by openvino.Core, compiled with the precision hint; ov-int8 is NNCF
post-training static quantization (its default CNN scheme: int8 convolutions and matrix products) calibrated on
the same training images as onnx-int8-static, never test images. As for text (engine.techniques.openvino), the
size is the IR as saved (no fp16 compression)."""

from __future__ import annotations

import os
import time
from typing import Any

from engine.models.text_model import count_parameters
from engine.models.vision.image_model import ImageModel, pixels
from engine.models.vision.onnx_image import export_images
from engine.models.vision.openvino_image import OpenVinoImageModel
from engine.techniques.base import TechniqueContext
from engine.techniques.onnx import mb, quiet_quantizer, require_fp32, work_dir
from engine.techniques.openvino import fake_quantize_nodes, ir_bytes
from engine.techniques.vision import _footprint, calibration_images

os.environ.setdefault("NNCF_CI", "1")  # NNCF's only telemetry off switch (see engine.techniques.openvino)


def ov_fp32(model: ImageModel, ctx: TechniqueContext) -> OpenVinoImageModel:
    return _serve(model, ctx, "ov-fp32", "f32")


def ov_bf16(model: ImageModel, ctx: TechniqueContext) -> OpenVinoImageModel:
    return _serve(model, ctx, "ov-bf16", "bf16")


def ov_int8(model: ImageModel, ctx: TechniqueContext) -> OpenVinoImageModel:
    return _serve(model, ctx, "ov-int8", "f32", int8=True)


def _serve(model: ImageModel, ctx: TechniqueContext, step: str, precision: str,
           int8: bool = False) -> OpenVinoImageModel:
    import openvino as ov

    module = require_fp32(model, step)
    facts: dict[str, Any] = {}
    with work_dir() as folder:
        ctx.progress(0.0, "Exporting to ONNX")
        facts["export_s"] = round(export_images(module, folder / "model.onnx"), 2)
        graph = ov.Core().read_model(str(folder / "model.onnx"))
        if int8:
            calibration = calibration_images(ctx)
            ctx.progress(0.3, f"Calibrating int8 on {len(calibration)} training images (NNCF)")
            batches = [{"pixels": pixels(calibration[i: i + 32]).numpy()} for i in range(0, len(calibration), 32)]
            started = time.perf_counter()
            with quiet_quantizer():
                import nncf

                graph = nncf.quantize(graph, nncf.Dataset(batches, lambda item: item["pixels"]),
                                      subset_size=len(calibration))
            facts.update(quantize_s=round(time.perf_counter() - started, 2), quantizer="NNCF post-training static",
                         calibration=f"{len(calibration)} training images (never test images)",
                         fake_quantize_nodes=fake_quantize_nodes(graph))
        ctx.progress(0.8, "Compiling for OpenVINO")
        file_bytes = ir_bytes(graph, folder / "model.xml")
        served = OpenVinoImageModel(model, graph, count_parameters(module), file_bytes, precision,
                                    _footprint(module, 1 if int8 else 4))
    ctx.report(step, file_mb=mb(file_bytes), precision_hint=precision,
               precision_applied=served.property("INFERENCE_PRECISION_HINT").get_type_name(),
               threads=int(served.property("INFERENCE_NUM_THREADS")), openvino=ov.__version__, **facts)
    ctx.progress(1.0, "OpenVINO ready")
    return served
