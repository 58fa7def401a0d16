"""The accuracy-floor search: the choice (pure), the plan, and the search/worker/CLI on a fake trial runner.

No model is loaded except in the one slow test: trials are TrialRecords built here (conftest's make_record)."""

import json
import time

import pytest
from conftest import make_record

from engine import cli, optimize, optimize_choice, registry
from engine.optimize import job_summary, run_optimize
from engine.optimize_choice import BaselineFailed, choose
from engine.optimize_plan import candidate_specs, model_layers
from engine.queue import submit_optimize
from engine.registry import ChoiceError
from engine.requests import OptimizeRequest
from engine.store import Store
from engine.techniques.spec import canonical

L6_DISTILL = "layer-drop:keep=3+distill:teacher=mpnet-base,epochs=2+onnx-int8"
L6_DISTILL_DEEPER = "layer-drop:keep=2+distill:teacher=mpnet-base,epochs=2+onnx-int8"
L6_DISTILL_MILDER = "layer-drop:keep=4+distill:teacher=mpnet-base,epochs=2+onnx-int8"
RESULT_KEYS = {"baseline", "best", "nearest_miss", "candidates", "objective", "max_drop_pts", "floor_quality",
               "tried", "verdict", "search_s"}


@pytest.fixture(autouse=True)
def pack_installed(monkeypatch):
    """Validation sees every pack model as installed, so these tests run without the pack."""
    monkeypatch.setattr(registry, "is_installed", lambda model: True)


def rec(technique, accuracy, wh, *, model="minilm-l6", status="ok", **overrides):
    record = make_record(model, technique, status=status, error="RuntimeError: boom" if status == "failed" else "")
    record.quality, record.energy_wh_per_1k = accuracy, wh  # a failed record may carry figures: ignore them
    for key, value in overrides.items():
        setattr(record, key, value)
    return record


# --------------------------------------------------------------------------------------------- choose


def test_best_is_the_leanest_within_the_floor_not_the_first_that_passes():
    base = rec("fp32", 0.800, 0.080)
    candidates = [rec("int8-dynamic", 0.799, 0.035), rec("layer-drop:keep=3", 0.700, 0.010),
                  rec("onnx-int8", 0.791, 0.030), rec("prune-structured:keep=0.5", 0.789, 0.020)]
    best, nearest = choose(base, candidates, "energy", 1.0)
    assert best.technique == "onnx-int8"  # 0.791 >= floor 0.790; keep=0.5 is leaner but 0.1 point below it
    assert nearest.technique == "prune-structured:keep=0.5"  # the most accurate of the leaner misses


def test_floor_is_inclusive_and_measured_in_points():
    base = rec("fp32", 0.800, 0.080)
    best, _ = choose(base, [rec("onnx-int8", 0.780, 0.030)], "energy", 2.0)
    assert best is not None  # exactly 2 points lower, float rounding aside
    assert choose(base, [rec("onnx-int8", 0.780, 0.030)], "energy", 1.9)[0] is None


def test_ties_on_the_objective_go_to_higher_accuracy_then_fewer_steps():
    base = rec("fp32", 0.800, 0.080)
    lower, higher = rec("int8-dynamic", 0.795, 0.030), rec("onnx-int8", 0.799, 0.030)
    assert choose(base, [lower, higher], "energy", 1.0)[0] is higher
    one = rec("onnx-int8", 0.799, 0.030, steps=[{"name": "onnx-int8", "params": {}}])
    two = rec("prune-structured:keep=0.75+onnx-int8", 0.799, 0.030)
    assert choose(base, [two, one], "energy", 1.0)[0] is one


def test_nothing_meets_the_floor_gives_the_nearest_miss_and_says_so():
    base = rec("fp32", 0.800, 0.080)
    candidates = [rec("onnx-int8", 0.770, 0.030), rec("layer-drop:keep=3", 0.750, 0.020),
                  rec("onnx-fp32", 0.800, 0.090)]  # within the floor but not leaner: no answer
    best, nearest = choose(base, candidates, "energy", 1.0)
    assert best is None and nearest.technique == "onnx-int8"
    text = optimize_choice.verdict(base, best, nearest, "energy", 1.0, measured=3)
    assert text.startswith("No variant tried stays within 1.0 point")
    assert "nearest miss, minilm-l6 · onnx-int8, uses 2.7x less energy" in text and "3.0 points worse" in text


