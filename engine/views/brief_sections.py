"""The briefing's recommendation and what-if sections, read from engine objects or their CLI JSON (duck-typed:
objects with a to_dict() are read through it).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from engine.quality import metric_for, noun
from engine.record import TrialRecord
from engine.registry import METRICS
from engine.summary.headline import KEEP_QUALITY, Headline
from engine.summary.labels import short_technique
from engine.views.brief_model import Section
from engine.views.fmt import fmt_score, fmt_wh

MAX_WHATIF_ROWS = 6  # one page: the rest is summarized as "+ N more"


def focus(recommendation: Any, candidate: TrialRecord) -> tuple[tuple[str, str], tuple[str, str] | None]:
    """The variants the what-if table lists first: the recommended one (else the headline's candidate) and the
    runner-up."""
    rec = _plain(recommendation) if recommendation is not None else {}
    return _pair(_get(rec, "recommended")) or (candidate.model, candidate.technique), _pair(_get(rec, "runner_up"))


def _pair(item: Any) -> tuple[str, str] | None:
    return (_get(item, "model"), _get(item, "technique")) if item is not None else None


def _plain(obj: Any) -> Any:
    """An engine object as its JSON shape (what its CLI prints): to_dict() when it has one."""
    if callable(getattr(obj, "to_dict", None)):
        return obj.to_dict()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    return obj


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """A field of a dict or an object."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _variant(item: Any, short: bool = False) -> str:
    """'minilm-l6 · int8-dynamic' from a record, a record dict or a {model, technique} row; `short` drops
    pipeline parameter names as the charts do."""
    if item is None:
        return ""
    model, technique = _get(item, "model"), _get(item, "technique")
    if not (model and technique):
        return str(item)
    return f"{model} · {short_technique(technique) if short else technique}"


def _figures(item: Any) -> str:
    """'84.0% accuracy, 0.035 Wh per 1,000 queries' from whatever figures a recommended variant carries (a
    record, its dict, or one written before quality was generic)."""
    parts = []
    score = _get(item, "quality") if _get(item, "quality") is not None else _get(item, "accuracy")
    if score is not None:
        task = _get(item, "task")
        metric = (metric_for((), str(task)) if task
                  else METRICS.get(str(_get(item, "metric") or "accuracy"), METRICS["accuracy"]))
        parts.append(f"{fmt_score(score, metric=metric)} {noun(metric)}")
    if _get(item, "energy_wh_per_1k") is not None:
        parts.append(f"{fmt_wh(_get(item, 'energy_wh_per_1k'))} per 1,000 queries")
    return ", ".join(parts)


def _constraint_label(name: str) -> str:
    try:  # the recommender's own words, once engine.recommend is present
        from engine.recommend import CONSTRAINT_LABELS as labels
    except ImportError:
        labels = {}
    return labels.get(name) or name.replace("_", " ")


def recommendation_section(result: Headline, recommendation: Any = None) -> Section:
    """What to do: the recommender's choice when given (engine.recommend's Recommendation or its JSON), else
    the headline's rule of thumb, said as such."""
    if recommendation is None:
        ref, cand = result.reference, result.candidate
        rule = (f"Rule used: the cheapest variant keeping at least {KEEP_QUALITY:.0%} of the largest model's "
                f"{noun(result.metric)}. No business constraints ({noun(result.metric)} floor, latency, budget) "
                "were given.")
        if result.keeps_quality:
            first = f"Consider {cand.variant} in place of {ref.variant}: {result.sentence[0].lower()}{result.sentence[1:]}"
        else:
            first = (f"No smaller variant kept {KEEP_QUALITY:.0%} of {ref.model}'s {noun(result.metric)}: keep {ref.variant}, "
                     "or measure other techniques.")
        return Section("Recommendation", (first, rule))
    rec = _plain(recommendation)
    chosen, runner_up = _get(rec, "recommended"), _get(rec, "runner_up")
    reason = str(_get(rec, "reason") or "").strip()
    binding = _get(rec, "binding_constraint")
    lines = []
    if chosen is not None:
        figures = _figures(chosen)
        lines.append(f"Recommended: {_variant(chosen)}" + (f" ({figures})." if figures else "."))
    elif not reason.startswith("No variant"):
        lines.append("No variant meets every constraint.")
    if reason:
        lines.append(reason)
    detail = str(_get(rec, "binding_detail") or "")
    if binding and not (detail and detail in reason):  # the recommender's reason may already say it
        lines.append(f"The constraint that decided it: {_constraint_label(str(binding))}.")
    if chosen is None and _get(rec, "nearest_miss_reason"):
        lines.append(str(_get(rec, "nearest_miss_reason")))
    if runner_up is not None:  # the recommender's runner-up reason names the variant itself
        why = str(_get(rec, "runner_up_reason") or "").strip()
        lines.append(f"Runner-up: {why}" if why else f"Runner-up: {_variant(runner_up)}.")
    return Section("Recommendation", tuple(lines))


UNITS = {"pue": "PUE", "usd": "USD", "kwh": "kWh", "co2e": "CO2e", "gpu": "GPU", "cpu": "CPU"}


def _humanize(key: str) -> str:
    """'electricity_usd_per_kwh' -> 'Electricity USD per kWh'."""
    words = [UNITS.get(w.lower(), w) for w in key.replace("_", " ").split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value)
    return str(value)


def _short_source(source: str) -> str:
    """'Uptime Institute Global Data Center Survey 2023: industry average ...' -> the part before ':' or ';'."""
    return source.split(":", 1)[0].split(";", 1)[0].strip()


def assumption_lines(assumptions: Any) -> tuple[str, ...]:
    """One line per assumption: engine.whatif's list of Assumption (label, value, unit, source), or a plain
    {name: value} mapping."""
    items = _plain(assumptions)
    if isinstance(items, Mapping):
        return tuple(f"{_humanize(str(k))}: {_value(v)}" for k, v in items.items())
    if not isinstance(items, list | tuple):
        items = [{"name": k, "value": v} for k, v in vars(items).items() if not k.startswith("_")]
    lines = []
    for item in map(_plain, items):
        label = _get(item, "label") or _humanize(str(_get(item, "name", "")))
        text = f"{label}: {_value(_get(item, 'value'))}"
        unit, source = str(_get(item, "unit") or ""), _short_source(str(_get(item, "source") or ""))
        lines.append(text + (f" {unit}" if unit else "") + (f" ({source})" if source else ""))
    return tuple(lines)


def _number(value: Any, digits: int = 3) -> str:
    """1,234 / 5.67 / 0.000465: `digits` significant digits, never an exponent (executives read these)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "–"
    if value == 0 or abs(value) >= 10 ** (digits - 1):
        return f"{value:,.0f}"
    decimals = digits - 1 - math.floor(math.log10(abs(value)))
    return f"{value:.{decimals}f}"


def _equivalents_line(rows: Sequence[Any], first: tuple[str, str] | None) -> str:
    """The CO2e a variant saves over the horizon in everyday terms, when the what-if gives equivalents."""
    row = next((r for r in rows if (_get(r, "model"), _get(r, "technique")) == first), None)
    savings = _get(row, "savings") if row is not None else None
    equivalents = [e for e in (_get(savings, "equivalents") or []) if _get(e, "amount")] if savings else []
    saved_t = _get(savings, "co2e_t_total") if savings else None
    if not equivalents or not isinstance(saved_t, int | float) or saved_t <= 0:
        return ""
    terms = " or ".join(f"{_number(_get(e, 'amount'))} {_get(e, 'label')}" for e in equivalents)
    return f"{_variant(row, short=True)} saves {_number(saved_t)} t CO2e over the horizon vs {_get(savings, 'vs')}: {terms}."


def whatif_section(whatif: Any = None, first: tuple[str, str] | None = None,
                   runner_up: tuple[str, str] | None = None) -> Section:
    """The scenario's assumptions and, per variant, its first-year energy, CO2e and cost (engine.whatif's
    Projection or its JSON). `first` (model, technique) is listed first and its saving given in everyday terms;
    then `runner_up` and the baseline."""
    if whatif is None:
        return Section("What-if assumptions", (
            "No scenario was applied: the figures are per 1,000 queries, as measured. Yearly energy, carbon and "
            "cost depend on your query volume, data-centre overhead (PUE), grid and electricity price.",))
    data = _plain(whatif)
    lines = assumption_lines(_get(data, "assumptions") or {})
    rows = [_plain(r) for r in _get(data, "variants") or []]
    baseline = _get(data, "baseline")
    pinned = [first, runner_up, (_get(baseline, "model"), _get(baseline, "technique")) if baseline else None]
    rows.sort(key=lambda r: next((i for i, p in enumerate(pinned) if p == (_get(r, "model"), _get(r, "technique"))),
                                 len(pinned)))
    table: list[tuple[str, ...]] = []
    notes: tuple[str, ...] = ()
    if rows:
        table.append(("Variant", "Energy, kWh", "CO2e, tonnes", "Cost, USD"))
        for row in rows[:MAX_WHATIF_ROWS]:
            table.append((_variant(row, short=True), _number(_get(row, "energy_kwh_per_year")),
                          _number(_get(row, "co2e_t_per_year")), _number(_get(row, "cost_usd_per_year"))))
        if len(rows) > MAX_WHATIF_ROWS:
            more = len(rows) - MAX_WHATIF_ROWS
            notes += (f"{more} more variant{'s' * (more != 1)} in the full what-if (not shown).",)
    saving = _equivalents_line(rows, first)
    if saving:
        notes += (saving,)
    return Section("What-if assumptions", lines or ("No assumptions recorded.",), tuple(table),
                   "First year under this scenario" if table else "", notes)
