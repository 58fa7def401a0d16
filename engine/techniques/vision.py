"""Techniques on image models (the image-classification kind's `handlers`): ONNX Runtime fp32, dynamic int8
(to show it backfiring on convolutions), static calibrated int8 (QDQ), structured channel pruning, distillation
from a large pretrained teacher into a small CNN, and retraining on the labels alone.

Dynamic int8 quantizes activations on the fly per batch; ONNX Runtime runs convolutions that way as
ConvInteger, which has no fast kernel: EfficientNet-Lite0 ran 11x slower than fp32 (83.7 vs 7.3 ms, offline-pack
notes). Static int8 measures the activation ranges once on calibration images (training images only, never
test ones) and stores them in the graph as QuantizeLinear/DequantizeLinear pairs that ONNX Runtime fuses into
int8 convolutions (QLinearConv), the fast path.
"""

from __future__ import annotations

import copy
import logging
import time
from typing import Any

import numpy as np
import torch

from engine.models.vision.image_model import ImageModel, peak_activation_bytes, pixels
from engine.models.vision.onnx_image import OnnxImageModel, export_images
from engine.techniques.base import TechniqueContext
from engine.techniques.onnx import quantize_int8, require_fp32, work_dir

CALIBRATION_IMAGES = 256
RETRAIN_MAX_IMAGES = 5000  # training images a pruned, distilled or retrained CNN trains on (2 cores)
PRETRAINED_FINETUNE_LR = 1e-4  # Adam peak (one cycle) for a pretrained backbone; a CNN from scratch uses 1e-3


def _footprint(module: torch.nn.Module, bytes_per_value: float) -> dict[str, int]:
    return {"peak_activation_bytes": peak_activation_bytes(module, bytes_per_value)}


def onnx_fp32(model: ImageModel, ctx: TechniqueContext) -> OnnxImageModel:
    module = require_fp32(model, "onnx-fp32")
    with work_dir() as folder:
        export_s = export_images(module, folder / "model.onnx")
        served = OnnxImageModel(model, folder / "model.onnx", _footprint(module, 4))
    ctx.report("onnx-fp32", file_mb=round(served.size_bytes() / 1e6, 3), export_s=round(export_s, 2))
    return served


def onnx_int8(model: ImageModel, ctx: TechniqueContext) -> OnnxImageModel:
    """Dynamic int8, as for text encoders: kept to show that it is the wrong tool for convolutions."""
    module = require_fp32(model, "onnx-int8")
    with work_dir() as folder:
        export_images(module, folder / "fp32.onnx")
        quantize_s = quantize_int8(folder / "fp32.onnx", folder / "int8.onnx")
        served = OnnxImageModel(model, folder / "int8.onnx", _footprint(module, 4))
        ops = _op_counts(folder / "int8.onnx")
    ctx.report("onnx-int8", file_mb=round(served.size_bytes() / 1e6, 3), quantize_s=round(quantize_s, 2),
               mode="dynamic (activations quantized per batch at run time)", ops=ops)
    return served