def test_failed_candidates_are_ignored():
    base = rec("fp32", 0.800, 0.080)
    broken = rec("onnx-int8", 0.800, 0.001, status="failed")
    best, nearest = choose(base, [broken, rec("int8-dynamic", 0.798, 0.035)], "energy", 1.0)
    assert best.technique == "int8-dynamic" and nearest is None
    assert choose(base, [broken], "energy", 1.0) == (None, None)


@pytest.mark.parametrize(("objective", "field", "phrase"), [
    ("latency", "latency_p50_ms", "answers 2.0x faster than minilm-l6 · fp32 (5.0 ms vs 10.0 ms median)"),
    ("size", "model_size_mb", "is 2.0x smaller than minilm-l6 · fp32 (5.0 MB vs 10.0 MB)"),
])
def test_other_objectives_use_their_field(objective, field, phrase):
    base = rec("fp32", 0.800, 0.080, **{field: 10.0})
    slow_but_frugal = rec("int8-dynamic", 0.800, 0.010, **{field: 12.0})
    lean = rec("onnx-int8", 0.800, 0.050, **{field: 5.0})
    best, _ = choose(base, [slow_but_frugal, lean], objective, 1.0)
    assert best is lean
    assert phrase in optimize_choice.verdict(base, best, None, objective, 1.0, measured=2)


def test_unknown_objective_is_a_choice_error():
    with pytest.raises(ChoiceError, match="Did you mean 'energy'"):
        choose(rec("fp32", 0.8, 0.08), [], "enrgy", 1.0)


def test_verdict_names_the_saving_the_accuracies_and_the_sample_caveat():
    base = rec("fp32", 0.776, 0.082, quality_ci_low=0.729, quality_ci_high=0.823)  # 300 items: ±4.7 points
    best = rec("prune-structured:keep=0.75+onnx-int8", 0.771, 0.020)
    text = optimize_choice.verdict(base, best, None, "energy", 1.0, measured=5)
    assert text.startswith("minilm-l6 · prune-structured:keep=0.75+onnx-int8 uses 4.1x less energy per query "
                           "than minilm-l6 · fp32 and stays within 1.0 point of its accuracy (0.771 vs 0.776).")
    assert "same 300 test items" in text and "±5 points" in text


def test_verdict_counts_a_distillations_upfront_energy_and_flags_contention():
    base = rec("fp32", 0.730, 0.229, contended=True)
    best = rec(L6_DISTILL, 0.750, 0.0175, upfront_energy_wh=2.69)
    text = optimize_choice.verdict(base, best, None, "energy", 1.0, measured=1)
    assert "is at least as accurate (0.750 vs 0.730)" in text
    assert "Creating it took 2.7 Wh once (training), repaid after about 13,000 queries." in text
    assert "flagged contended" in text


# --------------------------------------------------------------------------------------------- the plan


def test_plan_is_bounded_in_stage_order_and_every_spec_parses():
    plan = candidate_specs("minilm-l6", "mpnet-base", 6, cpu_features=["avx2"])
    specs = [spec for spec, _ in plan]
    assert specs[:9] == ["fp32", "int8-dynamic", "onnx-fp32", "onnx-int8", "onnx-int8-static", "ov-int8",
                         "prune-structured:keep=0.75", "prune-structured:keep=0.5", "layer-drop:keep=3"]
    assert 12 <= len(plan) <= 16 and len(set(specs)) == len(specs)
    assert all(canonical(spec) == spec and why for spec, why in plan)
    assert sum("distill:" in spec for spec in specs) <= 2 and L6_DISTILL in specs
    assert "bf16" not in specs and "ov-bf16" not in specs  # emulated on AVX2: slower, not leaner


def test_plan_adapts_to_the_cpu_the_teacher_and_the_depth():
    assert {"bf16", "ov-bf16"} <= {s for s, _ in candidate_specs("minilm-l6", None, 6, cpu_features=["avx512_bf16"])}
    no_teacher = [s for s, _ in candidate_specs("minilm-l6", None, 6, cpu_features=[])]
    assert not any("distill" in s for s in no_teacher)
    assert "layer-drop:keep=2" in [s for s, _ in candidate_specs("minilm-l3", "mpnet-base", 3, cpu_features=[])]
    unknown_depth = [s for s, _ in candidate_specs("org/encoder", "none", 0, cpu_features=[])]
    assert not any(s.startswith("layer-drop") for s in unknown_depth)


