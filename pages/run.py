"""Run: choose what to compare (single techniques and pipelines), or let a search find the leanest variant;
queue it for the worker and watch it progress live, training curves included."""

import streamlit as st

from app import gate, queue_panel, ui
from app.upload import NEW_DATA, UPLOADED, own_task_ids, upload_panel
from engine.carbon import regions
from engine.cluster import configured_clusters
from engine.config import settings
from engine.models.memory import request_refusals
from engine.objectives import OBJECTIVES
from engine.queue import job_status, jobs_ahead, queue_view, submit_optimize, submit_run
from engine.registry import MODELS, TASKS, TECHNIQUES, get_task, is_installed
from engine.requests import EVAL_SIZE_RANGE, MAX_DROP_PTS_RANGE, NO_TEACHER, OptimizeRequest, RunRequest
from engine.store import ACTIVE, Store
from engine.techniques.spec import canonical

PIPELINES = "run_pipelines"  # the pipelines added for the next run (not a widget key, so it survives page switches)
owner = queue_panel.session_owner()  # this browser tab's token: its fair turn in the queue, and who may cancel

st.title("Run a comparison")
st.caption("Each model x technique is one trial: load, compress, answer the test questions, time single "
           "queries and measure energy on a batch. Trials run one after another in a background worker.")
pipelines: list[str] = st.session_state.setdefault(PIPELINES, [])

def task_title(task_id: str) -> str:
    if task_id == NEW_DATA:
        return "Your own data: upload a labelled CSV"
    try:
        return get_task(task_id).title
    except ValueError:  # a stored upload that can no longer be read
        return f"{task_id} (unreadable)"


if UPLOADED in st.session_state:  # a CSV was just stored: select it (before the picker is drawn)
    st.session_state["run_task"] = st.session_state.pop(UPLOADED)
task_choices = [*TASKS, *own_task_ids(), NEW_DATA]
left, right = st.columns([3, 2], gap="large")
with left:
    task_id = st.selectbox("Task", task_choices, format_func=task_title, key="run_task")
    if task_id == NEW_DATA:
        if upload_panel():
            st.rerun()
        st.stop()
    try:
        task = get_task(task_id)
    except ValueError as err:
        st.error(str(err), icon=":material/error:")
        st.stop()
    metric = ui.metric(task_id)
    st.caption(f"{task.description} Scored by **{metric.title}**: {metric.meaning}.")
    models = st.multiselect("Models (smallest to largest)", task.models, default=task.default_models,
                            format_func=ui.model_label, key=f"run_models_{task_id}")
    singles = st.multiselect("Techniques, each on its own", list(TECHNIQUES), default=task.default_techniques,
                             format_func=ui.technique_label, key="run_techniques")
    ui.explain_chosen(singles)
    single_specs = ui.technique_inputs(singles, task_id, "run_param")
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
    # No min/max on the widget: Streamlit would silently put back the default; the request's check says why.
    eval_size = st.number_input("Test questions per trial", value=300, step=50, key="run_eval_size",
                                help=f"{EVAL_SIZE_RANGE[0]} to {EVAL_SIZE_RANGE[1]}. More questions: a narrower "
                                     f"{metric.title} interval, a longer run.")
    remeasure = st.checkbox("Measure again what was already measured here", key="run_remeasure",
                            help="Off: a trial measured on this machine with the same code and settings, on a "
                                 "quiet machine, is shown from the store instead of taking a turn in the queue.")
    cluster, every_node = "", False
    if clusters := configured_clusters():  # only the operator's clusters (RIGHTSIZE_CLUSTERS, RAY_ADDRESS)
        cluster = st.selectbox("Where to measure", ["", *clusters], key="run_cluster",
                               format_func=lambda a: f"Ray cluster at {a}" if a else "This machine",
                               help="On a cluster each node measures one trial at a time with its own models; "
                                    "the results come back here as they finish (docs/cluster.md).")
        every_node = st.checkbox("Each trial on every node", key="run_every_node", disabled=not cluster,
                                 help="To compare machines: History then shows each variant per node and per "
                                      "machine type.") and bool(cluster)
    with st.expander("Every technique, in one line each"):
        ui.technique_help(singles)

