"""Shared dashboard helpers: page paths, formatting with units, the colour per model, provenance captions
and the results table. Pages stay thin by calling these."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

from engine.record import TrialRecord
from engine.registry import MODELS, TECHNIQUES
from engine.summary import model_order, provenance

ROOT = Path(__file__).resolve().parents[1]
PAGES = {  # name -> (file under pages/, title, icon)
    "home": ("home.py", "Overview", ":material/insights:"),
    "run": ("run.py", "Run a comparison", ":material/play_circle:"),
    "compare": ("compare.py", "Compare results", ":material/compare_arrows:"),
}

# A fixed, colour-blind-aware categorical palette (Tableau 10, reordered so the usual ladder of four
# models gets four clearly different hues on a projector). Model i of the task's ladder gets colour i.
PALETTE = (
    "#59a14f",  # green
    "#f28e2b",  # orange
    "#4e79a7",  # blue
    "#e15759",  # red
    "#b07aa1",  # purple
    "#76b7b2",  # teal
    "#edc948",  # yellow
    "#9c755f",  # brown
    "#ff9da7",  # pink
    "#bab0ac",  # grey
)


# --------------------------------------------------------------------------------------------- pages


def page_path(name: str) -> str:
    """Absolute path of a page file, so st.Page/st.page_link work whatever the working directory."""
    return str(ROOT / "pages" / PAGES[name][0])


def link_to_page(name: str, label: str | None = None) -> None:
    """A link to another page; when the page runs on its own (no st.navigation) say where to find it."""
    _, title, icon = PAGES[name]
    try:
        st.page_link(page_path(name), label=label or title, icon=icon)
    except StreamlitAPIException:
        st.caption(f"Open **{title}** from the navigation menu.")


# --------------------------------------------------------------------------------------------- colours


def model_colors(domain: Sequence[str]) -> dict[str, str]:
    """Colour for each model, by its position in `domain` (the task's ladder first: see model_order)."""
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(domain)}


def task_model_colors(task_id: str | None, records: Iterable[TrialRecord] = ()) -> dict[str, str]:
    return model_colors(model_order(task_id, records))


# --------------------------------------------------------------------------------------------- formatting


def _num(value: float | None, unit: str, digits: int = 3) -> str:
    if value is None:
        return "–"
    if value == 0:
        return f"0 {unit}"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.{digits}g}"
    return f"{text} {unit}".strip()


def fmt_wh(value: float | None) -> str:
    """Energy per 1,000 queries."""
    return _num(value, "Wh")


def fmt_g(value: float | None) -> str:
    """Grams of CO2e per 1,000 queries."""
    return _num(value, "g")


def fmt_ms(value: float | None) -> str:
    return _num(value, "ms")


def fmt_mb(value: float | None) -> str:
    return _num(value, "MB")


def fmt_accuracy(acc: float | None, low: float | None = None, high: float | None = None) -> str:
    """84.0% (81.2–86.5): accuracy with its 95% interval."""
    if acc is None:
        return "–"
    text = f"{acc:.1%}"
    if low is not None and high is not None:
        text += f" ({low * 100:.1f}–{high * 100:.1f})"
    return text


def fmt_params(params_m: float | None) -> str:
    if params_m is None:
        return "?"
    if params_m == 0:
        return "rules"
    return f"{params_m:.0f}M" if params_m >= 10 else f"{params_m:.1f}M"


def model_label(model_id: str) -> str:
    """'minilm-l6 (23M)' for pickers: the id and the nominal size."""
    spec = MODELS.get(model_id)
    if spec is None:
        return model_id
    return f"{model_id} ({'rule-based' if spec.family == 'rule-based' else fmt_params(spec.params_m)})"


def technique_label(technique_id: str) -> str:
    spec = TECHNIQUES.get(technique_id)
    return f"{technique_id} – {spec.title}" if spec else technique_id


def speedup_text(speedup: float | None) -> str:
    if speedup is None:
        return "–"
    return f"{speedup:.1f}x faster" if speedup >= 1 else f"{1 / speedup:.1f}x slower"


# --------------------------------------------------------------------------------------------- blocks


def provenance_caption(records: Iterable[TrialRecord]) -> None:
    """Where, when and how the figures were measured, and whether the CPU was busy with other work."""
    st.caption(provenance(records).caption)


def warn_contended(records: Iterable[TrialRecord]) -> None:
    """Say which measurements ran while other programs were using the CPU (their figures are less reliable)."""
    busy = [r for r in records if r.status == "ok" and r.contended]
    if busy:
        names = ", ".join(f"{r.variant} ({(r.contention or 0):.0%} of CPU used by others)" for r in busy)
        st.warning(f"Measured while the computer was busy with other work: {names}. Their speed and energy "
                   "figures are less reliable (hollow points in the chart); re-run them for clean numbers.",
                   icon=":material/warning:")


def results_table(records: Iterable[TrialRecord]) -> pd.DataFrame:
    """The compact table people read: one row per trial, figures with units in the column names."""
    rows = []
    for r in records:
        ok = r.status == "ok"
        rows.append(
            {
                "Model": r.model,
                "Technique": r.technique,
                "Accuracy (95% CI)": fmt_accuracy(r.accuracy, r.accuracy_ci_low, r.accuracy_ci_high) if ok else "–",
                "p95 latency (ms)": r.latency_p95_ms if ok else None,
                "Energy (Wh / 1k queries)": r.energy_wh_per_1k if ok else None,
                "CO2e (g / 1k queries)": r.co2e_g_per_1k if ok else None,
                "Size (MB)": r.model_size_mb if ok else None,
                "Status": ("ok, CPU contended" if r.contended else "ok") if ok else f"{r.status}: {r.error}",
            }
        )
    return pd.DataFrame(rows)


def show_results_table(records: Sequence[TrialRecord]) -> None:
    st.dataframe(
        results_table(records),
        hide_index=True,
        column_config={
            "p95 latency (ms)": st.column_config.NumberColumn(format="%.1f"),
            "Energy (Wh / 1k queries)": st.column_config.NumberColumn(format="%.4f"),
            "CO2e (g / 1k queries)": st.column_config.NumberColumn(format="%.4f"),
            "Size (MB)": st.column_config.NumberColumn(format="%.1f"),
        },
    )


def full_table(records: Iterable[TrialRecord]) -> pd.DataFrame:
    """Every field of every record (hardware and versions as JSON text): the CSV people download."""
    rows = []
    for r in records:
        row = r.to_dict()
        row["hardware"] = json.dumps(row["hardware"], sort_keys=True)
        row["versions"] = json.dumps(row["versions"], sort_keys=True)
        rows.append(row)
    return pd.DataFrame(rows)


def show_not_ok(records: Iterable[TrialRecord]) -> None:
    """Failed and skipped trials, each with its reason."""
    bad = [r for r in records if r.status != "ok"]
    if bad:
        lines = "\n".join(f"- **{r.variant}** {r.status}: {r.error or 'no reason recorded'}" for r in bad)
        st.warning(f"{len(bad)} trial{'s' * (len(bad) != 1)} did not produce results:\n\n{lines}")
