"""engine.whatif: scenarios (validation, URL round trip) and projections, checked against hand arithmetic."""

from datetime import date, timedelta

import pytest

from engine.carbon import grid_intensity
from engine.equivalents import EQUIVALENTS, equivalents
from engine.scenario import DEFAULTS, Scenario, ScenarioError
from engine.whatif import NoResultsError, break_even_date, project, serving_figures

L6_INT8 = ("minilm-l6", "int8-dynamic")  # 0.035 Wh/1k, 1000 / (4.5 ms x 0.8) = 277.78 queries/s
MPNET = ("mpnet-base", "fp32")  # 0.700 Wh/1k, the baseline
DISTILLED = "layer-drop:keep=3+distill:teacher=mpnet-base,epochs=2"  # 0.040 Wh/1k
DEU_G_PER_KWH = 380.95  # codecarbon 3.3.2, Germany 2023
START = date(2025, 1, 1)


def scenario(**overrides) -> Scenario:
    values = dict(queries_per_day=1_000_000, growth_pct=10, years=2, region="DEU", pue=1.2, price_kwh=0.2,
                  compute_usd_per_hour=0.5)
    values.update(overrides)
    return Scenario(**values)


def by_variant(result, model, technique):
    return next(v for v in result.variants if (v.record.model, v.record.technique) == (model, technique))


# --------------------------------------------------------------------------------------------- scenario


def test_every_default_has_a_value_unit_label_and_source():
    numeric = {"queries_per_day", "growth_pct", "years", "pue", "price_kwh", "compute_usd_per_hour"}
    assert numeric | {"region"} == set(DEFAULTS)
    assert all(d.source and d.label for d in DEFAULTS.values())
    assert "Uptime Institute" in DEFAULTS["pue"].source
    assert "EIA" in DEFAULTS["price_kwh"].source
    assert "assumption" in DEFAULTS["compute_usd_per_hour"].source and "c7a.large" in DEFAULTS[
        "compute_usd_per_hour"].source
    s = Scenario()
    assert (s.queries_per_day, s.years, s.pue, s.price_kwh, s.region) == (100_000, 3, 1.58, 0.127, "USA")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"queries_per_day": 0}, "above 0"),
        ({"queries_per_day": -5}, "above 0"),
        ({"years": 0}, "between 1 and 20"),
        ({"years": 21}, "between 1 and 20"),
        ({"years": 2.5}, "whole number"),
        ({"pue": 0.9}, "between 1 and 3"),
        ({"pue": 3.5}, "between 1 and 3"),
        ({"price_kwh": -0.1}, "between 0 and 10 USD/kWh"),
        ({"compute_usd_per_hour": -1}, "between 0 and 1000 USD/hour"),
        ({"growth_pct": -100}, "between -99 and 1000"),
        ({"queries_per_day": float("nan")}, "must be a number"),
        ({"region": "Atlantis"}, "Unknown region 'Atlantis'"),
        ({"variants": (("minilm-l6",),)}, r"\(model, technique\) pair"),
    ],
)
def test_validation_names_the_field_and_its_range(overrides, message):
    with pytest.raises(ScenarioError if "region" not in overrides else ValueError, match=message):
        scenario(**overrides).validated()


def test_validated_normalizes():
    s = scenario(region="germany", years=3.0, variants=[["a", "b"], ["a", "b"]]).validated()
    assert (s.region, s.years, s.variants) == ("DEU", 3, (("a", "b"),))
    assert isinstance(s.years, int)


def test_query_round_trip_including_variants_with_commas_and_colons():
    s = scenario(queries_per_day=1234.5, growth_pct=-3, region="USA-CA",
                 variants=(L6_INT8, ("minilm-l6", DISTILLED + "+onnx-int8"))).validated()
    query = s.to_query()
    assert all(isinstance(v, str) for v in query.values())
    assert query["queries_per_day"] == "1234.5" and query["years"] == "2"
    assert Scenario.from_query(query) == s


def test_from_query_takes_defaults_for_missing_or_empty_keys_and_ignores_others():
    s = Scenario.from_query({"pue": "1.1", "years": "", "page": "whatif"})
    assert s == Scenario(pue=1.1).validated()
    assert Scenario.from_query({}) == Scenario().validated()
    assert Scenario.from_query({"years": ["2", "5"]}).years == 5  # a repeated parameter: the last one


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"queries_per_day": "lots"}, r"Queries per day \(queries_per_day\) must be a number \(got 'lots'\)"),
        ({"pue": "0.5"}, "between 1 and 3"),
        ({"variants": "minilm-l6"}, "'model|technique'"),
        ({"region": "Narnia"}, "Unknown region"),
    ],
)
def test_from_query_refuses_garbage_with_a_message(query, message):
    with pytest.raises(ValueError, match=message):
        Scenario.from_query(query)


