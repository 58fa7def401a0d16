"""Home: what Rightsize shows, and the latest comparison's headline in four numbers. Before anything has run
on this machine, the bundled reference results stand in, labelled as measured elsewhere."""

import streamlit as st

from app import ui
from engine.reference import find_reference
from engine.registry import TASKS
from engine.store import Store
from engine.stored_runs import latest_run_with_results, run_records
from engine.summary.headline import headline

st.title("Rightsize: how small can your AI model be?")
st.markdown(
    "Big AI models are trained to be good at everything; a **smaller or compressed** model can often serve "
    "one task almost as well, for a fraction of the energy, carbon and waiting time.  \n"
    "**Compression** shrinks a model further, for example by storing its numbers in 8 bits instead of 32.  \n"
    "Rightsize measures that trade-off **live, on this machine**: real models answer real test questions, "
    "and we record quality (in each task's own measure: accuracy, spam F1, search precision), response time, "
    "size and energy (turned into CO2e with your region's electricity mix)."
)

store = Store()
run = latest_run_with_results(store, min_ok=2)
records = run_records(store, run.task, [run.key]) if run else []
snapshot = None
if not records:  # live results always win; until there are some, the reference snapshots stand in
    snapshots, problems = {}, []
    for task_id in TASKS:
        found, errors = find_reference([task_id])
        problems += errors
        if found:
            snapshots[task_id] = found
    for problem in problems:
        st.caption(f":material/error: Reference results could not be read: {problem}")
    if snapshots:
        shown = st.segmented_control("Reference results for", list(snapshots), default=next(iter(snapshots)),
                                     format_func=ui.task_title, key="home_reference_task") or next(iter(snapshots))
        snapshot = snapshots[shown]
    records = snapshot.records if snapshot else []
st.session_state["home_headline"] = result = headline(records)

if result is None:
    st.info("No results yet. Start a comparison on the **Run** page; it takes a few minutes on a laptop CPU.")
    ui.link_to_page("run")
    st.stop()

if snapshot:
    st.warning(f"**{snapshot.label}.** Your own figures will replace these after your first run here.",
               icon=":material/travel_explore:")
    ui.link_to_page("run", "Run live on this machine")
st.subheader(result.sentence)
st.caption(f"Task: {ui.task_title(result.reference.task)}. {result.metric.title}: {result.metric.meaning}.")
ui.show_headline(result)
if not result.keeps_quality:
    st.warning(f"No smaller variant kept 95% of the large model's {ui.noun(result.metric)} in this run; shown is "
               "the best-scoring one.")
ref, cand = result.reference, result.candidate
ui.provenance_caption([ref, cand])
if snapshot:
    st.caption(f"Compared with the largest model at full precision. Produced with `{snapshot.command}`.")
    ui.briefing_downloads(records, note=snapshot.label, stem=f"rightsize-briefing-{snapshot.task}-reference")
else:
    st.caption(f"From run #{run.key} ({run.n_ok} variants measured). Reference: the largest model at full precision.")
    ui.briefing_downloads(records, stem=f"rightsize-briefing-{run.task}")
    ui.link_to_page("compare", "See every variant on the Compare page")
