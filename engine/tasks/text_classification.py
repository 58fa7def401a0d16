"""Text classification: a text in, one of the task's labels out (sentiment, spam, question type, a CSV).

Models: an encoder with a logistic-regression head on its mean-pooled embedding (trained once per task and
cached), the TF-IDF + logistic regression baseline, or a rule-based classifier (VADER). Quality is the task's
metric (accuracy, F1 of the flagged class, macro F1) with its interval, plus accuracy, balanced accuracy,
per-class F1 and the confusion matrix. Training signal: cross-entropy on the labels; a teacher's softened
logits for distillation (Hinton et al. 2015).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from engine.registry import ModelSpec, TaskSpec, resolve, test_data
from engine.tasks.base import Progress, Servable, TrainingSignal, Workload
from engine.tasks.scoring import classification_quality, point_score

UNLABELLED = -1  # a transfer text: only the teacher's answer trains on it
RULE_BASED = {"vader": "engine.models.vader:load"}


def metric_score(task: TaskSpec) -> tuple[Any, str]:
    """(score(true, predicted) -> float, its name) for choosing heads and stopping early by the task's metric."""
    labels = max(2, len(task.labels))

    def score(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
        return point_score(task.metric, np.asarray(y_true), np.asarray(y_pred), task.positive_label, labels)

    return score, "val_accuracy" if task.metric == "accuracy" else f"val_{task.metric}"


class TextClassification:
    id = "text-classification"
    output_name = "logits"
    not_applicable: dict[str, str] = {}

    def load(self, task: TaskSpec, model: ModelSpec, progress: Progress | None = None) -> Servable:
        report = progress or (lambda fraction, message: None)
        if model.family == "rule-based":
            if task.labels != ("negative", "positive"):
                raise ValueError(f"'{model.id}' is a sentiment lexicon: it cannot label {task.id}.")
            return resolve(RULE_BASED[model.weights.format])()
        score, name = metric_score(task)
        if model.family == "llm":  # prompted, not fitted; its decision bias is fitted by the task's metric
            from engine.models.llm_classifier import load_prompt_classifier

            return load_prompt_classifier(task, model, score, progress)
        if model.family == "classic":
            from engine.models.tfidf import fit_classifier

            report(0.0, "Fitting TF-IDF + logistic regression")
            from engine.models.heads import task_splits

            splits = task_splits(task.id)
            fitted = fit_classifier(splits.train.texts, splits.train.labels, splits.validation.texts,
                                    splits.validation.labels, score, name)
            report(1.0, "tfidf ready")
            return fitted
        from engine.models.encoders import load_encoder
        from engine.models.heads import load_or_train_head
        from engine.models.text_model import PooledEncoder, TextModel

        report(0.0, f"Loading {model.id}")
        encoder = load_encoder(model)
        head, info = load_or_train_head(task.id, model.id, encoder, progress, score, name)
        report(1.0, f"{model.id} ready")
        return TextModel(model.id, "encoder", PooledEncoder(encoder.model, head).eval(), encoder.tokenizer, info)

    def workload(self, task: TaskSpec, test_set: str, eval_size: int, seed: int = 0) -> Workload:
        data = test_data(task, test_set, seed).sample(eval_size, seed=seed)
        labels = list(data.labels)

        def score(outputs: Any) -> Any:
            predicted = np.asarray(outputs).argmax(axis=-1)
            return classification_quality(task.metric, labels, predicted, task.labels, task.positive_label, seed)

        return Workload(list(data.texts), score, lambda model, text, _: model.outputs([text], batch_size=1),
                        data.source)

    def signal(self, task: TaskSpec, seed: int = 0) -> TrainingSignal:
        from engine.models.heads import task_splits

        splits = task_splits(task.id)
        score, name = metric_score(task)

        def validation_score(outputs: np.ndarray, targets: Sequence[int]) -> float:
            return score(targets, np.asarray(outputs).argmax(axis=-1))

        return TrainingSignal(
            texts=splits.train.texts, targets=splits.train.labels,
            validation_texts=splits.validation.texts, validation_targets=splits.validation.labels,
            label_loss=label_loss, teacher_loss=teacher_loss, validation_score=validation_score,
            score_name=name, source=splits.train.source,
        )


def label_loss(student: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    labelled = targets != UNLABELLED
    return F.cross_entropy(student[labelled].float(), targets[labelled]) if labelled.any() else student.sum() * 0.0


def teacher_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """T^2 * KL(softmax(teacher / T) || softmax(student / T)): T softens confident answers so 'how sure'
    carries information too; T^2 keeps the gradients on the scale of the label term."""
    t = temperature
    return t * t * F.kl_div(F.log_softmax(student / t, dim=-1), F.log_softmax(teacher / t, dim=-1),
                            reduction="batchmean", log_target=True)


KIND = TextClassification()
