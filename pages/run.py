"""Run: choose what to compare, queue it for the worker, and watch it progress live."""

import streamlit as st

from app import ui
from engine.carbon import regions
from engine.config import settings
from engine.jobs import EVAL_SIZE_RANGE, RunRequest, job_status, submit_run
from engine.registry import MODELS, TASKS, TECHNIQUES, is_installed
from engine.store import ACTIVE, Store
from engine.summary import queue_position

ACTIVE_JOB = "active_job_id"  # not a widget key, so it survives switching pages in the browser

st.title("Run a comparison")
st.caption("Each model x technique is one trial: load, compress, answer the test questions, time single "
           "queries and measure energy on a batch. Trials run one after another in a background worker.")

left, right = st.columns([3, 2], gap="large")
with left:
    task_id = st.selectbox("Task", list(TASKS), format_func=lambda t: TASKS[t].title, key="run_task")
    task = TASKS[task_id]
    st.caption(task.description)
    models = st.multiselect("Models (smallest to largest)", task.models, default=task.default_models,
                            format_func=ui.model_label, key=f"run_models_{task_id}")
    techniques = st.multiselect("Techniques", list(TECHNIQUES), default=task.default_techniques,
                                format_func=ui.technique_label, key="run_techniques")
    for t in TECHNIQUES.values():
        mark = ":material/check_box:" if t.id in techniques else ":material/check_box_outline_blank:"
        st.caption(f"{mark} **{t.title}**: {t.explanation}")
with right:
    grids = {g.region: g for g in regions()}
    default_region = settings().default_region
    region = st.selectbox(
        "Electricity grid (for CO2e)", list(grids), index=list(grids).index(default_region) if default_region in grids else 0,
        format_func=lambda c: f"{grids[c].name} ({c}) · {grids[c].g_per_kwh:.0f} g/kWh, {grids[c].year}",
        key="run_region",
    )
    st.caption(f"Source: {grids[region].source}")
    test_set = st.selectbox("Test set", [s.id for s in task.test_sets],
                            format_func=lambda s: next(x.title for x in task.test_sets if x.id == s),
                            key=f"run_test_set_{task_id}")
    eval_size = st.number_input("Test questions per trial", *EVAL_SIZE_RANGE, value=300, step=50,
                                help="More questions: a narrower accuracy interval, a longer run.",
                                key="run_eval_size")

missing = [MODELS[m] for m in models if m in MODELS and not is_installed(MODELS[m])]
for spec in missing:
    st.warning(f"{spec.id} is not installed here; its trials will fail. Install it with `{spec.install}`")

st.write(f"**{len(models) * len(techniques)} trials** ({len(models)} models x {len(techniques)} techniques).")
if st.button("Run comparison", type="primary", icon=":material/play_arrow:"):
    request = RunRequest(task_id, tuple(models), tuple(techniques), int(eval_size), region, test_set)
    try:
        st.session_state[ACTIVE_JOB] = submit_run(request)
    except ValueError as err:  # unknown names, out-of-range numbers, missing models: the message says which
        st.error(str(err))


@st.fragment(run_every=1.0)
def live_progress(job_id: int) -> None:
    """Polls the job every second; once it has finished, reruns the whole page once (which stops polling)."""
    job = job_status(job_id)
    if job is None or job.status not in ACTIVE:
        st.rerun()
    if job.status == "queued":
        ahead = queue_position(Store(), job_id)
        st.progress(0.0, text=f"Run #{job_id} is queued: {ahead} run{'s' * (ahead != 1)} ahead of it."
                    if ahead else f"Run #{job_id} is queued: waiting for the worker to pick it up.")
    else:
        st.progress(job.progress, text=f"Run #{job_id}: {job.message}")
    partial = Store().trials(job_ids=[job_id])
    if partial:
        ui.show_results_table(partial)


job_id = st.session_state.get(ACTIVE_JOB)
job = job_status(job_id) if job_id else None
if job is not None:
    st.divider()
    if job.status in ACTIVE:
        live_progress(job.id)
    else:
        records = Store().trials(job_ids=[job.id])
        if job.status == "done":
            st.success(f"Run #{job.id} finished: {sum(r.status == 'ok' for r in records)} of {len(records)} "
                       "trials measured.", icon=":material/check_circle:")
            st.session_state["compare_run_keys"] = [job.id]  # Compare shows this run first
        else:
            st.error(f"Run #{job.id} failed: {job.error}")
            if records:
                st.caption("Results measured before it stopped:")
        if records:
            ui.show_results_table(records)
            ui.provenance_caption(records)
            ui.show_not_ok(records)
            ui.link_to_page("compare", "Compare these results in charts")
