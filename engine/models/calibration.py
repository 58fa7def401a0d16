"""A decision rule for an LLM's raw answer scores, fitted on the task's VALIDATION split.

An LLM asked "spam or ordinary?" leans towards one answer whatever the message (its prior), so its raw scores
rank messages well but cut them in the wrong place (AUC 0.88, accuracy ~0.5 on spam). One additive bias per
class, chosen to maximise the task's own metric on validation texts, moves the cut without touching the
ranking (binary: one threshold on the score difference). The bias is recorded with the trial; test texts are
never seen. Numpy only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Score = Callable[[Sequence[int], Sequence[int]], float]  # (true, predicted) -> higher is better
ROUNDS = 3  # coordinate-ascent passes over the classes (multi-class); 2 already converge on the topic task


@dataclass(frozen=True)
class Calibration:
    bias: np.ndarray  # added to each class's score before argmax
    before: float  # the metric on validation with no bias
    after: float  # ... with the bias
    n: int

    def to_dict(self) -> dict:
        return {"bias": [round(float(b), 4) for b in self.bias], "validation_before": round(self.before, 4),
                "validation_after": round(self.after, 4), "validation_size": self.n}


def _candidates(values: np.ndarray) -> np.ndarray:
    """Midpoints between sorted distinct values, plus one beyond each end and 0 (no shift)."""
    distinct = np.unique(values)
    if distinct.size == 0:
        return np.zeros(1)
    mids = (distinct[1:] + distinct[:-1]) / 2
    return np.concatenate([[0.0, distinct[0] - 1.0, distinct[-1] + 1.0], mids])


def _best(candidates: np.ndarray, value_of: Callable[[float], float]) -> tuple[float, float]:
    """The candidate with the highest value; ties go to the smallest |shift| (the least change)."""
    best_shift, best_value = 0.0, value_of(0.0)
    for shift in sorted(candidates, key=abs):
        value = value_of(float(shift))
        if value > best_value + 1e-12:
            best_shift, best_value = float(shift), value
    return best_shift, best_value


def fit_bias(scores: np.ndarray, labels: Sequence[int], score: Score) -> Calibration:
    """Per-class additive bias maximising `score` on (scores, labels); zero bias when nothing helps."""
    scores = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels)
    classes = scores.shape[1]
    before = float(score(y, scores.argmax(axis=1)))
    bias = np.zeros(classes)
    if classes == 2:  # predict class 1 when s1 - s0 > t: bias (0, -t)
        diff = scores[:, 1] - scores[:, 0]
        threshold, after = _best(_candidates(diff), lambda t: float(score(y, (diff > t).astype(int))))
        bias[1] = -threshold
        return Calibration(bias, before, after, len(y))
    after = before
    for _ in range(ROUNDS):
        for c in range(classes):
            others = np.delete(scores + bias, c, axis=1).max(axis=1)
            # bias_c at which class c starts to win each text: every decision change happens at one of these
            flips = others - scores[:, c]

            def value_of(b: float, c: int = c) -> float:
                trial = bias.copy()
                trial[c] = b
                return float(score(y, (scores + trial).argmax(axis=1)))

            bias[c], after = _best(np.concatenate([[bias[c]], _candidates(flips)]), value_of)
    return Calibration(bias, before, after, len(y))
