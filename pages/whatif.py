"""What-if: the stored variants served at scale under a scenario you set (volume, growth, years, grid, PUE,
prices): energy, CO2e and cost, savings against the big model, a recommendation under your limits, and when
trained variants pay back. Nothing is re-measured. The scenario lives in the page address: copy the link to
share it."""

import streamlit as st

from app import chart_cache, ui
from engine.carbon import regions
from engine.equivalents import EPA_SOURCE
from engine.quality import metric_for, noun
from engine.recommend import CONSTRAINT_LABELS, ConstraintError, Constraints, recommend
from engine.reference import find_reference
from engine.registry import TASKS
from engine.scenario import DEFAULTS, Scenario, ScenarioError
from engine.store import Store
from engine.stored_runs import stored_trials
from engine.summary.headline import headline
from engine.summary.labels import fmt_queries
from engine.summary.variants import latest_variants, model_order
from engine.views import charts, decision_charts
from engine.views.decision_tables import (
    SCENARIO_KEYS,
    amount,
    co2e_mass,
    column_titles,
    energy_amount,
    equivalents_sentence,
    focus_index,
    known_variants,
    payback_views,
    plain_reason,
    projection_csv,
    projection_json,
    projection_rows,
    scenario_from_query,
    split_variant_key,
    usd,
    variant_key,
)
from engine.whatif import NoResultsError, project

KEY = {name: f"whatif_{name}" for name in SCENARIO_KEYS if name != "variants"}
SAVED = "whatif_saved_query"  # not a widget key: the scenario survives a visit to another page
WANTED = "whatif_wanted_variants"  # variants asked for by the link, applied when their task's picker appears

st.title("What-if: serving at scale")
st.caption("How much energy, CO2e and money each measured variant would use serving your volume for years, on "
           "your grid and data centre. Change any input: the figures update at once from the stored measurements.")

store = Store()
records = stored_trials(store)
live = {r.task for r in records if r.status == "ok"}
snapshots = {}  # a task not measured here yet: its reference results stand in, labelled
for task_id in TASKS:
    if task_id not in live:
        found, _ = find_reference([task_id])
        if found:
            snapshots[task_id] = found
            records = [*records, *found.records]
ok_tasks = {r.task for r in records if r.status == "ok"}
tasks = [t for t in TASKS if t in ok_tasks] + sorted(ok_tasks - set(TASKS))
if not tasks:
    st.info("No results yet. Measure some variants on the **Run** page first; the what-if projects them.")
    ui.link_to_page("run")
    st.stop()

# ------------------------------------------------------------------ the scenario: the page address, else defaults
if KEY["pue"] not in st.session_state:  # the first view in this session, or back from another page
    query = st.query_params.to_dict() or st.session_state.get(SAVED, {})
    start, problems = scenario_from_query(query)
    for problem in problems:
        st.warning(f"{problem} The default is used instead.", icon=":material/link_off:")
    if query.get("task") and query["task"] not in tasks:
        st.warning(f"No results for task '{query['task']}' in this store; showing {tasks[0]}.")
    st.session_state["whatif_task"] = query.get("task") if query.get("task") in tasks else tasks[0]
    for name, key in KEY.items():
        value = getattr(start, name)
        st.session_state[key] = int(round(value)) if name in ("queries_per_day", "years") else value
    st.session_state[WANTED] = start.variants


def reset() -> None:
    defaults = Scenario().validated()
    for name, key in KEY.items():
        value = getattr(defaults, name)
        st.session_state[key] = int(round(value)) if name in ("queries_per_day", "years") else value
    st.session_state.pop(f"whatif_variants_{st.session_state['whatif_task']}", None)


def show(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}" if isinstance(value, int | float) else str(value)


def source(name: str) -> str:
    d = DEFAULTS[name]
    return f"{d.label}. Default {show(d.value)} {d.unit}. Source: {d.source}".replace(" .", ".")


task = st.selectbox("Task", tasks, key="whatif_task", format_func=ui.task_title)
snapshot = snapshots.get(task)
if snapshot:
    st.warning(f"**{snapshot.label}.** Projected from these until you measure here.", icon=":material/travel_explore:")
