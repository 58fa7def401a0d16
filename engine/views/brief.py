"""The one-page executive briefing: the verdict, four figures with their provenance, two charts, the
recommendation, the what-if assumptions and how it was all measured, as self-contained HTML or a PDF.

`build_briefing` gathers the content once (charts rendered to PNG); `brief_html` and `brief_pdf` lay the same
content out (engine.views.brief_html / brief_pdf). Optional inputs, duck-typed so that the engine's what-if
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

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.quality import metric_for, noun
from engine.record import TrialRecord
from engine.registry import get_task
from engine.summary.headline import headline
from engine.summary.provenance import provenance
from engine.summary.variants import model_order, ok_records
from engine.views.brief_model import Briefing, ChartImage
from engine.views.brief_sections import focus, recommendation_section, whatif_section
from engine.views.key_figures import kpis

TITLE = "Rightsize briefing: a smaller AI model for the same job"
CHART_WIDTH_PX = 460  # rendered width; both charts sit side by side on the page


def task_title(task_id: str) -> str:
    try:
        return get_task(task_id).title
    except ValueError:  # a task this install no longer knows (a deleted upload)
        return task_id


def build_briefing(records: Sequence[TrialRecord], *, recommendation: Any = None, whatif: Any = None,
                   note: str = "", title: str = TITLE, today: dt.date | None = None,
                   with_charts: bool = True) -> Briefing:
    """The briefing's content from one comparison's records. ValueError when fewer than two variants have an
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
        whatif=whatif_section(whatif, *focus(recommendation, cand)),
        footer=footer_lines(records, ref, cand),
    )


def default_projection(records: Sequence[TrialRecord]) -> Any:
    """engine.whatif's projection of these records under the default Scenario, or None if it cannot be made."""
    from engine.scenario import Scenario
    from engine.whatif import project

    try:
        return project(records, Scenario())
    except (LookupError, ValueError):
        return None


def chart_images(records: Sequence[TrialRecord]) -> tuple[ChartImage, ...]:
    """The quality-vs-energy chart (in the task's metric) and the carbon chart, as PNG images."""
    from engine.views import charts
    from engine.views.images import chart_png

    shown = ok_records(records)
    domain = model_order(shown[0].task if shown else None, shown)
    metric = metric_for(shown)
    return (
        ChartImage(f"{metric.title} vs energy per 1,000 queries",
                   chart_png(charts.quality_energy_chart(shown, domain), CHART_WIDTH_PX, 190),
                   f"Scatter chart: {noun(metric)} against energy per 1,000 queries for every variant, with the best "
                   "trade-offs joined by a dashed line."),
        ChartImage("Carbon per 1,000 queries",
                   chart_png(charts.co2e_chart(shown, domain), CHART_WIDTH_PX),
                   "Bar chart: grams of CO2e per 1,000 queries for every variant."),
    )


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


def _briefing(source: Sequence[TrialRecord] | Briefing, **options: Any) -> Briefing:
    return source if isinstance(source, Briefing) else build_briefing(source, **options)


def brief_html(source: Sequence[TrialRecord] | Briefing, *, recommendation: Any = None, whatif: Any = None,
               note: str = "", today: dt.date | None = None) -> str:
    """A self-contained HTML page (charts inline as data URIs) that prints on one A4 or Letter page."""
    from engine.views.brief_html import render_html

    return render_html(_briefing(source, recommendation=recommendation, whatif=whatif, note=note, today=today))


def brief_pdf(source: Sequence[TrialRecord] | Briefing, *, recommendation: Any = None, whatif: Any = None,
              note: str = "", today: dt.date | None = None, paper: str = "A4", font_dir: str | Path | None = None) -> bytes:
    """The same briefing as a one-page PDF (A4 or Letter). DejaVu Sans is embedded when `font_dir` (default:
    Debian's /usr/share/fonts/truetype/dejavu) has it, else a core font with the text reduced to Latin-1."""
    from engine.views.brief_pdf import paper_size, render_pdf

    paper_size(paper)  # a bad paper size fails before the charts are drawn
    briefing = _briefing(source, recommendation=recommendation, whatif=whatif, note=note, today=today)
    return render_pdf(briefing, paper=paper, font_dir=font_dir)
