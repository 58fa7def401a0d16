"""Charts of what techniques do to a model: speed-up vs the change in the task's metric (each model against its
own fp32), when a trained variant's up-front energy pays back, and live training curves. Pure altair (no
streamlit); the shared style, colours and helpers are engine.views.charts'.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt
import pandas as pd

from engine.quality import fmt_ci, noun
from engine.registry import METRICS, MetricSpec
from engine.summary.labels import short_technique
from engine.summary.payback import Payback
from engine.summary.variants import Relative
from engine.views.charts import LABEL_FONT, _color, _empty, _style, metric_format

# --------------------------------------------------------------------------------------------- vs fp32

SPEEDUP_BASES = {  # basis -> (axis title, what it measures)
    "throughput": ("Speed-up at batch 32 (throughput vs fp32)", "queries per second at batch 32, variant / fp32"),
    "p50": ("Speed-up of one query (median latency vs fp32)", "fp32 median single-query latency / variant's"),
}

def relative_tooltip(metric: MetricSpec) -> list[alt.Tooltip]:
    return [
        alt.Tooltip("model:N", title="Model"),
        alt.Tooltip("technique:N", title="Technique (full spec)"),
        alt.Tooltip("speedup:Q", title="Speed-up, x", format=".2f"),
        alt.Tooltip("basis:N", title="Speed-up measured as"),
        alt.Tooltip("change_pts:Q", title=f"{metric.title} change, points", format="+.1f"),
        alt.Tooltip("ci:N", title=f"{metric.title} 95% CI"),
        alt.Tooltip("reference:N", title="Compared with"),
        alt.Tooltip("reference_quality:Q", title=f"fp32 {noun(metric)}", format=metric_format(metric)),
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
        has_ci = r.quality_ci_low is not None and r.quality_ci_high is not None
        sign = 1.0 if rel.metric.higher_is_better else -1.0
        rows.append({
            "model": r.model, "technique": r.technique, "short": short_technique(r.technique),
            "speedup": speedup, "basis": SPEEDUP_BASES[basis][1],
            "change_pts": rel.quality_change_pts,
            "ci_low_pts": sign * 100.0 * ((r.quality_ci_low if sign > 0 else r.quality_ci_high) - ref.quality)
            if has_ci else None,
            "ci_high_pts": sign * 100.0 * ((r.quality_ci_high if sign > 0 else r.quality_ci_low) - ref.quality)
            if has_ci else None,
            "ci": fmt_ci(r.quality_ci_low, r.quality_ci_high, rel.metric) if has_ci else "not computed",
            "reference": ref.variant + (f" (run #{ref.job_id})" if ref.job_id else ""),
            "reference_quality": ref.quality, "eval_size": r.eval_size,
            "run": f"#{r.job_id}" if r.job_id else "command line",
        })
    return pd.DataFrame(rows)


def speedup_chart(relatives: Sequence[Relative], domain: Sequence[str], basis: str = "throughput") -> alt.Chart:
    """Per model: how much faster each technique made it (x, log scale) against the points of the task's
    metric it cost (y), both relative to the same model at fp32. Upper right is the place to be."""
    metric = relatives[0].metric if relatives else METRICS["accuracy"]
    title = f"Speed-up vs {noun(metric)} change, each model against its own fp32"
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
    y_title = f"{metric.title} change, points  — above 0 is better"
    y = alt.Y("change_pts:Q", scale=alt.Scale(padding=16), title=y_title)
    base = alt.Chart(frame)
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="#555555", strokeWidth=1.5).encode(y="y:Q")
    same_speed = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(color="#555555", strokeDash=[4, 4]).encode(x="x:Q")
    tips = relative_tooltip(metric)
    bars = base.mark_rule(strokeWidth=2, opacity=0.5).encode(
        x=x, y="ci_low_pts:Q", y2="ci_high_pts:Q", color=_color(domain), tooltip=tips)
    points = base.mark_point(filled=True, size=200, opacity=0.95).encode(
        x=x, y=y, color=_color(domain), tooltip=tips)
    labels = base.mark_text(align="left", baseline="middle", dx=10, fontSize=LABEL_FONT - 1, color="#333333").encode(
        x=x, y=alt.Y("label_y:Q", title=y_title), text="short:N")
    chart = alt.layer(zero, same_speed, bars, points, labels).properties(height=SPEEDUP_HEIGHT_PX,
                                                                        description="speedup-vs-drop")
    subtitle = [f"Solid line: same {noun(metric)} as fp32. Dashed line: same speed. Vertical bars: 95% interval of "
                f"the variant's {noun(metric)} (test items, not the difference). Hover a point for the full spec."]
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
            scores = {k: v for k, v in point.items() if k.startswith("val_")}
            rows.append({"variant": name, "technique": technique, "step": point.get("step", i),
                         "epoch": point.get("epoch"), "loss": point.get("loss"), "val_accuracy": None, **scores})
    columns = list(dict.fromkeys(["variant", "technique", "step", "epoch", "loss", "val_accuracy",
                                  *(k for row in rows for k in row)]))
    return pd.DataFrame(rows, columns=columns)


def validation_key(curves: dict[tuple[str, str], list[dict]]) -> str:
    """The curve points' validation score: "val_accuracy", or the task's metric ("val_f1", "val_precision@10")."""
    keys = {k for points in curves.values() for p in points for k in p if k.startswith("val_")}
    return "val_accuracy" if "val_accuracy" in keys or not keys else sorted(keys)[0]


def training_chart(curves: dict[tuple[str, str], list[dict]], metric: str = "loss") -> alt.Chart:
    """One line per variant being trained: its loss ("loss") or validation score ("val_accuracy", "val_f1",
    "val_precision@10", ...) over steps."""
    score = metric.removeprefix("val_")
    title = "Training loss" if metric == "loss" else f"Validation {score}"
    frame = curve_frame(curves)
    frame = frame.dropna(subset=[metric]) if metric in frame else frame.iloc[0:0]
    if frame.empty:
        return _empty(title)
    y = alt.Y(f"{metric}:Q", scale=alt.Scale(zero=False),
              axis=alt.Axis(format="%") if metric.startswith("val_") else alt.Undefined,
              title="loss  — lower is better" if metric == "loss" else f"{score}  — higher is better")
    tooltip = [alt.Tooltip("variant:N", title="Variant"), alt.Tooltip("step:Q", title="Step"),
               alt.Tooltip("epoch:Q", title="Epoch"),
               alt.Tooltip(f"{metric}:Q", title=title, format=".1%" if metric.startswith("val_") else ".3f")]
    chart = alt.Chart(frame).mark_line(point=metric.startswith("val_"), strokeWidth=2.5).encode(
        x=alt.X("step:Q", title="training step"), y=y,
        color=alt.Color("variant:N", title="Variant", legend=alt.Legend(orient="bottom", labelLimit=320)),
        tooltip=tooltip,
    ).properties(height=220, description=f"training-{metric}")
    return _style(chart, title)
