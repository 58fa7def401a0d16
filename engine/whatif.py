"""What-if: project each stored variant's measured energy per query onto a serving scenario — a volume that
grows, a number of years, a grid, a data-centre PUE, electricity and machine prices — and compare it with the
baseline (the largest model at fp32).

Per year:  energy_kwh   = energy_wh_per_1k / 1000 x queries / 1000 x PUE
           co2e_t       = energy_kwh x grid g/kWh / 10^6      (the scenario's grid, not the record's own co2e)
           compute_hours = queries / throughput_per_s / 3600  (busy time at the measured batch-32 throughput)
           cost_usd     = energy_kwh x price_kwh + compute_hours x compute_usd_per_hour
Totals add the years and the one-time energy and machine time spent to create a variant (distillation,
retraining), both under the same PUE, grid and prices.

Every default below is data with its source; `Projection.assumptions` lists each input with where it came
from, so a page or a briefing can show them next to the figures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from engine.carbon import GridIntensity, grid_intensity
from engine.equivalents import Equivalent, equivalents
from engine.record import TrialRecord
from engine.scenario import DAYS_PER_YEAR, METHOD_NOTES, Assumption, Scenario, ScenarioError, year_queries
from engine.summary.headline import pick_reference
from engine.summary.labels import fmt_queries
from engine.summary.payback import break_even_queries
from engine.summary.variants import latest_variants

PAYBACK_SEARCH_YEARS = 100  # a break-even further out than this is reported as "not within 100 years"
# Every data centre in the world used about 460 TWh in 2022 (IEA, Electricity 2024; written from memory of the
# published figure: check before quoting). A yearly projection above it is implausible as a single service.
WORLD_DATA_CENTRES_KWH_PER_YEAR = 460e9


class NoResultsError(LookupError):
    """No stored ok trial to project (not bad input: run some trials first)."""


@dataclass(frozen=True)
class Figures:
    """One year's (or a horizon's) serving figures; None where the record lacks what they need."""

    queries: float
    energy_kwh: float
    co2e_t: float
    energy_cost_usd: float
    compute_hours: float | None  # None: throughput not measured
    compute_cost_usd: float | None
    cost_usd: float | None  # energy + compute; None when compute is unknown (never a silent partial sum)

    def __add__(self, other: Figures) -> Figures:
        return Figures(*(_add(getattr(self, f.name), getattr(other, f.name)) for f in fields(Figures)))

    def __sub__(self, other: Figures) -> Figures:
        return Figures(*(_sub(getattr(self, f.name), getattr(other, f.name)) for f in fields(Figures)))

    def to_dict(self) -> dict[str, float | None]:
        return {f.name: getattr(self, f.name) for f in fields(Figures)}


def _add(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


def _sub(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def serving_figures(record: TrialRecord, queries: float, scenario: Scenario, grid: GridIntensity) -> Figures:
    """Energy, CO2e, machine time and cost of serving `queries` with this variant under the scenario."""
    if record.energy_wh_per_1k is None:
        raise ValueError(f"{record.variant} has no energy per query to project.")
    energy_kwh = record.energy_wh_per_1k / 1000.0 * queries / 1000.0 * scenario.pue
    return _figures(queries, energy_kwh, _hours(queries, record.throughput_per_s), scenario, grid)


def upfront_figures(record: TrialRecord, scenario: Scenario, grid: GridIntensity) -> Figures | None:
    """The one-time creation cost (distillation, retraining) under the scenario's PUE, grid and prices;
    None for a variant created without training."""
    if not record.upfront_energy_wh:
        return None
    energy_kwh = record.upfront_energy_wh / 1000.0 * scenario.pue
    hours = record.upfront_s / 3600.0 if record.upfront_s is not None else None
    return _figures(0.0, energy_kwh, hours, scenario, grid)


def _hours(queries: float, throughput_per_s: float | None) -> float | None:
    return queries / throughput_per_s / 3600.0 if throughput_per_s else None


def _figures(queries: float, energy_kwh: float, hours: float | None, scenario: Scenario,
             grid: GridIntensity) -> Figures:
    energy_cost = energy_kwh * scenario.price_kwh
    compute_cost = hours * scenario.compute_usd_per_hour if hours is not None else None
    return Figures(queries=queries, energy_kwh=energy_kwh, co2e_t=energy_kwh * grid.g_per_kwh / 1e6,
                   energy_cost_usd=energy_cost, compute_hours=hours, compute_cost_usd=compute_cost,
                   cost_usd=energy_cost + compute_cost if compute_cost is not None else None)


@dataclass(frozen=True)
class ScenarioPayback:
    """When a variant's one-time creation energy is paid back by its per-query saving over the baseline."""

    upfront: Figures
    saving_wh_per_1k: float | None  # baseline - variant, measured (no PUE: it applies to both sides alike)
    break_even_queries: float | None  # None: never
    break_even_date: date | None  # None: never, or not within PAYBACK_SEARCH_YEARS
    within_horizon: bool
    sentence: str

    def to_dict(self) -> dict[str, Any]:
        return {"upfront": self.upfront.to_dict(), "saving_wh_per_1k": self.saving_wh_per_1k,
                "break_even_queries": self.break_even_queries,
                "break_even_date": self.break_even_date.isoformat() if self.break_even_date else None,
                "within_horizon": self.within_horizon, "sentence": self.sentence}


