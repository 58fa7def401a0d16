"""Altair charts for deciding (What-if and History pages): the recommended variant ringed on the
quality-vs-energy chart, each variant's cumulative CO2e, cost or energy over the years, and one variant's
figures on each machine it ran on. Pure functions, no streamlit; one colour per model as everywhere else.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from engine.quality import fmt_value, metric_for, noun
from engine.record import TrialRecord
from engine.summary.labels import short_technique
from engine.views import charts
from engine.views.colors import model_colors
from engine.whatif import Projection

LABEL_FONT = charts.LABEL_FONT
HIGHLIGHT = "recommendation-highlight"  # the layer's description, so tests and pages can find it
# role -> (ring colour, dash, label); the recommended ring is solid, the others dashed
ROLES = {
    "recommended": ("#111111", [1, 0], "Recommended"),
    "runner-up": ("#555555", [5, 3], "Runner-up"),
    "nearest miss": ("#c0392b", [3, 3], "Nearest miss"),
}

# metric -> (field of cumulative_frame, axis title, axis format, tooltip format)
CUMULATIVE = {
    "co2e": ("co2e_t", "CO2e, tonnes (cumulative)", ",.3~r", ",.4~r"),
    "cost": ("cost_usd", "Cost, US dollars (cumulative)", "$,.3~r", "$,.2f"),
    "energy": ("energy_kwh", "Energy, kWh (cumulative)", ",.3~r", ",.4~r"),
}


def _color(domain: Sequence[str], legend: bool = True) -> alt.Color:
    colors = model_colors(domain)
    return alt.Color("model:N", title="Model", scale=alt.Scale(domain=list(domain), range=[colors[m] for m in domain]),
                     legend=alt.Legend(orient="bottom") if legend else None)


def _style(chart: alt.TopLevelMixin, title: str, subtitle: Sequence[str] = ()) -> alt.TopLevelMixin:
    """The Compare page's look, with room for long variant names in legends."""
    return charts._style(chart, title, subtitle, legend_label_limit=320)


# --------------------------------------------------------------------------------------------- recommendation


def highlight_frame(picks: Sequence[tuple[TrialRecord | None, str]]) -> pd.DataFrame:
    """One row per (record, role) with the figures the quality-vs-energy chart plots; None records skipped."""
    rows = [{"energy_wh_per_1k": r.energy_wh_per_1k, "quality": r.quality, "role": ROLES[role][2],
             "variant": f"{r.model} · {short_technique(r.technique)}", "technique": r.technique}
            for r, role in picks if r is not None and r.energy_wh_per_1k is not None and r.quality is not None]
    return pd.DataFrame(rows, columns=["energy_wh_per_1k", "quality", "role", "variant", "technique"])


def highlight_choices(chart: alt.LayerChart, picks: Sequence[tuple[TrialRecord | None, str]],
                      floor_quality: float | None = None) -> alt.LayerChart:
    """The quality-vs-energy chart (charts.quality_energy_chart) with a ring and a label on each picked
    record (roles "recommended", "runner-up", "nearest miss") and, when given, the quality floor as a dotted
    line. Reuses the chart's own x and y (log or linear energy axis), so the rings sit exactly on the points.
    Returns a copy; an empty pick list or a chart that is not layered (no measurements) comes back unchanged."""
    frame = highlight_frame(picks)
    if frame.empty or not isinstance(chart, alt.LayerChart):
        return chart
    points = next((layer for layer in chart.layer if getattr(layer.encoding, "shape", alt.Undefined)
                   is not alt.Undefined), None)
    x = points.encoding.x if points is not None else alt.X("energy_wh_per_1k:Q")
    y = points.encoding.y if points is not None else alt.Y("quality:Q")
    tooltip = [alt.Tooltip("role:N", title="Role"), alt.Tooltip("variant:N", title="Variant"),
               alt.Tooltip("technique:N", title="Technique (full spec)")]
    rings = [  # constant colours, not a scale: a stroke scale would be shared with the points' model colours
        alt.Chart(frame[frame["role"] == label]).mark_point(shape="circle", filled=False, size=900, strokeWidth=3.5,
                                                             stroke=color, strokeDash=dash).encode(x=x, y=y,
                                                                                                   tooltip=tooltip)
        for color, dash, label in ROLES.values() if label in set(frame["role"])
    ]
    labels = alt.Chart(frame).mark_text(align="left", dx=20, dy=-18, fontSize=LABEL_FONT, fontWeight="bold",
                                        color="#111111").encode(x=x, y=y, text="role:N")
    extra = [*rings, labels]
    if floor_quality is not None:
        metric = metric_for([r for r, _ in picks if r is not None])
        line = pd.DataFrame({"quality": [floor_quality],
                             "text": [f"{noun(metric)} floor {fmt_value(floor_quality, metric)}"]})
        extra.append(alt.Chart(line).mark_rule(color="#c0392b", strokeDash=[2, 3], strokeWidth=1.5).encode(
            y=alt.Y("quality:Q")))
        extra.append(alt.Chart(line).mark_text(align="left", baseline="bottom", x=4, dy=-3, color="#c0392b",
                                               fontSize=LABEL_FONT - 1).encode(y=alt.Y("quality:Q"), text="text:N"))
    out = chart.copy(deep=True)
    out.layer = [*out.layer, alt.layer(*extra).properties(description=HIGHLIGHT)]
    return out


