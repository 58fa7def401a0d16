"""engine.recommend: the leanest variant within limits, ties, the binding constraint and the nearest miss."""

import pytest

from engine.recommend import ConstraintError, Constraints, annual_cost_usd, recommend
from engine.scenario import Scenario, ScenarioError

LADDER = [(m, t) for m in ("minilm-l3", "minilm-l6", "mpnet-base") for t in ("fp32", "int8-dynamic")]


def variants(records):
    return [records(m, t) for m, t in LADDER]


def test_the_leanest_variant_within_the_limits_with_a_plain_reason(records):
    result = recommend(variants(records), Constraints(min_quality_pct=95, max_p95_ms=50))
    # floor 95% of mpnet-base fp32's 0.880 = 0.836: minilm-l6 fp32 (0.845) and int8 (0.840) pass, the minilm-l3
    # variants are below it, both mpnet-base variants are over 50 ms at p95 (190 and 80 ms)
    assert result.quality_floor == pytest.approx(0.836)
    assert (result.recommended.model, result.recommended.technique) == ("minilm-l6", "int8-dynamic")
    assert (result.runner_up.model, result.runner_up.technique) == ("minilm-l6", "fp32")
    # 0.840 / 0.880 = 95.5% kept; 0.700 / 0.035 Wh = 20x less energy
    assert result.reason == ("minilm-l6 int8-dynamic: keeps 95% of the best accuracy, 20x less energy than "
                             "mpnet-base fp32, p95 6.0 ms meets the 50 ms target.")
    assert result.runner_up_reason.startswith("minilm-l6 fp32: keeps 96% of the best accuracy, 9.0x less energy")
    assert result.binding_constraint is None and result.nearest_miss is None


def test_absolute_and_relative_floors_both_apply(records):
    result = recommend(variants(records), Constraints(min_quality=0.842, min_quality_pct=50))
    assert result.quality_floor == pytest.approx(0.842)  # the stricter of 0.842 and 0.44
    assert (result.recommended.model, result.recommended.technique) == ("minilm-l6", "fp32")


def test_ties_break_on_accuracy_then_p95(records):
    low = records("a", "fp32", energy_wh_per_1k=0.1, quality=0.80, latency_p95_ms=5.0)
    high = records("b", "fp32", energy_wh_per_1k=0.1, quality=0.85, latency_p95_ms=9.0)
    high_fast = records("c", "fp32", energy_wh_per_1k=0.1, quality=0.85, latency_p95_ms=7.0)
    result = recommend([low, high, high_fast], Constraints())
    assert [result.recommended.model, result.runner_up.model] == ["c", "b"]
    assert [c.record.model for c in result.checks] == ["c", "b", "a"]


def test_nothing_qualifies_removing_one_limit_would_let_most_through(records):
    x = records("x", "fp32", quality=0.90, latency_p95_ms=100.0)  # fails the latency limit only
    y = records("y", "fp32", quality=0.88, latency_p95_ms=80.0)  # fails the latency limit only
    z = records("z", "fp32", quality=0.70, latency_p95_ms=5.0)  # fails the accuracy floor only
    result = recommend([x, y, z], Constraints(min_quality=0.85, max_p95_ms=50))
    assert result.recommended is None and result.runner_up is None
    assert result.binding_constraint == "max_p95_ms"  # dropping it lets 2 through; dropping accuracy lets 1
    assert "without it 2 of 3 variants would qualify" in result.binding_detail
    # shortfalls: x (100-50)/50 = 1.0, y 0.6, z (0.85-0.70)/0.85 = 0.18
    assert result.nearest_miss is z
    assert result.nearest_miss_reason == "z · fp32 comes closest: accuracy 0.700 is below the 0.850 minimum."
    assert result.reason.startswith("No variant meets every constraint.")


def test_nothing_qualifies_and_no_single_removal_helps(records):
    x = records("x", "fp32", quality=0.70, latency_p95_ms=100.0)  # fails accuracy and latency
    y = records("y", "fp32", quality=0.90, latency_p95_ms=100.0, throughput_per_s=None)  # latency and cost
    result = recommend([x, y], Constraints(min_quality=0.8, max_p95_ms=50, max_annual_usd=1e9))
    assert result.binding_constraint == "max_p95_ms"  # eliminates 2; accuracy and cost 1 each
    assert "eliminates the most (2 of 2)" in result.binding_detail
    assert result.nearest_miss is x  # y's unknown cost is an infinite shortfall
    failed = {c.record.model: c.failed for c in result.checks}
    assert failed["y"]["max_annual_usd"] == "annual cost unknown (throughput not measured)"


