"""Shared dashboard helpers: page paths, formatting with units, the colour per model, provenance captions
and the results table. Pages stay thin by calling these."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException
from streamlit.navigation.page import StreamlitPage

from engine.export import export
from engine.objectives import OBJECTIVES
from engine.quality import metric_for
from engine.quality import noun as quality_noun
from engine.record import TrialRecord
from engine.registry import MODELS, TECHNIQUES, MetricSpec, ParamSpec, TechniqueSpec, get_task, metric_of
from engine.summary.headline import Headline
from engine.summary.labels import fmt_queries
from engine.summary.payback import Payback
from engine.summary.provenance import provenance
from engine.summary.search import search_floor, search_rows, tried_lines
from engine.views.fmt import fmt_score
from engine.views.key_figures import kpis

ROOT = Path(__file__).resolve().parents[1]
PAGES = {  # name -> (file under pages/, title, icon)
    "home": ("home.py", "Overview", ":material/insights:"),
    "run": ("run.py", "Run a comparison", ":material/play_circle:"),
    "compare": ("compare.py", "Compare results", ":material/compare_arrows:"),
    "whatif": ("whatif.py", "What-if", ":material/query_stats:"),
    "history": ("history.py", "History", ":material/history:"),
    "methodology": ("methodology.py", "Methodology", ":material/science:"),
}


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
        st.caption(f"{label + ': o' if label else 'O'}pen **{title}** from the navigation menu.")


def storage_banner() -> None:
    """Before any page: a damaged store stops here with the doctor command; a read-only or zero-length one, or
    results waiting for disk space, get a banner; jobs whose process died are marked failed (the sweep)."""
    from engine.spawn import pid_alive
    from engine.store import Store, StoreError

    try:
        store = Store()
        store.fail_orphans(pid_alive)
    except StoreError as error:  # damaged; or no database and a read-only folder to create it in
        st.error(str(error), icon=":material/database:")
        st.stop()
    for warning in store.warnings:
        st.warning(warning, icon=":material/warning:")
    if store.read_only:
        st.info(f"**Read-only store**: results can be viewed; new runs and deletions are refused until "
                f"{store.path} is writable ({store.health.reason}).", icon=":material/lock:")


def run_page(page: StreamlitPage) -> None:
    """Run the chosen page; a store that fails under it (damaged mid-read, made read-only, full) ends the page
    with the message and the fix instead of a traceback."""
    from engine.store import StoreError

    try:
        page.run()
    except StoreError as error:
        st.error(str(error), icon=":material/database:")
        st.stop()


# --------------------------------------------------------------------------------------------- formatting


def fmt_params(params_m: float | None) -> str:
    if params_m is None:
        return "?"
    if params_m == 0:
        return "rules"
    return f"{params_m:.0f}M" if params_m >= 10 else f"{params_m:.1f}M"


def task_title(task_id: str) -> str:
    """A task's title in pickers, for catalog tasks and stored uploads alike."""
    try:
        return get_task(task_id).title
    except ValueError:
        return task_id


noun = quality_noun  # the metric's title inside a sentence: "accuracy", "Spam F1"


def metric(task_id: str) -> MetricSpec:
    """The task's headline metric (its title, meaning and direction)."""
    return metric_of(task_id)


def model_label(model_id: str) -> str:
    """'minilm-l6 (23M)' for pickers: the id and the nominal size."""
    spec = MODELS.get(model_id)
    if spec is None:
        return model_id
    size = {"rule-based": "rule-based", "classic": "classic, no neural network"}.get(spec.family)
    if spec.family == "llm":  # the ladder shows what an LLM rung needs before anyone queues it
        need = (f"{spec.memory_mb / 1000:.1f} GB"
                + (f", {spec.memory_mb_bf16 / 1000:.1f} GB in bf16" if spec.memory_mb_bf16 else "")
                + (f", {spec.memory_mb_gguf / 1000:.1f} GB in llama.cpp" if spec.memory_mb_gguf else ""))
        params = f"{spec.params_m / 1000:.1f}B" if spec.params_m >= 1000 else fmt_params(spec.params_m)
        return f"{model_id} ({params} LLM, needs {need})"
    return f"{model_id} ({size or fmt_params(spec.params_m)})"


