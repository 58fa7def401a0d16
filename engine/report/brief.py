"""The one-page executive briefing: the verdict, four figures with their provenance, two charts, the
recommendation, the what-if assumptions and how it was all measured, as self-contained HTML or a PDF.

`build_briefing` gathers the content once (charts rendered to PNG); `brief_html` and `brief_pdf` lay the same
content out (engine.report.brief_html / brief_pdf). Optional inputs, duck-typed so that the engine's what-if
and recommendation objects and their CLI JSON both work:

- recommendation: engine.recommend's Recommendation or its JSON: `recommended` and `runner_up` (a record or
  record dict, or None), `reason`, `binding_constraint` (and, when present, `runner_up_reason`,
  `binding_detail`, `nearest_miss_reason`);
- whatif: engine.whatif's Projection or its JSON: `assumptions` (a list of {label, value, unit, source}, or a
  plain {name: value} mapping), `variants` (rows with `model`, `technique`, `energy_kwh_per_year`,
  `co2e_t_per_year`, `cost_usd_per_year`, optionally `savings` with everyday `equivalents`), `baseline`.
Objects with a `to_dict()` are read through it, so both forms take one code path.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.quality import metric_for, noun
from engine.record import TrialRecord
from engine.registry import METRICS, get_task
from engine.report.fmt import fmt_g, fmt_ms, fmt_score, fmt_wh, speedup_text
from engine.summary import (
    KEEP_QUALITY,
    Headline,
    cpu_name,
    fmt_pct,
    headline,
    model_order,
    ok_records,
    provenance,
    short_technique,
)

TITLE = "Rightsize briefing: a smaller AI model for the same job"
MAX_WHATIF_ROWS = 6  # one page: the rest is summarized as "+ N more"
CHART_WIDTH_PX = 460  # rendered width; both charts sit side by side on the page


@dataclass(frozen=True)
class Kpi:
    label: str
    value: str
    comparison: str  # against the reference model
    how: str  # "measured" | "estimated" | "partly measured" | "unknown"
    method: str  # how this figure was obtained, in words
    context: str  # hardware, date, CPU contention


@dataclass(frozen=True)
class ChartImage:
    title: str
    png: bytes
    alt: str


@dataclass(frozen=True)
class Section:
    heading: str
    lines: tuple[str, ...]
    table: tuple[tuple[str, ...], ...] = ()  # first row: the header; laid out across the page
    table_title: str = ""
    notes: tuple[str, ...] = ()  # below the table


@dataclass(frozen=True)
class Briefing:
    title: str
    task: str
    prepared_on: str  # ISO date (UTC) the briefing was made
    measured: str  # when and on what the figures were measured
    verdict: str
    note: str  # e.g. "Reference results measured on ... — not this machine"; "" for live results
    kpis: tuple[Kpi, ...]
    charts: tuple[ChartImage, ...]
    recommendation: Section
    whatif: Section
    footer: tuple[str, ...]


# --------------------------------------------------------------------------------------------- content


def task_title(task_id: str) -> str:
    try:
        return get_task(task_id).title
    except ValueError:
        return task_id


def build_briefing(records: Sequence[TrialRecord], *, recommendation: Any = None, whatif: Any = None,
                   note: str = "", title: str = TITLE, today: dt.date | None = None,
                   with_charts: bool = True) -> Briefing:
    """The briefing's content from one comparison's records. ValueError when fewer than two variants have a
    measured quality (there is no verdict to give)."""
    records = list(records)
    result = headline(records)
    if result is None:
        raise ValueError("A briefing needs at least two measured variants of one task: run a comparison first "
                         "(python -m engine run ... or the Run page).")
    ref, cand = result.reference, result.candidate
    task = task_title(cand.task)
    if whatif is None:  # a briefing always scales up: the default scenario, said to be one, when none was given
        whatif = default_projection(records)
        note = " ".join(filter(None, (note.rstrip(". ") + "." if note else "",
                                      "Yearly figures use the default what-if scenario (its sources below); "
                                      "set your own on the What-if page.")))
    prov = provenance(records)
    when = prov.first if prov.first == prov.last else f"{prov.first} to {prov.last}"
    return Briefing(
        title=title,
        task=task,
        prepared_on=(today or dt.datetime.now(dt.UTC).date()).isoformat(),
        measured=f"measured {when} on {', '.join(prov.cpus)}",
        verdict=result.sentence,
        note=note,
        kpis=kpis(result),
        charts=chart_images(records) if with_charts else (),
        recommendation=recommendation_section(result, recommendation),
        whatif=whatif_section(whatif, *_focus(recommendation, cand)),
        footer=footer_lines(records, ref, cand),
    )


def default_projection(records: Sequence[TrialRecord]) -> Any:
    """engine.whatif's projection of these records under the default Scenario, or None if it cannot be made."""
    from engine.whatif import Scenario, project

    try:
        return project(records, Scenario())
    except (LookupError, ValueError):
        return None