with st.expander("Compose a pipeline: several techniques, one after another", icon=":material/account_tree:",
                 expanded=bool(st.session_state.get("pipeline_steps"))):
    steps = st.multiselect("Steps, in the order you pick them (the first picked runs first)", list(TECHNIQUES),
                           format_func=ui.technique_label, key="pipeline_steps",
                           placeholder="e.g. layer-drop, then distill, then onnx-int8")
    ui.explain_chosen(steps, numbered=True)
    raw = "+".join(ui.technique_inputs(steps, task_id, "pipe_param"))
    spec = ""
    if steps:
        try:
            spec = canonical(raw)
        except ValueError as err:  # e.g. onnx-int8 before int8-dynamic: the message names the valid form
            st.code(raw, language=None)
            st.error(str(err), icon=":material/error:")
        else:
            st.code(spec, language=None)
    if st.button("Add pipeline", icon=":material/add:", key="add_pipeline", disabled=not spec) and spec not in pipelines:
        pipelines.append(spec)


def remove_pipeline(spec: str) -> None:
    st.session_state[PIPELINES] = [p for p in st.session_state[PIPELINES] if p != spec]


for i, pipeline in enumerate(pipelines):
    row = st.columns([6, 1], vertical_alignment="center")
    row[0].markdown(f":material/account_tree: Pipeline in this run: `{pipeline}`")
    row[1].button("Remove", key=f"remove_pipeline_{i}", on_click=remove_pipeline, args=(pipeline,),
                  icon=":material/close:")

techniques = list(dict.fromkeys([*single_specs, *pipelines]))
missing = [MODELS[m] for m in models if m in MODELS and not is_installed(MODELS[m])]
for model_spec in missing:
    st.warning(f"{model_spec.id} is not installed here; its trials will fail. Install it with `{model_spec.install}`")

st.write(f"**{len(models) * len(techniques)} trials** ({len(models)} models x {len(techniques)} techniques).")
request = RunRequest(task_id, tuple(models), tuple(techniques), int(eval_size), region, test_set,
                     remeasure=remeasure, cluster=cluster, every_node=every_node)
problem = queue_panel.request_problem(request)  # the CLI's checks and messages, before anything is queued
too_big = request_refusals([MODELS[m] for m in models if m in MODELS], techniques)  # LLMs vs free memory
for message in too_big:
    st.error(message, icon=":material/memory:")
problem = problem or " ".join(too_big)
if problem and (models and techniques):
    st.error(problem, icon=":material/error:")
if st.button("Run comparison", type="primary", icon=":material/play_arrow:", key="run_submit",
             disabled=bool(problem and models and techniques)):
    try:
        queue_panel.follow_job(submit_run(request, owner=owner), owner)
    except ValueError as err:  # unknown names, out-of-range numbers, a full queue: the message says which
        st.error(str(err))

with st.expander(f"Find the leanest variant: the cheapest one within a {metric.title} floor", icon=":material/search:"):
    st.caption("Tries quantization, pruning, fewer layers, ONNX Runtime and distillation on one model and "
               f"keeps the variant that is cheapest on your objective while staying within the {metric.title} "
               "drop you allow. It uses the grid, test set and number of test questions chosen above.")
    encoders = ui.task_encoders(task_id)
    cols = st.columns(4)
    lean_model = cols[0].selectbox("Model to slim down", encoders, index=len(encoders) // 2,
                                   format_func=ui.model_label, key=f"lean_model_{task_id}")
    max_drop = cols[1].number_input(
        f"Max {metric.title} drop (points)", *MAX_DROP_PTS_RANGE, value=1.0, step=0.5, format="%.1f",
        key="lean_max_drop",
        help=f"1 point = 0.01 of {metric.title}. With 300 test questions one figure is uncertain by several "
             "points; all candidates are judged on the same questions.")
    objective_names = {name: objective.label.lower() for name, objective in OBJECTIVES.items()}
    objective = cols[2].radio("Cheapest in", list(OBJECTIVES), format_func=objective_names.get,
                              key="lean_objective")
    teachers = ["", *[m for m in encoders if m != lean_model], NO_TEACHER]
    teacher = cols[3].selectbox(
        "Teacher for distillation", teachers, key=f"lean_teacher_{task_id}",
        format_func=lambda m: {"": "automatic: largest above it", NO_TEACHER: "none: no distillation"}
        .get(m, ui.model_label(m)))
    if st.button("Find the leanest variant", type="primary", icon=":material/search:", key="lean_submit"):
        search = OptimizeRequest(task_id, lean_model, float(max_drop), objective, int(eval_size), region,
                                 test_set, teacher=teacher)
        try:
            queue_panel.follow_job(submit_optimize(search, owner=owner), owner)
        except (ValueError, ImportError) as err:
            st.error(str(err))


