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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from engine.carbon import GridIntensity, grid_intensity
from engine.config import settings
from engine.record import TrialRecord
from engine.summary.headline import pick_reference
from engine.summary.labels import fmt_queries
from engine.summary.payback import break_even_queries
from engine.summary.variants import latest_variants

DAYS_PER_YEAR = 365
PAYBACK_SEARCH_YEARS = 100  # a break-even further out than this is reported as "not within 100 years"


class ScenarioError(ValueError):
    """A scenario input out of range or unreadable; the message names the field and its valid range."""


class NoResultsError(LookupError):
    """No stored ok trial to project (not bad input: run some trials first)."""


@dataclass(frozen=True)
class Default:
    value: float | int | str
    unit: str
    label: str
    source: str


DEFAULTS: dict[str, Default] = {
    "queries_per_day": Default(100_000, "queries/day", "Queries per day",
                               "assumption: an illustrative volume (about 1.2 queries per second); set your own"),
    "growth_pct": Default(0.0, "%/year", "Volume growth per year", "assumption: a flat volume; set your own"),
    "years": Default(3, "years", "Horizon", "assumption: 3 years, a common depreciation period for servers"),
    "region": Default("USA", "", "Electricity grid",
                      "RIGHTSIZE_REGION setting (default USA); intensity from codecarbon's bundled data"),
    "pue": Default(1.58, "", "Data-centre PUE",
                   "Uptime Institute Global Data Center Survey 2023: industry average annual PUE 1.58"),
    "price_kwh": Default(0.127, "USD/kWh", "Electricity price",
                         "U.S. EIA Electric Power Annual 2023: average price of electricity to commercial "
                         "customers, about 12.7 cents/kWh (rounded)"),
    "compute_usd_per_hour": Default(0.10264, "USD/hour", "Machine price",
                                    "assumption: AWS EC2 on-demand list price of one c7a.large (2 vCPU 4th-gen "
                                    "AMD EPYC, 4 GiB; Linux, us-east-1) as listed in 2024, a machine like the one "
                                    "measured; prices change, set your own"),
}

# field -> (lowest, highest, whether the lowest itself is allowed); the messages quote these
RANGES: dict[str, tuple[float, float, bool]] = {
    "queries_per_day": (0.0, 1e12, False),
    "growth_pct": (-99.0, 1000.0, True),
    "years": (1, 20, True),
    "pue": (1.0, 3.0, True),
    "price_kwh": (0.0, 10.0, True),
    "compute_usd_per_hour": (0.0, 1000.0, True),
}

RANGE_HINTS = {
    "pue": "1.0 means no overhead at all (every watt reaches the servers); above 3 is implausible today.",
    "growth_pct": "Use a negative growth for a shrinking volume.",
}

METHOD_NOTES = (
    f"A year is {DAYS_PER_YEAR} days; volume grows once a year by the growth rate (compounded).",
    "Energy per query is what the measuring machine used at batch 32 (CPU + RAM, codecarbon); the PUE adds "
    "the data centre's cooling and power losses.",
    "Machine time is busy time at the measured batch-32 throughput, as if requests were perfectly packed; "
    "a real server also idles between bursts, so this is a lower bound.",
    "Cost = electricity + machine time. A cloud instance's hourly price already includes its power: for cloud "
    "serving set the electricity price to 0 to avoid counting it twice.",
    "CO2e uses the scenario's grid intensity, not the grid the trial was measured under.",
)


def default_region() -> str:
    return settings().default_region