def _focus(recommendation: Any, candidate: TrialRecord) -> tuple[tuple[str, str], tuple[str, str] | None]:
    """The variants the what-if table lists first: the recommended one (else the headline's candidate) and the
    runner-up."""
    rec = _plain(recommendation) if recommendation is not None else {}
    return _pair(_get(rec, "recommended")) or (candidate.model, candidate.technique), _pair(_get(rec, "runner_up"))


def _pair(item: Any) -> tuple[str, str] | None:
    return (_get(item, "model"), _get(item, "technique")) if item is not None else None


def energy_how(method: str) -> str:
    """'estimated', 'measured' or 'partly measured', from a record's energy_method; 'unknown' if unlabelled."""
    kind = method.partition(":")[0].strip()
    return kind if kind in ("estimated", "measured", "partly measured") else "unknown"


ENERGY_WORDS = {
    "estimated": "estimated by codecarbon from CPU time x a power model (no hardware power counter here)",
    "measured": "measured by hardware power counters (codecarbon)",
    "partly measured": "partly measured by hardware counters, partly estimated (codecarbon)",
    "unknown": "energy method not recorded",
}


def _context(*records: TrialRecord) -> str:
    """Hardware, date(s) and CPU contention of the records behind one figure."""
    dates = sorted({r.started_at[:10] for r in records if r.started_at})
    cpus = list(dict.fromkeys(cpu_name(r) for r in records))
    shares = [r.contention for r in records if r.contention is not None]
    if any(r.contended for r in records):
        busy = f"WARNING: other programs used up to {max(shares, default=0):.0%} of the CPU (less reliable)"
    elif shares:
        busy = f"quiet CPU (others used at most {max(shares):.0%})"
    else:
        busy = "CPU contention not recorded"
    return " · ".join([", ".join(cpus), " / ".join(dates) or "date unknown", busy])


def _change(cand: float | None, ref: float | None) -> str:
    if cand is None or ref is None or ref == 0:
        return ""
    return f" ({100 * (cand / ref - 1):+.0f}%)"


def kpis(result: Headline) -> tuple[Kpi, ...]:
    """Quality kept (in the task's metric), energy and CO2e per 1,000 queries, speed-up: each with how it was
    obtained."""
    ref, cand = result.reference, result.candidate
    metric = result.metric
    both = _context(cand, ref)
    how = energy_how(cand.energy_method)
    grid = f"{cand.region} {cand.grid_g_per_kwh:.0f} g/kWh" if cand.grid_g_per_kwh is not None else cand.region
    year = match.group(1) if (match := re.search(r"year (\d{4})", cand.grid_source)) else ""
    # CO2e multiplies the energy by a yearly-average grid factor: never more than partly measured
    co2e_how = "estimated" if how in ("estimated", "unknown") else "partly measured"
    return (
        Kpi(f"{metric.title} kept", fmt_pct(result.quality_kept_pct),
            f"{fmt_score(cand.quality, metric=metric)} vs {fmt_score(ref.quality, metric=metric)} for {ref.variant}",
            "measured",
            f"measured: {metric.meaning}, on {cand.eval_size} test items; 95% interval "
            f"{fmt_score(cand.quality_ci_low, metric=metric)} to {fmt_score(cand.quality_ci_high, metric=metric)}",
            both),
        Kpi("Energy per 1,000 queries", fmt_wh(cand.energy_wh_per_1k),
            f"vs {fmt_wh(ref.energy_wh_per_1k)} for {ref.variant}{_change(cand.energy_wh_per_1k, ref.energy_wh_per_1k)}",
            how, ENERGY_WORDS[how], both),
        Kpi("CO2e per 1,000 queries", fmt_g(cand.co2e_g_per_1k),
            f"vs {fmt_g(ref.co2e_g_per_1k)} for {ref.variant}{_change(cand.co2e_g_per_1k, ref.co2e_g_per_1k)}",
            co2e_how, f"{co2e_how}: energy x the grid's yearly average carbon intensity "
            f"({grid}{', ' + year if year else ''})", both),
        Kpi("Speed-up (median response)", speedup_text(result.speedup),
            f"{fmt_ms(cand.latency_p50_ms)} vs {fmt_ms(ref.latency_p50_ms)} per query", "measured",
            f"measured: median wall-clock time of {cand.latency_n} single queries after warm-up", both),
    )


