"""onnx-int8-static: ONNX Runtime with int8 weights AND int8 activations whose ranges were calibrated once on
the task's training sentences (engine.techniques.calibration), instead of measured on every batch.

Format QDQ (QuantizeLinear/DequantizeLinear pairs around each quantized MatMul; ONNX Runtime fuses them into
int8 kernels when it loads the graph): the graph stays readable and every runtime understands it. Weights int8
per output channel in 7 bits and activations uint8, for the reason onnx.py gives (AVX2 without VNNI saturates
8-bit weights). Only the MatMuls with a weight are quantized: the attention products of two activations stay
fp32, as in dynamic int8, because their ranges swing with sentence length. Ranges: min/max over the batches.
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
        quantize_s, quantized = quantize_static_int8(fp32_path, int8_path, calibration)
        ctx.progress(0.9, "Starting ONNX Runtime")
        served = OnnxModel(classifier.name, int8_path, classifier.tokenizer, count_parameters(module),
                           classifier.info, classifier.max_length)
        fp32_mb = mb(fp32_path.stat().st_size)
        (dequantize_nodes,) = op_counts(int8_path, "DequantizeLinear")
    ctx.report(STEP, file_mb=mb(served.size_bytes()), fp32_file_mb=fp32_mb, export_s=round(export_s, 2),
               quantize_s=round(quantize_s, 2), format="QDQ", weight_type="QInt8", activation_type="QUInt8",
               per_channel=PER_CHANNEL, reduce_range=REDUCE_RANGE, calibrate_method="MinMax",
               matmuls_int8=quantized, dequantize_nodes=dequantize_nodes, providers=served.providers,
               **calibration.facts())
    ctx.progress(1.0, "ONNX Runtime ready")
    return served


def weight_matmuls(path: Path) -> tuple[list[str], list[str]]:
    """(MatMuls with a weight initializer, MatMuls of two activations) by node name."""
    import onnx

    graph = onnx.load(str(path)).graph
    weights = {init.name for init in graph.initializer}
    matmuls = [node for node in graph.node if node.op_type == "MatMul"]
    with_weight = [n.name for n in matmuls if any(i in weights for i in n.input)]
    return with_weight, [n.name for n in matmuls if n.name not in with_weight]


def quantize_static_int8(fp32_path: Path, int8_path: Path, calibration: Calibration) -> tuple[float, int]:
    """Static QDQ int8 of the weight MatMuls, calibrated on `calibration`; (seconds, MatMuls quantized)."""
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

    quantized, activation_products = weight_matmuls(fp32_path)
    started = time.perf_counter()
    with quiet_quantizer():
        quantize_static(fp32_path, int8_path, Reader(), quant_format=QuantFormat.QDQ, per_channel=PER_CHANNEL,
                        reduce_range=REDUCE_RANGE, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=["MatMul"], nodes_to_exclude=activation_products,
                        calibrate_method=CalibrationMethod.MinMax)
    return time.perf_counter() - started, len(quantized)
