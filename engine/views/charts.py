"""Altair chart builders: pure functions from trial records to charts (no streamlit calls).

Every chart colours a model the same way (a fixed domain: the task's ladder, see engine.summary.variants.model_order)
and carries the same tooltip: each figure together with how and where it was measured.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt
import pandas as pd

from engine.record import TrialRecord
from engine.registry import TECHNIQUES
from engine.summary.labels import short_technique
from engine.summary.payback import Payback
from engine.summary.variants import Relative, cpu_name, model_order, ok_records, pareto_frontier
from engine.views.colors import model_colors

LOG_X_RATIO = 20  # use a log energy axis when the largest value is over 20x the smallest
SHAPES = ("circle", "square", "triangle-up", "diamond", "cross", "triangle-down")
LABEL_FONT = 13
TITLE_FONT = 16
NUMBER = ",.3~r"  # 3 significant digits, no exponent: 0.000333, 5.8, 438, 1,230

TOOLTIP = [
    alt.Tooltip("model:N", title="Model"),
    alt.Tooltip("technique:N", title="Technique"),
    alt.Tooltip("accuracy:Q", title="Accuracy", format=".1%"),
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
    "label", "model", "technique", "short", "accuracy", "accuracy_ci_low", "accuracy_ci_high", "ci", "eval_size",
    "energy_wh_per_1k", "energy_method", "co2e_g_per_1k", "grid", "latency_p50_ms", "latency_p95_ms",
    "latency_n", "model_size_mb", "params_m", "contention_pct", "contended", "cpu", "started_at", "run",
]


def records_frame(records: Sequence[TrialRecord]) -> pd.DataFrame:
    """One row per ok record with the columns the charts and tooltips use. `label` names the variant,
    with the run number added when the same variant appears in several runs. Long pipeline specs are
    shortened in `label` and `short`; `technique` keeps the full spec for tooltips."""
    ok = ok_records(records)
    seen: dict[str, int] = {}
    for r in ok:
        seen[r.variant] = seen.get(r.variant, 0) + 1
    rows = []
    for r in ok:
        ci = (
            f"{r.accuracy_ci_low:.1%} – {r.accuracy_ci_high:.1%}"
            if r.accuracy_ci_low is not None and r.accuracy_ci_high is not None
            else "not computed"
        )
        rows.append(
            {
                "label": _label(r, seen[r.variant] > 1),
                "model": r.model,
                "technique": r.technique,
                "short": short_technique(r.technique),
                "accuracy": r.accuracy,
                "accuracy_ci_low": r.accuracy_ci_low,
                "accuracy_ci_high": r.accuracy_ci_high,
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


def accuracy_energy_chart(records: Sequence[TrialRecord], domain: Sequence[str] | None = None) -> alt.Chart:
    """Accuracy (with 95% CI bars) against energy per 1,000 queries; the Pareto frontier as a dashed line.
    Points are coloured by model, shaped by technique; hollow points were measured under CPU contention."""
    title = "Accuracy vs energy per 1,000 queries"
    frame = records_frame(ok_records(records, "accuracy", "energy_wh_per_1k"))
    if frame.empty:
        return _empty(title)
    domain = list(domain or model_order(records[0].task, records))
    energies = frame["energy_wh_per_1k"]
    log_x = energies.min() > 0 and energies.max() / energies.min() > LOG_X_RATIO
    x_scale = alt.Scale(type="log", nice=False, padding=12) if log_x else alt.Scale(zero=False, padding=12)
    x = alt.X("energy_wh_per_1k:Q", scale=x_scale,
              title="Energy, Wh per 1,000 queries" + (" (log scale)" if log_x else "") + "  — lower is better")
    y = alt.Y("accuracy:Q", scale=alt.Scale(zero=False, padding=12), axis=alt.Axis(format="%"),
              title="Accuracy  — higher is better")
    base = alt.Chart(frame)
    error_bars = base.mark_rule(strokeWidth=2, opacity=0.7).encode(
        x=x, y="accuracy_ci_low:Q", y2="accuracy_ci_high:Q", color=_color(domain, orient="top"), tooltip=TOOLTIP
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
        tooltip=TOOLTIP,
    )
    frontier = (
        alt.Chart(records_frame(pareto_frontier(records)))
        .mark_line(color="#555555", strokeDash=[6, 4], strokeWidth=2, interpolate="step-after")
        .encode(x=x, y=y, order="energy_wh_per_1k:Q")
        .properties(description="pareto-frontier")
    )
    subtitle = ["Dashed line: the best trade-offs (nothing else is both cheaper and more accurate).",
                "Vertical bars: 95% interval of the accuracy. Hover a point for its provenance."]
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
    bars = base.mark_bar(cornerRadiusEnd=3, height={"band": 0.7}).encode(
        x=alt.X(f"{field}:Q", title=axis_title), y=y, color=_color(domain, legend=False), tooltip=TOOLTIP,
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


# --------------------------------------------------------------------------------------------- vs fp32

SPEEDUP_BASES = {  # basis -> (axis title, what it measures)
    "throughput": ("Speed-up at batch 32 (throughput vs fp32)", "queries per second at batch 32, variant / fp32"),
    "p50": ("Speed-up of one query (median latency vs fp32)", "fp32 median single-query latency / variant's"),
}

RELATIVE_TOOLTIP = [
    alt.Tooltip("model:N", title="Model"),
    alt.Tooltip("technique:N", title="Technique (full spec)"),
    alt.Tooltip("speedup:Q", title="Speed-up, x", format=".2f"),
    alt.Tooltip("basis:N", title="Speed-up measured as"),
    alt.Tooltip("change_pts:Q", title="Accuracy change, points", format="+.1f"),
    alt.Tooltip("ci:N", title="Accuracy 95% CI"),
    alt.Tooltip("reference:N", title="Compared with"),
    alt.Tooltip("reference_accuracy:Q", title="fp32 accuracy", format=".1%"),
    alt.Tooltip("eval_size:Q", title="Test items"),
    alt.Tooltip("run:N", title="Run"),
]


def relative_frame(relatives: Sequence[Relative], basis: str = "throughput") -> pd.DataFrame:
    rows = []
    for rel in relatives:
        r, ref = rel.record, rel.reference
        speedup = rel.throughput_ratio if basis == "throughput" else rel.p50_ratio
        if speedup is None or speedup <= 0:
            continue
        has_ci = r.accuracy_ci_low is not None and r.accuracy_ci_high is not None
        rows.append({
            "model": r.model, "technique": r.technique, "short": short_technique(r.technique),
            "speedup": speedup, "basis": SPEEDUP_BASES[basis][1],
            "change_pts": rel.accuracy_change_pts,
            "ci_low_pts": 100.0 * (r.accuracy_ci_low - ref.accuracy) if has_ci else None,
            "ci_high_pts": 100.0 * (r.accuracy_ci_high - ref.accuracy) if has_ci else None,
            "ci": f"{r.accuracy_ci_low:.1%} – {r.accuracy_ci_high:.1%}" if has_ci else "not computed",
            "reference": ref.variant + (f" (run #{ref.job_id})" if ref.job_id else ""),
            "reference_accuracy": ref.accuracy, "eval_size": r.eval_size,
            "run": f"#{r.job_id}" if r.job_id else "command line",
        })
    return pd.DataFrame(rows)


def speedup_chart(relatives: Sequence[Relative], domain: Sequence[str], basis: str = "throughput") -> alt.Chart:
    """Per model: how much faster each technique made it (x, log scale) against the accuracy points it
    cost (y), both relative to the same model at fp32. Upper right is the place to be."""
    title = "Speed-up vs accuracy change, each model against its own fp32"
    frame = relative_frame(relatives, basis)
    if frame.empty:
        return _empty(title)
    extent = (min(frame["ci_low_pts"].min(), frame["change_pts"].min(), 0.0),
              max(frame["ci_high_pts"].max(), frame["change_pts"].max(), 0.0))
    offsets_px = spread_labels(frame["speedup"].tolist(), frame["change_pts"].tolist(), frame["short"].tolist(),
                               extent, (min(frame["speedup"].min(), 1.0), max(frame["speedup"].max(), 1.0)),
                               height_px=SPEEDUP_HEIGHT_PX)
    points_per_px = ((extent[1] - extent[0]) or 1.0) / SPEEDUP_HEIGHT_PX
    frame["label_y"] = frame["change_pts"] - pd.Series(offsets_px, index=frame.index) * points_per_px
    axis_title, _ = SPEEDUP_BASES[basis]
    x = alt.X("speedup:Q", scale=alt.Scale(type="log", nice=False, padding=24),
              axis=alt.Axis(format="~g", labelExpr="datum.label + 'x'"), title=f"{axis_title}  — right is faster")
    y_title = "Accuracy change, points  — above 0 is better"
    y = alt.Y("change_pts:Q", scale=alt.Scale(padding=16), title=y_title)
    base = alt.Chart(frame)
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="#555555", strokeWidth=1.5).encode(y="y:Q")
    same_speed = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(color="#555555", strokeDash=[4, 4]).encode(x="x:Q")
    bars = base.mark_rule(strokeWidth=2, opacity=0.5).encode(
        x=x, y="ci_low_pts:Q", y2="ci_high_pts:Q", color=_color(domain), tooltip=RELATIVE_TOOLTIP)
    points = base.mark_point(filled=True, size=200, opacity=0.95).encode(
        x=x, y=y, color=_color(domain), tooltip=RELATIVE_TOOLTIP)
    labels = base.mark_text(align="left", baseline="middle", dx=10, fontSize=LABEL_FONT - 1, color="#333333").encode(
        x=x, y=alt.Y("label_y:Q", title=y_title), text="short:N")
    chart = alt.layer(zero, same_speed, bars, points, labels).properties(height=SPEEDUP_HEIGHT_PX,
                                                                        description="speedup-vs-drop")
    subtitle = ["Solid line: same accuracy as fp32. Dashed line: same speed. Vertical bars: 95% interval of the",
                "variant's accuracy (test items, not the difference). Hover a point for the full spec."]
    return _style(chart, title, subtitle)


LABEL_STEPS_PX = (0, -16, 16, -32, 32, -48, 48)
SPEEDUP_HEIGHT_PX = 380


def spread_labels(xs: Sequence[float], ys: Sequence[float], texts: Sequence[str],
                  y_range: tuple[float, float] | None = None, x_range: tuple[float, float] | None = None, width_px: float = 900, height_px: float = 380,
                  char_px: float = 6.6, line_px: float = 15) -> list[float]:
    """Vertical pixel offsets so point labels (right of each point, log x) do not overlap: Vega-Lite has no
    label placement, so each label takes the first offset whose box is free, in reading order. `x_range` and
    `y_range` are the axes' extents (the 1x rule and the interval bars widen them beyond the points)."""
    lx = [math.log(x) for x in xs]
    x_low, x_high = (math.log(v) for v in x_range) if x_range else (min(lx), max(lx))
    x_span = (x_high - x_low) or 1.0
    y_low, y_high = y_range or (min(ys), max(ys))
    y_span = (y_high - y_low) or 1.0
    def position(i: int) -> tuple[float, float]:
        return (lx[i] - x_low) / x_span * width_px, (y_high - ys[i]) / y_span * height_px

    points = [position(i) for i in range(len(xs))]
    placed = [(px - 7, py - 7, px + 7, py + 7) for px, py in points]  # labels keep off the points too
    offsets = [0.0] * len(xs)
    for i in sorted(range(len(xs)), key=lambda i: (lx[i], -ys[i])):
        px, py = points[i][0] + 10, points[i][1]
        box_w = len(texts[i]) * char_px
        for dy in LABEL_STEPS_PX:
            box = (px, py + dy - line_px / 2, px + box_w, py + dy + line_px / 2)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                break
        placed.append(box)
        offsets[i] = float(dy)
    return offsets


