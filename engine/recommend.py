"""Recommend a variant under constraints: the leanest (lowest energy per query) of those that meet every limit,
a runner-up, and a reason in plain words; when nothing qualifies, which limit binds and the nearest miss.

Rules, so a page and a briefing say the same thing:
- Candidates are the newest ok record of each (model, technique) with quality (the task's metric) and energy
  per query measured; the others are listed in `unranked` with the reason. Every limit on quality reads the
  metric's direction (engine.quality).
- A figure that was not measured never satisfies a limit on it (no p95 -> fails max_p95_ms; no throughput ->
  no annual cost -> fails max_annual_usd).
- "% of the best" is relative to the best-scoring candidate.
- Ranking among qualifiers: lowest energy per query, then the better score, then lower p95, then name.
- Binding constraint (only when nothing qualifies): the limit whose removal, keeping the others, lets the most
  variants through; if no single removal lets any through (two or more limits each block everything), the
  limit that on its own eliminates the most variants. Ties go to the first in CONSTRAINT_ORDER.
- Nearest miss: the candidate with the smallest total shortfall, each failed limit counted as a fraction of
  its limit (0.84 against a 0.85 floor = 0.0118; 55 ms against 50 ms = 0.1); an unmeasured figure is an
  infinite shortfall. Ties follow the ranking above.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from engine.quality import at_least, kept_pct, metric_for, noun
from engine.record import TrialRecord
from engine.registry import MetricSpec
from engine.scenario import Scenario, year_queries
from engine.summary.headline import pick_reference
from engine.summary.labels import fmt_pct
from engine.summary.variants import latest_variants
from engine.whatif import serving_figures

CONSTRAINT_ORDER = ("min_quality", "min_quality_pct", "max_p95_ms", "max_annual_usd", "device")
CONSTRAINT_LABELS = {
    "min_quality": "minimum score",
    "min_quality_pct": "minimum share of the best score",
    "max_p95_ms": "p95 latency limit",
    "max_annual_usd": "annual cost limit",
    "device": "device budget",
}


class ConstraintError(ValueError):
    """A constraint out of range; the message names the valid range."""


@dataclass(frozen=True)
class Constraints:
    min_quality: float | None = None  # the task's metric, absolute (0.85 = 85% accuracy or F1)
    min_quality_pct: float | None = None  # percent of the best candidate's score, 0..100
    max_p95_ms: float | None = None  # batch-1 p95 latency, milliseconds
    max_annual_usd: float | None = None  # first-year cost under `scenario` (electricity + machine time)
    scenario: Scenario | None = None  # needed by max_annual_usd; the default scenario if None
    device: str | None = None  # a key of engine.devices.DEVICES: the variant must fit that device's budget

    def validated(self) -> Constraints:
        checks = {
            "min_quality": (0.0, 1.0, "a score between 0 and 1 in the task's metric (0.85 = 85% accuracy, F1 or precision)"),
            "min_quality_pct": (0.0, 100.0, "a percentage of the best score between 0 and 100"),
            "max_p95_ms": (0.0, 1e6, "milliseconds above 0"),
            "max_annual_usd": (0.0, 1e12, "US dollars, 0 or more"),
        }
        for name, (low, high, what) in checks.items():
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ConstraintError(f"{name} must be a number: {what} (got {value!r}).")
            if value < low or value > high or (name == "max_p95_ms" and value == 0):
                raise ConstraintError(f"{name} must be {what} (got {value:g}).")
        if self.device is not None:
            from engine.devices import get_device

            try:
                get_device(self.device)
            except ValueError as error:
                raise ConstraintError(str(error)) from None
        scenario = self.scenario
        if self.max_annual_usd is not None:
            scenario = (scenario or Scenario()).validated()
        return replace(self, scenario=scenario)

    def active(self) -> list[str]:
        return [name for name in CONSTRAINT_ORDER if getattr(self, name) is not None]


@dataclass(frozen=True)
class Check:
    """One candidate against every active limit."""

    record: TrialRecord
    annual_usd: float | None  # first-year cost when a cost limit is set
    failed: dict[str, str] = field(default_factory=dict)  # constraint -> why, in words
    shortfall: float = 0.0  # sum of relative violations (inf for an unmeasured figure)

    @property
    def qualifies(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class Recommendation:
    recommended: TrialRecord | None
    runner_up: TrialRecord | None
    reason: str  # why the recommended variant, or why none
    runner_up_reason: str
    binding_constraint: str | None  # when nothing qualifies (see the module docstring)
    binding_detail: str
    nearest_miss: TrialRecord | None
    nearest_miss_reason: str
    best: TrialRecord | None  # the best-scoring candidate (the "% of the best" reference)
    baseline: TrialRecord | None  # the largest model at fp32 (the energy comparison)
    quality_floor: float | None  # the effective floor: the stricter of the two quality limits
    checks: list[Check]  # every candidate, ranked
    unranked: list[tuple[str, str]]  # (variant, why) for records without quality or energy
    metric: str = "accuracy"  # the task's metric id (registry METRICS)

    def to_dict(self) -> dict[str, Any]:
        def rec(r: TrialRecord | None) -> dict | None:
            return r.to_dict() if r is not None else None

        return {
            "recommended": rec(self.recommended), "runner_up": rec(self.runner_up), "reason": self.reason,
            "runner_up_reason": self.runner_up_reason, "binding_constraint": self.binding_constraint,
            "binding_detail": self.binding_detail, "nearest_miss": rec(self.nearest_miss),
            "nearest_miss_reason": self.nearest_miss_reason,
            "best": _pair(self.best), "baseline": _pair(self.baseline), "quality_floor": self.quality_floor,
            "metric": self.metric,
            "candidates": [{**_pair(c.record), "qualifies": c.qualifies, "failed": c.failed,
                            "annual_usd": c.annual_usd, "energy_wh_per_1k": c.record.energy_wh_per_1k,
                            "quality": c.record.quality, "latency_p95_ms": c.record.latency_p95_ms}
                           for c in self.checks],
            "unranked": [{"variant": v, "why": why} for v, why in self.unranked],
        }


def _pair(r: TrialRecord | None) -> dict | None:
    return {"model": r.model, "technique": r.technique} if r is not None else None


def rank_key(r: TrialRecord, metric: MetricSpec | None = None) -> tuple:
    """Lowest energy per query, then the better score, then lower p95 (unmeasured last), then name."""
    p95 = r.latency_p95_ms if r.latency_p95_ms is not None else math.inf
    sign = -1.0 if metric is None or metric.higher_is_better else 1.0
    return (r.energy_wh_per_1k, sign * (r.quality or 0.0), p95, r.model, r.technique)


def recommend(records: Iterable[TrialRecord], constraints: Constraints, task: str | None = None) -> Recommendation:
    """The leanest variant meeting every constraint (see the module docstring for the exact rules)."""
    constraints = constraints.validated()
    latest = latest_variants(records, task, mixed_tasks=ConstraintError)
    metric = metric_for(latest, task)
    candidates = [r for r in latest if r.quality is not None and r.energy_wh_per_1k is not None]
    unranked = [(r.variant, f"{noun(metric)} not measured" if r.quality is None else "energy per query not measured")
                for r in latest if r not in candidates]
    sign = 1.0 if metric.higher_is_better else -1.0
    best = max(candidates, key=lambda r: (sign * r.quality, -r.energy_wh_per_1k), default=None)  # tie: the leaner
    baseline = pick_reference(candidates)
    floor = _floor(constraints, best, metric)
    checks = sorted((_check(r, constraints, best, metric) for r in candidates),
                    key=lambda c: rank_key(c.record, metric))
    qualifiers = [c for c in checks if c.qualifies]
    empty = Recommendation(None, None, "", "", None, "", None, "", best, baseline, floor, checks, unranked,
                           metric.id)
    if not candidates:
        why = f"No variant with measured {noun(metric)} and energy per query to recommend."
        return replace(empty, reason=why)
    if qualifiers:
        first, second = qualifiers[0], (qualifiers[1] if len(qualifiers) > 1 else None)
        return replace(
            empty, recommended=first.record, runner_up=second.record if second else None,
            reason=_reason(first, constraints, best, baseline, metric, only=len(candidates) == 1),
            runner_up_reason=_reason(second, constraints, best, baseline, metric) if second else "",
        )
    binding, detail = _binding(checks, constraints)
    miss = min(checks, key=lambda c: (c.shortfall, rank_key(c.record, metric)))
    miss_reason = f"{miss.record.variant} comes closest: " + "; ".join(miss.failed.values()) + "."
    reason = f"No variant meets every constraint. {detail}"
    return replace(empty, reason=reason, binding_constraint=binding, binding_detail=detail, nearest_miss=miss.record,
                   nearest_miss_reason=miss_reason)


def _pct_floor(pct: float, best: TrialRecord, metric: MetricSpec) -> float:
    """The score that keeps `pct` percent of the best (a ceiling for lower-is-better metrics)."""
    return pct / 100.0 * best.quality if metric.higher_is_better else best.quality * 100.0 / max(pct, 1e-9)


def _floor(c: Constraints, best: TrialRecord | None, metric: MetricSpec) -> float | None:
    floors = [c.min_quality] if c.min_quality is not None else []
    if c.min_quality_pct is not None and best is not None:
        floors.append(_pct_floor(c.min_quality_pct, best, metric))
    if not floors:
        return None
    return max(floors) if metric.higher_is_better else min(floors)


def annual_cost_usd(record: TrialRecord, scenario: Scenario) -> float | None:
    """First-year cost (electricity + machine time) of serving the scenario's volume with this variant."""
    from engine.carbon import grid_intensity

    if record.energy_wh_per_1k is None:
        return None
    scenario = scenario.validated()
    return serving_figures(record, year_queries(scenario)[0], scenario, grid_intensity(scenario.region)).cost_usd