def technique_label(technique_id: str) -> str:
    spec = TECHNIQUES.get(technique_id)
    return f"{technique_id} – {spec.title}" if spec else technique_id


# --------------------------------------------------------------------------------------------- blocks


def provenance_caption(records: Iterable[TrialRecord]) -> None:
    """Where, when and how the figures were measured, and whether the CPU was busy with other work."""
    st.caption(provenance(records).caption)


def show_headline(result: Headline) -> None:
    """The headline's four key figures (engine.views.key_figures, as in the briefing) as metric cards, each
    against the reference model, with how it was obtained and on what in its help."""
    for col, kpi in zip(st.columns(4), kpis(result), strict=True):
        col.metric(kpi.label, kpi.value, delta=kpi.delta, delta_color=kpi.delta_color,
                   delta_arrow="off" if kpi.delta_color == "off" else "auto",
                   help=f"{kpi.comparison}. {kpi.method.capitalize()}. {kpi.context}.", border=True)


def briefing_downloads(records: Sequence[TrialRecord], note: str = "", stem: str = "rightsize-briefing", *,
                       recommendation: object = None, whatif: object = None) -> None:
    """PDF and HTML downloads of the one-page briefing of the shown records (with a recommendation and a what-if
    projection when the page has them). Built only when clicked (drawing the charts takes seconds), and clicking
    does not rerun the page."""
    from engine.views.brief import brief_html, brief_pdf

    records = list(records)
    options = {"note": note, "recommendation": recommendation, "whatif": whatif}
    cols = st.columns([2, 2, 3])  # wide enough for the whole labels
    cols[0].download_button("Download briefing (PDF)", data=lambda: brief_pdf(records, **options),
                            file_name=f"{stem}.pdf", mime="application/pdf", on_click="ignore",
                            icon=":material/picture_as_pdf:", key=f"{stem}_pdf")
    cols[1].download_button("Download briefing (HTML)", data=lambda: brief_html(records, **options).encode("utf-8"),
                            file_name=f"{stem}.html", mime="text/html", on_click="ignore",
                            icon=":material/download:", key=f"{stem}_html")


def warn_contended(records: Iterable[TrialRecord]) -> None:
    """Say which measurements ran while other programs were using the CPU (their figures are less reliable)."""
    busy = [r for r in records if r.status == "ok" and r.contended]
    if busy:
        names = ", ".join(f"{r.variant} ({(r.contention or 0):.0%} of CPU used by others)" for r in busy)
        st.warning(f"Measured while the computer was busy with other work: {names}. Their speed and energy "
                   "figures are less reliable (hollow points in the chart); re-run them for clean numbers.",
                   icon=":material/warning:")


