"""Tonnes of CO2e in everyday terms (US EPA equivalencies): miles driven, tree seedlings grown 10 years.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