task_metric = metric_for(task=task)
latest = latest_variants(records, task)
options = [variant_key(r.model, r.technique) for r in latest]
picker = f"whatif_variants_{task}"
if picker not in st.session_state:
    found, missing = known_variants(st.session_state.pop(WANTED, ()), options)
    if missing:
        st.warning(f"No stored result for {', '.join(missing)}: left out of the comparison.")
    st.session_state[picker] = found or options

with st.container(border=True):
    st.markdown("**Your scenario** (hover the ? next to an input for where its default comes from)")
    row = st.columns(4)
    row[0].number_input("Queries per day", key=KEY["queries_per_day"], step=10_000,
                        help=source("queries_per_day"))
    row[1].number_input("Volume growth per year (%)", key=KEY["growth_pct"], step=5.0, format="%.1f",
                        help=source("growth_pct"))
    row[2].number_input("Years", key=KEY["years"], step=1, help=source("years"))
    grids = {g.region: g for g in regions()}
    row[3].selectbox("Electricity grid", list(grids), key=KEY["region"], format_func=lambda c: grids[c].label,
                     help=source("region"))
    row = st.columns(4)
    row[0].number_input("Data-centre PUE", key=KEY["pue"], step=0.05, format="%.2f", help=source("pue"))
    row[1].number_input("Electricity price (USD per kWh)", key=KEY["price_kwh"], step=0.01, format="%.3f",
                        help=source("price_kwh"))
    row[2].number_input("Machine price (USD per hour)", key=KEY["compute_usd_per_hour"], step=0.01,
                        format="%.5f", help=source("compute_usd_per_hour"))
    row[3].button("Reset to defaults", on_click=reset, icon=":material/restart_alt:", key="whatif_reset")
    chosen = st.multiselect("Variants to compare", options, key=picker,
                            format_func=lambda k: " · ".join(split_variant_key(k)))

if not chosen:
    st.info("Pick at least one variant to compare.")
    st.stop()
values = {name: st.session_state[key] for name, key in KEY.items()}
numbers = {k: float(v) if k not in ("region", "years") else v for k, v in values.items() if v is not None}
variants = () if set(chosen) == set(options) else tuple(split_variant_key(k) for k in chosen)
try:
    scenario = Scenario(**numbers, variants=variants).validated()
    projection = project(records, scenario, task=task)
except NoResultsError as error:
    st.info(f"{error} Measure some variants on the Run page.")
    ui.link_to_page("run")
    st.stop()
except (ScenarioError, TypeError, ValueError) as error:  # out of range or empty: the message names the input
    st.error(str(error) if not isinstance(error, TypeError) else "Every input needs a number.",
             icon=":material/error:")
    st.stop()
for caution in projection.cautions:
    st.warning(caution, icon=":material/report:")

address = {"task": task, **scenario.to_query()}
if st.query_params.to_dict() != address:
    st.query_params.from_dict(address)  # a copied link reproduces this scenario
st.session_state[SAVED] = address
grid = projection.grid
st.caption(f":material/bolt: Grid: **{grid.label}** (grams of CO2e per kWh, data year {grid.year}). "
           f"Source: {grid.source}.")
chosen_records = [v.record for v in projection.variants]
ui.provenance_caption(chosen_records)  # the per-query figures behind every projection: where, how, how sure
ui.warn_contended(chosen_records)

# ------------------------------------------------------------------ one variant against the baseline
base = projection.baseline
years = scenario.years
span = f"{years} year{'s' * (years != 1)}"
st.subheader(f"{scenario.queries_per_day:,.0f} queries a day for {span}")
labels = [v.record.variant for v in projection.variants]
focus_key = f"whatif_focus_{task}"
if st.session_state.get(focus_key) not in labels:
    st.session_state[focus_key] = labels[focus_index(projection)]