def break_even_date(queries: float, scenario: Scenario, start: date) -> date | None:
    """The day by which `queries` have been served at the scenario's growing volume: the start date plus the
    days needed, rounded up. None when that is more than PAYBACK_SEARCH_YEARS away."""
    remaining, days = max(0.0, queries), 0.0
    growth = 1.0 + scenario.growth_pct / 100.0
    for year in range(PAYBACK_SEARCH_YEARS):
        per_day = scenario.queries_per_day * growth**year
        if remaining <= per_day * DAYS_PER_YEAR:
            return start + timedelta(days=math.ceil(days + remaining / per_day))
        remaining -= per_day * DAYS_PER_YEAR
        days += DAYS_PER_YEAR
    return None


def _payback(record: TrialRecord, baseline: TrialRecord | None, upfront: Figures, scenario: Scenario,
             start: date) -> ScenarioPayback:
    saving = None
    if baseline is not None and baseline.energy_wh_per_1k is not None:
        saving = baseline.energy_wh_per_1k - record.energy_wh_per_1k
    queries = break_even_queries(record.upfront_energy_wh, saving)
    when = break_even_date(queries, scenario, start) if queries is not None else None
    end = start + timedelta(days=DAYS_PER_YEAR * scenario.years)
    within = when is not None and when <= end
    if baseline is None or saving is None:
        sentence = f"{record.variant}: no baseline with a measured energy per query to pay back against."
    elif queries is None:
        sentence = (f"Never: {record.variant} uses as much or more energy per query than {baseline.variant}, so "
                    "the energy spent to create it is never paid back.")
    elif when is None:
        sentence = (f"{record.variant} pays back its creation energy after {fmt_queries(queries)}: not within "
                    f"{PAYBACK_SEARCH_YEARS} years at this volume.")
    else:
        sentence = (f"{record.variant} pays back its creation energy after {fmt_queries(queries)}, "
                    f"on {when.isoformat()} at this volume" + ("" if within else " (after the horizon)") + ".")
    return ScenarioPayback(upfront, saving, queries, when, within, sentence)


@dataclass(frozen=True)
class Savings:
    """Baseline minus variant (positive: the variant saves). Totals include one-time creation costs."""

    vs: str  # the baseline's variant label
    first_year: Figures
    total: Figures
    energy_pct_first_year: float | None  # share of the baseline's first-year energy saved, percent
    equivalents: list[Equivalent]  # of the total CO2e saved

    def to_dict(self) -> dict[str, Any]:
        fy, tot = self.first_year, self.total
        return {"vs": self.vs,
                "energy_kwh_per_year": fy.energy_kwh, "co2e_t_per_year": fy.co2e_t, "cost_usd_per_year": fy.cost_usd,
                "energy_kwh_total": tot.energy_kwh, "co2e_t_total": tot.co2e_t, "cost_usd_total": tot.cost_usd,
                "energy_pct_first_year": self.energy_pct_first_year,
                "equivalents": [e.to_dict() for e in self.equivalents]}


@dataclass(frozen=True)
class VariantProjection:
    record: TrialRecord
    years: list[Figures]  # serving only, one per year of the horizon
    upfront: Figures | None  # one-time creation (distillation, retraining), None if none
    savings: Savings | None  # None when there is no baseline with energy
    payback: ScenarioPayback | None  # only for variants with an up-front energy

    @property
    def first_year(self) -> Figures:
        return self.years[0]

    @property
    def total(self) -> Figures:
        """Serving over every year plus the one-time creation."""
        out = self.years[0]
        for year in self.years[1:]:
            out = out + year
        return out + self.upfront if self.upfront is not None else out

    def to_dict(self) -> dict[str, Any]:
        r, fy, tot = self.record, self.first_year, self.total
        return {
            "model": r.model, "technique": r.technique, "accuracy": r.quality,
            "energy_wh_per_1k": r.energy_wh_per_1k, "throughput_per_s": r.throughput_per_s,
            "latency_p95_ms": r.latency_p95_ms, "job_id": r.job_id, "started_at": r.started_at,
            "energy_kwh_per_year": fy.energy_kwh, "co2e_t_per_year": fy.co2e_t, "cost_usd_per_year": fy.cost_usd,
            "energy_cost_usd_per_year": fy.energy_cost_usd, "compute_cost_usd_per_year": fy.compute_cost_usd,
            "energy_kwh_total": tot.energy_kwh, "co2e_t_total": tot.co2e_t, "cost_usd_total": tot.cost_usd,
            "years": [y.to_dict() for y in self.years],
            "upfront": self.upfront.to_dict() if self.upfront else None,
            "savings": self.savings.to_dict() if self.savings else None,
            "payback": self.payback.to_dict() if self.payback else None,
        }


