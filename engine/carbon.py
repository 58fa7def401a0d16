"""Grid carbon intensity from codecarbon's own bundled data (no network). CO2e = energy x intensity.

Countries come from codecarbon's global energy mix (ISO 3166 alpha-3 codes); US states from its bundled EPA
eGRID table, coded `USA-<state>` (USA-CA, USA-TX). Every figure carries its data year and source.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from engine.registry import ChoiceError, closest

SOURCE = "codecarbon {version} global energy mix (Our World in Data / Ember), year {year}"
STATE_SOURCE = "codecarbon {version} bundled {name} (field {field}), year {year}, converted from {unit}"
STATE_PREFIX = "USA-"
# g/kWh per unit of the state table: 1 lb = 453.592 g and 1 MWh = 1,000 kWh, so 1 lb/MWh = 0.453592 g/kWh
STATE_UNITS = {"lbs/MWh": 0.453592, "lb/MWh": 0.453592, "kg/MWh": 1.0, "g/kWh": 1.0}


@dataclass(frozen=True)
class GridIntensity:
    region: str  # ISO 3166 alpha-3 (FRA), or USA-<state code> (USA-CA)
    name: str
    g_per_kwh: float
    year: int  # the year the intensity describes
    source: str

    @property
    def country_iso_code(self) -> str:
        """The country alone (what codecarbon takes as country_iso_code): USA for USA-CA."""
        return self.region.split("-", 1)[0]

    @property
    def label(self) -> str:
        """'France (FRA) · 56 g/kWh, 2023' for selectors and assumption lists."""
        return f"{self.name} ({self.region}) · {self.g_per_kwh:.0f} g/kWh, {self.year}"


@cache
def _energy_mix() -> dict[str, dict]:
    from codecarbon.input import DataSource

    return DataSource().get_global_energy_mix_data()


@cache
def _us_state_data() -> dict[str, dict]:
    from codecarbon.input import DataSource

    return DataSource().get_country_emissions_data("usa")


def _version() -> str:
    from importlib.metadata import version

    return version("codecarbon")


def _source(year: int) -> str:
    return SOURCE.format(version=_version(), year=year)


def _state_name(key: str) -> str:
    words = [w if w in ("of", "and") else w.capitalize() for w in key.split()]
    return f"{' '.join(words)} (USA)"


@cache
def _regions() -> dict[str, GridIntensity]:
    out = {
        code: GridIntensity(code, row["country_name"], float(row["carbon_intensity"]), int(row["year"]),
                            _source(row["year"]))
        for code, row in _energy_mix().items()
    }
    data = _us_state_data()
    unit = (data.get("_unit") or {}).get("emissions", "")
    factor = STATE_UNITS.get(unit)
    if factor is None:  # a codecarbon release with a new unit: leave states out rather than mis-convert them
        return out
    meta = data.get("_source") or {}
    year = int(meta.get("year") or 0)
    source = STATE_SOURCE.format(version=_version(), name=meta.get("name", "EPA eGRID"),
                                 field=meta.get("field", "?"), year=year, unit=unit)
    for key, row in data.items():
        code = str(row.get("regionCode", "")) if isinstance(row, dict) else ""
        if key.startswith("_") or len(code) != 2 or not code.isalpha():
            continue  # metadata, and the national 'usa' row (USA comes from the energy mix)
        region = STATE_PREFIX + code.upper()
        out[region] = GridIntensity(region, _state_name(key), float(row["emissions"]) * factor, year, source)
    return out


def regions() -> list[GridIntensity]:
    """Every country and US state codecarbon has data for, sorted by name."""
    return sorted(_regions().values(), key=lambda g: g.name)


def grid_intensity(region: str) -> GridIntensity:
    """The intensity of a region given by code (FRA, USA-CA) or name (France, California (USA), california)."""
    table = _regions()
    code = region.strip().upper()
    if code in table:
        return table[code]
    by_name = {g.name.lower(): c for c, g in table.items()}
    by_name.update({g.name.lower().removesuffix(" (usa)"): c for c, g in table.items() if c.startswith(STATE_PREFIX)})
    wanted = region.strip().lower()
    if wanted in by_name:
        return table[by_name[wanted]]
    hint = closest(code, table) or closest(wanted, by_name)
    did_you_mean = f" Did you mean '{hint}'?" if hint else ""
    raise ChoiceError(
        f"Unknown region '{region}'.{did_you_mean} Use an ISO 3166 alpha-3 country code such as USA, FRA, DEU, "
        f"GBR, IND, NOR, or a US state as USA-<state code> such as USA-CA ({len(table)} available: "
        "python -m engine regions)."
    )


def co2e_g(energy_wh: float, g_per_kwh: float) -> float:
    """Grams of CO2e for an energy in watt-hours at a grid intensity in g/kWh."""
    return energy_wh / 1000.0 * g_per_kwh