def results_table(records: Iterable[TrialRecord]) -> pd.DataFrame:
    """The compact table people read: one row per trial, figures with units in the column names, the score
    named for the task's metric."""
    records = list(records)
    metric = metric_for(records)
    rows = []
    for r in records:
        ok = r.status == "ok"
        rows.append(
            {
                "Model": r.model,
                "Technique": r.technique,
                f"{metric.title} (95% CI)": fmt_score(r.quality, r.quality_ci_low, r.quality_ci_high, metric)
                if ok else "–",
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
    """Every field of every record, as the one CSV export writes it (engine.export: the same columns as
    History's export and `python -m engine export`; nested values as JSON text)."""
    return pd.read_csv(io.StringIO(export(list(records), "csv")), keep_default_na=False, na_values=[""])


def show_not_ok(records: Iterable[TrialRecord]) -> None:
    """Failed and skipped trials, each with its reason."""
    bad = [r for r in records if r.status != "ok"]
    if bad:
        lines = "\n".join(f"- **{r.variant}** {r.status}: {r.error or 'no reason recorded'}" for r in bad)
        st.warning(f"{len(bad)} trial{'s' * (len(bad) != 1)} did not produce results:\n\n{lines}")


# --------------------------------------------------------------------------------------------- technique inputs

FLOAT_STEP = 0.05
OPEN_BOUND_NUDGE = 0.01  # the nearest allowed value next to an open bound (keep > 0 -> 0.01)


def task_encoders(task_id: str) -> list[str]:
    """The task's models a technique can take as a parameter (a distillation teacher): neural ones only."""
    return [m for m in get_task(task_id).models if m in MODELS and MODELS[m].family in ("encoder", "cnn")]


def param_input(technique: TechniqueSpec, param: ParamSpec, task_id: str, key: str) -> object:
    """One input for a technique parameter, bounded by its ParamSpec; the spec parser re-checks the value."""
    label = f"{technique.id} · {param.name}"
    help_text = f"{param.help.capitalize()}. Allowed: {param.range_text()}."
    if param.kind == "model":
        options = task_encoders(task_id)
        index = options.index(param.default) if param.default in options else len(options) - 1
        return st.selectbox(label, options, index=index, format_func=model_label, key=key, help=help_text)
    if param.kind == "int":
        low = None if param.low is None else int(param.low) + int(param.low_open)
        high = None if param.high is None else int(param.high) - int(param.high_open)
        return st.number_input(label, min_value=low, max_value=high, value=int(param.default), step=1,
                               key=key, help=help_text)
    low = None if param.low is None else param.low + OPEN_BOUND_NUDGE * param.low_open
    high = None if param.high is None else param.high - OPEN_BOUND_NUDGE * param.high_open
    return st.number_input(label, min_value=low, max_value=high, value=float(param.default), step=FLOAT_STEP,
                           format="%.2f", key=key, help=help_text)


def step_spec(technique_id: str, values: dict[str, object]) -> str:
    """'prune-structured:keep=0.5' from chosen values; floats rounded so 0.6000000001 reads 0.6."""
    args = ",".join(f"{k}={round(v, 4):g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())
    return f"{technique_id}:{args}" if args else technique_id


def technique_inputs(technique_ids: Sequence[str], task_id: str, key_prefix: str, columns: int = 3) -> list[str]:
    """Inputs for the parameters of each chosen technique, in order; returns one step spec per technique."""
    params = [(TECHNIQUES[t], p) for t in technique_ids for p in TECHNIQUES[t].params]
    cells = st.columns(columns) if params else []
    values: dict[str, dict[str, object]] = {t: {} for t in technique_ids}
    for i, (technique, param) in enumerate(params):
        with cells[i % columns]:
            values[technique.id][param.name] = param_input(technique, param, task_id,
                                                           f"{key_prefix}_{technique.id}_{param.name}")
    return [step_spec(t, values[t]) for t in technique_ids]


def explain_chosen(technique_ids: Sequence[str], numbered: bool = False) -> None:
    """One plain-language line per chosen technique, in order (numbered for a pipeline's steps)."""
    if technique_ids:
        st.markdown("\n".join(f"{f'{i}.' if numbered else '-'} **{TECHNIQUES[t].title}**: {TECHNIQUES[t].explanation}"
                               for i, t in enumerate(technique_ids, 1)))


def technique_help(chosen: Iterable[str]) -> None:
    """Every technique in one plain-language line, with the form it takes in a spec; the chosen ones ticked."""
    chosen = set(chosen)
    for t in TECHNIQUES.values():
        mark = ":material/check_box:" if t.id in chosen else ":material/check_box_outline_blank:"
        final = " Runs last in a pipeline." if t.final else ""
        st.caption(f"{mark} **{t.title}** `{t.form}`: {t.explanation}{final}")


# --------------------------------------------------------------------------------------------- payback


def payback_table(items: Sequence[Payback]) -> pd.DataFrame:
    return pd.DataFrame([
        {
            "Variant": p.record.variant,
            "Up-front energy (Wh)": p.upfront_wh,
            "Up-front CO2e (g)": p.upfront_co2e_g,
            "Compared with": p.reference.variant if p.reference else "–",
            "Saving (Wh / 1k queries)": p.saving_wh_per_1k,
            "Saving (g CO2e / 1k queries)": p.saving_co2e_g_per_1k,
            "Pays back after": fmt_queries(p.queries),
        }
        for p in items
    ])


def show_payback_table(items: Sequence[Payback]) -> None:
    st.dataframe(payback_table(items), hide_index=True, column_config={
        "Up-front energy (Wh)": st.column_config.NumberColumn(format="%.3g"),
        "Up-front CO2e (g)": st.column_config.NumberColumn(format="%.3g"),
        "Saving (Wh / 1k queries)": st.column_config.NumberColumn(format="%.3g"),
        "Saving (g CO2e / 1k queries)": st.column_config.NumberColumn(format="%.3g"),
    })


# --------------------------------------------------------------------------------------------- search result


def objective_column(result: dict) -> str:
    return OBJECTIVES.get(result.get("objective", "energy"), OBJECTIVES["energy"]).column


def search_table(records: Sequence[TrialRecord], result: dict) -> pd.DataFrame:
    """The candidates of a leanest-variant search, best first, with what the floor and objective decided.
    The search works on one model, so only candidates of another model (none, normally) name theirs."""
    model = (result.get("baseline") or [None])[0]
    metric = metric_for(records)
    rows = []
    for row in search_rows(records, result):
        rows.append({
            "": row["role"],
            "Technique": row["technique"] if row["model"] == model else f"{row['model']} · {row['technique']}",
            metric.title: fmt_score(row["quality"], metric=metric),
            "Change (points)": row["change_pts"],
            "Within the floor": {True: "yes", False: "no", None: "–"}[row["meets_floor"]],
            objective_column(result): row["objective"],
            "x less than fp32": row["times_lower"],
            "Status": row["status"],
        })
    return pd.DataFrame(rows)


def show_search_result(records: Sequence[TrialRecord], result: dict) -> None:
    """The verdict first and large, then the winner (or the nearest miss), the candidates and what was tried."""
    verdict = result.get("verdict") or "The search finished without a verdict."
    best, miss = result.get("best"), result.get("nearest_miss")
    floor = search_floor(result)
    metric = metric_for(records)
    floor_text = fmt_score(floor, metric=metric) if floor is not None else "the floor"
    with st.container(border=True):
        model = (result.get("baseline") or ["?"])[0]
        st.caption(f"Leanest variant of {model}: cheapest {result.get('objective', 'energy')} within "
                   f"{result.get('max_drop_pts', '?')} points of its fp32's {quality_noun(metric)}")
        st.markdown(f"### {verdict}")
        if best:
            st.success(f"Leanest variant within {result.get('max_drop_pts', '?')} points of fp32: "
                       f"**{' · '.join(best)}**", icon=":material/emoji_events:")
        else:
            near = f" Nearest miss: **{' · '.join(miss)}**." if miss else ""
            st.warning(f"Nothing met the floor ({floor_text} {quality_noun(metric)}).{near}", icon=":material/block:")
    st.dataframe(search_table(records, result), hide_index=True, column_config={
        "Change (points)": st.column_config.NumberColumn(format="%+.1f"),
        objective_column(result): st.column_config.NumberColumn(format="%.4g"),
        "x less than fp32": st.column_config.NumberColumn(format="%.2fx"),
    })
    tried = tried_lines(result)
    if tried:
        with st.expander(f"What the search tried, and why ({len(tried)})"):
            st.markdown("\n".join(f"- `{spec}`: {why}" if why else f"- `{spec}`" for spec, why in tried))
