"""Altair chart builders: pure functions from trial records to charts (no streamlit calls).

Every chart colours a model the same way (a fixed domain: the task's ladder, see engine.summary.variants.model_order)
and carries the same tooltip: each figure together with how and where it was measured.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from engine.quality import is_share, metric_for, noun
from engine.record import TrialRecord
from engine.registry import TECHNIQUES, MetricSpec
from engine.summary.labels import short_technique
from engine.summary.variants import cpu_name, model_order, ok_records, pareto_frontier
from engine.views.colors import model_colors

LOG_X_RATIO = 20  # use a log energy axis when the largest value is over 20x the smallest
LOG_BAR_RATIO = 100  # bars (CO2e, latency, size) switch to a log axis beyond 100x, or the small ones vanish
SHAPES = ("circle", "square", "triangle-up", "diamond", "cross", "triangle-down")
LABEL_FONT = 13
TITLE_FONT = 16
NUMBER = ",.3~r"  # 3 significant digits, no exponent: 0.000333, 5.8, 438, 1,230

def metric_format(metric: MetricSpec) -> str:
    """Vega number format of a metric: a share as a percentage, a correlation as 0.000."""
    return ".1%" if is_share(metric) else ".3f"


def tooltip(metric: MetricSpec) -> list[alt.Tooltip]:
    """The records' tooltip, its score named and formatted for the task's metric."""
    return [TOOLTIP[0], TOOLTIP[1], alt.Tooltip("quality:Q", title=metric.title, format=metric_format(metric)),
            alt.Tooltip("ci:N", title=f"{metric.title} 95% CI"), *TOOLTIP[4:]]


TOOLTIP = [
    alt.Tooltip("model:N", title="Model"),
    alt.Tooltip("technique:N", title="Technique"),
    alt.Tooltip("quality:Q", title="Accuracy", format=".1%"),
    alt.Tooltip("ci:N", title="Accuracy 95% CI"),
    alt.Tooltip("eval_size:Q", title="Test items"),
    alt.Tooltip("energy_wh_per_1k:Q", title="Energy, Wh per 1k queries", format=".4g"),
    alt.Tooltip("energy_method:N", title="Energy method"),
    alt.Tooltip("co2e_g_per_1k:Q", title="CO2e, g per 1k queries", format=".4g"),
    alt.Tooltip("grid:N", title="Grid"),
    alt.Tooltip("latency_p50_ms:Q", title="Latency p50, ms", format=".1f"),
    alt.Tooltip("latency_p95_ms:Q", title="Latency p95, ms", format=".1f"),
    alt.Tooltip("latency_n:Q", title="Latency samples"),
    alt.Tooltip("model_size_mb:Q", title="Size on disk, MB", format=".1f"),
    alt.Tooltip("params_m:Q", title="Parameters, M", format=".1f"),
    alt.Tooltip("contention_pct:Q", title="CPU used by others, %", format=".0f"),
    alt.Tooltip("cpu:N", title="Hardware"),
    alt.Tooltip("started_at:N", title="Measured at (UTC)"),
    alt.Tooltip("run:N", title="Run"),
]


COLUMNS = [
    "label", "model", "technique", "short", "quality", "quality_ci_low", "quality_ci_high", "ci", "eval_size",
    "energy_wh_per_1k", "energy_method", "co2e_g_per_1k", "grid", "latency_p50_ms", "latency_p95_ms",
    "latency_n", "model_size_mb", "params_m", "contention_pct", "contended", "cpu", "started_at", "run",
]


def records_frame(records: Sequence[TrialRecord]) -> pd.DataFrame:
    """One row per ok record with the columns the charts and tooltips use. `label` names the variant,
    with the run number added when the same variant appears in several runs. Long pipeline specs are
    shortened in `label` and `short`; `technique` keeps the full spec for tooltips."""
    ok = ok_records(records)
    share = is_share(metric_for(ok))
    seen: dict[str, int] = {}
    for r in ok:
        seen[r.variant] = seen.get(r.variant, 0) + 1
    rows = []
    for r in ok:
        ci = (
            (f"{r.quality_ci_low:.1%} – {r.quality_ci_high:.1%}" if share
             else f"{r.quality_ci_low:.3f} – {r.quality_ci_high:.3f}")
            if r.quality_ci_low is not None and r.quality_ci_high is not None
            else "not computed"
        )
        rows.append(
            {
                "label": _label(r, seen[r.variant] > 1),
                "model": r.model,
                "technique": r.technique,
                "short": short_technique(r.technique),
                "quality": r.quality,
                "quality_ci_low": r.quality_ci_low,
                "quality_ci_high": r.quality_ci_high,
                "ci": ci,
                "eval_size": r.eval_size,
                "energy_wh_per_1k": r.energy_wh_per_1k,
                "energy_method": r.energy_method or "unknown",
                "co2e_g_per_1k": r.co2e_g_per_1k,
                "grid": f"{r.region} {r.grid_g_per_kwh:.0f} g/kWh" if r.grid_g_per_kwh is not None else r.region,
                "latency_p50_ms": r.latency_p50_ms,
                "latency_p95_ms": r.latency_p95_ms,
                "latency_n": r.latency_n,
                "model_size_mb": r.model_size_mb,
                "params_m": r.params_m,
                "contention_pct": None if r.contention is None else 100.0 * r.contention,
                "contended": bool(r.contended),
                "cpu": cpu_name(r),
                "started_at": r.started_at.replace("T", " ")[:19],
                "run": f"#{r.job_id}" if r.job_id else "command line",
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def _label(record: TrialRecord, with_run: bool = False) -> str:
    label = f"{record.model} · {short_technique(record.technique)}"
    return f"{label} (#{record.job_id or 0})" if with_run else label


def color_scale(domain: Sequence[str]) -> alt.Scale:
    """The same model gets the same colour in every chart: a fixed domain and palette."""
    colors = model_colors(domain)
    return alt.Scale(domain=list(domain), range=[colors[m] for m in domain])


def _technique_order(frame: pd.DataFrame) -> list[str]:
    known = [t for t in TECHNIQUES if t in set(frame["technique"])]
    return known + sorted(set(frame["technique"]) - set(known))


def _label_order(frame: pd.DataFrame, domain: Sequence[str]) -> list[str]:
    """Bars listed by model (ladder order, smallest first), then technique."""
    tech = _technique_order(frame)
    rank = frame.assign(
        _m=frame["model"].map({m: i for i, m in enumerate(domain)}).fillna(len(domain)),
        _t=frame["technique"].map({t: i for i, t in enumerate(tech)}),
    ).sort_values(["_m", "_t", "label"])
    return list(dict.fromkeys(rank["label"]))


def _color(domain: Sequence[str], legend: bool = True, orient: str = "bottom") -> alt.Color:
    return alt.Color(
        "model:N",
        scale=color_scale(domain),
        title="Model",
        legend=alt.Legend(orient=orient, labelFontSize=LABEL_FONT, titleFontSize=LABEL_FONT) if legend else None,
    )


def _style(chart: alt.TopLevelMixin, title: str, subtitle: Sequence[str] = (),
           legend_label_limit: int | None = None) -> alt.TopLevelMixin:
    """Title, readable fonts for a projector, and fit-x sizing: the width follows the page column and
    `height` is the plot's own height (Streamlit's default "fit" would squeeze legends into it)."""
    return (
        chart.properties(
            title=alt.TitleParams(title, subtitle=list(subtitle) or alt.Undefined, fontSize=TITLE_FONT,
                                  subtitleFontSize=LABEL_FONT - 1, subtitleColor="#555555", anchor="start"),
            autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
        )
        .configure_axis(labelFontSize=LABEL_FONT, titleFontSize=LABEL_FONT, labelLimit=260)
        .configure_legend(labelFontSize=LABEL_FONT, titleFontSize=LABEL_FONT,
                          labelLimit=legend_label_limit or alt.Undefined)
    )


def _empty(title: str) -> alt.Chart:
    return alt.Chart(pd.DataFrame({"text": ["no measurements to show"]})).mark_text(size=14).encode(
        text="text:N"
    ).properties(title=title, height=120)


def quality_energy_chart(records: Sequence[TrialRecord], domain: Sequence[str] | None = None) -> alt.Chart:
    """The task's metric (with 95% CI bars) against energy per 1,000 queries; the Pareto frontier as a dashed
    line. Points are coloured by model, shaped by technique; hollow points were measured under CPU contention."""
    metric = metric_for(records)
    title = f"{metric.title} vs energy per 1,000 queries"
    frame = records_frame(ok_records(records, "quality", "energy_wh_per_1k"))
    if frame.empty:
        return _empty(title)
    domain = list(domain or model_order(records[0].task, records))
    energies = frame["energy_wh_per_1k"]
    log_x = energies.min() > 0 and energies.max() / energies.min() > LOG_X_RATIO
    x_scale = alt.Scale(type="log", nice=False, padding=12) if log_x else alt.Scale(zero=False, padding=12)
    x = alt.X("energy_wh_per_1k:Q", scale=x_scale,
              title="Energy, Wh per 1,000 queries" + (" (log scale)" if log_x else "") + "  — lower is better")
    direction = "higher" if metric.higher_is_better else "lower"
    y = alt.Y("quality:Q", scale=alt.Scale(zero=False, padding=12, reverse=not metric.higher_is_better),
              axis=alt.Axis(format="%") if is_share(metric) else alt.Axis(format=".2f"),
              title=f"{metric.title}  — {direction} is better")
    tips = tooltip(metric)
    base = alt.Chart(frame)
    error_bars = base.mark_rule(strokeWidth=2, opacity=0.7).encode(
        x=x, y="quality_ci_low:Q", y2="quality_ci_high:Q", color=_color(domain, orient="top"), tooltip=tips
    )
    shapes = list(dict.fromkeys(short_technique(t) for t in _technique_order(frame)))
    points = base.mark_point(filled=True, size=220, strokeWidth=2.5).encode(
        x=x,
        y=y,
        color=_color(domain, orient="top"),  # the bottom is the technique legend's: pipelines have long names
        stroke=alt.Stroke("model:N", scale=color_scale(domain), legend=None),
        shape=alt.Shape("short:N", title="Technique", scale=alt.Scale(domain=shapes, range=list(SHAPES)),
                        legend=alt.Legend(orient="bottom", columns=2, labelLimit=260)),
        fillOpacity=alt.condition("datum.contended", alt.value(0.0), alt.value(0.95)),
        tooltip=tips,
    )
    frontier = (
        alt.Chart(records_frame(pareto_frontier(records)))
        .mark_line(color="#555555", strokeDash=[6, 4], strokeWidth=2, interpolate="step-after")
        .encode(x=x, y=y, order="energy_wh_per_1k:Q")
        .properties(description="pareto-frontier")
    )
    subtitle = [f"Dashed line: the best trade-offs (nothing else is both cheaper and better in {noun(metric)}).",
                f"Vertical bars: 95% interval of the {noun(metric)}. Hover a point for its provenance."]
    if frame["contended"].any():
        subtitle.append("Hollow points: measured while other programs were using the CPU (less reliable).")
    chart = alt.layer(frontier, error_bars, points).properties(height=380)
    return _style(chart, title, subtitle)


def _bar_chart(
    frame: pd.DataFrame, field: str, title: str, axis_title: str, domain: Sequence[str], fmt: str,
    extra: list[alt.Chart] | None = None, subtitle: Sequence[str] = (),
) -> alt.Chart:
    order = _label_order(frame, domain)
    y = alt.Y("label:N", sort=order, title=None)
    base = alt.Chart(frame)
    values = frame[field]
    log = bool(values.min() > 0 and values.max() / values.min() > LOG_BAR_RATIO)  # an LLM beside TF-IDF: 10,000x
    x = alt.X(f"{field}:Q", title=axis_title + (" (log scale)" if log else ""),
              scale=alt.Scale(type="log") if log else alt.Undefined)
    bars = base.mark_bar(cornerRadiusEnd=3, height={"band": 0.7}).encode(
        x=x, y=y, color=_color(domain, legend=False), tooltip=TOOLTIP,
        opacity=alt.condition("datum.contended", alt.value(0.45), alt.value(1.0)),
    )
    text = base.mark_text(align="left", dx=4, fontSize=LABEL_FONT - 1, color="#333333").encode(
        x=f"{field}:Q", y=y, text=alt.Text(f"{field}:Q", format=fmt)
    )
    chart = alt.layer(bars, *(extra or []), text).properties(height=max(120, 30 * len(order)))
    return _style(chart, title, subtitle)


def co2e_chart(records: Sequence[TrialRecord], domain: Sequence[str] | None = None) -> alt.Chart:
    title = "Carbon per 1,000 queries"
    frame = records_frame(ok_records(records, "co2e_g_per_1k"))
    if frame.empty:
        return _empty(title)
    domain = list(domain or model_order(records[0].task, records))
    grids = ", ".join(sorted(set(frame["grid"])))
    return _bar_chart(frame, "co2e_g_per_1k", title, "grams CO2e per 1,000 queries", domain, NUMBER,
                      subtitle=[f"Energy x grid carbon intensity ({grids})."])


def latency_chart(records: Sequence[TrialRecord], domain: Sequence[str] | None = None) -> alt.Chart:
    title = "Response time per query"
    frame = records_frame(ok_records(records, "latency_p95_ms"))
    if frame.empty:
        return _empty(title)
    domain = list(domain or model_order(records[0].task, records))
    y = alt.Y("label:N", sort=_label_order(frame, domain), title=None)
    p50 = alt.Chart(frame).mark_tick(color="#222222", thickness=3, size=22).encode(
        x="latency_p50_ms:Q", y=y, tooltip=TOOLTIP
    )
    return _bar_chart(frame, "latency_p95_ms", title, "milliseconds, one query at a time", domain, NUMBER,
                      extra=[p50], subtitle=["Bar: 95th percentile (the slow queries). Black tick: median."])


def size_chart(records: Sequence[TrialRecord], domain: Sequence[str] | None = None) -> alt.Chart:
    title = "Model size on disk"
    frame = records_frame(ok_records(records, "model_size_mb"))
    if frame.empty:
        return _empty(title)
    domain = list(domain or model_order(records[0].task, records))
    return _bar_chart(frame, "model_size_mb", title, "megabytes", domain, NUMBER,
                      subtitle=["Serialized weights: what has to be shipped and held in memory."])