def onnx_int8_static(model: ImageModel, ctx: TechniqueContext) -> OnnxImageModel:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    module = require_fp32(model, "onnx-int8-static")
    calibration = calibration_images(ctx)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{"pixels": pixels(calibration[i: i + 32]).numpy()}
                                 for i in range(0, len(calibration), 32)])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.batches, None)

    with work_dir() as folder:
        export_images(module, folder / "fp32.onnx")
        started = time.perf_counter()
        # 7-bit weights per channel, as the dynamic path (engine.techniques.onnx): no int16 saturation on CPUs
        # without VNNI, and one setting on every machine.
        previous = logging.root.manager.disable
        logging.disable(logging.WARNING)  # the quantizer's pre-processing hint: shape inference is not needed here
        try:
            quantize_static(str(folder / "fp32.onnx"), str(folder / "int8.onnx"), Reader(),
                            quant_format=QuantFormat.QDQ, per_channel=True, reduce_range=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        finally:
            logging.disable(previous)
        quantize_s = time.perf_counter() - started
        served = OnnxImageModel(model, folder / "int8.onnx", _footprint(module, 1))
        ops = _op_counts(folder / "int8.onnx")
    ctx.report("onnx-int8-static", file_mb=round(served.size_bytes() / 1e6, 3), quantize_s=round(quantize_s, 2),
               calibration=f"{len(calibration)} training images (never test images)", format="QDQ",
               per_channel=True, reduce_range=True, ops=ops)
    return served


def calibration_images(ctx: TechniqueContext) -> np.ndarray:
    """The first CALIBRATION_IMAGES of the task's TRAINING split (already shuffled with the task's seed)."""
    from engine.registry import get_task, task_data

    return task_data(get_task(ctx.task), ctx.seed).train.images[:CALIBRATION_IMAGES]


def _op_counts(path: Any) -> dict[str, int]:
    import onnx

    counts: dict[str, int] = {}
    for node in onnx.load(str(path)).graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


def _small_cnn(model: ImageModel, technique: str) -> torch.nn.Module:
    from engine.models.vision.cnn import SmallCnn

    module = require_fp32(model, technique)
    if not isinstance(module, SmallCnn):
        raise ValueError(f"{technique} on images needs a small CNN (cnn-xs/s/m), not {model.name}: EfficientNet-"
                         "Lite's depthwise blocks are not sliced here. Distil it into a CNN instead.")
    return module


def prune_structured(model: ImageModel, ctx: TechniqueContext, keep: float) -> ImageModel:
    """Remove the filters with the smallest L1 norm from every convolution (the next layer loses the matching
    inputs), then retrain briefly on training images: a genuinely smaller, faster CNN."""
    from engine.models.vision.cnn import SmallCnn

    module: SmallCnn = copy.deepcopy(_small_cnn(model, "prune-structured"))
    before = sum(p.numel() for p in module.parameters())
    kept_channels = []
    with torch.no_grad():
        for i, conv in enumerate(module.convs):
            n = max(1, round(conv.out_channels * keep))
            kept = conv.weight.abs().sum(dim=(1, 2, 3)).argsort(descending=True)[:n].sort().values
            kept_channels.append(n)
            module.convs[i] = _sliced_conv(conv, out_index=kept)
            if i + 1 < len(module.convs):
                module.convs[i + 1] = _sliced_conv(module.convs[i + 1], in_index=kept)
            else:
                columns = (kept[:, None] * module.side ** 2 + torch.arange(module.side ** 2)).reshape(-1)
                first = module.fcs[0]
                sliced = torch.nn.Linear(len(columns), first.out_features)
                sliced.weight.copy_(first.weight[:, columns])
                sliced.bias.copy_(first.bias)
                module.fcs[0] = sliced
    facts = _retrain(module, ctx, "prune-structured", epochs=1)
    ctx.report("prune-structured", keep=keep, channels_after=kept_channels, params_before=before,
               params_after=sum(p.numel() for p in module.parameters()), criterion="filter L1 norm", **facts)
    return model.with_module(module.eval())


def _sliced_conv(conv: torch.nn.Conv2d, out_index: torch.Tensor | None = None,
                 in_index: torch.Tensor | None = None) -> torch.nn.Conv2d:
    weight, bias = conv.weight, conv.bias
    if out_index is not None:
        weight, bias = weight[out_index], bias[out_index]
    if in_index is not None:
        weight = weight[:, in_index]
    new = torch.nn.Conv2d(weight.shape[1], weight.shape[0], conv.kernel_size, padding=conv.padding)
    new.weight.copy_(weight)
    new.bias.copy_(bias)
    return new


def _retrain(module: torch.nn.Module, ctx: TechniqueContext, step: str, epochs: int,
             teacher: np.ndarray | None = None, transfer: np.ndarray | None = None,
             lr: float = 1e-3) -> dict[str, Any]:
    """Train `module` in place on (at most RETRAIN_MAX_IMAGES) training images (+ unlabelled transfer images
    with a teacher), measuring the energy as upfront cost; returns the facts a record keeps."""
    from engine.measure.energy import EnergyMeter
    from engine.models.vision.cnn import TrainRecipe, accuracy, fit
    from engine.registry import get_task, task_data

    splits = task_data(get_task(ctx.task), ctx.seed)
    n = min(len(splits.train), RETRAIN_MAX_IMAGES)
    images, labels = splits.train.images[:n], list(splits.train.labels[:n])
    if transfer is not None:
        images, labels = np.concatenate([images, transfer]), labels + [-1] * len(transfer)
    before = accuracy(module, splits.validation.images, splits.validation.labels)
    started = time.perf_counter()
    with EnergyMeter(region=ctx.region) as meter:
        fit(module, images, labels, TrainRecipe(epochs=epochs, min_images_seen=0, lr=lr, seed=ctx.seed),
            lambda f, m: ctx.progress(0.2 + 0.8 * f, m), teacher=teacher, what=step)
    return {"train_images": n, "learning_rate": lr, "transfer_images": 0 if transfer is None else len(transfer),
            "val_accuracy_before": round(before, 4),
            "val_accuracy": round(accuracy(module, splits.validation.images, splits.validation.labels), 4),
            "training_s": round(time.perf_counter() - started, 2),
            "upfront_energy_wh": meter.result.energy_wh, "upfront_s": round(time.perf_counter() - started, 2)}


def finetune(model: ImageModel, ctx: TechniqueContext, epochs: int = 2) -> ImageModel:
    """Retrain on the labels alone: a small CNN whole; an EfficientNet-Lite end to end (backbone and head, its
    BatchNorm statistics moved to these photos) at a tenth of the learning rate, so ImageNet's features are
    adjusted, not overwritten."""
    from engine.models.vision.pretrained import PretrainedClassifier

    source = require_fp32(model, "finetune")
    pretrained = isinstance(source, PretrainedClassifier)
    module = copy.deepcopy(source if pretrained else _small_cnn(model, "finetune"))
    lr = PRETRAINED_FINETUNE_LR if pretrained else 1e-3
    extra = {"backbone": "trained end to end"} if pretrained else {}
    ctx.report("finetune", epochs=epochs, **extra, **_retrain(module, ctx, "finetune", epochs, lr=lr))
    return model.with_module(module.eval())


def distill(model: ImageModel, ctx: TechniqueContext, teacher: str = "efficientnet-lite0", epochs: int = 2,
            transfer: int = 0) -> ImageModel:
    """Retrain the CNN on the teacher's softened answers plus the labels (Hinton et al. 2015); with
    `transfer` > 0 the teacher also labels that many training images whose labels are never read."""
    from engine.models.vision.pretrained import teacher_logits
    from engine.registry import get_task, task_data, transfer_data
    from engine.tasks import load_model

    module = copy.deepcopy(_small_cnn(model, "distill"))
    task = get_task(ctx.task)
    if teacher not in task.models:
        raise ValueError(f"Teacher '{teacher}' is not on the ladder of {task.id}: use one of {', '.join(task.models)}.")
    splits = task_data(task, ctx.seed)
    n = min(len(splits.train), RETRAIN_MAX_IMAGES)
    extra = transfer_data(task, ctx.seed).images[: int(transfer)] if transfer else None
    ctx.progress(0.0, f"Loading the teacher {teacher}")
    started = time.perf_counter()
    from engine.measure.energy import EnergyMeter

    teacher_model = load_model(ctx.task, teacher)
    shown = np.concatenate([splits.train.images[:n], extra]) if extra is not None else splits.train.images[:n]
    with EnergyMeter(region=ctx.region) as meter:
        logits = teacher_logits(teacher_model.module, shown, lambda f, m: ctx.progress(0.2 * f, m))
    teacher_s = time.perf_counter() - started
    facts = _retrain(module, ctx, "distill", epochs, teacher=logits, transfer=extra)
    ctx.report("distill", teacher=teacher, epochs=epochs, teacher_logits_s=round(teacher_s, 2),
               teacher_logits_energy_wh=meter.result.energy_wh,
               teacher_upfront_energy_wh=teacher_model.info.get("upfront_energy_wh"),
               **{**facts, "upfront_energy_wh": facts["upfront_energy_wh"] + meter.result.energy_wh,
                  "upfront_s": facts["upfront_s"] + round(teacher_s, 2)},
               upfront_note="the teacher's pass over the training images + the student's training")
    return model.with_module(module.eval())
