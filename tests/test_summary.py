"""engine.summary (and engine.stored_runs): the frontier, the headline maths, runs and provenance."""

import pytest

from engine.queue import queue_position
from engine.stored_runs import latest_run_with_results, run_records, runs_with_results
from engine.summary.headline import headline
from engine.summary.labels import fmt_pct, fmt_queries, short_technique
from engine.summary.payback import break_even_queries, paybacks, teacher_of
from engine.summary.provenance import provenance
from engine.summary.search import search_rows, tried_lines
from engine.summary.variants import model_order, pareto_frontier, relative_to_fp32

PIPELINE = "layer-drop:keep=3+distill:teacher=mpnet-base,epochs=2+onnx-int8"


def point(records, name, x, y, **kw):
    return records(name, "fp32", energy_wh_per_1k=x, quality=y, **kw)


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
    fast, slow = records("a", "fp32", latency_p95_ms=5.0), records("b", "fp32", latency_p95_ms=9.0, quality=0.5)
    assert pareto_frontier([slow, fast], x="latency_p95_ms") == [fast]


def test_headline_picks_largest_fp32_and_cheapest_that_keeps_95_percent(records):
    recs = [records(m, t) for m in ("minilm-l3", "minilm-l6", "mpnet-base") for t in ("fp32", "int8-dynamic")]
    h = headline(recs)
    assert h.reference.variant == "mpnet-base · fp32"
    # 0.95 x 0.880 = 0.836: minilm-l6 int8 (0.840, 0.035 Wh) is the cheapest one above it; minilm-l3 is below
    assert h.candidate.variant == "minilm-l6 · int8-dynamic"
    assert h.quality_kept_pct == pytest.approx(100 * 0.840 / 0.880)
    assert h.energy_pct == pytest.approx(100 * 0.035 / 0.700)
    assert h.co2e_pct == pytest.approx(100 * 0.035 / 0.700)
    assert h.speedup == pytest.approx(164.0 / 4.5)
    assert h.keeps_quality
    assert h.sentence == "minilm-l6 · int8-dynamic keeps 95% of mpnet-base's accuracy at 5.0% of its energy per query."


def test_headline_falls_back_to_most_accurate_when_nothing_keeps_95_percent(records):
    ref = records("mpnet-base", "fp32", quality=0.90)
    weak = records("minilm-l3", "fp32", quality=0.60)
    better = records("minilm-l6", "fp32", quality=0.80)
    h = headline([weak, ref, better])
    assert h.candidate is better and not h.keeps_quality


def test_headline_reference_without_sizes_is_most_accurate(records):
    a = records("x", "fp32", quality=0.7, params_m=None)
    b = records("y", "fp32", quality=0.9, params_m=None)
    assert headline([a, b]).reference is b


def test_headline_needs_two_ok_records(records):
    assert headline([]) is None
    assert headline([records("minilm-l6", "fp32"), records("mpnet-base", "fp32", status="failed")]) is None


def test_headline_when_candidate_uses_more_energy(records):
    ref = records("mpnet-base", "fp32", energy_wh_per_1k=0.1)
    cand = records("minilm-l6", "fp32", quality=0.87, energy_wh_per_1k=0.2)
    assert "uses 2.0x its energy" in headline([ref, cand]).sentence


@pytest.mark.parametrize(("value", "text"), [(96.2, "96%"), (99.7, "99.7%"), (4.31, "4.3%"), (0.423, "0.42%")])
def test_fmt_pct(value, text):
    assert fmt_pct(value) == text


def test_model_order_is_the_ladder_then_others(records):
    assert model_order("sentiment") == ["vader", "minilm-l3", "minilm-l6", "mpnet-base", "smollm2-135m",
                                        "qwen-0.5b", "qwen-1.5b"]
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


