"""Retrieval (semantic search): texts in, an embedding per text out; similar texts sit close together.

Quality: precision@10 on the test questions (each question queries the others; a hit shares its question
type), with a bootstrap interval over queries; beside it, agreement with people on the task's rated document
pairs (Pearson r of cosine similarity with the mean human rating). Speed: the batch-32 pass is indexing; a
batch-1 query embeds one text and ranks the index. Training signal: a supervised contrastive loss on the
question types (same type = positive pair), and for distillation the teacher's similarity structure: the
student matches the teacher's in-batch cosine-similarity matrix, which needs no shared embedding size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from engine.registry import ModelSpec, TaskSpec, resolve, test_data, transfer_data
from engine.tasks.base import Progress, Servable, TrainingSignal, Workload
from engine.tasks.scoring import Quality, bootstrap, cosine_matrix, human_agreement, precision_at_k

K = 10
CONTRASTIVE_TEMPERATURE = 0.05  # sharp, as in SimCSE / sentence-transformers' MultipleNegativesRankingLoss
UNLABELLED = -1


def nearest(index: Any, vector: Any, k: int = K) -> np.ndarray:
    """The k rows of `index` most similar (cosine) to `vector`: a search as a user would run it."""
    from sklearn.preprocessing import normalize

    scores = normalize(index) @ normalize(vector).T
    scores = np.asarray(scores.toarray() if hasattr(scores, "toarray") else scores).ravel()
    k = min(k, scores.size)
    return np.argpartition(-scores, k - 1)[:k]


class Retrieval:
    id = "retrieval"
    output_name = "embedding"
    not_applicable: dict[str, str] = {}

    def load(self, task: TaskSpec, model: ModelSpec, progress: Progress | None = None) -> Servable:
        report = progress or (lambda fraction, message: None)
        if model.family == "classic":
            from engine.models.tfidf import fit_embedder

            corpus = transfer_data(task)
            report(0.0, "Fitting TF-IDF")
            return fit_embedder(corpus.texts, corpus.source)
        if model.family != "encoder":
            raise ValueError(f"'{model.id}' is a {model.family} model: it has no embedding to search with.")
        from engine.models.encoders import load_encoder
        from engine.models.text_model import PooledEncoder, TextModel

        report(0.0, f"Loading {model.id}")
        encoder = load_encoder(model)
        report(1.0, f"{model.id} ready")
        return TextModel(model.id, "encoder", PooledEncoder(encoder.model, torch.nn.Identity()).eval(),
                         encoder.tokenizer, {"embedding": "mean-pooled last hidden state, cosine similarity"})

    def workload(self, task: TaskSpec, test_set: str, eval_size: int, seed: int = 0) -> Workload:
        questions = test_data(task, test_set, seed).sample(eval_size, seed=seed)
        labels = np.asarray(questions.labels)
        names = list(questions.label_names) if getattr(questions, "label_names", ()) else []
        rated = resolve(task.extra["human_similarity"])() if task.extra.get("human_similarity") else None
        texts = list(questions.texts) + (list(rated.documents) if rated is not None else [])
        n = len(questions)

        def score(outputs: Any) -> Quality:
            hits = precision_at_k(cosine_matrix(outputs[:n]), labels, K)
            low, high = bootstrap(lambda i: float(hits[i].mean()), n, seed)
            extras: dict[str, Any] = {"k": K, "pool": n, "precision_at_k_per_class": {
                (names[c] if c < len(names) else str(c)): round(float(hits[labels == c].mean()), 4)
                for c in np.unique(labels)}}
            if rated is not None:
                extras["human_correlation"] = human_agreement(cosine_matrix(outputs[n:]), rated.human, seed)
                extras["human_source"] = rated.source
            return Quality("precision@10", float(hits.mean()), low, high, n, extras=extras)

        def query(model: Servable, text: str, outputs: Any) -> Any:
            return nearest(outputs[:n], model.outputs([text], batch_size=1))

        return Workload(texts, score, query, questions.source
                        + (f"; {len(rated.documents)} rated documents ({rated.source})" if rated is not None else ""),
                        queries=list(questions.texts))

    def signal(self, task: TaskSpec, seed: int = 0) -> TrainingSignal:
        from engine.models.heads import task_splits

        splits = task_splits(task.id)

        def validation_score(outputs: np.ndarray, targets: Sequence[int]) -> float:
            return float(precision_at_k(cosine_matrix(outputs), np.asarray(targets), K).mean())

        return TrainingSignal(
            texts=splits.train.texts, targets=splits.train.labels,
            validation_texts=splits.validation.texts, validation_targets=splits.validation.labels,
            label_loss=contrastive_loss, teacher_loss=similarity_loss, validation_score=validation_score,
            score_name="val_precision@10", source=splits.train.source,
        )


def contrastive_loss(student: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Supervised contrastive loss (Khosla et al. 2020): each labelled item should be closer to the items of
    its own type in the batch than to the others."""
    labelled = targets != UNLABELLED
    z, y = F.normalize(student[labelled].float(), dim=-1), targets[labelled]
    if z.shape[0] < 2:
        return student.sum() * 0.0
    logits = z @ z.T / CONTRASTIVE_TEMPERATURE
    self_mask = torch.eye(len(y), dtype=torch.bool)
    logits = logits.masked_fill(self_mask, float("-inf"))
    positives = (y[:, None] == y[None, :]) & ~self_mask
    has_positive = positives.any(dim=1)
    if not has_positive.any():
        return student.sum() * 0.0
    log_prob = logits.log_softmax(dim=1).masked_fill(~positives, 0.0)
    per_item = log_prob.sum(dim=1)[has_positive] / positives.sum(dim=1)[has_positive]
    return -per_item.mean()


def similarity_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean squared difference between the student's and the teacher's in-batch cosine similarities, times 10
    to sit on the scale of the contrastive term. `temperature` (a logit softener) does not apply to it."""
    s = F.normalize(student.float(), dim=-1)
    t = F.normalize(teacher.float(), dim=-1)
    return 10.0 * F.mse_loss(s @ s.T, t @ t.T)


KIND = Retrieval()