# --------------------------------------------------------------------------------------------- payback


VARIANT_LINE, REPLACED_LINE = "trained variant", "model it replaces"


def payback_frame(items: Sequence[Payback]) -> pd.DataFrame:
    """Cumulative energy against queries served, as two-point lines: the variant starts at its up-front
    energy, the model it replaces at zero; they cross at the break-even."""
    paying = [p for p in items if p.queries is not None and p.reference is not None]
    if not paying:
        return pd.DataFrame()
    horizon = 2.0 * max(p.queries for p in paying) or 1000.0
    rows = []
    for p in paying:
        name = f"{p.record.model} · {short_technique(p.record.technique)}"
        for q in (0.0, horizon):
            rows.append({"line": name, "model": p.record.model, "kind": VARIANT_LINE, "queries": q,
                         "wh": p.upfront_wh + q * p.record.energy_wh_per_1k / 1000.0,
                         "technique": p.record.technique})
    for ref in {p.reference.variant: p.reference for p in paying}.values():  # one line per replaced model
        for q in (0.0, horizon):
            rows.append({"line": ref.variant, "model": ref.model, "kind": REPLACED_LINE, "queries": q,
                         "wh": q * ref.energy_wh_per_1k / 1000.0, "technique": ref.technique})
    return pd.DataFrame(rows)


