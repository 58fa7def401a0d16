"""The task-kind seam: every kind runs a whole trial in-process on its tiny registered task, and every
technique either gives a variant that answers in the kind's shape or says clearly that it does not apply."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.registry import TECHNIQUES, get_task
from engine.tasks import does_not_apply, kind_of, load_model
from engine.techniques import TechniqueContext, compress
from engine.trial import TrialSpec, run_trial

QUIET = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py
KINDS = ("tiny-topic", "tiny-search", "tiny-photos")
LARGE = {"tiny-photos": "tiny-cnn-l"}  # the model each kind's contract runs on (default: tiny-l)


@QUIET
@pytest.mark.parametrize("task", KINDS)
@pytest.mark.parametrize("model", ["tfidf", "tiny-s"])
def test_a_whole_trial_runs_in_process_for_every_kind(tiny_tasks, task, model):
    model = {"tiny-photos": {"tfidf": "tiny-cnn-s", "tiny-s": "tiny-cnn-l"}}.get(task, {}).get(model, model)
    record = run_trial(TrialSpec(task, model, "fp32", eval_size=40, region="FRA", test_set="tiny-test"))
    assert record.status == "ok", record.error
    assert record.metric == get_task(task).metric
    assert record.quality_ci_low <= record.quality <= record.quality_ci_high
    assert record.latency_p50_ms <= record.latency_p95_ms and record.throughput_per_s > 0
    assert record.energy_wh_per_1k > 0 and record.eval_size == 40
    if task == "tiny-search":
        assert "human_correlation" in record.quality_extras and record.quality_extras["k"] == 10
    else:
        assert set(record.quality_extras["f1_per_class"]) == set(get_task(task).labels)
        assert np.asarray(record.quality_extras["confusion"]["counts"]).sum() == 40


def test_tfidf_separates_the_tiny_classes(tiny_tasks):
    record = run_trial(TrialSpec("tiny-topic", "tfidf", "fp32", eval_size=64, region="FRA", test_set="tiny-test"))
    assert record.quality > 0.8 and record.params_m == 0 and record.model_size_mb > 0


def test_a_technique_that_cannot_apply_says_so(tiny_tasks):
    record = run_trial(TrialSpec("tiny-topic", "tfidf", "int8-dynamic", eval_size=40, region="FRA",
                                 test_set="tiny-test"))
    assert record.status == "skipped" and "does not apply to a classic model" in record.error


CONTRACT_SPECS = [t.form for t in TECHNIQUES.values()]
TEACHERS = {"tiny-photos": "tiny-cnn-l"}


@QUIET
@pytest.mark.parametrize("task", KINDS)
@pytest.mark.parametrize("spec", CONTRACT_SPECS)
def test_every_technique_on_every_kind_leaves_the_original_and_answers_in_shape(tiny_tasks, task, spec):
    task_spec = get_task(task)
    if spec.startswith("distill"):
        spec = f"distill:teacher={TEACHERS.get(task, 'tiny-s')},epochs=1"
    base = load_model(task, LARGE.get(task, "tiny-l"))
    reason = does_not_apply(task_spec, base.family, spec, [spec.split(":")[0]])
    if reason:
        assert "does not apply" in reason
        return
    before = {k: v.clone() for k, v in base.module.state_dict().items()}
    texts = kind_of(task_spec).workload(task_spec, "tiny-test", 3).texts[:3]  # in the kind's own inputs
    reference = base.outputs(texts)
    variant = compress(base, spec, TechniqueContext(task=task))
    out = np.asarray(variant.outputs(texts))
    expected_width = len(task_spec.labels) if task_spec.labels else reference.shape[1]
    assert out.shape == (3, expected_width)
    assert np.isfinite(out).all()
    after = base.module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "the original model was changed"
    assert kind_of(task_spec).output_name in ("logits", "embedding")