focus = projection.variants[labels.index(st.selectbox("Variant against the baseline", labels, key=focus_key))]
total, saved = focus.total, focus.savings
vs = f" vs {saved.vs}" if saved and saved.vs != focus.record.variant else ""
cols = st.columns(3)
formats = {"energy_kwh": energy_amount, "co2e_t": co2e_mass, "cost_usd": usd}
for col, (title, field) in zip(cols, (("Energy", "energy_kwh"), ("CO2e", "co2e_t"), ("Cost", "cost_usd")),
                               strict=True):
    value, first, text = getattr(total, field), getattr(focus.first_year, field), formats[field]
    diff = -getattr(saved.total, field) if vs and getattr(saved.total, field) is not None else None
    col.metric(f"{title} over {span}", text(value), delta=f"{text(diff)}{vs}" if diff is not None else None,
               delta_color="inverse", border=True,
               help=f"Year 1: {text(first)}. Totals include energy spent once to create the variant, if any.")
sentence = equivalents_sentence(focus, years)
if sentence:
    st.markdown(f":material/eco: {sentence}")
    st.caption(f"Equivalents: {EPA_SOURCE}.")
    if "methodology" in ui.PAGES:
        ui.link_to_page("methodology", "Where every figure and factor comes from")
    else:
        st.caption("Where every figure and factor comes from: docs/methodology.md.")

domain = model_order(task, latest)
metric = st.radio("Show over the years", list(decision_charts.CUMULATIVE), horizontal=True, key="whatif_metric",
                  format_func={"co2e": "CO2e", "cost": "Cost", "energy": "Energy"}.get)
emphasis = [focus.record.variant, *([base.record.variant] if base else [])]
state = ("whatif", str(store.path), store.trials_marker(), task, bool(snapshot), repr(scenario))  # charts' inputs
rows, shape = decision_charts.cumulative_parts(projection, metric, emphasis)  # a new volume: new rows, same shape
chart_cache.show(st, (*state[:5], "cumulative", tuple(domain), shape),
                 lambda: decision_charts.cumulative_chart(projection, domain, metric, emphasis),
                 data={decision_charts.CUMULATIVE_DATA: rows})

with st.expander("Every variant, year 1 and in total", expanded=True):
    rows = projection_rows(projection)
    titles = column_titles(task_metric)
    st.dataframe([{"Baseline": r["is_baseline"], **{t: r[k] for k, t in titles.items()}} for r in rows],
                 hide_index=True, column_config={
                     titles["quality"]: st.column_config.NumberColumn(format="percent"),
                     **{t: st.column_config.NumberColumn(format="%.4g") for k, t in titles.items()
                        if k not in ("variant", "quality")},
                 })
    st.caption(f"Savings are against {base.record.variant if base else 'no baseline'} (the largest model at "
               "fp32); a negative saving costs more. Cost = electricity + machine time.")
    for variant, why in projection.skipped:
        st.caption(f"Not projected: {variant} ({why}).")

# ------------------------------------------------------------------ recommendation
st.subheader("Recommendation")
st.caption("The variant using the least energy per query among those meeting every limit you set; limits left "
           "empty do not apply. Among the variants picked above.")
cols = st.columns(4)
kind = cols[0].radio(f"{task_metric.title} floor", ["pct", "abs"], key="whatif_floor_kind",
                     format_func={"pct": "% of the best variant", "abs": f"absolute {noun(task_metric)} (%)"}.get)
floor = cols[1].number_input("Keep at least (% of the best)" if kind == "pct" else f"{task_metric.title} at least (%)",
                             value=95.0 if kind == "pct" else 80.0, step=0.5, format="%.1f",
                             key=f"whatif_floor_{kind}")
max_p95_ms = cols[2].number_input("p95 latency limit (ms)", value=None, step=5.0, key="whatif_max_p95_ms",
                                  placeholder="no limit", help="The slowest 5% of single queries take longer "
                                  "than this. Empty: no limit.")
max_usd = cols[3].number_input("Annual budget (USD)", value=None, step=100.0, key="whatif_max_annual_usd",
                               placeholder="no limit", help="Year-1 cost (electricity + machine time) under the "
                               "scenario above. Empty: no limit.")
try:
    constraints = Constraints(min_quality=floor / 100.0 if kind == "abs" and floor is not None else None,
                              min_quality_pct=floor if kind == "pct" else None, max_p95_ms=max_p95_ms,
                              max_annual_usd=max_usd, scenario=scenario)
    advice = recommend(chosen_records, constraints, task=task)
