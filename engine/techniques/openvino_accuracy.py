"""ov-int8-aware: OpenVINO int8 that keeps the layers costing the most quality in float until the model is
within `max_drop` points of fp32 on the task's VALIDATION split (mixed precision, accuracy-aware).

NNCF's quantize_with_accuracy_control does it: it quantizes as ov-int8 does (calibrated on training sentences),
scores fp32 and int8 on validation sentences with the task kind's own validation score (accuracy, macro-F1,
precision@10: engine.tasks), ranks the quantized ops by how much their int8 rounding moves the outputs, and
reverts the worst ones to float, re-scoring, until the drop is within max_drop. It stops at the first model
that passes: one point of the quality/speed frontier per max_drop; run several (ov-int8-aware:max_drop=0.5,
...=2) to see the frontier with every trial's energy. Test data is never read: the trial scores the result on it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from engine.models.batching import length_sorted_batches
from engine.models.openvino_model import OpenVinoModel
from engine.models.text_model import TextModel
from engine.techniques.base import TechniqueContext
from engine.techniques.calibration import CALIBRATION_BATCH, Calibration
from engine.techniques.onnx import quiet_quantizer
from engine.techniques.openvino import serve

STEP = "ov-int8-aware"
VALIDATION_SENTENCES = 300  # every score NNCF asks for is a pass over them: the cost of the search


def ov_int8_aware(classifier: TextModel, ctx: TechniqueContext, max_drop: float = 1.0) -> OpenVinoModel:
    def quantize(model: Any, fp32: TextModel, ctx: TechniqueContext,
                 calibration: Calibration) -> tuple[Any, dict[str, Any]]:
        return accuracy_controlled_int8(model, fp32, ctx, calibration, max_drop)

    return serve(classifier, ctx, STEP, "f32", quantize)


def accuracy_controlled_int8(model: Any, classifier: TextModel, ctx: TechniqueContext, calibration: Calibration,
                             max_drop_pts: float) -> tuple[Any, dict[str, Any]]:
    from engine.registry import get_task
    from engine.tasks import kind_of

    signal = kind_of(get_task(ctx.task)).signal(get_task(ctx.task), ctx.seed)
    order = np.random.default_rng(ctx.seed).permutation(len(signal.validation_texts))[:VALIDATION_SENTENCES]
    texts = [signal.validation_texts[i] for i in order]
    targets = [signal.validation_targets[i] for i in order]
    items = [{"feeds": {"input_ids": ids.numpy(), "attention_mask": mask.numpy()},
              "targets": [targets[i] for i in indices]}
             for indices, ids, mask in length_sorted_batches(classifier.tokenizer, texts, CALIBRATION_BATCH,
                                                             classifier.max_length)]

    def validate(compiled: Any, data: Iterable[dict[str, Any]]) -> tuple[float, None]:
        rows, wanted = [], []
        for item in data:
            rows.append(np.asarray(compiled(item["feeds"])[0]))
            wanted += item["targets"]
        return float(signal.validation_score(np.concatenate(rows), wanted)), None

    started = time.perf_counter()
    with quiet_quantizer():
        import nncf

        quantized = nncf.quantize_with_accuracy_control(
            model, nncf.Dataset(calibration.batches), nncf.Dataset(items, lambda item: item["feeds"]), validate,
            max_drop=max_drop_pts / 100, drop_type=nncf.DropType.ABSOLUTE, subset_size=len(calibration.batches),
            model_type=nncf.ModelType.TRANSFORMER)
    quantize_s = time.perf_counter() - started
    fp32_score = float(signal.validation_score(classifier.outputs(texts), targets))
    int8_score = float(signal.validation_score(OpenVinoModel("check", quantized, classifier.tokenizer, 0, 0, "f32",
                                                             max_length=classifier.max_length).outputs(texts),
                                               targets))
    return quantized, {
        "quantize_s": round(quantize_s, 2), "quantizer": "NNCF quantize_with_accuracy_control",
        "max_drop_pts": max_drop_pts, "validation_split": "validation", "validation_sentences": len(texts),
        "validation_score": signal.score_name, "validation_fp32": round(fp32_score, 4),
        "validation_int8": round(int8_score, 4), "validation_drop_pts": round((fp32_score - int8_score) * 100, 2),
    }