def test_assumptions_list_every_input_with_its_source_and_the_grid_year():
    items = {a.name: a for a in scenario(pue=1.58).validated().assumptions()}
    assert set(items) == set(DEFAULTS) | {"grid_g_per_kwh"}
    assert items["pue"].is_default and "Uptime Institute" in items["pue"].source
    assert not items["price_kwh"].is_default and items["price_kwh"].source == "your input"
    assert items["price_kwh"].default == 0.127 and "EIA" in items["price_kwh"].default_source
    grid = items["grid_g_per_kwh"]
    assert grid.value == pytest.approx(DEU_G_PER_KWH) and grid.year == 2023 and "codecarbon" in grid.source


# --------------------------------------------------------------------------------------------- projection


def test_one_kwh_in_france_is_56_grams_of_co2e(records):
    record = records("minilm-l6", "fp32", energy_wh_per_1k=1000.0)  # 1 Wh per query
    fig = serving_figures(record, 1000, Scenario(region="FRA", pue=1.0).validated(), grid_intensity("FRA"))
    assert fig.energy_kwh == pytest.approx(1.0)
    assert fig.co2e_t * 1e6 == pytest.approx(56.04, abs=0.01)


def test_projection_matches_hand_arithmetic(records):
    recs = [records(*L6_INT8, co2e_g_per_1k=999.0), records(*MPNET)]  # the record's own co2e is ignored
    result = project(recs, scenario(), start=START)
    v = by_variant(result, *L6_INT8)
    y1, y2 = v.years
    # year 1: 1e6 x 365 = 365e6 queries; 0.035 Wh/1k -> 0.035/1000 x 365e6/1000 = 12.775 kWh x PUE 1.2 = 15.33
    assert y1.queries == pytest.approx(365e6)
    assert y1.energy_kwh == pytest.approx(15.33)
    assert y1.co2e_t == pytest.approx(15.33 * DEU_G_PER_KWH / 1e6)
    assert y1.energy_cost_usd == pytest.approx(15.33 * 0.2)
    assert y1.compute_hours == pytest.approx(365.0)  # 365e6 / 277.78 per s / 3600
    assert y1.compute_cost_usd == pytest.approx(182.5)
    assert y1.cost_usd == pytest.approx(3.066 + 182.5)
    # year 2: 10% more
    assert y2.queries == pytest.approx(401.5e6)
    assert y2.energy_kwh == pytest.approx(16.863)
    assert v.total.energy_kwh == pytest.approx(15.33 + 16.863)
    assert v.total.cost_usd == pytest.approx(0.2 * 32.193 + 0.5 * (365 + 401.5))
    # against mpnet-base fp32: 0.700 Wh/1k -> 306.6 kWh in year 1
    assert result.baseline.record.model == "mpnet-base"
    assert v.savings.vs == "mpnet-base · fp32"
    assert v.savings.first_year.energy_kwh == pytest.approx(306.6 - 15.33)
    assert v.savings.energy_pct_first_year == pytest.approx(95.0)
    assert v.savings.total.co2e_t == pytest.approx((306.6 + 337.26 - 32.193) * DEU_G_PER_KWH / 1e6)
    assert v.payback is None  # nothing was trained
    base = by_variant(result, *MPNET)
    assert base.savings.total.energy_kwh == 0


def test_to_dict_has_first_year_and_total_figures(records):
    data = project([records(*L6_INT8), records(*MPNET)], scenario(), start=START).to_dict()
    assert {"assumptions", "variants", "baseline", "notes"} <= set(data)
    v = next(x for x in data["variants"] if x["technique"] == "int8-dynamic")
    for key in ("model", "technique", "energy_kwh_per_year", "co2e_t_per_year", "cost_usd_per_year",
                "energy_kwh_total", "co2e_t_total", "cost_usd_total", "savings", "payback", "years"):
        assert key in v
    assert v["energy_kwh_per_year"] == pytest.approx(15.33)
    assert v["savings"]["energy_kwh_per_year"] == pytest.approx(306.6 - 15.33)


def test_payback_date_and_totals_include_the_creation_cost(records, trained):
    recs = [trained("minilm-l6", DISTILLED, 1000.0), records(*MPNET)]  # upfront 1000 Wh, 250 h of training
    s = scenario(queries_per_day=100_000, growth_pct=0, pue=1.0)
    v = by_variant(project(recs, s, start=START), "minilm-l6", DISTILLED)
    # saving 0.700 - 0.040 = 0.66 Wh/1k -> 1000 / 0.00066 = 1,515,151.5 queries = 15.15 days -> day 16
    assert v.payback.break_even_queries == pytest.approx(1000 / 0.00066)
    assert v.payback.break_even_date == date(2025, 1, 17)
    assert v.payback.within_horizon
    assert "2025-01-17" in v.payback.sentence
    assert v.upfront.energy_kwh == pytest.approx(1.0) and v.upfront.compute_hours == pytest.approx(250.0)
    serving = sum(y.energy_kwh for y in v.years)
    assert v.total.energy_kwh == pytest.approx(serving + 1.0)
    assert v.total.compute_cost_usd == pytest.approx(0.5 * (sum(y.compute_hours for y in v.years) + 250.0))