@dataclass(frozen=True)
class Scenario:
    queries_per_day: float = float(DEFAULTS["queries_per_day"].value)
    growth_pct: float = float(DEFAULTS["growth_pct"].value)  # annual growth of the volume, percent
    years: int = int(DEFAULTS["years"].value)
    region: str = field(default_factory=default_region)
    pue: float = float(DEFAULTS["pue"].value)
    price_kwh: float = float(DEFAULTS["price_kwh"].value)  # USD per kWh
    compute_usd_per_hour: float = float(DEFAULTS["compute_usd_per_hour"].value)  # the serving machine, USD/hour
    variants: tuple[tuple[str, str], ...] = ()  # (model, technique) pairs to project; () = every stored variant

    def validated(self) -> Scenario:
        """A normalized copy (canonical region code, whole years); ScenarioError naming the valid range."""
        values: dict[str, Any] = {}
        for name, (low, high, low_ok) in RANGES.items():
            value, label, unit = getattr(self, name), DEFAULTS[name].label, DEFAULTS[name].unit
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ScenarioError(f"{label} ({name}) must be a number (got {value!r}).")
            if value < low or (value == low and not low_ok) or value > high:
                span = f"between {low:g} and {high:g}" if low_ok else f"above {low:g} and at most {high:g}"
                hint = f" {RANGE_HINTS[name]}" if name in RANGE_HINTS else ""
                raise ScenarioError(f"{label} ({name}) must be {span}{' ' + unit if unit else ''} "
                                    f"(got {value:g}).{hint}")
            values[name] = value
        if values["years"] != int(values["years"]):
            raise ScenarioError(f"Horizon (years) must be a whole number of years from 1 to 20 (got {self.years:g}).")
        pairs = []
        for pair in self.variants:
            if not (isinstance(pair, tuple | list) and len(pair) == 2 and all(isinstance(p, str) and p for p in pair)):
                raise ScenarioError(f"Each variant must be a (model, technique) pair (got {pair!r}).")
            pairs.append((pair[0], pair[1]))
        return replace(self, **{k: float(v) for k, v in values.items() if k != "years"}, years=int(values["years"]),
                       region=grid_intensity(self.region).region, variants=tuple(dict.fromkeys(pairs)))

    # URL round trip: every value as text, so a page can put a scenario in its address and read it back
    def to_query(self) -> dict[str, str]:
        out = {f.name: _text(getattr(self, f.name)) for f in fields(self) if f.name != "variants"}
        if self.variants:
            out["variants"] = ";".join(f"{m}|{t}" for m, t in self.variants)
        return out

    @classmethod
    def from_query(cls, query: Mapping[str, Any]) -> Scenario:
        """Read a scenario back from query parameters. Missing or empty keys take the defaults, other keys
        are ignored; unreadable values raise ScenarioError naming the field. The result is validated."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = query.get(f.name)
            if isinstance(raw, list | tuple):  # some frameworks give every parameter as a list
                raw = raw[-1] if raw else None
            if raw is None or str(raw).strip() == "":
                continue
            text = str(raw).strip()
            if f.name == "region":
                values["region"] = text
            elif f.name == "variants":
                values["variants"] = parse_variants(text)
            else:
                try:
                    number = float(text)
                except ValueError:
                    raise ScenarioError(f"{DEFAULTS[f.name].label} ({f.name}) must be a number "
                                        f"(got '{text}').") from None
                values[f.name] = number
        return cls(**values).validated()

    def assumptions(self, grid: GridIntensity | None = None) -> list[Assumption]:
        """Every input with its unit and source (a changed input says so and keeps the default's source for
        comparison); the grid's intensity, data year and source last."""
        grid = grid or grid_intensity(self.region)
        out = []
        for name, default in DEFAULTS.items():
            value = getattr(self, name)
            default_value = default_region() if name == "region" else default.value
            is_default = value == default_value
            out.append(Assumption(name, default.label, value, default.unit,
                                  default.source if is_default else "your input", is_default, default_value,
                                  default.source))
        region_is_default = self.region == default_region()
        out.append(Assumption("grid_g_per_kwh", f"Grid intensity, {grid.name}", grid.g_per_kwh, "g CO2e/kWh",
                              grid.source, region_is_default, None, grid.source, grid.year))
        return out


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def parse_variants(text: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(";"))):
        model, sep, technique = item.partition("|")
        if not sep or not model.strip() or not technique.strip():
            raise ScenarioError(f"Variants must be 'model|technique' joined with ';' (got '{item}').")
        pairs.append((model.strip(), technique.strip()))
    return tuple(pairs)


@dataclass(frozen=True)
class Assumption:
    name: str
    label: str
    value: float | int | str
    unit: str
    source: str  # where the value comes from: the default's source, or "your input"
    is_default: bool
    default: float | int | str | None  # the default value, shown next to a changed input
    default_source: str
    year: int | None = None  # the data year, for figures that describe one (grid intensity)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(Assumption)}


# --------------------------------------------------------------------------------------------- figures


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


def year_queries(scenario: Scenario) -> list[float]:
    """Queries in each year of the horizon: the daily volume x 365, growing once a year."""
    growth = 1.0 + scenario.growth_pct / 100.0
    return [scenario.queries_per_day * DAYS_PER_YEAR * growth**i for i in range(scenario.years)]


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


# --------------------------------------------------------------------------------------------- equivalents


@dataclass(frozen=True)
class EquivalentFactor:
    id: str
    label: str  # "km driven by an average petrol car"
    co2e_t_per_unit: float
    source: str


# US EPA, Greenhouse Gas Equivalencies Calculator — Calculations and References (2023 update)
EPA_CO2E_T_PER_MILE = 3.93e-4  # metric tons CO2e per mile driven by an average gasoline-powered passenger vehicle
EPA_CO2_T_PER_TREE_10Y = 0.060  # metric tons CO2 sequestered by one urban tree seedling grown for 10 years
KM_PER_MILE = 1.609344
EPA_SOURCE = "US EPA Greenhouse Gas Equivalencies Calculator, Calculations and References (2023 update)"

EQUIVALENTS: tuple[EquivalentFactor, ...] = (
    EquivalentFactor("car_km", "km driven by an average gasoline passenger car",
                     EPA_CO2E_T_PER_MILE / KM_PER_MILE,
                     f"{EPA_SOURCE}: {EPA_CO2E_T_PER_MILE:g} t CO2e per mile driven by an average "
                     "gasoline-powered passenger vehicle; 1 mile = 1.609344 km"),
    EquivalentFactor("tree_months", "months of CO2 uptake by an urban tree seedling",
                     EPA_CO2_T_PER_TREE_10Y / 120,
                     f"{EPA_SOURCE}: {EPA_CO2_T_PER_TREE_10Y:g} t CO2 per urban tree seedling grown for 10 years, "
                     "spread evenly over its 120 months"),
)


@dataclass(frozen=True)
class Equivalent:
    id: str
    label: str
    amount: float  # negative when the CO2e is an increase, not a saving
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "amount": self.amount, "source": self.source}


def equivalents(co2e_t: float) -> list[Equivalent]:
    """Everyday equivalents of an amount of CO2e (metric tons), each with its constant's source."""
    return [Equivalent(f.id, f.label, co2e_t / f.co2e_t_per_unit, f.source) for f in EQUIVALENTS]


# --------------------------------------------------------------------------------------------- payback


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


# --------------------------------------------------------------------------------------------- projection


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
            "model": r.model, "technique": r.technique, "accuracy": r.accuracy,
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
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