def test_a_single_variant(records):
    only = records("mpnet-base", "fp32")
    result = recommend([only], Constraints())
    assert result.recommended is only and result.runner_up is None
    assert result.reason == ("mpnet-base fp32: is the most accurate, is the baseline itself (the largest model at "
                             "fp32), p95 190 ms (the only variant measured).")


def test_missing_figures_never_satisfy_a_limit(records):
    no_accuracy = records("minilm-l3", "fp32", quality=None)
    no_p95 = records("minilm-l6", "int8-dynamic", latency_p95_ms=None)
    fine = records("minilm-l6", "fp32")
    result = recommend([no_accuracy, no_p95, fine], Constraints(max_p95_ms=50))
    assert result.recommended is fine and result.runner_up is None
    assert result.unranked == [("minilm-l3 · fp32", "accuracy not measured")]
    check = next(c for c in result.checks if c.record is no_p95)
    assert check.failed == {"max_p95_ms": "p95 latency not measured"}
    assert recommend([no_accuracy], Constraints()).recommended is None


def test_annual_cost_limit_uses_the_scenario(records):
    l6 = records("minilm-l6", "int8-dynamic")
    s = Scenario(queries_per_day=1_000_000, region="FRA", pue=1.0, price_kwh=0.1, compute_usd_per_hour=0.5)
    # 12.775 kWh x $0.1 + 365 busy hours x $0.5 = $183.78
    assert annual_cost_usd(l6, s) == pytest.approx(1.2775 + 182.5)
    ok = recommend([l6], Constraints(max_annual_usd=200, scenario=s))
    assert ok.recommended is l6 and "$184 a year is within the $200 limit" in ok.reason
    over = recommend([l6], Constraints(max_annual_usd=183, scenario=s))
    assert over.recommended is None and over.binding_constraint == "max_annual_usd"
    assert "costs $184 a year, over the $183 limit" in over.nearest_miss_reason


def test_only_the_latest_ok_record_of_each_variant_competes(records):
    old = records("minilm-l6", "int8-dynamic", energy_wh_per_1k=0.001, started_at="2025-01-01T00:00:00+00:00")
    new = records("minilm-l6", "int8-dynamic", started_at="2025-06-01T00:00:00+00:00")
    failed = records("minilm-l3", "fp32", status="failed", error="boom")
    result = recommend([old, new, failed, records("mpnet-base", "fp32")], Constraints())
    assert result.recommended is new
    assert len(result.checks) == 2


@pytest.mark.parametrize(
    ("constraints", "message"),
    [
        (Constraints(min_quality=1.5), "between 0 and 1"),
        (Constraints(min_quality=-0.1), "between 0 and 1"),
        (Constraints(min_quality_pct=120), "between 0 and 100"),
        (Constraints(max_p95_ms=0), "above 0"),
        (Constraints(max_annual_usd=-5), "0 or more"),
        (Constraints(max_annual_usd=10, scenario=Scenario(pue=9)), "PUE.*between 1 and 3"),
    ],
)
def test_bad_constraints_name_the_range(records, constraints, message):
    with pytest.raises(ValueError, match=message) as error:  # ConstraintError, or ScenarioError for the scenario
        recommend([records("minilm-l6", "fp32")], constraints)
    assert isinstance(error.value, ConstraintError if constraints.scenario is None else ScenarioError)


def test_to_dict_is_json_ready(records):
    import json

    data = json.loads(json.dumps(recommend(variants(records), Constraints(min_quality=0.99)).to_dict()))
    assert data["recommended"] is None and data["binding_constraint"] == "min_quality"
    assert data["nearest_miss"]["model"] == "mpnet-base" and data["nearest_miss"]["technique"] == "fp32"


def test_records_of_several_tasks_need_a_task(records):
    other = records("minilm-l3", "fp32")
    other.task = "topics"
    with pytest.raises(ConstraintError, match="several tasks"):
        recommend([records("minilm-l6", "fp32"), other], Constraints())
    assert recommend([records("minilm-l6", "fp32"), other], Constraints(), task="topics").recommended is other
