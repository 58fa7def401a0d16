"""What-if page: figures equal engine.whatif.project's, the scenario round-trips through the page address, the
grid changes CO2e and not energy, bad links and inputs give messages (never exceptions), the recommendation and
payback sections, the empty store, the exports."""

import json
from pathlib import Path

import pytest
from conftest import seed_run
from streamlit.testing.v1 import AppTest

from engine.recommend import Constraints, recommend
from engine.scenario import Scenario
from engine.views.decision_tables import COLUMN_TITLES, projection_csv, projection_json
from engine.whatif import project

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "whatif.py")
DISTILLED = "layer-drop:keep=3+distill:teacher=mpnet-base,epochs=2"


def open_page(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.query_params.update(query or {})
    return at.run()


def table(at: AppTest):
    return next(d.value for d in at.dataframe if COLUMN_TITLES["co2e_t_total"] in d.value)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_defaults_show_the_engines_figures(store, seeded):
    at = open_page()
    assert not at.exception and not at.error
    expected = project(store.trials(), Scenario(), task="sentiment")
    frame = table(at).set_index(COLUMN_TITLES["variant"])
    assert len(frame) == len(expected.variants) == 7  # vader from the older run, 3 models x 2
    for v in expected.variants:
        row = frame.loc[v.record.variant]
        assert row[COLUMN_TITLES["energy_kwh_year1"]] == pytest.approx(v.first_year.energy_kwh)
        assert row[COLUMN_TITLES["co2e_t_total"]] == pytest.approx(v.total.co2e_t)
        assert row[COLUMN_TITLES["cost_usd_total"]] == pytest.approx(v.total.cost_usd)
        assert row[COLUMN_TITLES["saved_co2e_t_total"]] == pytest.approx(v.savings.total.co2e_t)
    assert frame.loc["mpnet-base · fp32", "Baseline"]
    assert any("Grid: **United States (USA) · 369 g/kWh, 2023**" in c.value for c in at.caption)
    assert any("Uptime Institute" in n.help for n in at.number_input if n.key == "whatif_pue")
    assert at.get("vega_lite_chart")  # the years chart and the frontier


def test_the_page_address_sets_the_inputs_and_follows_changes(seeded):
    at = open_page({"queries_per_day": "2500000", "years": "5", "region": "FRA", "pue": "1.2", "growth_pct": "10"})
    assert not at.exception and not at.warning
    assert at.number_input(key="whatif_queries_per_day").value == 2_500_000
    assert at.number_input(key="whatif_years").value == 5
    assert at.number_input(key="whatif_pue").value == pytest.approx(1.2)
    assert at.selectbox(key="whatif_region").value == "FRA"
    assert at.subheader[0].value.startswith("2,500,000 queries a day for 5 years")
    at.number_input(key="whatif_price_kwh").set_value(0.2).run()
    assert at.query_params["price_kwh"] == "0.2"
    assert (at.query_params["region"], at.query_params["years"], at.query_params["task"]) == ("FRA", "5", "sentiment")
    assert Scenario.from_query(at.query_params) == Scenario(2_500_000, 10, 5, "FRA", 1.2, 0.2)


def test_a_region_changes_co2e_but_not_energy(seeded):
    at = open_page()
    # in focus: the variant keeping 95% of the best accuracy that saves the most CO2e
    assert at.selectbox(key="whatif_focus_sentiment").value == "minilm-l6 · int8-dynamic"
    before = metrics(at)
    at.selectbox(key="whatif_region").set_value("NOR").run()
    after = metrics(at)
    assert after["Energy over 3 years"] == before["Energy over 3 years"]
    assert after["CO2e over 3 years"] != before["CO2e over 3 years"]
    assert any("Norway (NOR)" in c.value for c in at.caption)


def test_a_bad_link_value_warns_and_keeps_the_rest(seeded):
    at = open_page({"pue": "0.5", "years": "2", "region": "ATLANTIS"})
    assert not at.exception
    text = " ".join(w.value for w in at.warning)
    assert "PUE (pue) must be between 1 and 3" in text and "Unknown region 'ATLANTIS'" in text
    assert at.number_input(key="whatif_pue").value == pytest.approx(1.58)  # the default
    assert at.number_input(key="whatif_years").value == 2  # the good value is kept
    assert at.query_params["pue"] == "1.58" and table(at) is not None


def test_an_out_of_range_input_shows_the_engines_message(seeded):
    at = open_page()
    at.number_input(key="whatif_pue").set_value(5.0).run()
    assert not at.exception
    assert "must be between 1 and 3" in at.error[0].value


def test_the_recommendation_is_named_and_ringed_on_the_frontier(seeded):
    at = open_page()
    assert at.success[0].value.startswith("**Recommended: minilm-l6 · int8-dynamic**. Keeps 95% of the best")
    charts = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    frontier = next(s for s in charts if any(layer.get("description") == "pareto-frontier"
                                             for layer in s.get("layer", [])))
    assert any(layer.get("description") == "recommendation-highlight" for layer in frontier["layer"])


def test_impossible_limits_name_the_binding_constraint_and_the_nearest_miss(store, seeded):
    at = open_page()
    at.number_input(key="whatif_max_p95_ms").set_value(1.0).run()
    assert not at.exception and not at.success
    assert "p95 latency limit binds" in at.warning[0].value
    # only vader answers within 1 ms, and it misses the accuracy floor by the least
    expected = recommend(store.trials(), Constraints(min_quality_pct=95.0, max_p95_ms=1.0), task="sentiment")
    assert expected.nearest_miss.variant == "vader · fp32"
    assert at.info[0].value == f"Nearest miss: {expected.nearest_miss_reason}"


def test_payback_of_trained_variants(store, trained):
    job = seed_run(store, ("minilm-l6", "mpnet-base"), ("fp32",))
    store.add_trial(trained("minilm-l6", DISTILLED, 3.0, job_id=job))
    store.add_trial(trained("minilm-l6", "finetune:epochs=2", 2.0, job_id=job, energy_wh_per_1k=0.9))
    at = open_page()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert f"**minilm-l6 · {DISTILLED}**: pays back on" in text
    assert "**minilm-l6 · finetune:epochs=2**: never pays back" in text
    assert any("never pays back" in c.value for c in at.caption)
    assert "Break-even" in metrics(at)


def test_an_empty_store_points_to_run(store):
    at = open_page()
    assert not at.exception
    assert any("No results yet" in i.value for i in at.info)
    assert not at.get("vega_lite_chart")


def test_a_fresh_install_projects_the_reference_results_labelled(store, reference):
    at = open_page()
    assert not at.exception
    assert any("Reference results measured on" in w.value and "not this machine" in w.value for w in at.warning)
    assert at.get("vega_lite_chart") and not any("No results yet" in i.value for i in at.info)


def test_exports_hold_the_projection(store, seeded, downloads):
    at = open_page({"region": "DEU"})
    assert not at.exception
    expected = project(store.trials(), Scenario(region="DEU"), task="sentiment")
    csv_data, csv_name = downloads["Download projection (CSV)"]
    json_data, _ = downloads["Download projection (JSON)"]
    # the start date is today on both sides, so the files are equal byte for byte
    assert csv_data.decode() == projection_csv(expected) and csv_name == "rightsize-whatif-sentiment.csv"
    assert json.loads(json_data) == json.loads(projection_json(expected))
    assert {"Download briefing (PDF)", "Download briefing (HTML)"} <= set(downloads)  # built only when clicked


def test_the_link_picks_variants_and_names_the_unknown_ones(seeded):
    at = open_page({"variants": "minilm-l6|int8-dynamic;mpnet-base|fp32;tinybert|fp32"})
    assert not at.exception
    assert any("No stored result for tinybert · fp32" in w.value for w in at.warning)
    assert at.multiselect(key="whatif_variants_sentiment").value == ["minilm-l6|int8-dynamic", "mpnet-base|fp32"]
    assert table(at)[COLUMN_TITLES["variant"]].tolist() == ["minilm-l6 · int8-dynamic", "mpnet-base · fp32"]
    assert at.query_params["variants"] == "minilm-l6|int8-dynamic;mpnet-base|fp32"