def _check(r: TrialRecord, c: Constraints, best: TrialRecord | None, metric: MetricSpec) -> Check:
    failed: dict[str, str] = {}
    shortfall = 0.0
    score, name = r.quality, noun(metric)
    if c.min_quality is not None and not at_least(score, c.min_quality, metric):
        failed["min_quality"] = f"{name} {score:.3f} is below the {c.min_quality:.3f} minimum"
        shortfall += abs(c.min_quality - score) / max(abs(c.min_quality), 1e-9)
    if c.min_quality_pct is not None and best is not None:
        need = _pct_floor(c.min_quality_pct, best, metric)
        if not at_least(score, need, metric):
            kept = kept_pct(score, best.quality, metric)
            failed["min_quality_pct"] = (f"keeps {fmt_pct(kept)} of the best {name}, below the "
                                         f"{c.min_quality_pct:g}% asked")
            shortfall += abs(need - score) / max(abs(need), 1e-9)
    if c.max_p95_ms is not None:
        p95 = r.latency_p95_ms
        if p95 is None:
            failed["max_p95_ms"] = "p95 latency not measured"
            shortfall = math.inf
        elif p95 > c.max_p95_ms:
            failed["max_p95_ms"] = f"p95 {_ms(p95)} is over the {_ms(c.max_p95_ms)} target"
            shortfall += (p95 - c.max_p95_ms) / c.max_p95_ms
    annual = None
    if c.max_annual_usd is not None:
        annual = annual_cost_usd(r, c.scenario)
        if annual is None:
            failed["max_annual_usd"] = "annual cost unknown (throughput not measured)"
            shortfall = math.inf
        elif annual > c.max_annual_usd:
            failed["max_annual_usd"] = f"costs {_usd(annual)} a year, over the {_usd(c.max_annual_usd)} limit"
            shortfall += (annual - c.max_annual_usd) / c.max_annual_usd if c.max_annual_usd else math.inf
    if c.device is not None:
        from engine.devices import get_device, misfit

        why, over = misfit(r, get_device(c.device))
        if why:
            failed["device"] = why
            shortfall += over
    return Check(r, annual, failed, shortfall)


