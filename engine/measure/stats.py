"""Latency percentiles, accuracy with a confidence interval, and a call timer (numpy only, no torch)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

BOOTSTRAP = "bootstrap percentile"
WILSON = "Wilson score (bootstrap is degenerate: every item agrees)"


@dataclass(frozen=True)
class LatencySummary:
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    n: int


def latency_summary(samples_ms: Sequence[float]) -> LatencySummary:
    """Percentiles with numpy's default linear interpolation between order statistics."""
    values = np.asarray(samples_ms, dtype=float)
    if values.size == 0:
        raise ValueError("latency_summary needs at least one sample")
    p50, p95, p99 = np.percentile(values, [50, 95, 99], method="linear")
    return LatencySummary(float(p50), float(p95), float(p99), float(values.mean()), int(values.size))


@dataclass(frozen=True)
class Proportion:
    value: float
    ci_low: float
    ci_high: float
    n: int
    confidence: float
    method: str = BOOTSTRAP  # how the interval was obtained


def bootstrap_accuracy(correct: Sequence[bool], n_resamples: int = 2000, confidence: float = 0.95,
                       seed: int = 0) -> Proportion:
    """Accuracy with a percentile-bootstrap interval of the mean; the same seed gives the same interval.

    The mean of n items resampled with replacement from 0/1 outcomes is Binomial(n, p)/n, so we draw
    that directly: the same distribution as resampling indices, at O(n_resamples) cost.

    When every item is right (or every item wrong) each resample is identical and the bootstrap
    interval collapses to the point, claiming certainty that n items cannot give (100/100 correct is
    compatible with a true accuracy of 97%). There we return the Wilson score interval instead and
    say so in `method`.
    """
    outcomes = np.asarray(correct, dtype=bool)
    n = int(outcomes.size)
    if n == 0:
        raise ValueError("bootstrap_accuracy needs at least one outcome")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    value = float(outcomes.mean())
    if value in (0.0, 1.0):
        low, high = wilson_interval(int(outcomes.sum()), n, confidence)
        return Proportion(value, low, high, n, confidence, WILSON)
    means = np.random.default_rng(seed).binomial(n, value, size=n_resamples) / n
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail], method="linear")
    # With few resamples a discrete percentile can land beside the value: never exclude it.
    return Proportion(value, min(float(low), value), max(float(high), value), n, confidence, BOOTSTRAP)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (sensible even at 0% and 100%)."""
    if n <= 0:
        raise ValueError("wilson_interval needs n >= 1")
    z = _normal_quantile(1 - (1 - confidence) / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _normal_quantile(q: float) -> float:
    """Standard normal quantile by bisection on erf (no scipy dependency)."""
    low, high = -10.0, 10.0
    for _ in range(100):
        mid = (low + high) / 2
        if 0.5 * (1 + math.erf(mid / math.sqrt(2))) < q:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def time_calls(fn: Callable[[], object], n: int, warmup: int = 3) -> list[float]:
    """Wall-clock milliseconds of each of `n` calls, measured with perf_counter after `warmup` untimed calls."""
    if n < 1 or warmup < 0:
        raise ValueError(f"need n >= 1 and warmup >= 0, got n={n}, warmup={warmup}")
    for _ in range(warmup):
        fn()
    samples_ms: list[float] = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples_ms.append((time.perf_counter() - start) * 1000.0)
    return samples_ms
