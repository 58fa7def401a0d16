"""Charts of a trial's kind-specific extras (record.quality_extras), where people would rather look than read:
for classification, F1 per class for every variant (a heatmap: which classes a smaller model loses) and one
variant's confusion (which class it takes for which); for search,
agreement with people (Pearson r with its 95% interval) beside precision@10. Pure altair, no streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from engine.record import TrialRecord
from engine.summary.labels import short_technique
from engine.summary.variants import ok_records
from engine.views.charts import LABEL_FONT, _color, _empty, _label_order, _style


def _variant(r: TrialRecord) -> str:
    return f"{r.model} · {short_technique(r.technique)}"


def per_class_frame(records: Sequence[TrialRecord]) -> pd.DataFrame:
    rows = [{"variant": _variant(r), "model": r.model, "class": name, "f1": value}
            for r in ok_records(records) for name, value in (r.quality_extras.get("f1_per_class") or {}).items()]
    return pd.DataFrame(rows, columns=["variant", "model", "class", "f1"])


def per_class_chart(records: Sequence[TrialRecord]) -> alt.Chart:
    """F1 of every class (columns) for every variant (rows): the classes a smaller model gives up show pale."""
    title = "F1 per class"
    frame = per_class_frame(records)
    if frame.empty:
        return _empty(title)
    variants = list(dict.fromkeys(frame["variant"]))
    base = alt.Chart(frame).encode(
        x=alt.X("class:N", title=None, sort=list(dict.fromkeys(frame["class"])), axis=alt.Axis(labelAngle=0)),
        y=alt.Y("variant:N", title=None, sort=variants),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("f1:Q", title="F1", scale=alt.Scale(scheme="blues", domain=[0, 1])),
        tooltip=[alt.Tooltip("variant:N", title="Variant"), alt.Tooltip("class:N", title="Class"),
                 alt.Tooltip("f1:Q", title="F1", format=".3f")],
    )
    text = base.mark_text(fontSize=LABEL_FONT - 1).encode(
        text=alt.Text("f1:Q", format=".2f"),
        color=alt.condition("datum.f1 > 0.6", alt.value("white"), alt.value("#222222")),
    )
    chart = alt.layer(cells, text).properties(height=max(120, 28 * len(variants)), description="per-class-f1")
    return _style(chart, title, ["F1 of each class on the test items: 1 = every item of that class found, and "
                                 "nothing else labelled as it."])


def confusion_frame(record: TrialRecord) -> pd.DataFrame:
    """One row per (true class, answered class) of the record's confusion matrix: the count and its share of
    the true class's test items (a row of the chart sums to 1)."""
    table = record.quality_extras.get("confusion") or {}
    names, counts = table.get("labels") or [], table.get("counts") or []
    rows = []
    for name, row in zip(names, counts, strict=False):
        total = sum(row)
        rows += [{"true": name, "predicted": answered, "count": int(n), "share": n / total if total else 0.0}
                 for answered, n in zip(names, row, strict=False)]
    return pd.DataFrame(rows, columns=["true", "predicted", "count", "share"])


def confusion_chart(record: TrialRecord) -> alt.Chart:
    """The record's confusion as a heatmap: rows the class people gave, columns the variant's answer, colour
    the share of that class's items, the count written in. The diagonal is right; a dark cell off it is the
    mix-up to read."""
    title = f"What {_variant(record)} answered for each class"
    frame = confusion_frame(record)
    if frame.empty:
        return _empty(title)
    order = list(dict.fromkeys(frame["true"]))
    base = alt.Chart(frame).encode(
        x=alt.X("predicted:N", title="Answered", sort=order, axis=alt.Axis(labelAngle=-30, orient="top")),
        y=alt.Y("true:N", title="Label people gave", sort=order),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("share:Q", title="Share of the class", scale=alt.Scale(scheme="oranges", domain=[0, 1])),
        tooltip=[alt.Tooltip("true:N", title="Label"), alt.Tooltip("predicted:N", title="Answered"),
                 alt.Tooltip("count:Q", title="Test items"), alt.Tooltip("share:Q", title="Share", format=".1%")],
    )
    text = base.mark_text(fontSize=LABEL_FONT - 2).encode(
        text=alt.Text("count:Q", format="d"),
        color=alt.condition("datum.share > 0.5", alt.value("white"), alt.value("#222222")),
    )
    chart = alt.layer(cells, text).properties(height=max(160, 34 * len(order)), description="confusion")
    return _style(chart, title, [f"{int(frame['count'].sum()):,} test items; each row sums to "
                                 "all items of that class. The diagonal is right."])


def human_agreement_frame(records: Sequence[TrialRecord]) -> pd.DataFrame:
    rows = []
    for r in ok_records(records):
        agreement = r.quality_extras.get("human_correlation")
        if agreement:
            rows.append({"label": _variant(r), "model": r.model, "technique": r.technique, "r": agreement["r"],
                         "low": agreement["ci_low"],
                         "high": agreement["ci_high"], "pairs": agreement["pairs"], "contended": bool(r.contended)})
    return pd.DataFrame(rows, columns=["label", "model", "technique", "r", "low", "high", "pairs", "contended"])


def human_agreement_chart(records: Sequence[TrialRecord], domain: Sequence[str]) -> alt.Chart:
    """Pearson r between each variant's document similarity and people's, with its interval."""
    title = "Agreement with people on which documents are alike"
    frame = human_agreement_frame(records)
    if frame.empty:
        return _empty(title)
    order = _label_order(frame, domain)
    y = alt.Y("label:N", sort=order, title=None)
    tooltip = [alt.Tooltip("label:N", title="Variant"), alt.Tooltip("r:Q", title="Pearson r", format=".3f"),
               alt.Tooltip("low:Q", title="95% CI low", format=".3f"),
               alt.Tooltip("high:Q", title="95% CI high", format=".3f"), alt.Tooltip("pairs:Q", title="Rated pairs")]
    base = alt.Chart(frame)
    bars = base.mark_bar(cornerRadiusEnd=3, height={"band": 0.7}).encode(
        x=alt.X("r:Q", title="Pearson r with the mean human rating  — higher is better",
                scale=alt.Scale(domain=[0, 1])),
        y=y, color=_color(domain, legend=False), tooltip=tooltip)
    ci = base.mark_rule(color="#222222", strokeWidth=2).encode(x="low:Q", x2="high:Q", y=y)
    chart = alt.layer(bars, ci).properties(height=max(120, 30 * len(order)), description="human-agreement")
    return _style(chart, title, ["Cosine similarity of 1,225 article pairs against people's ratings (Lee corpus).",
                                 "Black line: 95% interval (pairs resampled; they share articles, so it is optimistic)."])
