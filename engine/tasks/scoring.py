"""Quality metrics and their 95% intervals (numpy only). Each metric id is a key of the registry's METRICS.

Intervals: accuracy keeps its binomial bootstrap (engine.measure.stats); every other metric resamples the
scored items (test texts, queries, or rated pairs) with replacement, recomputes the metric, and takes the
2.5th and 97.5th percentiles: the same seed gives the same interval.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.measure.stats import BOOTSTRAP, bootstrap_accuracy

RESAMPLES = 1000


@dataclass(frozen=True)
class Quality:
    """What a task kind's evaluation returns: the headline metric with its interval, and kind-specific extras."""

    metric: str
    value: float
    ci_low: float
    ci_high: float
    n: int  # items the value was computed on
    method: str = BOOTSTRAP
    extras: dict[str, Any] = field(default_factory=dict)


def bootstrap(statistic: Callable[[np.ndarray], float], n: int, seed: int = 0,
              resamples: int = RESAMPLES) -> tuple[float, float]:
    """Percentile interval of statistic(indices) over index resamples; never excludes the full-data value."""
    value = statistic(np.arange(n))
    rng = np.random.default_rng(seed)
    draws = [statistic(rng.integers(0, n, size=n)) for _ in range(resamples)]
    low, high = np.percentile(np.asarray(draws, dtype=float), [2.5, 97.5], method="linear")
    return min(float(low), value), max(float(high), value)


def f1(y_true: np.ndarray, y_pred: np.ndarray, positive: int) -> float:
    """F1 of one class; 0 when the class is never predicted and never present would be undefined: 0."""
    tp = float(np.sum((y_pred == positive) & (y_true == positive)))
    predicted, actual = float(np.sum(y_pred == positive)), float(np.sum(y_true == positive))
    return 2 * tp / (predicted + actual) if predicted + actual else 0.0


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, classes: int) -> float:
    """Mean F1 over the classes present in y_true (a class absent from a resample does not count)."""
    present = np.unique(y_true)
    return float(np.mean([f1(y_true, y_pred, int(c)) for c in present])) if classes and present.size else 0.0


def point_score(metric: str, y_true: np.ndarray, y_pred: np.ndarray, positive: int, classes: int) -> float:
    """A classification metric's value on labels: accuracy, F1 of the `positive` class, or macro F1."""
    if metric == "f1":
        return f1(y_true, y_pred, positive)
    if metric == "macro-f1":
        return macro_f1(y_true, y_pred, classes)
    if metric == "accuracy":
        return float(np.mean(y_true == y_pred)) if y_true.size else 0.0
    raise ValueError(f"'{metric}' is not a classification metric: use accuracy, f1 or macro-f1.")


def confusion(y_true: np.ndarray, y_pred: np.ndarray, classes: int) -> list[list[int]]:
    """counts[true][predicted]."""
    table = np.zeros((classes, classes), dtype=int)
    np.add.at(table, (y_true, y_pred), 1)
    return table.tolist()


def classification_quality(metric: str, labels: Sequence[int], predicted: Sequence[int],
                           label_names: Sequence[str], positive: int = 1, seed: int = 0) -> Quality:
    """The task's metric with its interval, plus accuracy, balanced accuracy, per-class F1 and the confusion."""
    y, p = np.asarray(labels, dtype=int), np.asarray(predicted, dtype=int)
    classes = max(len(label_names), int(max(y.max(initial=0), p.max(initial=0))) + 1)
    names = list(label_names) or [str(c) for c in range(classes)]
    recalls = [float(np.mean(p[y == c] == c)) for c in range(classes) if np.any(y == c)]
    accuracy = bootstrap_accuracy(p == y, seed=seed)
    extras: dict[str, Any] = {
        "accuracy": accuracy.value,
        "balanced_accuracy": float(np.mean(recalls)) if recalls else 0.0,
        "f1_per_class": {names[c]: round(f1(y, p, c), 4) for c in range(classes)},
        "confusion": {"labels": names, "counts": confusion(y, p, classes)},
        "majority_share": float(np.bincount(y, minlength=classes).max() / max(1, y.size)),
    }
    if metric == "accuracy":
        return Quality(metric, accuracy.value, accuracy.ci_low, accuracy.ci_high, accuracy.n, accuracy.method, extras)
    if metric == "f1":
        extras["flagged_class"] = names[positive]
        tp = int(np.sum((p == positive) & (y == positive)))
        extras["precision"] = tp / max(1, int(np.sum(p == positive)))
        extras["recall"] = tp / max(1, int(np.sum(y == positive)))

    def statistic(i: np.ndarray) -> float:
        return point_score(metric, y[i], p[i], positive, classes)

    low, high = bootstrap(statistic, y.size, seed)
    return Quality(metric, statistic(np.arange(y.size)), low, high, int(y.size), BOOTSTRAP, extras)


def cosine_matrix(vectors: Any) -> np.ndarray:
    """Pairwise cosine similarity of the rows of a dense array or a scipy sparse matrix."""
    from sklearn.preprocessing import normalize

    unit = normalize(vectors)
    product = unit @ unit.T
    return np.asarray(product.toarray() if hasattr(product, "toarray") else product, dtype=np.float64)


def precision_at_k(similarity: np.ndarray, labels: Sequence[int], k: int = 10) -> np.ndarray:
    """Per query: the share of its k most similar OTHER items that share its label."""
    y = np.asarray(labels)
    sims = similarity.astype(np.float64, copy=True)
    np.fill_diagonal(sims, -np.inf)  # a query is not its own answer
    k = min(k, len(y) - 1)
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    return (y[top] == y[:, None]).mean(axis=1)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < 2 or np.std(a) == 0 or np.std(b) == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def human_agreement(similarity: np.ndarray, human: np.ndarray, seed: int = 0) -> dict[str, float]:
    """Pearson r between model and human similarity over the distinct document pairs, with a pair bootstrap
    (pairs share documents, so the interval is optimistic; said in the methodology)."""
    rows, cols = np.triu_indices(human.shape[0], k=1)
    model, people = similarity[rows, cols], human[rows, cols]
    low, high = bootstrap(lambda i: pearson(model[i], people[i]), model.size, seed)
    return {"r": pearson(model, people), "ci_low": low, "ci_high": high, "pairs": int(model.size)}
