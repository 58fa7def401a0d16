"""History: every stored trial and run, filtered by task, model, technique, machine and dates; one variant
compared across the machines it ran on; deleting a trial or a run (after a confirmation); CSV/JSON export of
the trials shown."""

import pandas as pd
import streamlit as st

from app import gate, ui
from engine.export import export
from engine.registry import TASKS
from engine.store import JobBusyError, NotFoundError, Store, StoreError, machine_name
from engine.views import decision_charts
from engine.views.history_tables import (
    ANY,
    GROUPINGS,
    JOB_TITLES,
    MACHINE_TITLES,
    TRIAL_TITLES,
    Filters,
    choices,
    job_table,
    per_machine,
    titled,
    trial_table,
    variants_by_machines,
)

FLASH = "history_flash"  # the outcome of a delete, shown once on the next run

st.title("History")
st.caption("Every measurement stored here and the runs that made them. Filter them, compare one variant "
           "across machines, export what you see, or delete what you no longer need.")

@st.cache_data(show_spinner=False, max_entries=16)
def stored_trials(path: str, marker: tuple) -> list:
    """Every stored trial, read once per change of the store: `marker` (Store.trials_marker) changes with
    each new or deleted trial, so those show at once."""
    return Store(path).trial_rows()


flash = st.session_state.pop(FLASH, None)
if flash:  # before the empty-store stop: deleting the last run still says it did
    getattr(st, flash[0])(flash[1], icon=":material/check_circle:" if flash[0] == "success" else ":material/error:")

store = Store()
everything = stored_trials(str(store.path), store.trials_marker())
jobs = store.jobs(limit=1_000_000)
if not everything and not jobs:
    st.info("Nothing stored yet. Measure some variants on the **Run** page.")
    ui.link_to_page("run")
    st.stop()


def delete_trial(trial_id: int) -> None:
    if not gate.may_delete():  # the widgets are not drawn for attendees; refuse here too
        return
    try:
        record = Store().delete_trial(trial_id)
        st.session_state[FLASH] = ("success", f"Deleted trial #{trial_id} ({record.variant}).")
    except (NotFoundError, StoreError) as error:  # StoreError: a read-only store refuses, saying why
        st.session_state[FLASH] = ("error", str(error))


def delete_job(job_id: int) -> None:
    if not gate.may_delete():
        return
    try:
        n = Store().delete_job(job_id)
        st.session_state[FLASH] = ("success", f"Deleted run #{job_id} and its {n} trial{'s' * (n != 1)}.")
    except (JobBusyError, NotFoundError, StoreError) as error:  # running, or a read-only store: the message says why
        st.session_state[FLASH] = ("error", str(error))


def keep_valid(key: str, options: list) -> None:
    """Forget a choice that is no longer offered (a deleted trial, another task's model)."""
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]


def any_or(label: str) -> str:
    return label or "any"


# ------------------------------------------------------------------ filters
tasks = sorted({r.record.task for r in everything} | {j.task for j in jobs},
               key=lambda t: (list(TASKS).index(t) if t in TASKS else len(TASKS), t))
cols = st.columns([2, 2, 3, 3, 3])
task = cols[0].selectbox("Task", [ANY, *tasks], key="history_task",
                         format_func=lambda t: ui.task_title(t) if t else any_or(t))
models, techniques = choices([r for r in everything if not task or r.record.task == task], task)
machines = sorted({machine_name(r.record) for r in everything if not task or r.record.task == task})
for key, options in (("history_model", models), ("history_technique", techniques), ("history_machine", machines)):
    keep_valid(key, [ANY, *options])
model = cols[1].selectbox("Model", [ANY, *models], key="history_model", format_func=any_or)
technique = cols[2].selectbox("Technique", [ANY, *techniques], key="history_technique", format_func=any_or)
machine = cols[3].selectbox("Machine", [ANY, *machines], key="history_machine", format_func=any_or)
days = cols[4].date_input("Dates (UTC; empty: all)", value=(), key="history_dates", format="YYYY-MM-DD")
days = tuple(days) if isinstance(days, list | tuple) else (days,)
filters = Filters(task, model, technique, machine, days[0] if days else None, days[1] if len(days) > 1 else None)
try:
    rows = filters.pick(everything)
except ValueError as error:  # e.g. an empty date range: the message says which
    st.error(str(error), icon=":material/error:")
    st.stop()

# ------------------------------------------------------------------ trials and runs
st.subheader(f"Trials: {len(rows)} of {len(everything)}")
st.dataframe(pd.DataFrame(titled(trial_table(rows), TRIAL_TITLES), columns=list(TRIAL_TITLES.values())),
             hide_index=True, column_config={
                 "Run": st.column_config.NumberColumn(format="%d", help="Empty: stored from the command line"),
                 "Score": st.column_config.NumberColumn(format="percent", help="In the metric named beside it"),
                 "p95 latency (ms)": st.column_config.NumberColumn(format="%.1f"),
                 "Energy (Wh / 1k queries)": st.column_config.NumberColumn(format="%.4g"),
                 "CO2e (g / 1k queries)": st.column_config.NumberColumn(format="%.4g"),
             })