def test_payback_never_when_the_variant_saves_nothing(records, trained):
    costly = trained("minilm-l6", DISTILLED, 50.0, energy_wh_per_1k=0.9)  # more than the baseline's 0.700
    v = project([costly, records(*MPNET)], scenario(), start=START).variants[0]
    assert v.payback.break_even_queries is None and v.payback.break_even_date is None
    assert v.payback.sentence.startswith("Never:")
    assert not v.payback.within_horizon
    assert v.savings.total.co2e_t < 0
    assert all(e.amount < 0 for e in v.savings.equivalents)


def test_break_even_date_follows_the_growing_volume():
    s = scenario(queries_per_day=1000, growth_pct=100).validated()
    # year 1 serves 365,000 at 1,000/day; the next 1,000 take half a day at 2,000/day -> day 366
    assert break_even_date(366_000, s, START) == START + timedelta(days=366)
    assert break_even_date(0, s, START) == START
    tiny = scenario(queries_per_day=1, growth_pct=0).validated()
    assert break_even_date(1e9, tiny, START) is None  # more than 100 years


def test_equivalents_use_the_epa_constants():
    car, tree = equivalents(1.0)
    assert car.id == "car_km" and car.amount == pytest.approx(1.609344 / 3.93e-4)  # 4,095 km per tonne
    assert tree.id == "tree_months" and tree.amount == pytest.approx(2000.0)  # 0.060 t over 120 months
    assert all("EPA" in f.source for f in EQUIVALENTS)


def test_only_the_latest_ok_record_of_a_variant_counts(records):
    old = records(*L6_INT8, energy_wh_per_1k=0.5, started_at="2025-05-01T00:00:00+00:00")
    new = records(*L6_INT8, energy_wh_per_1k=0.035, started_at="2025-06-01T00:00:00+00:00")
    failed = records(*L6_INT8, status="failed", error="boom", started_at="2025-07-01T00:00:00+00:00")
    result = project([old, new, failed, records(*MPNET)], scenario(), start=START)
    assert by_variant(result, *L6_INT8).record is new


def test_selected_variants_and_a_missing_one(records):
    recs = [records(*L6_INT8), records("minilm-l6", "fp32"), records(*MPNET)]
    result = project(recs, scenario(variants=(L6_INT8,)), start=START)
    assert [(v.record.model, v.record.technique) for v in result.variants] == [L6_INT8]
    assert result.baseline.record.model == "mpnet-base"  # the baseline is still the largest fp32
    with pytest.raises(ScenarioError, match="No stored result for minilm-l3 · fp32"):
        project(recs, scenario(variants=(("minilm-l3", "fp32"),)), start=START)


def test_missing_figures(records):
    no_throughput = records(*L6_INT8, throughput_per_s=None)
    no_energy = records("minilm-l6", "fp32", energy_wh_per_1k=None)
    result = project([no_throughput, no_energy, records(*MPNET)], scenario(), start=START)
    v = by_variant(result, *L6_INT8)
    assert v.first_year.energy_kwh == pytest.approx(15.33)
    assert v.first_year.compute_hours is None and v.first_year.cost_usd is None  # never a partial sum
    assert v.savings.first_year.cost_usd is None
    assert result.skipped == [("minilm-l6 · fp32", "no energy per query measured")]


def test_no_results_and_mixed_tasks(records):
    with pytest.raises(NoResultsError):
        project([], scenario())
    with pytest.raises(NoResultsError):
        project([records(*MPNET, status="failed", error="x")], scenario())
    with pytest.raises(NoResultsError, match=r"energy per query to project \(mpnet-base · fp32\)"):
        project([records(*MPNET, energy_wh_per_1k=None)], scenario())
    other = records(*MPNET)
    other.task = "topics"
    with pytest.raises(ScenarioError, match="several tasks"):
        project([records(*MPNET), other], scenario())
    topics = project([records(*MPNET), other], scenario(), task="topics")
    assert topics.task == "topics" and [v.record for v in topics.variants] == [other]


def test_an_implausible_projection_carries_a_caution(records):
    from engine.scenario import Scenario
    from engine.whatif import project

    recs = [records("minilm-l6", "fp32"), records("mpnet-base", "fp32")]
    plain = project(recs, Scenario(), task="sentiment")
    assert plain.cautions == () and plain.to_dict()["cautions"] == []
    wild = project(recs, Scenario(queries_per_day=1e9, growth_pct=1000, years=20), task="sentiment")
    assert wild.cautions and "more than every data centre in the world" in wild.cautions[0]
    assert wild.to_dict()["cautions"] == list(wild.cautions)