def test_short_technique_drops_parameter_names_and_cuts_long_specs():
    assert short_technique("fp32") == "fp32"
    assert short_technique("prune-structured:keep=0.5+int8-dynamic") == "prune-structured(0.5)+int8-dynamic"
    assert short_technique(PIPELINE, 60) == "layer-drop(3)+distill(mpnet-base,2)+onnx-int8"
    assert short_technique(PIPELINE) == "layer-drop(3)+distill(…)+onnx-int8"  # step names matter most
    assert short_technique(PIPELINE, 30) == "layer-drop+distill+onnx-int8"
    cut = short_technique(PIPELINE, 20)
    assert len(cut) == 20 and cut.startswith("layer-dro") and "…" in cut and cut.endswith("onnx-int8")


def test_relative_to_fp32_uses_the_same_models_fp32_in_the_same_run(records):
    run1 = [records("minilm-l6", "fp32", job_id=1), records("minilm-l6", "int8-dynamic", job_id=1)]
    run2 = [records("minilm-l6", "fp32", job_id=2, quality=0.80, throughput_per_s=100.0, latency_p50_ms=10.0),
            records("minilm-l6", "bf16", job_id=2, throughput_per_s=150.0, latency_p50_ms=8.0),
            records("mpnet-base", "int8-dynamic", job_id=2)]  # no mpnet fp32 shown: left out
    rel = {r.record.technique: r for r in relative_to_fp32(run1 + run2)}
    assert set(rel) == {"int8-dynamic", "bf16"}
    assert rel["int8-dynamic"].reference is run1[0]
    assert rel["int8-dynamic"].quality_change_pts == pytest.approx(100 * (0.840 - 0.845))
    assert rel["int8-dynamic"].throughput_ratio == pytest.approx(9.6 / 4.5)  # throughput = 1250 / p50 in fixtures
    assert rel["bf16"].reference is run2[0]
    assert rel["bf16"].throughput_ratio == pytest.approx(1.5) and rel["bf16"].p50_ratio == pytest.approx(1.25)
    assert rel["bf16"].quality_change_pts == pytest.approx(100 * (0.844 - 0.80))


def test_break_even_is_upfront_over_saving_per_query():
    assert break_even_queries(3.0, 0.686) == pytest.approx(3.0 / 0.000686)
    assert break_even_queries(0.0, 0.5) == 0.0
    assert break_even_queries(3.0, 0.0) is None  # no saving: never pays back
    assert break_even_queries(3.0, -0.1) is None  # costs more per query: never
    assert break_even_queries(3.0, None) is None


@pytest.mark.parametrize(("n", "text"), [(None, "never"), (1, "1 query"), (42.4, "42 queries"),
                                         (4373.2, "4,400 queries"), (3.4e6, "3.4 million queries")])
def test_fmt_queries(n, text):
    assert fmt_queries(n) == text


def test_teacher_of_reads_steps_details_or_spec(records):
    assert teacher_of(records("minilm-l6", PIPELINE)) == "mpnet-base"  # steps filled in from the spec
    assert teacher_of(records("minilm-l6", "int8-dynamic")) is None
    assert teacher_of(records("x", "distill:teacher=minilm-l6", steps=[{"name": "other", "params": {}}])) == "minilm-l6"


def test_payback_against_the_teachers_fp32_when_shown(records, trained):
    student = trained("minilm-l6", PIPELINE, 3.0, job_id=1)
    teacher = records("mpnet-base", "fp32", job_id=1)
    own = records("minilm-l6", "fp32", job_id=1)
    (p,) = paybacks([own, teacher, student])
    assert p.reference is teacher
    assert p.saving_wh_per_1k == pytest.approx(0.700 - 0.014)
    assert p.queries == pytest.approx(3.0 / ((0.700 - 0.014) / 1000))  # 4,373 queries
    assert p.upfront_co2e_g == pytest.approx(3.0 / 1000 * 369.473)
    assert p.saving_co2e_g_per_1k == pytest.approx((0.700 - 0.014) / 1000 * 369.473)
    assert "pays back" in p.sentence and "4,400 queries" in p.sentence