def test_layer_count_comes_from_config_json_else_a_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("RIGHTSIZE_CACHE", str(tmp_path / "cache"))
    assert model_layers("mpnet-base") == 12  # no converted copy in this cache: the hint
    folder = tmp_path / "cache" / "models" / "mpnet-base"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"num_hidden_layers": 5}))
    assert model_layers("mpnet-base") == 5
    local = tmp_path / "my-encoder"
    local.mkdir()
    (local / "config.json").write_text(json.dumps({"num_hidden_layers": 4}))
    assert model_layers(str(local)) == 4
    assert model_layers(str(tmp_path / "absent")) == 0


# --------------------------------------------------------------------------------------------- the search

# technique -> (accuracy, Wh per 1k queries); anything else gets FALLBACK; None accuracy = the trial fails
L6_FIGURES = {
    "fp32": (0.800, 0.080), "int8-dynamic": (0.797, 0.035), "onnx-fp32": (0.800, 0.060),
    "onnx-int8": (0.796, 0.030), "ov-int8": (0.795, 0.036), "prune-structured:keep=0.75": (0.795, 0.060),
    "prune-structured:keep=0.5": (0.770, 0.045), "layer-drop:keep=3": (0.760, 0.040),
    "prune-structured:keep=0.75+onnx-int8": (0.791, 0.022), L6_DISTILL: (0.793, 0.015),
    L6_DISTILL_DEEPER: (0.760, 0.010),
}
FALLBACK = (0.700, 0.050)


class FakeTrials:
    """Stands in for engine.runner.run_trial_process: returns records from a table, remembers each spec."""

    def __init__(self, figures=None):
        self.figures, self.specs = figures or L6_FIGURES, []

    def __call__(self, spec, progress, curve):
        self.specs.append(spec)
        progress(0.5, "measuring")
        accuracy, wh = self.figures.get(spec.technique, FALLBACK)
        if "distill:" in spec.technique:
            curve(spec.model, spec.technique, {"step": 1, "epoch": 1, "loss": 0.4, "val_accuracy": 0.8})
        common = {"job_id": spec.job_id, "eval_size": spec.eval_size}
        if accuracy is None:
            return make_record(spec.model, spec.technique, status="failed", error="RuntimeError: boom", **common)
        return make_record(spec.model, spec.technique, quality=accuracy, energy_wh_per_1k=wh, seed=spec.seed,
                           test_set=spec.test_set, **common)


def search(figures=None, **kwargs):
    fake, stored, messages = FakeTrials(figures), [], []
    request = OptimizeRequest("sentiment", kwargs.pop("model", "minilm-l6"), eval_size=200, seed=7,
                              teacher=kwargs.pop("teacher", ""))
    result = run_optimize(request, 5, lambda f, m: messages.append((f, m)), on_record=stored.append,
                          run_trial=fake, cpu_features=[], **kwargs)
    return result, fake, stored, messages


def test_search_finds_the_leanest_variant_and_reports_every_candidate():
    result, fake, stored, messages = search()
    assert set(result) >= RESULT_KEYS and json.loads(json.dumps(result)) == result
    assert result["best"]["technique"] == L6_DISTILL
    assert result["nearest_miss"]["technique"] == L6_DISTILL_DEEPER  # leaner than the best, 3 points short
    assert result["floor_quality"] == pytest.approx(0.790) and result["teacher"] == "mpnet-base"
    assert [r["technique"] for r in result["candidates"]] == [s.technique for s in fake.specs]
    assert [r.technique for r in stored] == [s.technique for s in fake.specs]  # stored as they came
    assert result["verdict"].startswith(f"minilm-l6 · {L6_DISTILL} uses 5.3x less energy per query")
    # paired comparison: every candidate answers the same sample
    assert {(s.seed, s.eval_size, s.test_set, s.job_id) for s in fake.specs} == {(7, 200, "movie-reviews", 5)}
    assert messages[-1] == (1.0, "search finished") and all(0 <= f <= 1 for f, _ in messages)


def test_stage_two_is_built_from_what_stage_one_showed():
    result, fake, _, _ = search()
    measured = [s.technique for s in fake.specs]
    # onnx-int8 kept the floor and was the leanest runtime step: it finishes the combinations; keep=0.5 lost
    # 3 points, so only keep=0.75 is combined; the half-depth model missed, so only distillation builds on it
    assert measured[9:] == ["prune-structured:keep=0.75+onnx-int8", L6_DISTILL, L6_DISTILL_DEEPER]
    tried = {t["spec"]: t for t in result["tried"]}
    assert tried["bf16"]["status"] == "skipped" and "avx512_bf16" in tried["bf16"]["why"]
    assert tried["layer-drop:keep=3+runtime step"]["status"] == "skipped"
    assert tried["prune-structured:keep=0.5"]["kept_floor"] is False and tried["onnx-int8"]["kept_floor"] is True
    assert all(t["why"] for t in result["tried"])


