"""engine.views.decision_tables / decision_charts / history_tables: the data behind the What-if and History
pages, checked without Streamlit."""

import csv
import io
from datetime import date

import pytest
from conftest import distilled, make_record

from engine.scenario import Scenario
from engine.store import StoredTrial
from engine.views.decision_charts import (
    CUMULATIVE_DATA,
    HIGHLIGHT,
    cumulative_chart,
    cumulative_frame,
    cumulative_parts,
    highlight_choices,
)
from engine.views.decision_tables import co2e_mass, payback_views, projection_csv, scenario_from_query
from engine.views.history_tables import per_machine, variants_by_machines
from engine.whatif import project

DISTILLED = "layer-drop:keep=3+distill:teacher=mpnet-base,epochs=2"


def ladder(*extra):
    return [make_record(m, t) for m, t in (("minilm-l6", "fp32"), ("minilm-l6", "int8-dynamic"),
                                           ("mpnet-base", "fp32"))] + list(extra)


def test_a_link_keeps_its_good_values_and_names_the_bad_ones():
    scenario, problems = scenario_from_query({"pue": "0.5", "years": "4", "region": "fra", "growth_pct": "x",
                                              "unrelated": "1"})
    assert (scenario.pue, scenario.years, scenario.region, scenario.growth_pct) == (1.58, 4, "FRA", 0.0)
    assert len(problems) == 2 and "growth_pct" in problems[0] and "PUE (pue) must be between 1 and 3" in problems[1]
    assert scenario_from_query({}) == (Scenario().validated(), [])


def test_payback_says_never_when_nothing_is_saved():
    costly = distilled("minilm-l6", "finetune:epochs=2", 2.0, energy_wh_per_1k=0.9)
    views = payback_views(project(ladder(distilled("minilm-l6", DISTILLED, 3.0), costly), Scenario(),
                                  start=date(2025, 1, 1)))
    assert [v.variant.split(" · ")[1] for v in views] == [DISTILLED, "finetune:epochs=2"]
    # 3.0 Wh / ((0.700 - 0.040) Wh per 1,000 queries) = 4,545 queries: the first day at 100,000 a day
    assert views[0].status == "pays back on 2025-01-02" and views[0].break_even_queries == pytest.approx(4545.45, 0.01)
    assert views[1].status == "never pays back" and views[1].break_even_date is None
    assert "never pays back" in views[1].sentence


def test_the_years_start_with_the_energy_spent_once():
    projection = project(ladder(distilled("minilm-l6", DISTILLED, 3.0)), Scenario(years=2))
    frame = cumulative_frame(projection)
    trained = frame[frame["technique"] == DISTILLED]
    assert trained["year"].tolist() == [0, 1, 2]
    assert trained["energy_kwh"].iloc[0] == pytest.approx(3.0 / 1000 * 1.58)  # up front, with the PUE
    plain = frame[frame["technique"] == "fp32"]
    assert plain["co2e_t"].iloc[0] == 0 and plain["co2e_t"].iloc[2] == pytest.approx(2 * plain["co2e_t"].iloc[1])


def test_a_new_volume_changes_the_cumulative_rows_not_the_chart():
    # What-if caches the chart by its shape and swaps the rows in: that must draw what a fresh build draws
    records = ladder(distilled("minilm-l6", DISTILLED, 3.0))
    emphasis = [f"minilm-l6 · {DISTILLED}", "mpnet-base · fp32"]
    one, other = (project(records, Scenario(queries_per_day=q, growth_pct=g, years=3)) for q, g in ((1e5, 0), (7e6, 40)))
    rows_one, shape_one = cumulative_parts(one, "cost", emphasis)
    rows_other, shape_other = cumulative_parts(other, "cost", emphasis)
    assert shape_one == shape_other and not rows_one.equals(rows_other)
    cached = cumulative_chart(one, ["minilm-l6", "mpnet-base"], "cost", emphasis).to_dict()
    cached["datasets"][CUMULATIVE_DATA] = rows_other.to_dict("records")
    assert cached == cumulative_chart(other, ["minilm-l6", "mpnet-base"], "cost", emphasis).to_dict()
    # what does change the spec changes the shape
    assert cumulative_parts(project(records, Scenario(years=4)), "cost", emphasis)[1] != shape_one
    assert cumulative_parts(one, "cost", emphasis[:1])[1] == shape_one  # still bold lines: same shape
    assert cumulative_parts(one, "cost", ())[1] != shape_one
    assert cumulative_parts(project(records, Scenario(years=3, pue=1.2)), "cost", emphasis)[1] != shape_one


def test_the_csv_has_every_year_the_creation_and_the_total():
    text = projection_csv(project(ladder(distilled("minilm-l6", DISTILLED, 3.0)), Scenario(years=2)))
    periods = [row["period"] for row in csv.DictReader(io.StringIO(text)) if row["technique"] == DISTILLED]
    assert periods == ["year 1", "year 2", "one-time creation", "total"]
    assert "scenario_pue" in text.splitlines()[0] and "grid_source" in text.splitlines()[0]


def test_the_highlight_reuses_the_charts_axes():
    import altair as alt

    from engine.views.charts import quality_energy_chart

    records = ladder(make_record("vader", "fp32"))  # a 700x energy spread: a log energy axis
    chart = highlight_choices(quality_energy_chart(records), [(records[1], "recommended"), (None, "runner-up")],
                              floor_quality=0.8)
    assert isinstance(chart.layer[-1], alt.LayerChart)
    layer = chart.to_dict()["layer"][-1]
    assert layer["description"] == HIGHLIGHT
    rings = layer["layer"][0]
    assert rings["encoding"]["x"]["scale"]["type"] == "log" and rings["mark"]["shape"] == "circle"
    assert chart.layer[-1].layer[0].data["variant"].tolist() == ["minilm-l6 · int8-dynamic"]
    assert highlight_choices(quality_energy_chart(records), []).to_dict() == quality_energy_chart(records).to_dict()


def test_one_variant_per_machine_with_medians():
    other = {"cpu_model": "Intel Xeon 8375C"}
    rows = [StoredTrial(i, r) for i, r in enumerate([
        make_record("minilm-l6", "int8-dynamic"),
        make_record("minilm-l6", "int8-dynamic", hardware=other, energy_wh_per_1k=0.04),
        make_record("minilm-l6", "int8-dynamic", hardware=other, energy_wh_per_1k=0.06),
        make_record("minilm-l6", "int8-dynamic", hardware=other, status="failed"),
        make_record("minilm-l6", "fp32"),
    ])]
    assert variants_by_machines(rows) == [("minilm-l6", "int8-dynamic", 2), ("minilm-l6", "fp32", 1)]
    table = per_machine(rows, "minilm-l6", "int8-dynamic")
    assert [(r["machine"], r["trials"], r["energy_wh_per_1k"]) for r in table] == [
        ("AMD EPYC 9R14 (test fixture)", 1, 0.035), ("Intel Xeon 8375C", 2, pytest.approx(0.05))]


def test_co2e_reads_in_the_best_unit():
    assert [co2e_mass(x) for x in (2.5, 0.0435, 0.00000128, 0.0)] == ["2.5 t", "43.5 kg", "1.28 g", "0 t"]
