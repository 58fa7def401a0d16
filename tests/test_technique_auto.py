"""auto: the candidates a CPU's features allow, the choice a probe's timings make, and both recorded."""

from __future__ import annotations

import pytest

from engine.models.openvino_model import OpenVinoModel
from engine.tasks import load_model
from engine.techniques import TechniqueContext, auto, compress
from engine.techniques.auto_choice import BASELINE, choose, plan
from engine.trial import TrialSpec, run_trial

QUIET = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py
AMX = ["avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8"]
AVX2 = ["avx2"]


def test_bf16_paths_are_candidates_only_where_the_cpu_computes_bf16():
    amx, avx2 = plan(AMX), plan(AVX2)
    assert amx.candidates == ("fp32", "bf16", "ov-bf16", "onnx-int8", "onnx-int8-static", "ov-int8")
    assert avx2.candidates == ("fp32", "onnx-int8", "onnx-int8-static", "ov-int8")
    assert "emulated" in avx2.skipped["bf16"] and "emulated" in avx2.skipped["ov-bf16"]
    assert "bf16" not in amx.skipped and set(plan(["avx512_bf16"]).candidates) == set(amx.candidates)
    assert {"onnx-fp32", "ov-fp32"} <= amx.skipped.keys() & avx2.skipped.keys()


def test_the_fastest_candidate_wins_and_the_reason_says_why():
    choice, reason = choose({"fp32": 23.1, "bf16": 116.0, "ov-bf16": 112.0, "ov-int8": 154.0}, AMX)
    assert choice == "ov-int8"
    assert "amx_int8" in reason and "native bfloat16" in reason and "6.67x the PyTorch fp32 baseline" in reason
    assert "next: bf16 at 116.0/s" in reason
    choice, reason = choose({"fp32": 30.0, "onnx-int8": 80.0, "ov-int8": 60.0}, AVX2)
    assert choice == "onnx-int8" and "no int8 dot-product instructions" in reason and "no native bfloat16" in reason


def test_a_tie_keeps_the_model_as_it_is_and_nothing_timed_is_an_error():
    assert choose({"ov-int8": 50.0, "fp32": 50.0}, AVX2)[0] == BASELINE
    assert choose({"fp32": 50.0}, AVX2) == (BASELINE, "CPU with no int8 dot-product instructions (VNNI/AMX) and no "
                                                      "native bfloat16; fastest of 1 timed: fp32 at 50.0 sentences/s")
    with pytest.raises(ValueError, match="no candidate"):
        choose({}, AVX2)


@QUIET
def test_auto_builds_times_and_records_the_choice(tiny_tasks, monkeypatch):
    from engine.measure import system

    monkeypatch.setattr(system, "hardware", lambda: {"cpu_features": AVX2})
    monkeypatch.setattr(auto, "probe", lambda variants, texts: {
        name: [100.0 + 10 * (name == "ov-int8")] * 2 for name in variants})
    base = load_model("tiny-topic", "tiny-s")
    ctx = TechniqueContext(task="tiny-topic")
    served = compress(base, "auto", ctx)
    facts = ctx.details["auto"]
    assert isinstance(served, OpenVinoModel) and facts["choice"] == "ov-int8"
    assert facts["cpu_features"] == AVX2 and facts["candidates"] == list(plan(AVX2).candidates)
    assert set(facts["timings"]) == set(plan(AVX2).candidates) and facts["failed"] == {}
    assert facts["timings"]["ov-int8"]["per_s"] == 110.0 and facts["timings"]["fp32"]["fidelity_cosine"] == 1.0
    assert all(0.9 < t["fidelity_cosine"] <= 1.0 + 1e-6 for t in facts["timings"].values())
    assert "ov-int8 at 110.0 sentences/s, 1.10x the PyTorch fp32 baseline" in facts["reason"]
    assert facts["timings"]["ov-int8"]["details"]["threads"] == 1


@QUIET
def test_auto_keeps_the_torch_model_when_it_is_fastest_and_survives_a_failing_candidate(tiny_tasks, monkeypatch):
    from engine.techniques import onnx_static

    def broken(classifier, ctx):
        raise RuntimeError("no kernel")

    monkeypatch.setattr(onnx_static, "onnx_int8_static", broken)
    monkeypatch.setattr(auto, "probe", lambda variants, texts: {
        name: [200.0 if name == BASELINE else 100.0] for name in variants})
    base = load_model("tiny-topic", "tiny-s")
    ctx = TechniqueContext(task="tiny-topic")
    assert compress(base, "auto", ctx) is base
    assert ctx.details["auto"]["failed"] == {"onnx-int8-static": "RuntimeError: no kernel"}
    assert ctx.details["auto"]["choice"] == BASELINE


@QUIET
@pytest.mark.parametrize("task", ["tiny-topic", "tiny-search"])
def test_a_trial_of_auto_records_the_choice_and_its_reason(tiny_tasks, task):
    record = run_trial(TrialSpec(task, "tiny-s", "auto", eval_size=40, region="FRA", test_set="tiny-test"))
    assert record.status == "ok", record.error
    facts = record.details["auto"]
    assert facts["choice"] in facts["candidates"] and facts["reason"].startswith("CPU with ")
    assert facts["cpu_features"] == record.hardware["cpu_features"]
    assert 2 <= facts["probe"]["rounds"] <= 5 and facts["probe"]["split"] == "train"
    timed = {name: t["per_s"] for name, t in facts["timings"].items()}
    assert timed[facts["choice"]] == max(timed.values())