@dataclass(frozen=True)
class Projection:
    task: str
    scenario: Scenario
    grid: GridIntensity
    start: date
    assumptions: list[Assumption]
    baseline: VariantProjection | None
    variants: list[VariantProjection]
    skipped: list[tuple[str, str]]  # (variant, why) for variants that could not be projected
    notes: tuple[str, ...] = METHOD_NOTES

    @property
    def cautions(self) -> tuple[str, ...]:
        """Plain warnings when the scenario projects something no single service could use."""
        years = [y.energy_kwh for v in [*self.variants, *([self.baseline] if self.baseline else [])]
                 for y in v.years]
        peak = max(years, default=0.0)
        if peak <= WORLD_DATA_CENTRES_KWH_PER_YEAR:
            return ()
        return (f"Implausible scenario: one year of it needs up to {peak:,.3g} kWh, more than every data centre in "
                f"the world used in 2022 (about {WORLD_DATA_CENTRES_KWH_PER_YEAR:,.3g} kWh, IEA). Check the query "
                "volume, growth and years.",)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "cautions": list(self.cautions),
            "start": self.start.isoformat(),
            "scenario": self.scenario.to_query(),
            "assumptions": [a.to_dict() for a in self.assumptions],
            "notes": list(self.notes),
            "baseline": ({"model": self.baseline.record.model, "technique": self.baseline.record.technique}
                         if self.baseline else None),
            "variants": [v.to_dict() for v in self.variants],
            "skipped": [{"variant": v, "why": why} for v, why in self.skipped],
        }


def project(records: Iterable[TrialRecord], scenario: Scenario, task: str | None = None,
            start: date | None = None) -> Projection:
    """Project the latest ok record of each (model, technique) onto the scenario.

    `records` may hold repeats and failures (only the newest ok one per variant counts) and must be of one task
    unless `task` picks it. `start` (default: today, UTC) dates the break-even. The baseline is the fp32 variant
    of the largest model among all the task's variants (engine.summary.headline.pick_reference), whichever variants the
    scenario selects. NoResultsError when nothing can be projected; ScenarioError for bad input."""
    scenario = scenario.validated()
    latest = latest_variants(records, task, mixed_tasks=ScenarioError)
    if not latest:
        raise NoResultsError(f"No successful trials{f' for task {task!r}' if task else ''} to project: "
                             "run some first (python -m engine run ...).")
    grid = grid_intensity(scenario.region)
    start = start or datetime.now(UTC).date()
    usable = [r for r in latest if r.energy_wh_per_1k is not None]
    skipped = [(r.variant, "no energy per query measured") for r in latest if r.energy_wh_per_1k is None]
    if not usable:
        raise NoResultsError(f"No stored variant{f' of {task!r}' if task else ''} has an energy per query to "
                             f"project ({', '.join(v for v, _ in skipped)}).")
    reference = pick_reference(usable)
    base = _project_one(reference, None, scenario, grid, start) if reference else None
    chosen = usable
    if scenario.variants:
        by_pair = {(r.model, r.technique): r for r in usable}
        missing = [f"{m} · {t}" for m, t in scenario.variants if (m, t) not in by_pair]
        if missing:
            available = ", ".join(r.variant for r in usable[:12]) + (" ..." if len(usable) > 12 else "")
            raise ScenarioError(f"No stored result for {', '.join(missing)}. Available: {available}.")
        chosen = [by_pair[pair] for pair in scenario.variants]
    variants = [_project_one(r, base, scenario, grid, start) for r in chosen]
    return Projection(latest[0].task, scenario, grid, start, scenario.assumptions(grid), base, variants, skipped)


def _project_one(record: TrialRecord, base: VariantProjection | None, scenario: Scenario, grid: GridIntensity,
                 start: date) -> VariantProjection:
    years = [serving_figures(record, q, scenario, grid) for q in year_queries(scenario)]
    upfront = upfront_figures(record, scenario, grid)
    own = VariantProjection(record, years, upfront, None, None)
    if base is None:  # this is the baseline itself
        base = own
    saved_total = base.total - own.total
    fy_base = base.first_year.energy_kwh
    savings = Savings(vs=base.record.variant, first_year=base.first_year - own.first_year, total=saved_total,
                      energy_pct_first_year=100.0 * (fy_base - own.first_year.energy_kwh) / fy_base if fy_base else None,
                      equivalents=equivalents(saved_total.co2e_t))
    payback = _payback(record, base.record, upfront, scenario, start) if upfront is not None else None
    return replace(own, savings=savings, payback=payback)