def test_the_leanest_runtime_that_keeps_the_floor_finishes_the_combinations():
    result, fake, _, _ = search({**L6_FIGURES, "ov-int8": (0.795, 0.020), "onnx-int8-static": (0.796, 0.025)})
    assert "prune-structured:keep=0.75+ov-int8" in [s.technique for s in fake.specs]
    tried = {t["spec"]: t for t in result["tried"]}
    assert tried["ov-bf16"]["status"] == "skipped" and tried["ov-fp32"]["status"] == "skipped"


def test_an_ov_int8_that_misses_the_floor_is_retried_accuracy_aware():
    assert "ov-int8-aware:max_drop=1.0" not in [s.technique for s in search()[1].specs]  # ov-int8 kept the floor
    result, fake, _, _ = search({**L6_FIGURES, "ov-int8": (0.780, 0.020), "ov-int8-aware:max_drop=1.0": (0.792, 0.025)})
    assert "ov-int8-aware:max_drop=1.0" in [s.technique for s in fake.specs]
    assert {t["spec"]: t for t in result["tried"]}["ov-int8-aware:max_drop=1.0"]["kept_floor"] is True


def test_a_distillation_that_misses_the_floor_is_followed_by_a_milder_cut():
    figures = {**L6_FIGURES, L6_DISTILL: (0.780, 0.015)}
    result, fake, _, _ = search(figures)
    assert [s.technique for s in fake.specs][-1] == L6_DISTILL_MILDER
    assert result["best"]["technique"] == "prune-structured:keep=0.75+onnx-int8"


def test_failed_candidates_are_kept_in_the_output_but_never_chosen():
    distill = "layer-drop:keep=3+distill:teacher=mpnet-base,epochs=2+int8-dynamic"
    figures = {**L6_FIGURES, "onnx-int8": (None, None), distill: (None, None),
               "prune-structured:keep=0.75+int8-dynamic": (0.792, 0.025)}
    result, fake, _, _ = search(figures)
    failed = [r["technique"] for r in result["candidates"] if r["status"] == "failed"]
    assert failed == ["onnx-int8", distill]
    assert result["best"]["technique"] == "prune-structured:keep=0.75+int8-dynamic"  # int8-dynamic finishes now
    assert fake.specs[-1].technique == distill  # no follow-up of a broken step


def test_nothing_meets_the_floor():
    figures = {t: (0.700 if t != "fp32" else 0.800, wh) for t, (_, wh) in L6_FIGURES.items()}
    figures["onnx-int8"] = (0.785, 0.030)
    result, _, _, _ = search(figures, teacher="none")
    assert result["best"] is None and result["nearest_miss"]["technique"] == "onnx-int8"
    assert result["verdict"].startswith("No variant tried stays within 1.0 point")
    assert not any("distill" in t["spec"] and t["status"] != "skipped" for t in result["tried"])


def test_max_candidates_caps_the_trials():
    result, fake, _, _ = search(max_candidates=3)
    assert [s.technique for s in fake.specs] == ["fp32", "int8-dynamic", "onnx-fp32"]
    assert any(t["status"].startswith("not run") for t in result["tried"])


def test_a_failed_baseline_stops_the_search():
    with pytest.raises(BaselineFailed, match="fp32 baseline of minilm-l6 failed"):
        search({"fp32": (None, None)})


# --------------------------------------------------------------------------------------------- requests


def test_request_validation_resolves_the_teacher_and_keeps_the_kind():
    request = OptimizeRequest("sentiment", "minilm-l6", 1.5, "latency", region="fra").validated()
    assert (request.teacher, request.region, request.test_set) == ("mpnet-base", "FRA", "movie-reviews")
    assert OptimizeRequest("sentiment", "mpnet-base").validated().teacher == "none"  # nothing bigger
    assert OptimizeRequest.from_dict(request.to_dict()) == request and request.to_dict()["kind"] == "optimize"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"objective": "enrgy"}, "Unknown objective 'enrgy'. Did you mean 'energy'?"),
    ({"max_drop_pts": 60}, "between 0 and 50 points"),
    ({"max_drop_pts": -1}, "between 0 and 50 points"),
    ({"model": "vader"}, "no weights to compress"),
    ({"teacher": "minilm-l6"}, "cannot teach itself"),
    ({"teacher": "vader"}, "must be an installed encoder"),
    ({"eval_size": 5}, "between 20 and 5000"),
])
def test_bad_requests_raise_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        OptimizeRequest(**{"task": "sentiment", "model": "minilm-l6", **kwargs}).validated()