cols = st.columns([1, 1, 2])
for col, fmt, mime in ((cols[0], "csv", "text/csv"), (cols[1], "json", "application/json")):
    col.download_button(f"Export these trials ({fmt.upper()})", lambda fmt=fmt: export(rows, fmt).encode(),
                        file_name=f"rightsize-trials.{fmt}", mime=mime, icon=":material/download:",
                        key=f"history_export_{fmt}", disabled=not rows,
                        help="Every record field, plus codecarbon's emissions.csv columns (per 1,000 queries).")

job_rows = job_table(jobs, everything, rows, filters)
st.subheader(f"Runs: {len(job_rows)}")
if job_rows:
    st.dataframe(pd.DataFrame(titled(job_rows, JOB_TITLES)), hide_index=True)
else:
    st.caption("No run matches these filters.")


def delete_controls() -> None:
    """Pick a trial or a run among those shown, confirm, delete."""
    left, right = st.columns(2, gap="large")
    with left:
        labels = {r["trial_id"]: f"#{r['trial_id']} · {r['model']} · {r['technique']} · {r['started_at']}"
                  for r in trial_table(rows)}
        keep_valid("history_delete_trial", list(labels))
        trial_id = st.selectbox("Trial (among those shown)", list(labels), index=None, format_func=labels.get,
                                key="history_delete_trial", placeholder="pick a trial")
        if trial_id is not None:
            sure = st.checkbox(f"Yes, delete trial #{trial_id} for good", key=f"history_sure_trial_{trial_id}")
            st.button("Delete trial", type="primary", disabled=not sure, on_click=delete_trial, args=(trial_id,),
                      icon=":material/delete:", key="history_delete_trial_go")
    with right:
        runs = {r["job_id"]: f"#{r['job_id']} · {r['kind']} · {r['status']} · {r['trials']} trials"
                for r in job_rows}
        keep_valid("history_delete_job", list(runs))
        job_id = st.selectbox("Run (among those shown)", list(runs), index=None, format_func=runs.get,
                              key="history_delete_job", placeholder="pick a run")
        if job_id is not None:
            sure = st.checkbox(f"Yes, delete run #{job_id} and all its trials for good",
                               key=f"history_sure_job_{job_id}")
            st.button("Delete run", type="primary", disabled=not sure, on_click=delete_job, args=(job_id,),
                      icon=":material/delete:", key="history_delete_job_go")


with st.expander("Delete a trial or a run", icon=":material/delete:"):
    if gate.facilitator_only("deleting trials and runs"):
        delete_controls()

# ------------------------------------------------------------------ one variant across machines
st.subheader("Same variant across machines")
st.caption("How one model and technique measured on each machine it ran on (the task and date filters apply; "
           "the others do not).")
in_range = Filters(task, since=filters.since, until=filters.until).trials(store)
grouping = st.radio("Compare by", list(GROUPINGS), horizontal=True, key="history_grouping",
                    format_func={"machine": "machine (CPU and host)", "machine type": "machine type (CPU)",
                                 "node": "cluster node (Ray)"}.get,
                    help="Machine type pools every host with the same CPU; a cluster node is one Ray node "
                         "(trials measured with --cluster or a cluster chosen on Run).")
variants = {f"{m}|{t}": n for m, t, n in variants_by_machines(in_range, GROUPINGS[grouping])}
if not variants:
    st.caption("No successful trial to compare.")
    st.stop()
keep_valid("history_variant", list(variants))
pick = st.selectbox("Variant", list(variants), key="history_variant",
                    format_func=lambda k: f"{k.replace('|', ' · ')} ({variants[k]} machine{'s' * (variants[k] != 1)})")
pick_model, _, pick_technique = pick.partition("|")
per = per_machine(in_range, pick_model, pick_technique, GROUPINGS[grouping])
if variants[pick] == 1:
    st.caption("Measured on one machine so far: run it on another machine that writes to the same database "
               "(RIGHTSIZE_DB) to compare.")
cols = st.columns(2, gap="large")
for col, metric in zip(cols, decision_charts.MACHINE_METRICS, strict=True):
    col.altair_chart(decision_charts.machine_chart(pd.DataFrame(per), pick.replace("|", " · "), metric),
                     width="stretch")
st.dataframe(pd.DataFrame(titled(per, MACHINE_TITLES)), hide_index=True, column_config={
    "Score (latest)": st.column_config.NumberColumn(format="percent"),
    "Energy (Wh / 1k queries, median)": st.column_config.NumberColumn(format="%.4g"),
    "p95 latency (ms, median)": st.column_config.NumberColumn(format="%.1f"),
    "Throughput (queries/s, median)": st.column_config.NumberColumn(format="%.0f"),
})