def payback_chart(items: Sequence[Payback], domain: Sequence[str]) -> alt.Chart:
    """Where the distilled variant's total energy (up front + per query) drops below the model it replaces."""
    title = "When the up-front energy pays back"
    frame = payback_frame(items)
    if frame.empty:
        return _empty(title)
    x = alt.X("queries:Q", title="Queries served", axis=alt.Axis(format="~s"))
    y = alt.Y("wh:Q", title="Total energy, Wh (estimate)")
    lines = alt.Chart(frame).mark_line(strokeWidth=3).encode(
        x=x, y=y, detail="line:N", color=_color(domain),
        strokeDash=alt.StrokeDash("kind:N", title=None, scale=alt.Scale(
            domain=[VARIANT_LINE, REPLACED_LINE], range=[[1, 0], [8, 5]]), legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("line:N", title="Line"), alt.Tooltip("technique:N", title="Technique (full spec)")])
    paying = [p for p in items if p.queries is not None and p.reference is not None]
    marks = pd.DataFrame([
        {"queries": p.queries, "wh": p.upfront_wh + p.queries * p.record.energy_wh_per_1k / 1000.0,
         "text": f"{p.record.variant}: pays back after {fmt_count(p.queries)} queries"}
        for p in paying
    ])
    dots = alt.Chart(marks).mark_point(filled=True, size=160, color="#222222").encode(x=x, y=y, tooltip="text:N")
    layers = [lines, dots]
    if len(paying) == 1:  # several labels would collide at similar break-evens; the page lists them in words
        layers.append(alt.Chart(marks.assign(text=f"pays back after {fmt_count(paying[0].queries)} queries"))
                      .mark_text(align="right", dx=-12, dy=-12, fontSize=LABEL_FONT, color="#222222")
                      .encode(x=x, y=y, text="text:N"))
    chart = alt.layer(*layers).properties(height=300, description="payback")
    return _style(chart, title, ["Solid: the trained variant, starting at the energy spent once to create it.",
                                 "Dashed: the model it replaces. Black dots: break-even (hover for the numbers)."])


