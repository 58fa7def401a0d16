"""Latency percentiles, bootstrap accuracy intervals and the call timer."""

import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.measure.stats import (
    BOOTSTRAP,
    WILSON,
    bootstrap_accuracy,
    latency_summary,
    time_calls,
    wilson_interval,
)

ROOT = Path(__file__).resolve().parents[1]


def test_percentiles_match_hand_computed_linear_interpolation():
    s = latency_summary(list(range(1, 101)))
    # rank = q/100 * (n-1): p50 -> 49.5 -> 50.5; p95 -> 94.05 -> 95.05; p99 -> 98.01 -> 99.01
    assert (s.p50_ms, s.p95_ms, s.p99_ms) == pytest.approx((50.5, 95.05, 99.01))
    assert s.mean_ms == pytest.approx(50.5) and s.n == 100


def test_single_sample_and_unsorted_input():
    assert latency_summary([7.0]).p99_ms == 7.0
    s = latency_summary([30.0, 10.0, 20.0])
    assert (s.p50_ms, s.p95_ms) == pytest.approx((20.0, 29.0))


def test_empty_input_raises():
    with pytest.raises(ValueError):
        latency_summary([])
    with pytest.raises(ValueError):
        bootstrap_accuracy([])


def _outcomes(n: int, p: float) -> list[bool]:
    k = round(n * p)
    return [True] * k + [False] * (n - k)


def test_interval_contains_value_and_is_deterministic_for_a_seed():
    correct = _outcomes(200, 0.7)
    a = bootstrap_accuracy(correct, seed=3)
    assert a.value == pytest.approx(0.7) and a.n == 200 and a.confidence == 0.95 and a.method == BOOTSTRAP
    assert a.ci_low < a.value < a.ci_high
    assert bootstrap_accuracy(correct, seed=3) == a
    assert bootstrap_accuracy(correct, seed=4) != a  # the seed really drives the resampling


def test_interval_narrows_with_more_items():
    small = bootstrap_accuracy(_outcomes(100, 0.8))
    large = bootstrap_accuracy(_outcomes(2000, 0.8))
    assert large.ci_high - large.ci_low < 0.5 * (small.ci_high - small.ci_low)


def test_width_matches_normal_approximation_for_n1000_p08():
    a = bootstrap_accuracy(_outcomes(1000, 0.8), n_resamples=4000)
    normal_width = 2 * 1.959964 * math.sqrt(0.8 * 0.2 / 1000)  # 0.0496
    assert a.ci_high - a.ci_low == pytest.approx(normal_width, rel=0.25)
    assert (a.ci_low + a.ci_high) / 2 == pytest.approx(0.8, abs=0.01)


def test_higher_confidence_gives_a_wider_interval():
    c = _outcomes(300, 0.6)
    narrow, wide = bootstrap_accuracy(c, confidence=0.8), bootstrap_accuracy(c, confidence=0.99)
    assert wide.ci_high - wide.ci_low > narrow.ci_high - narrow.ci_low


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_all_right_or_all_wrong_gets_a_wilson_interval_not_a_point(value):
    a = bootstrap_accuracy([bool(value)] * 100)
    assert a.value == value and a.method == WILSON
    assert a.ci_low <= a.value <= a.ci_high
    assert a.ci_high - a.ci_low == pytest.approx(0.037, abs=0.002)  # 100/100 -> [0.963, 1.0]


def test_wilson_interval_reference_value():
    # 8/10 at 95%: the textbook Wilson interval is [0.490, 0.943]
    assert wilson_interval(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-3)


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        bootstrap_accuracy([True, False], confidence=1.0)
    with pytest.raises(ValueError):
        time_calls(lambda: None, n=0)


def test_time_calls_runs_warmup_untimed_then_times_each_call():
    calls: list[int] = []

    def fn():
        calls.append(1)
        time.sleep(0.01)

    samples = time_calls(fn, n=5, warmup=2)
    assert len(calls) == 7 and len(samples) == 5
    assert all(9.0 <= ms < 200.0 for ms in samples)


def test_importing_the_measure_package_stays_light():
    code = ("import sys, engine.measure.stats, engine.measure.system, engine.measure.contention, "
            "engine.measure.energy; heavy = {'torch', 'codecarbon', 'transformers'} & set(sys.modules); "
            "assert not heavy, heavy")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
