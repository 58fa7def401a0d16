"""onnx-int8-static and OpenVINO (ov-fp32, ov-bf16, ov-int8) on the tiny registered tasks (tests/tiny_tasks.py):
close to fp32, threads honoured, calibrated on the training split only, pipelines that end on them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engine.models import heads
from engine.models.compiled_model import CompiledModel
from engine.models.onnx_model import OnnxModel
from engine.models.openvino_model import OpenVinoModel
from engine.models.text_model import count_parameters
from engine.tasks import load_model
from engine.techniques import TechniqueContext, compress
from engine.techniques.auto_choice import bf16_is_fast
from engine.techniques.calibration import calibration_data
from engine.trial import TrialSpec, run_trial

QUIET = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
pytestmark = [QUIET, pytest.mark.usefixtures("one_thread")]
RUNTIMES = ("onnx-int8-static", "ov-fp32", "ov-bf16", "ov-int8")
CALIBRATED = ("onnx-int8-static", "ov-int8")


def held_out(task: str) -> list[str]:
    return list(heads.task_splits(task).test.texts)


@pytest.mark.parametrize("spec", RUNTIMES)
def test_classification_answers_match_fp32(tiny_tasks, spec):
    base = load_model("tiny-topic", "tiny-l")
    texts = held_out("tiny-topic")
    reference = base.outputs(texts)
    served = compress(base, spec, TechniqueContext(task="tiny-topic"))
    out = served.outputs(texts)
    assert isinstance(served, CompiledModel) and served.module is None
    agree = np.mean(out.argmax(axis=1) == reference.argmax(axis=1))
    # fp32 runtimes give torch's numbers; bf16 keeps ~3 significant digits, int8 ~2: the tiny head's classes
    # are far apart, so every answer but a near-tie stays the same.
    assert agree >= (1.0 if spec == "ov-fp32" else 0.95), agree
    if spec == "ov-fp32":
        np.testing.assert_allclose(out, reference, atol=1e-4)
    assert served.num_parameters() == count_parameters(base.module)


@pytest.mark.parametrize("spec", RUNTIMES)
def test_search_embeddings_match_fp32(tiny_tasks, spec):
    base = load_model("tiny-search", "tiny-l")
    texts = held_out("tiny-search")
    reference = base.outputs(texts)
    out = compress(base, spec, TechniqueContext(task="tiny-search")).outputs(texts)
    cosine = np.sum(out * reference, axis=1) / (np.linalg.norm(out, axis=1) * np.linalg.norm(reference, axis=1))
    assert cosine.min() > (0.99999 if spec == "ov-fp32" else 0.99), cosine.min()


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("spec", RUNTIMES)
def test_threads_are_honoured(tiny_tasks, monkeypatch, spec, threads):
    monkeypatch.setenv("RIGHTSIZE_THREADS", str(threads))
    ctx = TechniqueContext(task="tiny-topic")
    served = compress(load_model("tiny-topic", "tiny-s"), spec, ctx)
    if isinstance(served, OpenVinoModel):
        assert served.property("INFERENCE_NUM_THREADS") == threads == ctx.details[spec]["threads"]
        assert served.property("NUM_STREAMS") == 1
    else:
        assert isinstance(served, OnnxModel)
        assert served.session.get_session_options().intra_op_num_threads == threads


class NoTestData:
    """A test split that fails on any use: calibration must never read it."""

    def __getattr__(self, name):
        raise AssertionError(f"calibration read the test split ({name})")

    def __len__(self):
        raise AssertionError("calibration read the test split (len)")


@pytest.mark.parametrize("spec", [*CALIBRATED, "ov-int8-aware", "auto"])
def test_calibration_and_probe_read_the_training_split_only(tiny_tasks, monkeypatch, spec):
    real = heads.task_splits("tiny-topic")
    monkeypatch.setattr(heads, "task_splits", lambda task_id: replace(real, test=NoTestData()))
    ctx = TechniqueContext(task="tiny-topic")
    compress(load_model("tiny-topic", "tiny-s"), spec, ctx)
    facts = ctx.details[spec] if spec != "auto" else ctx.details["auto"]["timings"]["ov-int8"]["details"]
    assert facts["calibration_split"] == "train" and facts["calibration_sentences"] == len(real.train)
    assert facts["calibration_source"].startswith(real.train.source)
    if spec == "auto":
        assert ctx.details["auto"]["probe"]["split"] == "train"


def test_accuracy_control_gets_the_drop_in_metric_units_and_validation_sentences(tiny_tasks, monkeypatch):
    import nncf

    seen = {}

    def control(model, calibration, validation, validate, *, max_drop, drop_type, subset_size, model_type):
        seen.update(max_drop=max_drop, drop_type=drop_type, calibration=list(calibration.get_inference_data()),
                    validation=list(validation.get_data()))
        return nncf.quantize(model, calibration, subset_size=subset_size, model_type=model_type)

    monkeypatch.setattr(nncf, "quantize_with_accuracy_control", control)
    ctx = TechniqueContext(task="tiny-topic")
    compress(load_model("tiny-topic", "tiny-s"), "ov-int8-aware:max_drop=0.5", ctx)
    splits = heads.task_splits("tiny-topic")
    assert seen["max_drop"] == pytest.approx(0.005) and seen["drop_type"] == nncf.DropType.ABSOLUTE
    assert sum(len(item["targets"]) for item in seen["validation"]) == len(splits.validation)
    assert sorted(t for item in seen["validation"] for t in item["targets"]) == sorted(splits.validation.labels)
    assert sum(len(batch["input_ids"]) for batch in seen["calibration"]) == len(splits.train)
    facts = ctx.details["ov-int8-aware"]
    assert facts["max_drop_pts"] == 0.5 and facts["validation_split"] == "validation"
    assert facts["validation_drop_pts"] == pytest.approx((facts["validation_fp32"] - facts["validation_int8"]) * 100,
                                                         abs=0.01)
    assert facts["fake_quantize_nodes"] > 0


def test_calibration_texts_are_training_sentences(tiny_tasks):
    splits = heads.task_splits("tiny-search")
    base = load_model("tiny-search", "tiny-s")
    calibration = calibration_data("tiny-search", base.tokenizer, sentences=40)
    assert len(calibration.texts) == 40 and set(calibration.texts) <= set(splits.train.texts)
    assert sum(len(b["input_ids"]) for b in calibration.batches) == 40
    assert not set(calibration.texts) & (set(splits.test.texts) - set(splits.train.texts))


def test_static_int8_quantizes_the_weight_matmuls_only(tiny_tasks):
    ctx = TechniqueContext(task="tiny-topic")
    base = load_model("tiny-topic", "tiny-l")
    served = compress(base, "onnx-int8-static", ctx)
    facts = ctx.details["onnx-int8-static"]
    # 4 layers x (q, k, v, attention output, FFN up); per layer the 2 attention products of two activations and
    # the FFN down-projection (after the GELU) stay fp32, and so does the head (a Gemm: a few hundred weights)
    assert facts["matmuls_int8"] == 4 * 5 and facts["matmuls_fp32_after_gelu"] == 4
    assert facts["matmuls_fp32_activations"] == 4 * 2 and facts["format"] == "QDQ" and facts["dequantize_nodes"] > 0
    assert served.num_parameters() == count_parameters(base.module)  # the file's size: the slow test below


def test_bf16_hint_follows_the_cpu(tiny_tasks):
    from engine.measure.system import hardware

    ctx = TechniqueContext(task="tiny-topic")
    compress(load_model("tiny-topic", "tiny-s"), "ov-bf16", ctx)
    native = bf16_is_fast(hardware()["cpu_features"])
    assert ctx.details["ov-bf16"]["precision_applied"] == ("bf16" if native else "f32")
    compress(load_model("tiny-topic", "tiny-s"), "ov-int8", ctx)
    assert ctx.details["ov-int8"]["precision_applied"] == "f32"


def test_a_pipeline_ends_on_openvino(tiny_tasks):
    base = load_model("tiny-topic", "tiny-l")
    ctx = TechniqueContext(task="tiny-topic")
    served = compress(base, "layer-drop:keep=2+prune-structured:keep=0.5+ov-int8", ctx)
    assert isinstance(served, OpenVinoModel) and {"layer-drop", "prune-structured", "ov-int8"} <= ctx.details.keys()
    assert served.num_parameters() < count_parameters(base.module) / 2
    with pytest.raises(ValueError, match="final step"):
        served.with_module(base.module)


@pytest.mark.parametrize("spec", ["ov-int8+prune-structured", "bf16+ov-int8", "int8-dynamic+onnx-int8-static"])
def test_pipelines_that_cannot_work_are_refused(tiny_tasks, spec):
    with pytest.raises(ValueError, match="last step|cannot follow"):
        compress(load_model("tiny-topic", "tiny-s"), spec, TechniqueContext(task="tiny-topic"))


@pytest.mark.parametrize("task", ["tiny-topic", "tiny-search"])
def test_a_trial_on_openvino_carries_the_whole_record(tiny_tasks, task):
    record = run_trial(TrialSpec(task, "tiny-l", "prune-structured:keep=0.5+ov-int8", eval_size=40, region="FRA",
                                 test_set="tiny-test"))
    assert record.status == "ok", record.error
    assert record.quality_ci_low <= record.quality <= record.quality_ci_high
    assert record.latency_p50_ms > 0 and record.throughput_per_s > 0 and record.energy_wh_per_1k > 0
    assert record.model_size_mb > 0 and record.details["ov-int8"]["threads"] == 1
    assert record.versions["openvino"] != "not installed" and record.versions["nncf"] != "not installed"


@pytest.mark.slow
@pytest.mark.parametrize("spec", CALIBRATED)
def test_minilm_l3_calibrated_int8_keeps_quality_and_shrinks(shared_cache, monkeypatch, spec):
    from engine import datasets

    monkeypatch.setenv("RIGHTSIZE_CACHE", str(shared_cache))
    base = load_model("sentiment", "minilm-l3")
    served = compress(base, spec, TechniqueContext(task="sentiment"))
    data = datasets.movie_review_test().sample(100)
    fp32, int8 = (np.array(m.predict(data.texts)) for m in (base, served))
    assert np.mean(fp32 != int8) <= 0.05  # answers changed when written: static 1, ov-int8 2 (dynamic onnx-int8: 3)
    assert served.size_bytes() < base.size_bytes() / 3  # int8 weights and vocabulary
