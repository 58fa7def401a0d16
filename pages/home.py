"""Home: what Rightsize shows, and the latest comparison's headline in four numbers."""

import streamlit as st

from app import ui
from engine.store import Store
from engine.summary import headline, latest_run_with_results, run_records

st.title("Rightsize: how small can your AI model be?")
st.markdown(
    "Big AI models are trained to be good at everything; a **smaller or compressed** model can often serve "
    "one task almost as well, for a fraction of the energy, carbon and waiting time.  \n"
    "**Compression** shrinks a model further, for example by storing its numbers in 8 bits instead of 32.  \n"
    "Rightsize measures that trade-off **live, on this machine**: real models answer real test questions, "
    "and we record accuracy, response time, size and energy (turned into CO2e with your region's "
    "electricity mix)."
)

store = Store()
run = latest_run_with_results(store, min_ok=2)
records = run_records(store, run.task, [run.key]) if run else []
st.session_state["home_headline"] = result = headline(records)

if result is None:
    st.info("No results yet. Start a comparison on the **Run** page; it takes a few minutes on a laptop CPU.")
    ui.link_to_page("run")
    st.stop()

st.subheader(result.sentence)
ref, cand = result.reference, result.candidate
col1, col2, col3, col4 = st.columns(4)
col1.metric(
    "Accuracy kept",
    f"{result.accuracy_kept_pct:.0f}%",
    delta=f"{(cand.accuracy - ref.accuracy) * 100:+.1f} points",
    delta_color="normal",
    help=f"{cand.variant}: {ui.fmt_accuracy(cand.accuracy, cand.accuracy_ci_low, cand.accuracy_ci_high)} vs "
    f"{ref.variant}: {ui.fmt_accuracy(ref.accuracy, ref.accuracy_ci_low, ref.accuracy_ci_high)} "
    f"on {cand.eval_size} test items (95% interval).",
    border=True,
)
col2.metric(
    "Energy per 1,000 queries",
    ui.fmt_wh(cand.energy_wh_per_1k),
    delta=f"{result.energy_pct - 100:+.0f}% vs {ref.model}" if result.energy_pct is not None else None,
    delta_color="inverse",
    help=f"{ref.variant}: {ui.fmt_wh(ref.energy_wh_per_1k)}. {cand.energy_method}",
    border=True,
)
col3.metric(
    "CO2e per 1,000 queries",
    ui.fmt_g(cand.co2e_g_per_1k),
    delta=f"{result.co2e_pct - 100:+.0f}% vs {ref.model}" if result.co2e_pct is not None else None,
    delta_color="inverse",
    help=f"{ref.variant}: {ui.fmt_g(ref.co2e_g_per_1k)}. Grid: {cand.region} {cand.grid_g_per_kwh} g/kWh "
    f"({cand.grid_source}).",
    border=True,
)
col4.metric(
    "Speed-up (median response)",
    ui.speedup_text(result.speedup),
    delta=f"{ui.fmt_ms(cand.latency_p50_ms)} vs {ui.fmt_ms(ref.latency_p50_ms)}",
    delta_color="off",
    delta_arrow="off",
    border=True,
)
if not result.keeps_accuracy:
    st.warning("No smaller variant kept 95% of the large model's accuracy in this run; shown is the most "
               "accurate one.")
ui.provenance_caption([ref, cand])
st.caption(f"From run #{run.key} ({run.n_ok} variants measured). Reference: the largest model at full precision.")
ui.link_to_page("compare", "See every variant on the Compare page")
