"""Image classification: a (28, 28) grey image in, one of the task's labels out (product photos).

Models: small CNNs trained here from their registry config, and EfficientNet-Lite backbones (ImageNet) with a
head trained on their frozen features (engine.models.vision). Quality: accuracy with its interval, per-class
accuracy and F1, the confusion matrix, and the predictions on a few sample test images (the pages show them).
Techniques whose text implementation reads token ids are replaced for this kind by `handlers`; the others
that cannot apply to images say so through `not_applicable`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from engine.registry import TECHNIQUES, ModelSpec, TaskSpec, task_data, test_data
from engine.tasks.base import Progress, Servable, TrainingSignal, Workload
from engine.tasks.scoring import Quality, classification_quality
from engine.tasks.text_classification import label_loss, teacher_loss

SAMPLES = 16  # test images whose predictions a record keeps, for the pages' image grid
VISION = "engine.techniques.vision"
HANDLERS = {**{name: f"{VISION}:{name.replace('-', '_')}"
               for name in ("onnx-fp32", "onnx-int8", "onnx-int8-static", "prune-structured", "distill", "finetune")},
            **{name: f"{VISION}_openvino:{name.replace('-', '_')}" for name in ("ov-fp32", "ov-bf16", "ov-int8")}}
GENERIC = ("fp32", "bf16", "int8-dynamic")  # work on any torch module
IMAGE_FORMATS = ("cnn", "efficientnet-lite")  # weights formats load() builds


class ImageClassification:
    id = "image-classification"
    output_name = "logits"
    handlers: dict[str, str] = HANDLERS

    @property
    def not_applicable(self) -> dict[str, str]:
        return {name: "it works on text encoders (layers, heads, token ids); this kind has no image version of it."
                for name in TECHNIQUES if name not in HANDLERS and name not in GENERIC}

    def load(self, task: TaskSpec, model: ModelSpec, progress: Progress | None = None) -> Servable:
        from engine.config import settings
        from engine.models.vision.image_model import ImageModel

        splits = task_data(task)
        if model.weights.format == "cnn":
            from engine.models.vision.cnn import RECIPE, CnnConfig, load_or_train

            config = CnnConfig.parse(model.weights.path, len(task.labels))
            recipe = replace(RECIPE, min_images_seen=task.extra.get("min_images_seen", RECIPE.min_images_seen))
            module, info = load_or_train(task.id, model.id, config, splits, settings().default_region, progress,
                                         recipe)
        elif model.weights.format == "efficientnet-lite":
            from engine.models.vision.pretrained import load_pretrained

            module, info = load_pretrained(task.id, model, splits, settings().default_region, progress)
        else:
            raise ValueError(f"'{model.id}' ({model.weights.format}) is not an image model.")
        return ImageModel(model.id, model.family, module, info)

    def workload(self, task: TaskSpec, test_set: str, eval_size: int, seed: int = 0) -> Workload:
        data = test_data(task, test_set, seed)
        order = np.random.default_rng(seed).permutation(len(data))[: max(0, min(eval_size, len(data)))]
        sample = data.take(order, f"{data.source}, sample of {len(order)} (seed {seed})")
        labels = list(sample.labels)

        def score(outputs: Any) -> Quality:
            predicted = np.asarray(outputs).argmax(axis=-1)
            quality = classification_quality(task.metric, labels, predicted, task.labels, task.positive_label, seed)
            y = np.asarray(labels)
            quality.extras["accuracy_per_class"] = {
                name: round(float(np.mean(predicted[y == c] == c)), 4)
                for c, name in enumerate(task.labels) if np.any(y == c)}
            quality.extras["samples"] = {"test_index": order[:SAMPLES].tolist(),
                                         "true": y[:SAMPLES].tolist(), "predicted": predicted[:SAMPLES].tolist()}
            return quality

        return Workload(sample.texts, score, lambda model, image, _: model.outputs([image], batch_size=1),
                        sample.source)

    def signal(self, task: TaskSpec, seed: int = 0) -> TrainingSignal:
        splits = task_data(task, seed)

        def validation_score(outputs: np.ndarray, targets: Sequence[int]) -> float:
            return float(np.mean(np.asarray(outputs).argmax(axis=-1) == np.asarray(targets)))

        return TrainingSignal(
            texts=splits.train.texts, targets=splits.train.labels,
            validation_texts=splits.validation.texts, validation_targets=splits.validation.labels,
            label_loss=label_loss, teacher_loss=teacher_loss, validation_score=validation_score,
            score_name="val_accuracy", source=splits.train.source, extras={"splits": splits},
        )


KIND = ImageClassification()