def _binding(checks: list[Check], c: Constraints) -> tuple[str, str]:
    active = c.active()
    let_through = {name: sum(1 for k in checks if set(k.failed) <= {name}) for name in active}
    eliminates = {name: sum(1 for k in checks if name in k.failed) for name in active}
    n = len(checks)
    most = max(let_through.values())
    if most > 0:
        name = next(x for x in active if let_through[x] == most)
        detail = (f"The {CONSTRAINT_LABELS[name]} binds: without it {most} of {n} variant"
                  f"{'s' if n != 1 else ''} would qualify.")
    else:
        top = max(eliminates.values())
        name = next(x for x in active if eliminates[x] == top)
        detail = (f"The {CONSTRAINT_LABELS[name]} eliminates the most ({top} of {n}); no single constraint, "
                  "if dropped, would let a variant through.")
    return name, detail


def _reason(check: Check, c: Constraints, best: TrialRecord | None, baseline: TrialRecord | None,
            metric: MetricSpec, only: bool = False) -> str:
    r = check.record
    parts = []
    if best is not None and best.quality:
        kept = kept_pct(r.quality, best.quality, metric)
        top = "is the most accurate" if metric.id == "accuracy" else f"has the best {noun(metric)}"
        parts.append(top if r is best else f"keeps {fmt_pct(kept)} of the best {noun(metric)}")
    if baseline is not None and baseline is not r and baseline.energy_wh_per_1k:
        ratio = baseline.energy_wh_per_1k / r.energy_wh_per_1k if r.energy_wh_per_1k else math.inf
        base = f"{baseline.model} {baseline.technique}"
        if ratio >= 1.05:
            parts.append(f"{_times(ratio)} less energy than {base}")
        elif ratio > 1 / 1.05:
            parts.append(f"about the same energy as {base}")
        else:
            parts.append(f"{_times(1 / ratio)} the energy of {base}")
    elif baseline is r:
        parts.append("is the baseline itself (the largest model at fp32)")
    if c.max_p95_ms is not None and r.latency_p95_ms is not None:
        parts.append(f"p95 {_ms(r.latency_p95_ms)} meets the {_ms(c.max_p95_ms)} target")
    elif r.latency_p95_ms is not None:
        parts.append(f"p95 {_ms(r.latency_p95_ms)}")
    if c.max_annual_usd is not None and check.annual_usd is not None:
        parts.append(f"{_usd(check.annual_usd)} a year is within the {_usd(c.max_annual_usd)} limit")
    text = f"{r.model} {r.technique}: " + ", ".join(parts)
    return text + (" (the only variant measured)." if only else ".")


def _times(ratio: float) -> str:
    return f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.1f}x"


def _ms(value: float) -> str:
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _usd(value: float) -> str:
    return f"${value:,.0f}" if value >= 100 else f"${value:,.2f}"