def test_payback_falls_back_to_own_fp32_and_says_never_without_saving(records, trained):
    student = trained("minilm-l6", PIPELINE, 3.0)
    own = records("minilm-l6", "fp32")
    (p,) = paybacks([own, student])
    assert p.reference is own and p.queries == pytest.approx(3.0 / ((0.078 - 0.014) / 1000))
    retrained = trained("minilm-l6", "finetune:epochs=2", 2.0, energy_wh_per_1k=0.078)  # same size: no saving
    (never,) = paybacks([own, retrained])
    assert never.saving_wh_per_1k == pytest.approx(0.0) and never.queries is None
    assert "never pays back" in never.sentence
    (alone,) = paybacks([student])
    assert alone.reference is None and alone.queries is None and "no fp32" in alone.sentence
    assert paybacks([own]) == []


def test_search_rows_mark_best_floor_and_objective(store, search):
    job = search("minilm-l6", ("int8-dynamic", "prune-structured:keep=0.5+int8-dynamic"),
                      best="int8-dynamic", verdict="v")
    (result,) = [j.result for j in store.jobs() if j.id == job]
    rows = search_rows(store.trials(job_ids=[job]), result)
    assert [r["role"] for r in rows] == ["best", "baseline (fp32)", ""]
    best, base, pruned = rows
    assert best["meets_floor"] and best["change_pts"] == pytest.approx(-0.5)
    assert best["times_lower"] == pytest.approx(0.078 / 0.035)
    assert base["change_pts"] == 0 and base["times_lower"] == 1
    assert not pruned["meets_floor"] and pruned["change_pts"] == pytest.approx(-3.0)


def test_tried_lines_accept_pairs_dicts_and_strings():
    result = {"tried": [["fp32", "baseline"], {"spec": "onnx-int8", "why": "fast"}, "bf16"]}
    assert tried_lines(result) == [("fp32", "baseline"), ("onnx-int8", "fast"), ("bf16", "")]
    assert tried_lines({}) == []


def test_a_search_is_labelled_as_such(store, search):
    search("minilm-l6", ("int8-dynamic",), best="int8-dynamic")
    (run,) = runs_with_results(store)
    assert run.kind == "optimize" and run.label.startswith("Search #")


def test_latest_variants_one_per_pair_newest_ok_in_ladder_order(records):
    from engine.summary.variants import latest_variants

    old = records("minilm-l6", "fp32", started_at="2025-01-01T00:00:00+00:00")
    new = records("minilm-l6", "fp32", started_at="2025-02-01T00:00:00+00:00")
    failed = records("minilm-l6", "fp32", status="failed", error="x", started_at="2025-03-01T00:00:00+00:00")
    big, small = records("mpnet-base", "fp32"), records("minilm-l3", "int8-dynamic")
    other = records("minilm-l3", "fp32")
    other.task = "topics"
    assert latest_variants([big, new, failed, old, small, other], "sentiment") == [small, new, big]


def test_a_contended_repeat_never_replaces_a_clean_figure(records):
    """Under a workshop's load a variant measured again on a busy CPU keeps its clean figure as the current one;
    when only contended measurements exist, the newest is used (and carries its flag for the views)."""
    from engine.summary.variants import latest_variants

    clean = records("minilm-l3", "int8-dynamic", started_at="2025-01-01T00:00:00+00:00")
    busy = records("minilm-l3", "int8-dynamic", started_at="2025-02-01T00:00:00+00:00", contended=True,
                   contention=0.9, latency_p50_ms=543.0)
    only_busy_old = records("mpnet-base", "fp32", started_at="2025-01-01T00:00:00+00:00", contended=True)
    only_busy_new = records("mpnet-base", "fp32", started_at="2025-03-01T00:00:00+00:00", contended=True)
    current = latest_variants([clean, busy, only_busy_old, only_busy_new], "sentiment")
    assert current == [clean, only_busy_new]
    assert current[1].contended  # the views warn: only contended figures exist for it