def cli_run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("argv", "message"), [
    (["--objective", "speed"], "Unknown objective 'speed'"),
    (["--max-drop", "75"], "between 0 and 50 points"),
    (["--max-candidates", "0"], "at least 1"),
])
def test_cli_bad_input_exits_2_and_stores_nothing(capsys, argv, message):
    code, out, err = cli_run(capsys, "optimize", "--task", "sentiment", "--model", "minilm-l6", *argv)
    assert code == 2 and message in err and out == "" and "Traceback" not in err
    assert Store().jobs() == []


def test_cli_optimize_prints_json_and_stores_the_job(capsys, monkeypatch):
    fake = FakeTrials()
    monkeypatch.setattr(optimize, "run_trial_process", fake)
    code, out, _ = cli_run(capsys, "optimize", "--task", "sentiment", "--model", "minilm-l6", "--max-drop", "1.0",
                           "--objective", "energy", "--eval-size", "60", "--json")
    result = json.loads(out)
    assert code == 0 and set(result) >= RESULT_KEYS
    (job,) = Store().jobs()
    assert job.kind == "optimize" and job.status == "done"
    assert job.result["best"] == ["minilm-l6", result["best"]["technique"]]
    assert len(Store().trials(job_ids=[job.id])) == len(result["candidates"]) == len(fake.specs)


def test_cli_optimize_table_ends_with_the_verdict(capsys, monkeypatch):
    monkeypatch.setattr(optimize, "run_trial_process", FakeTrials())
    code, out, _ = cli_run(capsys, "optimize", "--task", "sentiment", "--model", "minilm-l6", "--teacher", "none")
    assert code == 0
    assert "baseline" in out and "skipped" in out and out.strip().splitlines()[-1].startswith("minilm-l6 · ")


def test_worker_runs_an_optimize_job_and_stores_records_and_result(store, monkeypatch):
    from engine.worker import serve

    fake = FakeTrials()
    monkeypatch.setattr(optimize, "run_trial_process", fake)
    job_id = submit_optimize(OptimizeRequest("sentiment", "minilm-l6", eval_size=40), store, start_worker=False)
    assert store.job(job_id).kind == "optimize"
    started = time.monotonic()
    serve(idle_exit_s=0.2)
    assert time.monotonic() - started < 30
    job = store.job(job_id)
    assert job.status == "done", job.error
    records = store.trials(job_ids=[job_id])
    assert [r.technique for r in records] == [s.technique for s in fake.specs]
    assert {"objective", "max_drop_pts", "floor_quality", "baseline", "best", "nearest_miss", "tried",
            "verdict"} <= set(job.result)
    assert job.result["baseline"] == ["minilm-l6", "fp32"] and job.result["verdict"]
    assert store.curves(job_id)  # the distillation's training points streamed into the store


def test_job_summary_is_small_and_points_at_records():
    result, _, _, _ = search()
    summary = job_summary(result)
    assert summary["best"] == ["minilm-l6", L6_DISTILL] and summary["candidates"][0] == ["minilm-l6", "fp32"]
    assert "hardware" not in json.dumps(summary)  # no whole records: they are the job's trials
    assert summary["tried"] == result["tried"] and summary["verdict"] == result["verdict"]


# --------------------------------------------------------------------------------------------- real pack


@pytest.mark.slow
def test_optimize_end_to_end_on_minilm_l3(capsys, monkeypatch, shared_cache):
    monkeypatch.setenv("RIGHTSIZE_CACHE", str(shared_cache))
    code, out, err = cli_run(capsys, "optimize", "--task", "sentiment", "--model", "minilm-l3", "--eval-size", "40",
                             "--max-candidates", "2", "--teacher", "none", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert [r["technique"] for r in result["candidates"]] == ["fp32", "int8-dynamic"]
    assert result["baseline"]["status"] == "ok" and result["baseline"]["quality"] > 0.5
    assert result["best"] is not None or result["nearest_miss"] is not None or "keep it" in result["verdict"]