def fmt_count(n: float) -> str:
    """12,000 / 3.4M: a query count for chart labels."""
    return f"{n / 1e6:.2g}M" if n >= 1e6 else f"{float(f'{n:.2g}'):,.0f}"


# --------------------------------------------------------------------------------------------- training


def curve_frame(curves: dict[tuple[str, str], list[dict]]) -> pd.DataFrame:
    rows = []
    for (model, technique), points in curves.items():
        name = f"{model} · {short_technique(technique)}"
        for i, point in enumerate(points):
            rows.append({"variant": name, "technique": technique, "step": point.get("step", i),
                         "epoch": point.get("epoch"), "loss": point.get("loss"),
                         "val_accuracy": point.get("val_accuracy")})
    return pd.DataFrame(rows, columns=["variant", "technique", "step", "epoch", "loss", "val_accuracy"])


def training_chart(curves: dict[tuple[str, str], list[dict]], metric: str = "loss") -> alt.Chart:
    """One line per variant being trained: its loss ("loss") or validation accuracy ("val_accuracy") over steps."""
    title = "Training loss" if metric == "loss" else "Validation accuracy"
    frame = curve_frame(curves).dropna(subset=[metric])
    if frame.empty:
        return _empty(title)
    y = alt.Y(f"{metric}:Q", scale=alt.Scale(zero=False),
              axis=alt.Axis(format="%") if metric == "val_accuracy" else alt.Undefined,
              title="loss  — lower is better" if metric == "loss" else "accuracy  — higher is better")
    tooltip = [alt.Tooltip("variant:N", title="Variant"), alt.Tooltip("step:Q", title="Step"),
               alt.Tooltip("epoch:Q", title="Epoch"),
               alt.Tooltip(f"{metric}:Q", title=title, format=".1%" if metric == "val_accuracy" else ".3f")]
    chart = alt.Chart(frame).mark_line(point=metric == "val_accuracy", strokeWidth=2.5).encode(
        x=alt.X("step:Q", title="training step"), y=y,
        color=alt.Color("variant:N", title="Variant", legend=alt.Legend(orient="bottom", labelLimit=320)),
        tooltip=tooltip,
    ).properties(height=220, description=f"training-{metric}")
    return _style(chart, title)
