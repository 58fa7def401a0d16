"""What the What-if page shows, as plain data: a scenario read leniently from a page address, one row per
projected variant, payback in words, everyday equivalents in a sentence, and the CSV/JSON exports.

No streamlit here: the page only lays these out, and tests check them directly.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from engine.quality import metric_for
from engine.registry import MetricSpec
from engine.scenario import Scenario
from engine.summary.headline import keeps, score_key
from engine.views.fmt import amount
from engine.whatif import PAYBACK_SEARCH_YEARS, Projection, VariantProjection

SCENARIO_KEYS = tuple(f.name for f in fields(Scenario))
VARIANT_SEPARATOR = "|"  # the same form Scenario.to_query uses for its `variants`

# projection_rows' keys -> column titles people read (units in the titles)
COLUMN_TITLES = {
    "variant": "Variant",
    "quality": "Score",  # titled with the task's metric by column_titles()
    "energy_kwh_year1": "Energy, year 1 (kWh)",
    "co2e_t_year1": "CO2e, year 1 (t)",
    "cost_usd_year1": "Cost, year 1 (USD)",
    "energy_kwh_total": "Energy, total (kWh)",
    "co2e_t_total": "CO2e, total (t)",
    "cost_usd_total": "Cost, total (USD)",
    "saved_energy_kwh_total": "Energy saved, total (kWh)",
    "saved_co2e_t_total": "CO2e saved, total (t)",
    "saved_cost_usd_total": "Cost saved, total (USD)",
    "saved_energy_pct_year1": "Energy saved, year 1 (%)",
}


# --------------------------------------------------------------------------------------------- scenario


def scenario_from_query(query: Mapping[str, Any]) -> tuple[Scenario, list[str]]:
    """A validated scenario from page query parameters, keeping every readable value: each unreadable or
    out-of-range one is dropped (its default is used) and its message returned, so one bad value in a shared
    link does not throw away the rest."""
    kept: dict[str, Any] = {}
    problems: list[str] = []
    for name in SCENARIO_KEYS:
        if name not in query:
            continue
        try:
            Scenario.from_query({name: query[name]})  # this value alone, the others at their defaults
        except ValueError as error:  # ScenarioError, or ChoiceError for an unknown region
            problems.append(str(error))
        else:
            kept[name] = query[name]
    try:
        return Scenario.from_query(kept), problems
    except ValueError as error:  # cannot happen field by field, but never let a link break the page
        return Scenario().validated(), [*problems, str(error)]


def variant_key(model: str, technique: str) -> str:
    """'minilm-l6|int8-dynamic': how a variant is named in a multiselect and in the page address."""
    return f"{model}{VARIANT_SEPARATOR}{technique}"


def split_variant_key(key: str) -> tuple[str, str]:
    model, _, technique = key.partition(VARIANT_SEPARATOR)
    return model, technique


def known_variants(wanted: Sequence[tuple[str, str]], available: Sequence[str]) -> tuple[list[str], list[str]]:
    """The wanted (model, technique) pairs as keys, split into those stored and those not (for a warning)."""
    keys = [variant_key(m, t) for m, t in wanted]
    return [k for k in keys if k in available], [k.replace(VARIANT_SEPARATOR, " · ") for k in keys
                                                 if k not in available]


# --------------------------------------------------------------------------------------------- figures


def column_titles(metric: MetricSpec) -> dict[str, str]:
    """COLUMN_TITLES with the score column named for the task's metric ("Accuracy", "Spam F1")."""
    return {**COLUMN_TITLES, "quality": metric.title}


def projection_rows(projection: Projection) -> list[dict[str, Any]]:
    """One row per projected variant: year-1 and total figures, and what it saves against the baseline."""
    base = projection.baseline.record if projection.baseline else None
    rows = []
    for v in projection.variants:
        fy, total, saved = v.first_year, v.total, v.savings
        rows.append({
            "variant": v.record.variant, "model": v.record.model, "technique": v.record.technique,
            "is_baseline": v.record is base, "quality": v.record.quality, "metric": v.record.metric,
            "energy_kwh_year1": fy.energy_kwh, "co2e_t_year1": fy.co2e_t, "cost_usd_year1": fy.cost_usd,
            "energy_kwh_total": total.energy_kwh, "co2e_t_total": total.co2e_t, "cost_usd_total": total.cost_usd,
            "saved_energy_kwh_total": saved.total.energy_kwh if saved else None,
            "saved_co2e_t_total": saved.total.co2e_t if saved else None,
            "saved_cost_usd_total": saved.total.cost_usd if saved else None,
            "saved_energy_pct_year1": saved.energy_pct_first_year if saved else None,
        })
    return rows


def focus_index(projection: Projection) -> int:
    """The variant to feature first: of those keeping the quality (KEEP_QUALITY of the best-scoring one
    shown, the headline's rule), the one saving the most CO2e over the horizon; ties go to the first."""
    variants = projection.variants
    metric = metric_for([v.record for v in variants])
    best = max((v.record for v in variants if v.record.quality is not None), key=score_key(metric), default=None)
    keeping = [i for i, v in enumerate(variants)
               if best is not None and v.record.quality is not None and keeps(v.record, best, metric)]
    pool = keeping or list(range(len(variants)))
    saved = {i: variants[i].savings.total.co2e_t if variants[i].savings else float("-inf") for i in pool}
    return max(pool, key=lambda i: (saved[i], -i)) if pool else 0