# --------------------------------------------------------------------------------------------- what-if


def cumulative_frame(projection: Projection) -> pd.DataFrame:
    """Per variant and year (0 to the horizon): CO2e, cost and energy so far. Year 0 holds the one-time
    creation (distillation, retraining), so trained variants start above zero and cross the others later."""
    rows = []
    for v in projection.variants:
        up = v.upfront
        so_far = {"co2e_t": up.co2e_t if up else 0.0, "cost_usd": up.cost_usd if up else 0.0,
                  "energy_kwh": up.energy_kwh if up else 0.0}
        short = short_technique(v.record.technique)
        names = {"variant": f"{v.record.model} · {short}", "model": v.record.model, "technique": v.record.technique,
                 "short": short}
        rows.append({"year": 0, **names, **so_far})
        for i, year in enumerate(v.years, 1):
            for key in so_far:
                value = getattr(year, key)
                so_far[key] = None if value is None or so_far[key] is None else so_far[key] + value
            rows.append({"year": i, **names, **so_far})
    return pd.DataFrame(rows, columns=["year", "variant", "model", "technique", "short", "co2e_t", "cost_usd",
                                       "energy_kwh"])


CUMULATIVE_DATA = "cumulative"  # the named dataset of cumulative_chart: its spec takes new figures unchanged


def cumulative_parts(projection: Projection, metric: str = "co2e",
                     emphasis: Sequence[str] = ()) -> tuple[pd.DataFrame, tuple]:
    """The rows cumulative_chart plots and its shape: everything in its spec that is not a plotted figure
    (years, grid, PUE, techniques, which lines are bold). Two projections of one shape have the same spec up
    to the dataset CUMULATIVE_DATA, so a page can build the chart once per shape and swap the rows in."""
    field = CUMULATIVE[metric][0]
    frame = cumulative_frame(projection).dropna(subset=[field])
    wanted = set(emphasis)
    frame["bold"] = [f"{m} · {t}" in wanted for m, t in zip(frame["model"], frame["technique"], strict=True)]
    scenario = projection.scenario
    shape = (metric, scenario.years, projection.grid.label, scenario.pue, tuple(dict.fromkeys(frame["short"])),
             bool(frame["bold"].any()), frame.empty)
    return frame, shape