def show_curves(job_id: int) -> None:
    """Loss and validation score of every variant being trained (distillation, retraining), live."""
    curves = Store().curves(job_id)
    if curves:
        # altair loads only when there is something to draw: the form opens faster
        from engine.views import technique_charts

        cols = st.columns(2, gap="large")
        cols[0].altair_chart(technique_charts.training_chart(curves, "loss"), width="stretch")
        cols[1].altair_chart(technique_charts.training_chart(curves, technique_charts.validation_key(curves)), width="stretch")


@st.fragment(run_every=1.0)
def live_progress(job_id: int) -> None:
    """Polls the job every second; once it has finished, reruns the whole page once (which stops polling)."""
    job = job_status(job_id)
    if job is None or job.status not in ACTIVE:
        st.rerun()
    what = "Search" if job.kind == "optimize" else "Run"
    rows = queue_view(Store())
    me = next((r for r in rows if r.job.id == job_id), None)
    if job.status == "queued":
        ahead = jobs_ahead(rows, job_id)
        wait = f", about {queue_panel.fmt_duration(me.wait_s)} to wait" if me and ahead else ""
        st.progress(0.0, text=f"{what} #{job_id} is queued: {ahead} run{'s' * (ahead != 1)} ahead of it{wait}."
                    if ahead else f"{what} #{job_id} is queued: waiting for the worker to pick it up.")
    else:
        st.progress(job.progress, text=f"{what} #{job_id}: {job.message}")
    mine = job.owner == owner
    if job.owner and not mine:
        st.caption("Another session asked for exactly this run first: you follow theirs, so it is measured once.")
    if (mine or gate.may_delete()) and not job.cancel_requested:  # the facilitator may stop anyone's job
        st.button("Cancel", icon=":material/cancel:", key=f"cancel_{job_id}", on_click=queue_panel.cancel_job,
                  args=(job_id, owner if mine else None), help="Stops it now; trials measured so far are kept.")
    queue_panel.show_queue(rows, owner)
    show_curves(job_id)
    partial = Store().trials(job_ids=[job_id])
    if partial:
        ui.show_results_table(partial)


job_id = queue_panel.followed_job()
job = job_status(job_id) if job_id else None
if job is None or job.status not in ACTIVE:
    queue_panel.show_queue(queue_view(Store()), owner)  # what the room is running, even when we follow nothing
if job is not None:
    st.divider()
    if job.status in ACTIVE:
        live_progress(job.id)
    else:
        records = Store().trials(job_ids=[job.id])
        search = job.kind == "optimize"
        what = "Search" if search else "Run"
        if job.status == "cancelled":
            st.warning(f"{what} #{job.id} was cancelled. {len(records)} trial{'s' * (len(records) != 1)} measured "
                       "before it stopped are kept.", icon=":material/cancel:")
        elif job.status == "done":
            noun = "candidates" if search else "trials"
            st.success(f"{what} #{job.id} finished: {sum(r.status == 'ok' for r in records)} of {len(records)} "
                       f"{noun} measured.", icon=":material/check_circle:")
            st.session_state["compare_run_keys"] = [job.id]  # Compare shows this run first
            st.session_state["compare_task_id"] = job.task
        else:
            st.error(f"{what} #{job.id} failed: {job.error}")
            if records:
                st.caption("Results measured before it stopped:")
        if search and job.result:
            ui.show_search_result(records, job.result)
        elif records:
            ui.show_results_table(records)
        if records:
            ui.provenance_caption(records)
            ui.show_not_ok(records)
            if Store().curves(job.id):
                with st.expander("Training curves"):
                    show_curves(job.id)
            ui.link_to_page("compare", "Compare these results in charts")
