"""engine.summary: the frontier, the headline maths, runs and provenance."""

import pytest

from engine.summary import (
    fmt_pct,
    headline,
    latest_run_with_results,
    model_order,
    pareto_frontier,
    provenance,
    queue_position,
    run_records,
    runs_with_results,
)


def point(records, name, x, y, **kw):
    return records(name, "fp32", energy_wh_per_1k=x, accuracy=y, **kw)


def test_frontier_excludes_dominated_points_and_sorts_by_energy(records):
    a, b, c = point(records, "a", 1.0, 0.80), point(records, "b", 2.0, 0.90), point(records, "c", 3.0, 0.95)
    dominated = point(records, "d", 2.5, 0.85)  # costs more than b, less accurate than b
    assert pareto_frontier([c, dominated, a, b]) == [a, b, c]


def test_frontier_ties(records):
    cheap = point(records, "cheap", 1.0, 0.80)
    same_x_worse = point(records, "same-x-worse", 1.0, 0.70)  # same energy, lower accuracy: dominated
    same_y_dearer = point(records, "same-y-dearer", 2.0, 0.80)  # same accuracy, more energy: dominated
    twin = point(records, "twin", 1.0, 0.80)  # exact duplicate: neither dominates the other
    best = point(records, "best", 5.0, 0.90)
    front = pareto_frontier([best, same_y_dearer, same_x_worse, cheap, twin])
    assert [r.model for r in front] == ["cheap", "twin", "best"]


def test_frontier_ignores_failed_and_unmeasured(records):
    ok = point(records, "ok", 1.0, 0.8)
    failed = records("bad", "fp32", status="failed", error="boom")
    no_energy = point(records, "noe", None, 0.99)
    assert pareto_frontier([ok, failed, no_energy]) == [ok]


def test_frontier_other_axes(records):
    fast, slow = records("a", "fp32", latency_p95_ms=5.0), records("b", "fp32", latency_p95_ms=9.0, accuracy=0.5)
    assert pareto_frontier([slow, fast], x="latency_p95_ms") == [fast]


def test_headline_picks_largest_fp32_and_cheapest_that_keeps_95_percent(records):
    recs = [records(m, t) for m in ("minilm-l3", "minilm-l6", "mpnet-base") for t in ("fp32", "int8-dynamic")]
    h = headline(recs)
    assert h.reference.variant == "mpnet-base · fp32"
    # 0.95 x 0.880 = 0.836: minilm-l6 int8 (0.840, 0.035 Wh) is the cheapest one above it; minilm-l3 is below
    assert h.candidate.variant == "minilm-l6 · int8-dynamic"
    assert h.accuracy_kept_pct == pytest.approx(100 * 0.840 / 0.880)
    assert h.energy_pct == pytest.approx(100 * 0.035 / 0.700)
    assert h.co2e_pct == pytest.approx(100 * 0.035 / 0.700)
    assert h.speedup == pytest.approx(164.0 / 4.5)
    assert h.keeps_accuracy
    assert h.sentence == "minilm-l6 · int8-dynamic keeps 95% of mpnet-base's accuracy at 5.0% of its energy per query."


def test_headline_falls_back_to_most_accurate_when_nothing_keeps_95_percent(records):
    ref = records("mpnet-base", "fp32", accuracy=0.90)
    weak = records("minilm-l3", "fp32", accuracy=0.60)
    better = records("minilm-l6", "fp32", accuracy=0.80)
    h = headline([weak, ref, better])
    assert h.candidate is better and not h.keeps_accuracy


def test_headline_reference_without_sizes_is_most_accurate(records):
    a = records("x", "fp32", accuracy=0.7, params_m=None)
    b = records("y", "fp32", accuracy=0.9, params_m=None)
    assert headline([a, b]).reference is b


def test_headline_needs_two_ok_records(records):
    assert headline([]) is None
    assert headline([records("minilm-l6", "fp32"), records("mpnet-base", "fp32", status="failed")]) is None


def test_headline_when_candidate_uses_more_energy(records):
    ref = records("mpnet-base", "fp32", energy_wh_per_1k=0.1)
    cand = records("minilm-l6", "fp32", accuracy=0.87, energy_wh_per_1k=0.2)
    assert "uses 2.0x its energy" in headline([ref, cand]).sentence


@pytest.mark.parametrize(("value", "text"), [(96.2, "96%"), (99.7, "99.7%"), (4.31, "4.3%"), (0.423, "0.42%")])
def test_fmt_pct(value, text):
    assert fmt_pct(value) == text


def test_model_order_is_the_ladder_then_others(records):
    assert model_order("sentiment") == ["vader", "minilm-l3", "minilm-l6", "mpnet-base"]
    assert model_order("sentiment", [records("org/other", "fp32")])[-1] == "org/other"


def test_runs_latest_and_records(store, seeded):
    runs = runs_with_results(store, "sentiment")
    assert [r.key for r in runs] == [seeded["latest"], seeded["older"]]
    assert runs[0].n_ok == 6 and runs[0].n_not_ok == 1 and "Run #" in runs[0].label
    assert latest_run_with_results(store).key == seeded["latest"]
    recs = run_records(store, "sentiment", [seeded["older"]])
    assert {r.model for r in recs} == {"vader", "minilm-l3"}


def test_trials_without_a_job_form_their_own_run(store, records):
    store.add_trial(records("minilm-l6", "fp32"))
    (run,) = runs_with_results(store)
    assert run.key == 0 and run.job_id is None
    assert len(run_records(store, "sentiment", [0])) == 1


def test_queue_position(store):
    first, second, third = (store.submit("sentiment", {}) for _ in range(3))
    store.claim_next(worker_pid=1)  # the first one is now running
    assert queue_position(store, first) == 0
    assert queue_position(store, second) == 1
    assert queue_position(store, third) == 2


def test_provenance_caption(records):
    recs = [records("minilm-l6", "fp32"), records("mpnet-base", "fp32", contended=True, contention=0.4)]
    text = provenance(recs).caption
    assert "AMD EPYC 9R14" in text and "2025-06-02" in text and "estimated: codecarbon" in text
    assert "USA 369 g/kWh" in text and "1 of 2 measurements" in text
    assert "no CPU contention" in provenance(recs[:1]).caption