def cumulative_chart(projection: Projection, domain: Sequence[str], metric: str = "co2e",
                     emphasis: Sequence[str] = ()) -> alt.LayerChart | alt.Chart:
    """One line per variant: its cumulative CO2e (or cost, or energy) over the scenario's years. Variants named
    in `emphasis` ("model · technique", e.g. the one in focus and the baseline) are drawn bold and labelled at
    the end; the others stay thin and pale, so two lines stand out of many. The rows are the named dataset
    CUMULATIVE_DATA (see cumulative_parts)."""
    field, axis_title, axis_fmt, fmt = CUMULATIVE[metric]
    frame, (_, years, grid, pue, dashes, any_bold, empty) = cumulative_parts(projection, metric, emphasis)
    what = {"co2e": "CO2e", "cost": "cost", "energy": "energy"}[metric]
    title = f"Cumulative {what} over {years} year{'s' * (years != 1)}"
    if empty:
        return alt.Chart(pd.DataFrame({"text": [f"no {what} to show (throughput not measured)"]})).mark_text(
            size=14).encode(text="text:N").properties(title=title, height=120)
    data = alt.NamedData(CUMULATIVE_DATA)
    x = alt.X("year:Q", title="Years of serving", axis=alt.Axis(tickMinStep=1, format="d"))
    y = alt.Y(f"{field}:Q", title=axis_title, axis=alt.Axis(format=axis_fmt))
    tooltip = [alt.Tooltip("variant:N", title="Variant"), alt.Tooltip("technique:N", title="Technique (full spec)"),
               alt.Tooltip("year:Q", title="After year"), alt.Tooltip(f"{field}:Q", title=axis_title, format=fmt)]
    lines = alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=50, filled=True)).encode(
        x=x, y=y, detail="variant:N", color=_color(domain),
        strokeDash=alt.StrokeDash("short:N", title="Technique", scale=alt.Scale(domain=list(dashes)),
                                  legend=alt.Legend(orient="bottom", columns=2, symbolType="stroke")),
        strokeWidth=alt.condition("datum.bold", alt.value(4), alt.value(1.5)),
        opacity=alt.condition("datum.bold", alt.value(1.0), alt.value(0.45)) if any_bold else alt.value(1.0),
        tooltip=tooltip,
    )
    ends = alt.Chart(data).transform_joinaggregate(last_year="max(year)").transform_filter(
        "datum.bold && datum.year == datum.last_year").mark_text(
        align="right", dy=-12, fontSize=LABEL_FONT, fontWeight="bold", color="#222222").encode(
        x=x, y=y, text="variant:N")
    chart = alt.layer(lines, ends).properties(height=320, description=f"cumulative-{metric}",
                                              datasets={CUMULATIVE_DATA: frame.to_dict("records")})
    subtitle = ["Bold: the variant in focus and the baseline. Year 0: energy spent once to create a variant "
                "(distillation, retraining), if any.",
                f"Grid {grid}; PUE {pue:g}."]
    return _style(chart, title, subtitle)


# --------------------------------------------------------------------------------------------- history


MACHINE_METRICS = {  # metric -> (field of history_tables.per_machine, axis title, bar colour)
    "energy": ("energy_wh_per_1k", "Energy, Wh per 1,000 queries (median)", "#4e79a7"),
    "latency": ("latency_p95_ms", "p95 latency, ms (median)", "#f28e2b"),
}


def machine_chart(frame: pd.DataFrame, variant: str, metric: str = "energy") -> alt.Chart:
    """One variant's median energy per 1,000 queries (or p95 latency) on each machine it ran on (the rows of
    history_tables.per_machine)."""
    field, axis_title, color = MACHINE_METRICS[metric]
    title = f"{variant}: {'energy' if metric == 'energy' else 'response time'} per machine"
    frame = frame.dropna(subset=[field]) if not frame.empty else frame
    if frame.empty:
        return alt.Chart(pd.DataFrame({"text": ["no measurements to show"]})).mark_text(size=14).encode(
            text="text:N").properties(title=title, height=120)
    y = alt.Y("machine:N", title=None, sort=list(frame["machine"]))
    tooltip = [alt.Tooltip("machine:N", title="Machine"), alt.Tooltip("trials:Q", title="Trials"),
               alt.Tooltip("energy_wh_per_1k:Q", title="Energy, Wh per 1k queries (median)", format=".4g"),
               alt.Tooltip("latency_p95_ms:Q", title="p95 latency, ms (median)", format=".1f"),
               alt.Tooltip("quality:Q", title="Score (latest)", format=".3~r")]
    base = alt.Chart(frame).encode(y=y)
    room = alt.Scale(domain=[0, float(frame[field].max()) * 1.15])  # room for the value labels right of the bars
    bars = base.mark_bar(color=color, cornerRadiusEnd=3, height={"band": 0.7}).encode(
        x=alt.X(f"{field}:Q", title=f"{axis_title}  — lower is better", scale=room), tooltip=tooltip)
    text = base.mark_text(align="left", dx=4, fontSize=LABEL_FONT - 1, color="#333333").encode(
        x=f"{field}:Q", text=alt.Text(f"{field}:Q", format=",.3~r"))
    chart = alt.layer(bars, text).properties(height=max(80, 36 * len(frame)), description=f"per-machine-{metric}")
    return _style(chart, title, ["Median of the ok trials on each machine."])
