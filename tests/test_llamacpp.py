"""llama.cpp as the LLM runtime (`llamacpp`), on the real SmolLM2-135M GGUF file of the offline pack (98 MB,
Q4_1; llama.cpp opens it in well under a second, so no tiny stand-in is needed): pipeline rules, the file's own
tokenizer and chat template, scores and generation from llama.cpp, the memory refusal, the pinned SHA-256, and a
whole trial. The comparison with transformers on the same file dequantizes it once (slow)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.models import gguf, llamacpp
from engine.models.memory import NotEnoughMemoryError, request_refusals
from engine.registry import MODELS, get_task
from engine.tasks import load_model
from engine.techniques import TechniqueContext, compress
from engine.techniques.spec import parse_spec
from engine.trial import TrialSpec, run_trial

QUIET = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
TEXTS = ["A wonderful, moving film.", "Dull, and far too long.", "I hated every minute of it.",
         "The best film of the year!"]


@pytest.fixture
def never_dequantize(monkeypatch):
    """A llama.cpp rung must not make transformers dequantize the file (a minute and GBs for Qwen-1.5B)."""
    monkeypatch.setattr(gguf, "_dequantize", lambda *a: pytest.fail("the GGUF file was dequantized"))


@pytest.fixture
def served(never_dequantize):
    ctx = TechniqueContext(task="sentiment")
    return compress(load_model("sentiment", "smollm2-135m"), "llamacpp", ctx), ctx


def test_llamacpp_runs_last_and_after_prompt_steps_only():
    assert [s.name for s in parse_spec("few-shot:k=2+llamacpp")] == ["few-shot", "llamacpp"]
    with pytest.raises(ValueError, match="llamacpp cannot follow layer-drop: it runs the model's packaged file"):
        parse_spec("layer-drop:keep=4+llamacpp")
    with pytest.raises(ValueError, match="llamacpp cannot follow int8-weight"):
        parse_spec("int8-weight+llamacpp")
    with pytest.raises(ValueError, match="llamacpp must be the last step"):
        parse_spec("llamacpp+few-shot:k=2")


@QUIET
def test_the_llamacpp_rung_scores_answers_from_the_files_own_tokenizer_and_template(served):
    model, ctx = served
    facts = ctx.details["llamacpp"]
    assert facts["gguf_level"] == "Q4_1" and facts["packaged_sha256"] == MODELS["smollm2-135m"].weights.sha256
    assert facts["runtime"].startswith("llama.cpp") and facts["parameters"] == model.num_parameters()
    assert 130e6 < model.num_parameters() < 140e6 and model.size_bytes() == llamacpp.packaged_file(
        MODELS["smollm2-135m"]).stat().st_size
    prompt = model.tokenizer.apply_chat_template(model.chat(TEXTS[0]))
    assert prompt.startswith("<|im_start|>system") and prompt.endswith("<|im_start|>assistant\n")
    assert "Review: A wonderful, moving film." in prompt
    scores = model.raw_scores(TEXTS)
    assert scores.shape == (4, 2) and np.isfinite(scores).all() and (scores < 0).all()
    # each row is log P(answer) from llama.cpp's next-token distribution: recompute one by hand
    logprobs = model.source.next_logprobs(model.prompt_ids(TEXTS[:1])[0])
    assert np.isclose(np.exp(logprobs).sum(), 1.0, atol=1e-4)
    expected = [np.log(np.exp(logprobs[a]).sum()) for a in model.answer_ids]
    assert np.allclose(scores[0], expected, atol=1e-4)
    assert np.allclose(model.raw_scores(TEXTS[:1]), scores[:1], atol=1e-4)  # each query from an empty cache
    with pytest.raises(ValueError, match="no PyTorch weights"):
        model.source.weights(None)


@QUIET
def test_few_shot_examples_reach_the_llamacpp_prompt(never_dequantize):
    ctx = TechniqueContext(task="sentiment")
    model = compress(load_model("sentiment", "smollm2-135m"), "few-shot:k=2+llamacpp", ctx)
    shots = ctx.details["few-shot"]["examples"]
    prompt = model.tokenizer.apply_chat_template(model.chat(TEXTS[0]))
    assert len(model.shots) == 2 and all(example["text"][:40] in prompt for example in shots)
    assert prompt.count("<|im_start|>assistant\n") == 3  # two answered examples, then the question


@QUIET
def test_llamacpp_writes_exactly_the_tokens_asked_and_scores_passages(never_dequantize):
    generator = compress(load_model("generation", "smollm2-135m"), "llamacpp", TechniqueContext(task="generation"))
    rows, texts = generator.generate(["The capital of France is", "Once upon a time"], max_new_tokens=6)
    assert rows[:, 1].tolist() == [6, 6] and rows[0, 0] == len(generator.tokenizer.encode("The capital of France is"))
    assert all(isinstance(t, str) and t for t in texts)
    assert generator.generate(["The capital of France is"], max_new_tokens=6)[1] == [texts[0]]  # greedy: repeatable
    bits = generator.passage_bits(["The cat sat on the mat. The dog sat on the log."])
    assert bits.shape == (1, 3) and bits[0, 0] > 0 and bits[0, 2] == len(generator.tokenizer.encode(
        "The cat sat on the mat. The dog sat on the log.")) - 1
    assert 0.3 < bits[0, 0] / bits[0, 1] < 8  # bits per byte of plain English from a 135M model


def test_a_llamacpp_rung_that_does_not_fit_is_refused_before_opening(monkeypatch, never_dequantize):
    from engine import registry

    huge = type(MODELS["smollm2-135m"])(**{**MODELS["smollm2-135m"].__dict__, "memory_mb_gguf": 10_000_000})
    monkeypatch.setitem(registry.MODELS, huge.id, huge)
    (message,) = request_refusals([huge], ["llamacpp"], available_mb=8_000)
    assert "10,000,000 MB of memory in llama.cpp (its GGUF file)" in message
    with pytest.raises(NotEnoughMemoryError, match="was not loaded"):
        compress(load_model("sentiment", huge.id), "llamacpp", TechniqueContext(task="sentiment"))


def test_a_gguf_file_that_differs_from_its_pin_is_refused(monkeypatch, never_dequantize):
    from engine import registry

    wrong = type(MODELS["smollm2-135m"])(**{**MODELS["smollm2-135m"].__dict__,
                                           "weights": type(MODELS["smollm2-135m"].weights)(
                                               **{**MODELS["smollm2-135m"].weights.__dict__, "sha256": "0" * 64})})
    monkeypatch.setitem(registry.MODELS, wrong.id, wrong)
    with pytest.raises(gguf.WeightsMismatchError, match="not the pinned 0000000000000000"):
        llamacpp.LlamaCppSource(wrong)


def test_without_llama_cpp_installed_the_message_says_how_to_install_it(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_llama(name, *args, **kwargs):
        if name == "llama_cpp":
            raise ImportError("No module named 'llama_cpp'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_llama)
    with pytest.raises(llamacpp.LlamaCppMissing, match="pip install llama-cpp-python==0.3.36"):
        llamacpp.llama_module()


@pytest.mark.slow  # ~100 s on 2 cores: calibration on 200 validation texts, then the measured passes
@QUIET
def test_a_llamacpp_trial_is_recorded_like_every_rung(never_dequantize):
    test_set = get_task("sentiment").test_sets[0].id
    record = run_trial(TrialSpec("sentiment", "smollm2-135m", "llamacpp", eval_size=24, region="FRA", test_set=test_set))
    assert record.status == "ok", record.error
    assert record.model_info["runtime"].startswith("llama.cpp") and record.model_info["dtype"] == "Q4_1"
    assert record.model_info["calibration"]["validation_size"] == 200
    assert 0.0 <= record.quality <= 1.0 and record.quality_ci_low <= record.quality <= record.quality_ci_high
    assert 90 < record.model_size_mb < 110 and 130 < record.params_m < 140
    assert record.latency_p95_ms >= record.latency_p50_ms > 0 and record.energy_wh_per_1k > 0
    assert record.prompt_tokens_per_query > 40


@pytest.mark.slow
@QUIET
def test_llamacpp_and_transformers_read_the_same_file_alike(monkeypatch, shared_cache):
    """The same prompts on both runtimes: llama.cpp computes with the 4-bit blocks (and 8-bit activations),
    transformers with their exact fp32 values, so the scores are close, not equal."""
    monkeypatch.setenv("RIGHTSIZE_CACHE", str(shared_cache))
    texts = [*TEXTS, *get_task("sentiment").labels]
    ours = compress(load_model("sentiment", "smollm2-135m"), "llamacpp", TechniqueContext(task="sentiment"))
    theirs = load_model("sentiment", "smollm2-135m")
    assert ours.prompt_ids(texts) == theirs.prompt_ids(texts)  # one tokenizer and template, two implementations
    a, b = ours.raw_scores(texts), theirs.raw_scores(texts)
    assert np.abs(a - b).max() < 0.5 and (a.argmax(1) == b.argmax(1)).mean() >= 0.8


@QUIET
def test_gguf_levels_are_requantized_once_from_the_packaged_file_and_cached(never_dequantize):
    ctx = TechniqueContext(task="sentiment")
    eight = compress(load_model("sentiment", "smollm2-135m"), "llamacpp:bits=8", ctx)
    facts = ctx.details["llamacpp"]
    assert facts["gguf_level"] == "Q8_0" and facts["gguf_file"] == "requantized here from the packaged file"
    assert eight.size_bytes() > 1.3 * llamacpp.packaged_file(MODELS["smollm2-135m"]).stat().st_size
    cached = eight.source.path
    assert (cached.parent / "manifest.json").exists()  # checksummed at creation (engine.cache_files)
    again = compress(load_model("sentiment", "smollm2-135m"), "llamacpp:bits=8", TechniqueContext(task="sentiment"))
    assert again.source.path == cached and again.source.path.stat().st_mtime_ns == cached.stat().st_mtime_ns
    assert eight.raw_scores(TEXTS[:2]).shape == (2, 2)
    with pytest.raises(ValueError, match="bits=7 is not a GGUF level here"):
        compress(load_model("sentiment", "smollm2-135m"), "llamacpp:bits=7", TechniqueContext(task="sentiment"))