except ConstraintError as error:
    st.error(str(error), icon=":material/error:")
    advice = None
if advice is not None:
    if advice.recommended:
        chosen_one, second = advice.recommended, advice.runner_up
        st.success(f"**Recommended: {chosen_one.variant}**. "
                   f"{plain_reason(chosen_one.model, chosen_one.technique, advice.reason)}", icon=":material/recommend:")
        if second:
            st.caption(f"Runner-up: **{second.variant}**. "
                       f"{plain_reason(second.model, second.technique, advice.runner_up_reason)}")
    else:
        binding = CONSTRAINT_LABELS.get(advice.binding_constraint or "", "")
        st.warning(f"**Nothing qualifies{f': the {binding} binds' if binding else ''}.** {advice.reason}",
                   icon=":material/block:")
        if advice.nearest_miss:
            st.info(f"Nearest miss: {advice.nearest_miss_reason}", icon=":material/near_me:")
    picks = [(advice.recommended, "recommended"), (advice.runner_up, "runner-up"),
             (advice.nearest_miss, "nearest miss")]
    # the picks (chosen under the scenario's costs) and the floor are all this chart takes from the scenario
    chart_cache.show(st, (*state[:5], "choices", tuple(r.variant for r in chosen_records), tuple(domain),
                          tuple((r.variant if r else "", label) for r, label in picks), advice.quality_floor),
                     lambda: decision_charts.highlight_choices(charts.quality_energy_chart(chosen_records, domain),
                                                               picks, advice.quality_floor))

# ------------------------------------------------------------------ payback
paybacks = payback_views(projection)
if paybacks:
    st.subheader("Payback of energy spent once")
    st.caption(f"Distillation, retraining and searches spend energy once, up front; the variant then saves "
               f"energy on every query against {base.record.variant if base else 'the baseline'}. Break-even = "
               "up-front energy / saving per query; its date follows this scenario's volume and growth.")
    for item in paybacks:
        with st.container(border=True):
            st.markdown(f"**{item.variant}**: {item.status}")
            cols = st.columns(4)
            cols[0].metric("Up-front energy", energy_amount(item.upfront_energy_kwh), help="With the PUE above.")
            cols[1].metric("Up-front CO2e", co2e_mass(item.upfront_co2e_t), help=f"On {grid.label}.")
            cols[2].metric("Saving per 1,000 queries",
                           "none" if not item.saving_wh_per_1k or item.saving_wh_per_1k <= 0
                           else amount(item.saving_wh_per_1k, "Wh"), help=f"Against {item.vs}, per 1,000 queries as stored (see how above).")
            cols[3].metric("Break-even", fmt_queries(item.break_even_queries),
                           help=f"Date: {item.break_even_date or 'never'}")
            st.caption(item.sentence)

# ------------------------------------------------------------------ assumptions and exports
with st.expander("Assumptions and their sources"):
    st.markdown("\n".join(
        f"- **{a.label}**: {show(a.value)} {a.unit}{f' ({a.year})' if a.year else ''}. {a.source}"
        f"{f' (default {show(a.default)}: {a.default_source})' if not a.is_default and a.default is not None else ''}"
        for a in projection.assumptions))
    st.markdown("\n".join(f"- {note}" for note in projection.notes))
cols = st.columns([1, 1, 2])
name = f"rightsize-whatif-{task}"
# built when clicked, not on every edit (thirty people editing at once pay for every byte built per rerun)
cols[0].download_button("Download projection (CSV)", lambda: projection_csv(projection).encode(),
                        file_name=f"{name}.csv", mime="text/csv", icon=":material/download:", key="whatif_csv",
                        on_click="ignore")
cols[1].download_button("Download projection (JSON)", lambda: projection_json(projection).encode(),
                        file_name=f"{name}.json", mime="application/json", icon=":material/download:",
                        key="whatif_json", on_click="ignore")
if headline(chosen_records) is not None:  # a briefing needs a verdict: two variants with a score
    st.caption("The one-page briefing for executives, with this scenario and this recommendation:")
    ui.briefing_downloads(chosen_records, stem=f"rightsize-briefing-{task}-whatif", recommendation=advice,
                          whatif=projection)
