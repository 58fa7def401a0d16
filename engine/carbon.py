"""Grid carbon intensity from codecarbon's own bundled data (no network). CO2e = energy x intensity."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from engine.registry import ChoiceError, closest

SOURCE = "codecarbon {version} global energy mix (Our World in Data / Ember), year {year}"


@dataclass(frozen=True)
class GridIntensity:
    region: str  # ISO 3166 alpha-3
    name: str
    g_per_kwh: float
    year: int
    source: str


@cache
def _energy_mix() -> dict[str, dict]:
    from codecarbon.input import DataSource

    return DataSource().get_global_energy_mix_data()


def _source(year: int) -> str:
    from importlib.metadata import version

    return SOURCE.format(version=version("codecarbon"), year=year)


def regions() -> list[GridIntensity]:
    """Every country codecarbon has data for, sorted by name."""
    out = [
        GridIntensity(code, row["country_name"], float(row["carbon_intensity"]), int(row["year"]), _source(row["year"]))
        for code, row in _energy_mix().items()
    ]
    return sorted(out, key=lambda g: g.name)


def grid_intensity(region: str) -> GridIntensity:
    code = region.strip().upper()
    mix = _energy_mix()
    if code not in mix:
        by_name = {row["country_name"].lower(): c for c, row in mix.items()}
        if region.strip().lower() in by_name:
            code = by_name[region.strip().lower()]
        else:
            hint = closest(code, mix) or closest(region.lower(), by_name)
            did_you_mean = f" Did you mean '{hint}'?" if hint else ""
            raise ChoiceError(
                f"Unknown region '{region}'.{did_you_mean} Use an ISO 3166 alpha-3 country code such as "
                f"USA, FRA, DEU, GBR, IND, NOR ({len(mix)} available: python -m engine regions)."
            )
    row = mix[code]
    return GridIntensity(code, row["country_name"], float(row["carbon_intensity"]), int(row["year"]),
                         _source(row["year"]))


def co2e_g(energy_wh: float, g_per_kwh: float) -> float:
    """Grams of CO2e for an energy in watt-hours at a grid intensity in g/kWh."""
    return energy_wh / 1000.0 * g_per_kwh
