"""Compare: the task's metric against energy, carbon, response time and size for the chosen runs; what each
technique does to its own model (speed-up vs the metric's change); when a trained variant's up-front energy
pays back."""

import streamlit as st

from app import chart_cache, ui
from app.upload import own_task_ids
from engine.devices import DEVICES, fit_rows
from engine.export import export
from engine.registry import TASKS
from engine.store import Store
from engine.stored_runs import run_records, runs_with_results
from engine.summary.headline import headline
from engine.summary.payback import paybacks
from engine.summary.variants import model_order, relative_to_fp32
from engine.views import charts, detail_charts, llm_tables, technique_charts

st.title("Compare results")

store = Store()
top = st.columns([1, 3], gap="medium")
task_ids = [*TASKS, *own_task_ids()]
saved_task = st.session_state.get("compare_task_id")
task_id = top[0].selectbox("Task", task_ids, index=task_ids.index(saved_task) if saved_task in task_ids else 0,
                           format_func=ui.task_title, key="compare_task")
metric = ui.metric(task_id)
top[0].caption(f"Scored by **{metric.title}**: {metric.meaning}.")
st.session_state["compare_task_id"] = task_id  # not a widget key: survives page switches

runs = runs_with_results(store, task_id)
if not runs:
    st.info("No results for this task yet. Start one on the Run page.")
    ui.link_to_page("run")
    st.stop()

labels = {r.key: r.label for r in runs}
preferred = [k for k in st.session_state.get("compare_run_keys", []) if k in labels] or [runs[0].key]
chosen = top[1].multiselect("Runs to show", list(labels), default=preferred, format_func=labels.get,
                            key=f"compare_runs_{task_id}")
st.session_state["compare_run_keys"] = chosen
if not chosen:
    st.info("Pick at least one run to show.")
    st.stop()

records = run_records(store, task_id, chosen)
state = ("compare", str(store.path), store.trials_marker(), task_id, tuple(chosen))  # what the charts depend on
domain = model_order(task_id, records)
summary = headline(records)
if summary:
    st.markdown(f"#### {summary.sentence}")
ui.provenance_caption(records)
ui.warn_contended(records)

row1 = st.columns([3, 2], gap="large")
chart_cache.show(row1[0], (*state, "quality-energy"), lambda: charts.quality_energy_chart(records, domain))
chart_cache.show(row1[1], (*state, "co2e"), lambda: charts.co2e_chart(records, domain))
row2 = st.columns(2, gap="large")
chart_cache.show(row2[0], (*state, "latency"), lambda: charts.latency_chart(records, domain))
chart_cache.show(row2[1], (*state, "size"), lambda: charts.size_chart(records, domain))

if any(r.quality_extras.get("f1_per_class") for r in records):
    st.subheader("Which classes each variant gets right")
    chart_cache.show(st, (*state, "per-class"), lambda: detail_charts.per_class_chart(records))
    confused = [r for r in records if r.status == "ok" and r.quality_extras.get("confusion")]
    if confused:
        names = [r.variant for r in confused]
        shown = st.selectbox("Mix-ups of one variant", names, key="compare_confusion",
                             help="Which class the variant answers for the items of each class.")
        pick = confused[names.index(shown)]
        chart_cache.show(st, (*state, "confusion", shown), lambda: detail_charts.confusion_chart(pick))
if any(isinstance(r.quality_extras.get("samples"), dict) for r in records):  # sample images (image kinds)
    from engine.views.image_grid import records_grid_png

    grid = records_grid_png(records)
    if grid:
        st.subheader("Sample test photos and what each variant answered")
        st.caption("Green: the variant's answer matches the label people gave; red: it does not.")
        st.image(grid)
fitting = fit_rows(records)
if fitting:
    st.subheader("Does it fit the device?")
    st.caption("Weights against the device's model storage, and what inference holds at once (peak activations "
               "at batch 1, plus the weights where the device loads them) against its memory. Budgets are "
               "assumptions with sources: " + " ".join(f"**{d.title}**: {d.source}" for d in DEVICES.values()))
    st.dataframe(fitting, hide_index=True)
if any(r.quality_extras.get("human_correlation") for r in records):
    st.subheader("Beside precision@10: does the model see documents as people do?")
    chart_cache.show(st, (*state, "agreement"), lambda: detail_charts.human_agreement_chart(records, domain))

prompted = llm_tables.prompting_frame(records)
if not prompted.empty:
    st.subheader("How the language models were asked")
    st.caption("Each text goes into the task's prompt; the answer word with the highest next-token likelihood "
               "wins, after a per-class bias fitted on validation texts (never the test ones).")
    st.dataframe(prompted, hide_index=True)
writing = llm_tables.generation_frame(records)
if not writing.empty:
    st.subheader("Writing: speed and energy per generated token")
    st.caption("A query is one greedy response of a fixed length; energy is an estimate (see provenance).")
    st.dataframe(writing, hide_index=True)
    for variant, written in llm_tables.samples(records).items():
        with st.expander(f"What {variant} wrote"):
            for sample in written:
                st.markdown(f"**{sample['prompt']}** {sample['response']}")

st.subheader("What each technique does to its model")
relatives = relative_to_fp32(records)
if relatives:
    basis = st.radio("Speed-up measured as", list(technique_charts.SPEEDUP_BASES), horizontal=True, key="compare_speedup_basis",
                     format_func=lambda b: {"throughput": "throughput at batch 32 (serving many queries)",
                                            "p50": "median time of one query"}[b])
    chart_cache.show(st, (*state, "speedup", basis),
                     lambda: technique_charts.speedup_chart(relatives, domain, basis))
else:
    st.info("Run a technique besides fp32, together with fp32 on the same model, to see how much faster it "
            f"makes that model and how many points of {ui.noun(ui.metric(task_id))} it costs.", icon=":material/info:")

trained = paybacks(records)
if trained:
    st.subheader("Energy spent once to train, against the saving per query")
    st.caption("Distillation and retraining cost energy once, up front; a smaller model then saves energy on "
               "every query, against the teacher's fp32 when it is in the shown runs, else the model's own fp32. "
               "Break-even = up-front energy / saving per query. Energy figures are estimates (see provenance).")
    cols = st.columns([2, 3], gap="large")
    cols[0].markdown("\n".join(f"- {item.sentence}" for item in trained))
    if any(item.queries is not None for item in trained):
        chart_cache.show(cols[1], (*state, "payback"), lambda: technique_charts.payback_chart(trained, domain))
    ui.show_payback_table(trained)

ui.show_not_ok(records)
with st.expander("Every figure, as a table"):
    st.dataframe(ui.full_table(records), hide_index=True)
    st.download_button("Download CSV", lambda: export(records, "csv").encode(), file_name=f"rightsize-{task_id}.csv",
                       mime="text/csv", icon=":material/download:", on_click="ignore")
