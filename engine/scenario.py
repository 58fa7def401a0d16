"""A what-if serving scenario: query volume, growth, horizon, grid, PUE, prices, with the documented
defaults, their ranges and sources, and the variants it covers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from engine.carbon import GridIntensity, grid_intensity
from engine.config import settings

DAYS_PER_YEAR = 365


class ScenarioError(ValueError):
    """A scenario input out of range or unreadable; the message names the field and its valid range."""


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


def year_queries(scenario: Scenario) -> list[float]:
    """Queries in each year of the horizon: the daily volume x 365, growing once a year."""
    growth = 1.0 + scenario.growth_pct / 100.0
    return [scenario.queries_per_day * DAYS_PER_YEAR * growth**i for i in range(scenario.years)]