def chart_images(records: Sequence[TrialRecord]) -> tuple[ChartImage, ...]:
    """The accuracy-vs-energy chart and the carbon chart, as PNG images."""
    from engine.report import charts
    from engine.report.images import chart_png

    shown = ok_records(records)
    domain = model_order(shown[0].task if shown else None, shown)
    return (
        ChartImage("Accuracy vs energy per 1,000 queries",
                   chart_png(charts.quality_energy_chart(shown, domain), CHART_WIDTH_PX, 190),
                   "Scatter chart: accuracy against energy per 1,000 queries for every variant, with the best "
                   "trade-offs joined by a dashed line."),
        ChartImage("Carbon per 1,000 queries",
                   chart_png(charts.co2e_chart(shown, domain), CHART_WIDTH_PX),
                   "Bar chart: grams of CO2e per 1,000 queries for every variant."),
    )


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


def footer_lines(records: Sequence[TrialRecord], ref: TrialRecord, cand: TrialRecord) -> tuple[str, ...]:
    runs = sorted({f"#{r.job_id}" for r in ok_records(records) if r.job_id})
    return (
        provenance(records).caption,
        f"How: {noun(metric_for(records))} is {metric_for(records).meaning}, on held-out test items, with a 95% "
        "bootstrap interval; "
        "speed is the median of single queries timed after warm-up; energy comes from codecarbon (estimated "
        "from CPU time where the machine has no power counters); CO2e = energy x the grid's carbon intensity "
        "(codecarbon's bundled data). Figures hold for this hardware and test set. Full method: the "
        "Methodology page (docs/methodology.md).",
        f"Compared with {ref.variant}, the largest model at full precision. "
        + (f"Run {', '.join(runs)}. " if runs else "")
        + "Made with Rightsize.",
    )


# --------------------------------------------------------------------------------------------- outputs


def _briefing(source: Sequence[TrialRecord] | Briefing, **options: Any) -> Briefing:
    return source if isinstance(source, Briefing) else build_briefing(source, **options)


def brief_html(source: Sequence[TrialRecord] | Briefing, *, recommendation: Any = None, whatif: Any = None,
               note: str = "", today: dt.date | None = None) -> str:
    """A self-contained HTML page (charts inline as data URIs) that prints on one A4 or Letter page."""
    from engine.report.brief_html import render_html

    return render_html(_briefing(source, recommendation=recommendation, whatif=whatif, note=note, today=today))


def brief_pdf(source: Sequence[TrialRecord] | Briefing, *, recommendation: Any = None, whatif: Any = None,
              note: str = "", today: dt.date | None = None, paper: str = "A4", font_dir: str | Path | None = None) -> bytes:
    """The same briefing as a one-page PDF (A4 or Letter). DejaVu Sans is embedded when `font_dir` (default:
    Debian's /usr/share/fonts/truetype/dejavu) has it, else a core font with the text reduced to Latin-1."""
    from engine.report.brief_pdf import paper_size, render_pdf

    paper_size(paper)  # a bad paper size fails before the charts are drawn
    briefing = _briefing(source, recommendation=recommendation, whatif=whatif, note=note, today=today)
    return render_pdf(briefing, paper=paper, font_dir=font_dir)
