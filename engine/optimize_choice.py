"""The leanest-variant search's choice: the best candidate within the floor of the task's metric (and the
nearest miss), and the verdict in plain words. Pure: takes records, returns records and text.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.objectives import OBJECTIVES
from engine.quality import at_least, ci_pts, floor_after_drop, gain_pts, metric_for, noun
from engine.record import TrialRecord
from engine.registry import _choose
from engine.summary.headline import score_key
from engine.summary.labels import fmt_queries
from engine.summary.payback import break_even_queries

EPSILON = 1e-9  # scores of the same n items: equal means equal, up to float rounding


class BaselineFailed(RuntimeError):
    """The fp32 trial failed: without its score there is no floor to hold."""



def value_of(record: TrialRecord, field: str) -> float | None:
    return getattr(record, field)


def usable(record: TrialRecord, field: str) -> bool:
    return record.status == "ok" and record.quality is not None and value_of(record, field) is not None


def _steps(record: TrialRecord) -> int:
    return len(record.steps) or record.technique.count("+") + 1


def floor_quality(baseline: TrialRecord, max_drop_pts: float) -> float:
    return floor_after_drop(float(baseline.quality), max_drop_pts, metric_for([baseline]))  # type: ignore[arg-type]


def choose(baseline: TrialRecord, candidates: Sequence[TrialRecord], objective: str,
           max_drop_pts: float) -> tuple[TrialRecord | None, TrialRecord | None]:
    """(best, nearest miss). Only ok candidates strictly better than the baseline on the objective count: a
    "leaner" variant that is not leaner is no answer. Best: the lowest objective among those at or better than
    the floor (ties: the better score, then fewer steps). Nearest miss: among those worse than the floor and
    leaner than the best (or than the baseline when nothing kept the floor), the best-scoring one."""
    field = _choose("objective", objective, OBJECTIVES).field
    if not usable(baseline, field):
        raise BaselineFailed(f"The baseline {baseline.variant} has no quality/{field} to compare against.")
    metric = metric_for([baseline])
    score = score_key(metric)  # larger is better, whatever the direction
    floor, reference = floor_quality(baseline, max_drop_pts), value_of(baseline, field)
    pool = [r for r in candidates if r is not baseline and r.technique != baseline.technique
            and usable(r, field) and value_of(r, field) < reference]
    kept = [r for r in pool if at_least(r.quality, floor, metric)]
    best = min(kept, key=lambda r: (value_of(r, field), -score(r), _steps(r)), default=None)
    bar = value_of(best, field) if best else reference
    misses = [r for r in pool if not at_least(r.quality, floor, metric) and value_of(r, field) < bar]
    nearest = min(misses, key=lambda r: (-score(r), value_of(r, field), _steps(r)), default=None)
    return best, nearest


def quality_ci_pts(baseline: TrialRecord) -> float:
    """Half-width of the baseline's 95% interval, in points."""
    if (half := ci_pts(baseline)) is not None:
        return half
    p, n = float(baseline.quality or 0.0), max(1, baseline.eval_size)
    return 1.96 * (p * (1 - p) / n) ** 0.5 * 100


def _times(reference: float, value: float) -> str:
    ratio = reference / value if value > 0 else float("inf")
    return f"{ratio:.1f}x" if ratio >= 1.095 else f"{(1 - value / reference) * 100:.0f}%"


def _gain(objective: str, record: TrialRecord, baseline: TrialRecord) -> str:
    """e.g. 'uses 4.1x less energy per query than minilm-l6 · fp32'."""
    ref, value = value_of(baseline, OBJECTIVES[objective].field), value_of(record, OBJECTIVES[objective].field)
    times = _times(ref, value)
    if objective == "energy":
        return f"uses {times} less energy per query than {baseline.variant}"
    if objective == "latency":
        return f"answers {times} faster than {baseline.variant} ({value:.1f} ms vs {ref:.1f} ms median)"
    return f"is {times} smaller than {baseline.variant} ({value:.1f} MB vs {ref:.1f} MB)"


def _payback(record: TrialRecord, baseline: TrialRecord) -> str:
    """The energy spent once to create the variant (distillation), and when its per-query saving repays it."""
    if not record.upfront_energy_wh:
        return ""
    saving = (None if baseline.energy_wh_per_1k is None or record.energy_wh_per_1k is None
              else baseline.energy_wh_per_1k - record.energy_wh_per_1k)
    queries = break_even_queries(record.upfront_energy_wh, saving)
    repaid = f"repaid after about {fmt_queries(queries)}" if queries is not None else "never repaid per query"
    return f" Creating it took {record.upfront_energy_wh:.2g} Wh once (training), {repaid}."


LEANER = {"energy": "uses less energy per query than", "latency": "answers faster than", "size": "is smaller than"}


def verdict(baseline: TrialRecord, best: TrialRecord | None, nearest: TrialRecord | None, objective: str,
            max_drop_pts: float, measured: int = 0) -> str:
    """One plain-language sentence for an executive, plus the honest caveat about the sample."""
    points = f"{max_drop_pts:.1f} point{'' if max_drop_pts == 1 else 's'}"
    metric = metric_for([baseline])
    name = noun(metric)
    base_acc = f"{baseline.quality:.3f}"
    if best is not None:
        keeps = (("is at least as accurate" if metric.id == "accuracy" else f"scores at least as well in {name}")
                 if gain_pts(best.quality, baseline.quality, metric) >= -EPSILON
                 else f"stays within {points} of its {name}")
        head = (f"{best.variant} {_gain(objective, best, baseline)} and {keeps} ({best.quality:.3f} vs {base_acc})."
                + _payback(best, baseline))
    elif nearest is not None:
        drop = -gain_pts(nearest.quality, baseline.quality, metric)
        head = (f"No variant tried stays within {points} of {baseline.variant}'s {name} ({base_acc}) while being "
                f"leaner; the nearest miss, {nearest.variant}, {_gain(objective, nearest, baseline)} but scores "
                f"{nearest.quality:.3f} ({drop:.1f} points worse). Keep fp32 or accept a larger drop.")
    elif measured == 0:
        head = f"No compressed variant was measured successfully, so nothing can replace {baseline.variant} yet."
    else:
        head = f"No variant tried {LEANER[objective]} {baseline.variant}: keep it as it is."
    contended = any(r is not None and r.contended for r in (baseline, best, nearest))
    noisy = (" Other programs used much of the CPU during some measurements (flagged contended): re-run on a "
             "quiet machine before quoting the speed and energy ratios." if contended else "")
    return (f"{head} Every variant answered the same {baseline.eval_size} test items; at that size one "
            f"{name} figure is uncertain by about ±{quality_ci_pts(baseline):.0f} points, so the floor compares "
            f"point estimates on that shared sample.{noisy}")