def plain_reason(model: str, technique: str, reason: str) -> str:
    """The recommender's reason without its leading 'model technique: ' (the page names the variant already)."""
    text = reason.removeprefix(f"{model} {technique}: ")
    return text[:1].upper() + text[1:]


def energy_amount(kwh: float | None) -> str:
    """Energy in the unit that reads best: 1,230 kWh, 4.5 kWh, 47 Wh."""
    if kwh is None:
        return "–"
    return amount(kwh, "kWh") if abs(kwh) >= 1 or kwh == 0 else amount(kwh * 1000, "Wh")


def co2e_mass(tonnes: float | None) -> str:
    """CO2e in the unit that reads best: 1.2 t, 340 kg, 56 g (negative amounts keep their sign)."""
    if tonnes is None:
        return "–"
    size = abs(tonnes)
    if size >= 1 or size == 0:
        return amount(tonnes, "t")
    return amount(tonnes * 1000, "kg") if size >= 1e-3 else amount(tonnes * 1e6, "g")


def usd(value: float | None) -> str:
    if value is None:
        return "unknown (throughput not measured)"
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.0f}" if abs(value) >= 100 else f"{sign}${abs(value):,.2f}"


def equivalents_sentence(v: VariantProjection, years: int) -> str | None:
    """'Over 3 years, minilm-l6 · int8-dynamic instead of mpnet-base · fp32 saves 0.53 t CO2e: about ...'.
    None for the baseline itself or a variant without a baseline."""
    if v.savings is None or v.savings.vs == v.record.variant:
        return None
    saved = v.savings.total.co2e_t
    span = f"Over {years} year{'s' * (years != 1)}, {v.record.variant} instead of {v.savings.vs}"
    if saved == 0:
        return f"{span} emits the same CO2e."
    verb = "saves" if saved > 0 else "emits"
    more = "" if saved > 0 else " more"
    likes = " or ".join(f"{amount(abs(e.amount))} {e.label}" for e in v.savings.equivalents)
    return f"{span} {verb} {co2e_mass(abs(saved))} CO2e{more}: about as much as {likes}."


# --------------------------------------------------------------------------------------------- payback


@dataclass(frozen=True)
class PaybackView:
    """A variant created with a one-time energy (distillation, retraining, searches) against the baseline."""

    variant: str
    vs: str  # the baseline's variant label
    upfront_energy_kwh: float  # under the scenario's PUE
    upfront_co2e_t: float  # on the scenario's grid
    saving_wh_per_1k: float | None  # baseline - variant per 1,000 queries; None: no baseline
    break_even_queries: float | None
    break_even_date: date | None
    status: str  # "pays back on 2026-03-02", "never pays back", ...
    sentence: str


def payback_views(projection: Projection) -> list[PaybackView]:
    """One view per projected variant that has an up-front energy, in the projection's order."""
    out = []
    vs = projection.baseline.record.variant if projection.baseline else "the baseline"
    for v in projection.variants:
        p = v.payback
        if p is None:
            continue
        sentence = p.sentence
        if p.saving_wh_per_1k is None:
            status = "cannot tell: no baseline to compare with"
        elif p.break_even_queries is None:
            status = "never pays back"
            sentence = (f"{v.record.variant} never pays back: it uses {amount(v.record.energy_wh_per_1k)} Wh per "
                        f"1,000 queries, no less than {vs}, so the {energy_amount(p.upfront.energy_kwh)} spent "
                        "to create it is never recovered.")
        elif p.break_even_date is None:
            status = f"not within {PAYBACK_SEARCH_YEARS} years at this volume"
        else:
            status = f"pays back on {p.break_even_date.isoformat()}" + ("" if p.within_horizon
                                                                        else " (after the horizon)")
        out.append(PaybackView(v.record.variant, vs, p.upfront.energy_kwh, p.upfront.co2e_t,
                               p.saving_wh_per_1k, p.break_even_queries, p.break_even_date, status, sentence))
    return out


# --------------------------------------------------------------------------------------------- exports


CSV_COLUMNS = ("model", "technique", "is_baseline", "period", "queries", "energy_kwh", "co2e_t", "energy_cost_usd",
               "compute_hours", "compute_cost_usd", "cost_usd")


def projection_csv(projection: Projection) -> str:
    """One row per variant per period (each year, the one-time creation, the total), then the scenario's
    inputs and the grid as extra columns repeated on every row, so the file explains itself."""
    scenario = {f"scenario_{k}": v for k, v in projection.scenario.to_query().items()}
    grid = {"grid_g_per_kwh": projection.grid.g_per_kwh, "grid_year": projection.grid.year,
            "grid_source": projection.grid.source, "start": projection.start.isoformat()}
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*CSV_COLUMNS, *scenario, *grid], lineterminator="\n")
    writer.writeheader()
    base = projection.baseline.record if projection.baseline else None
    for v in projection.variants:
        periods = [(f"year {i}", y) for i, y in enumerate(v.years, 1)]
        if v.upfront is not None:
            periods.append(("one-time creation", v.upfront))
        periods.append(("total", v.total))
        for period, figures in periods:
            row = {"model": v.record.model, "technique": v.record.technique, "is_baseline": v.record is base,
                   "period": period, **figures.to_dict(), **scenario, **grid}
            writer.writerow({k: "" if value is None else value for k, value in row.items()})
    return buffer.getvalue()


def projection_json(projection: Projection) -> str:
    """Everything the projection holds: scenario, assumptions with sources, every year, savings, payback."""
    return json.dumps(projection.to_dict(), indent=2)
