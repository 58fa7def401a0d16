"""Pruning: zeroing scattered weights (unstructured) or removing whole heads and FFN neurons (structured).

Unstructured pruning keeps every matrix dense, so it shrinks only the compressed file; structured pruning
slices the matrices themselves, so the model really is smaller and faster. Structured pruning, in order:
score every head and neuron on task data (activation x gradient; weight magnitude without data), keep the
best share (heads ranked across layers, neurons per layer), slice, then keep a mean-replacement bias shift
only if it helps on validation sentences.
"""

from __future__ import annotations

import copy
import io
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from engine.models.text_model import TextModel, count_parameters
from engine.registry import get_task
from engine.tasks.base import TrainingSignal
from engine.techniques.architectures import Adapter, LayerParts, adapter_for, all_parts, encoder_of
from engine.techniques.base import TechniqueContext

ZLIB_LEVEL = 1  # fast: zeros compress at any level, and level 6 only squeezes ~1% more out of float noise
ZLIB_CHUNK_BYTES = 16 << 20
NO_SPEEDUP = "no CPU speedup: dense kernels still multiply the zeros"
SCORING_SENTENCES = 256  # training sentences for the importance scores: ~8 forward+backward batches
SCORING_BATCH = 32
LabelLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _module(classifier: TextModel) -> nn.Module:
    if classifier.module is None:
        raise ValueError(f"{classifier.name} has no PyTorch model to prune.")
    return classifier.module


def zipped_bytes(module: nn.Module) -> int:
    """Bytes of the serialized state dict after zlib, counted chunk by chunk (no second full-size copy)."""
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    view, compressor, total = buffer.getbuffer(), zlib.compressobj(ZLIB_LEVEL), 0
    for start in range(0, len(view), ZLIB_CHUNK_BYTES):
        total += len(compressor.compress(view[start : start + ZLIB_CHUNK_BYTES]))
    total += len(compressor.flush())
    view.release()
    return total


def prune_unstructured(classifier: TextModel, ctx: TechniqueContext, sparsity: float) -> TextModel:
    """Zero the smallest `sparsity` share of every encoder Linear weight (embeddings and head untouched)."""
    module = copy.deepcopy(_module(classifier))
    encoder = encoder_of(module, "prune-unstructured")
    linears = [m for m in encoder.modules() if isinstance(m, nn.Linear)]
    # Per matrix, not one global threshold: weight scales differ between matrices (Q/K vs FFN, early vs late
    # layers), and without retraining a global cut would empty some matrices almost entirely.
    for done, linear in enumerate(linears):
        torch_prune.l1_unstructured(linear, name="weight", amount=float(sparsity))
        torch_prune.remove(linear, "weight")  # a plain tensor with zeros: no mask, no forward hook
        ctx.progress(0.5 * (done + 1) / len(linears), f"Pruned {done + 1}/{len(linears)} weight matrices")
    zeros = sum(int((m.weight == 0).sum()) for m in linears)
    total = sum(m.weight.numel() for m in linears)
    ctx.progress(0.6, "Compressing the weights to measure the file size")
    zipped = zipped_bytes(module)
    ctx.progress(0.8, "Compressing the dense weights for comparison")
    dense_zipped = zipped_bytes(_module(classifier))
    ctx.report(
        "prune-unstructured",
        sparsity=round(zeros / max(1, total), 4),
        pruned_weights=total,
        pruned_matrices=len(linears),
        scope="every encoder Linear weight, per matrix (embeddings and classification head kept)",
        zipped_mb=round(zipped / 1e6, 2),
        dense_zipped_mb=round(dense_zipped / 1e6, 2),
        compression="zlib level 1 of the torch.save state dict",
        note=NO_SPEEDUP,
    )
    ctx.progress(1.0, f"Pruned to {zeros / max(1, total):.0%} zeros")
    return classifier.with_module(module)


def _slice(linear: nn.Linear, index: torch.Tensor, dim: int) -> None:
    """Keep rows (dim 0, outputs, with their bias) or columns (dim 1, inputs) of a Linear, in place."""
    grad = linear.weight.requires_grad
    linear.weight = nn.Parameter(linear.weight.detach().index_select(dim, index).clone(), requires_grad=grad)
    if dim == 0:
        if linear.bias is not None:
            linear.bias = nn.Parameter(linear.bias.detach()[index].clone(), requires_grad=grad)
        linear.out_features = len(index)
    else:
        linear.in_features = len(index)


def head_rows(kept_heads: torch.Tensor, head_size: int) -> torch.Tensor:
    """Q/K/V rows (= output-projection columns) of the kept heads: heads sit side by side."""
    return (kept_heads[:, None] * head_size + torch.arange(head_size)).reshape(-1)


def removed_mean_shift(linear: nn.Linear, kept_columns: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """What the columns about to go fed into `linear` on average: added to its bias, the layer keeps its
    output mean ("mean replacement") and loses only the variation around it."""
    removed = torch.ones(linear.in_features, dtype=torch.bool)
    removed[kept_columns] = False
    return linear.weight.detach()[:, removed].float() @ mean[removed].float()


def shift_biases(shifts: list[tuple[nn.Linear, torch.Tensor]]) -> None:
    with torch.no_grad():
        for linear, shift in shifts:
            if linear.bias is None:
                linear.bias = nn.Parameter(torch.zeros(linear.out_features, dtype=linear.weight.dtype))
            linear.bias += shift.to(linear.bias.dtype)


def prune_heads(parts: LayerParts, kept_heads: torch.Tensor) -> None:
    """Keep only `kept_heads` (sorted original indices): Q/K/V rows and the output projection's columns."""
    size = parts.head_size
    rows = head_rows(kept_heads, size)
    for linear in (parts.query, parts.key, parts.value):
        _slice(linear, rows, 0)
    _slice(parts.attention_out, rows, 1)
    parts.attention.num_attention_heads = len(kept_heads)
    parts.attention.all_head_size = len(kept_heads) * size


def prune_neurons(parts: LayerParts, kept: torch.Tensor) -> None:
    _slice(parts.ffn_in, kept, 0)
    _slice(parts.ffn_out, kept, 1)


@dataclass
class Importance:
    heads: list[torch.Tensor]  # per layer: one score per head
    neurons: list[torch.Tensor]  # per layer: one score per FFN neuron
    method: str
    # Per layer: mean input of each attention-output / FFN-output column over real tokens (None: no data).
    head_means: list[torch.Tensor] | None = None
    neuron_means: list[torch.Tensor] | None = None


def magnitude_importance(parts: list[LayerParts]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Data-free fallback: a head's value rows x its output-projection columns, a neuron's input row x
    output column (L2 norms): how much each unit can carry, not how much the task uses it."""
    heads, neurons = [], []
    for p in parts:
        value = p.value.weight.detach().float().reshape(p.num_heads, p.head_size, -1).norm(dim=(1, 2))
        out = p.attention_out.weight.detach().float().reshape(-1, p.num_heads, p.head_size).norm(dim=(0, 2))
        heads.append(value * out)
        neurons.append(p.ffn_in.weight.detach().float().norm(dim=1) * p.ffn_out.weight.detach().float().norm(dim=0))
    return heads, neurons


def training_signal(task: str, seed: int) -> TrainingSignal:
    """What the task's kind trains on: its loss, its training and validation texts (never the test ones)."""
    from engine.tasks import kind_of

    return kind_of(task).signal(get_task(task), seed)


def scoring_data(signal: TrainingSignal, seed: int) -> tuple[Sequence[str], Sequence[int], str]:
    """A sample of the task's TRAINING texts (never the test items the trial measures on)."""
    order = np.random.default_rng(seed).permutation(len(signal.texts))[:SCORING_SENTENCES]
    return ([signal.texts[i] for i in order], [signal.targets[i] for i in order],
            f"{signal.source}, sample of {len(order)} (seed {seed})")


def gradient_importance(
    module: nn.Module, parts: list[LayerParts], tokenizer: Any, texts: Sequence[str], labels: Sequence[int],
    progress: Callable[[float, str], None], max_length: int, loss: LabelLoss | None = None,
) -> Importance:
    """|activation x gradient| of each head's and neuron's output, per sentence, summed over sentences.

    This is |dL/dm| for a mask m=1 on the unit (Michel et al. 2019; Molchanov et al. 2019), with L the
    task kind's label loss of the whole model (encoder + task head; cross-entropy for classification) summed
    over the batch: one backward pass per batch
    scores every unit. The activations are the inputs of the attention output projection (heads side by
    side) and of the FFN output Linear (neurons), captured with forward pre-hooks. Their means over real
    (not padding) tokens come along for removed_mean_shift.
    """
    from engine.models.batching import length_sorted_batches

    heads = [torch.zeros(p.num_heads) for p in parts]
    neurons = [torch.zeros(p.num_neurons) for p in parts]
    sums = {("head", i): torch.zeros(p.attention_out.in_features) for i, p in enumerate(parts)} | {
        ("neuron", i): torch.zeros(p.num_neurons) for i, p in enumerate(parts)}
    tokens = 0
    captured: dict[tuple[str, int], torch.Tensor] = {}
    hooks = []
    for i, p in enumerate(parts):
        for kind, linear in (("head", p.attention_out), ("neuron", p.ffn_out)):
            hooks.append(linear.register_forward_pre_hook(
                lambda _m, args, key=(kind, i): captured.__setitem__(key, args[0])))
    flags = [q.requires_grad for q in module.parameters()]
    was_training = module.training
    module.eval()  # no dropout: score the model that will be served
    try:
        for q in module.parameters():
            q.requires_grad_(True)  # so activations carry gradients; only activation gradients are computed
        with torch.inference_mode(False), torch.enable_grad():
            done = 0
            for indices, input_ids, mask in length_sorted_batches(tokenizer, texts, SCORING_BATCH, max_length):
                captured.clear()
                logits = module(input_ids, mask)
                target = torch.tensor([labels[i] for i in indices], dtype=torch.long)
                total = (loss or _cross_entropy)(logits, target) * len(indices)  # summed over the batch
                keys = list(captured)
                grads = torch.autograd.grad(total, [captured[k] for k in keys])
                real = mask.unsqueeze(-1).float()
                tokens += int(mask.sum())
                for (kind, i), grad in zip(keys, grads, strict=True):
                    activation = captured[(kind, i)].detach().float()
                    sums[(kind, i)] += (activation * real).sum(dim=(0, 1))
                    product = activation * grad.float()  # (batch, tokens, units)
                    if kind == "head":
                        per_head = product.reshape(*product.shape[:2], parts[i].num_heads, -1)
                        heads[i] += per_head.sum(dim=(1, 3)).abs().sum(dim=0)
                    else:
                        neurons[i] += product.sum(dim=1).abs().sum(dim=0)
                done += len(indices)
                progress(done / len(texts), f"Scoring heads and neurons on {done}/{len(texts)} training sentences")
    finally:
        for hook in hooks:
            hook.remove()
        for q, flag in zip(module.parameters(), flags, strict=True):
            q.requires_grad_(flag)
        module.train(was_training)
    means = {key: total / max(1, tokens) for key, total in sums.items()}
    return Importance(heads, neurons, "", [means[("head", i)] for i in range(len(parts))],
                      [means[("neuron", i)] for i in range(len(parts))])


def head_and_neuron_importance(
    module: nn.Module, parts: list[LayerParts], tokenizer: Any, ctx: TechniqueContext,
    progress: Callable[[float, str], None], max_length: int,
) -> Importance:
    """Gradient scores on the task's training data when there is a tokenizer and data; weight magnitude otherwise."""
    reason = "the classifier has no tokenizer"
    if tokenizer is not None:
        try:
            signal = training_signal(ctx.task, ctx.seed)
            texts, labels, source = scoring_data(signal, ctx.seed)
        except ValueError as error:  # unknown task, data package missing (NotInstalledError)
            reason = f"no training data: {error}"
        else:
            scores = gradient_importance(module, parts, tokenizer, texts, labels, progress, max_length,
                                         signal.label_loss)
            scores.method = f"activation x gradient on {len(texts)} training sentences ({source})"
            return scores
    heads, neurons = magnitude_importance(parts)
    return Importance(heads, neurons, f"weight magnitude (fallback: {reason})")


def count_kept(keep: float, total: int, least: int = 1) -> int:
    return min(total, max(least, int(keep * total + 0.5)))


def choose_heads(scores: list[torch.Tensor], keep: float) -> list[torch.Tensor]:
    """Kept heads per layer, ranked across layers (Michel et al. 2019): importance is normalized per layer
    (L2) so layers with large gradients do not take the whole budget; every layer keeps its best head."""
    budget = count_kept(keep, sum(len(s) for s in scores), least=len(scores))
    normalized = [s.float() / s.float().norm().clamp_min(1e-12) for s in scores]
    chosen = [{int(s.argmax())} for s in normalized]
    rest = sorted((-float(v), layer, head) for layer, s in enumerate(normalized) for head, v in enumerate(s)
                  if head not in chosen[layer])
    for _, layer, head in rest[: budget - len(scores)]:
        chosen[layer].add(head)
    return [torch.tensor(sorted(c), dtype=torch.long) for c in chosen]


def choose_neurons(scores: list[torch.Tensor], keep: float) -> list[torch.Tensor]:
    """The same share of neurons in every layer, so config.intermediate_size stays one true number."""
    return [torch.sort(torch.topk(s.float(), count_kept(keep, len(s))).indices).values for s in scores]


def remove_units(adapter: Adapter, layer: nn.Module, parts: LayerParts, kept_heads: torch.Tensor,
                 kept_neurons: torch.Tensor, head_mean: torch.Tensor | None = None,
                 neuron_mean: torch.Tensor | None = None) -> list[tuple[nn.Linear, torch.Tensor]]:
    """Remove one layer's other heads and neurons. Returns the bias shifts that would replace them by their
    mean output (when the means are known), for the caller to apply or not."""
    shifts = []
    if len(kept_heads) < parts.num_heads:
        if head_mean is not None:
            rows = head_rows(kept_heads, parts.head_size)
            shifts.append((parts.attention_out, removed_mean_shift(parts.attention_out, rows, head_mean)))
        prune_heads(parts, kept_heads)
        adapter.heads_pruned(layer, kept_heads)
    if len(kept_neurons) < parts.num_neurons:
        if neuron_mean is not None:
            shifts.append((parts.ffn_out, removed_mean_shift(parts.ffn_out, kept_neurons, neuron_mean)))
        prune_neurons(parts, kept_neurons)
    return shifts


def accuracy(classifier: TextModel, texts: Sequence[str], labels: Sequence[int], signal: TrainingSignal) -> float:
    """The kind's validation score (accuracy for classification by accuracy, precision@10 for search)."""
    return signal.validation_score(classifier.outputs(texts), labels)


def _cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(logits.float(), target)


def choose_compensation(classifier: TextModel, shifts: list[tuple[nn.Linear, torch.Tensor]],
                        ctx: TechniqueContext) -> dict[str, Any]:
    """Keep the mean replacement only if it scores better on validation sentences.

    Measured on 500 test sentences at keep=0.5: mpnet-base 0.620 without it, 0.822 with it (fp32 0.862);
    minilm-l6 0.738 without, 0.474 with (fp32 0.746). Which one wins depends on the model (after LayerNorm,
    a kept mean with less variation around it can wash out what tells sentences apart), so the validation
    split decides: two forward passes over a few hundred sentences, cheap next to the scoring.
    """
    try:
        signal = training_signal(ctx.task, ctx.seed)
    except ValueError as error:
        return {"mean_compensation": False, "compensation_check": f"no validation data: {error}"}
    order = np.random.default_rng(ctx.seed).permutation(len(signal.validation_texts))[:SCORING_SENTENCES]
    texts = [signal.validation_texts[i] for i in order]
    labels = [signal.validation_targets[i] for i in order]
    without = accuracy(classifier, texts, labels, signal)
    originals = [(linear, None if linear.bias is None else linear.bias.detach().clone()) for linear, _ in shifts]
    shift_biases(shifts)
    with_shift = accuracy(classifier, texts, labels, signal)
    if with_shift <= without:  # a tie keeps the plain cut: fewer changes to the model
        for linear, bias in originals:  # restored, not shifted back: exact in bf16 too
            linear.bias = None if bias is None else nn.Parameter(bias, requires_grad=linear.bias.requires_grad)
    return {"mean_compensation": with_shift > without,
            "compensation_check": {"validation_sentences": len(texts), "score": signal.score_name,
                                   "accuracy_without": round(without, 4), "accuracy_with": round(with_shift, 4)}}


def prune_structured(classifier: TextModel, ctx: TechniqueContext, keep: float) -> TextModel:
    """Remove the least important attention heads and FFN neurons, physically shrinking the matrices."""
    if not 0 < keep <= 1:
        raise ValueError(f"prune-structured:keep={keep} is out of range: 0 < keep <= 1.")
    module = copy.deepcopy(_module(classifier))
    encoder = encoder_of(module, "prune-structured")
    adapter, parts = adapter_for(encoder), all_parts(encoder)
    heads_before = sum(p.num_heads for p in parts)
    neurons_before = sum(p.num_neurons for p in parts)
    params_before = count_parameters(module)
    if keep >= 1:  # nothing to remove: skip scoring (and its data), the copy is the model
        scores = Importance([], [], "none needed (keep=1)")
        kept_heads = [torch.arange(p.num_heads) for p in parts]
        kept_neurons = [torch.arange(p.num_neurons) for p in parts]
    else:
        scores = head_and_neuron_importance(module, parts, classifier.tokenizer, ctx,
                                            lambda f, m: ctx.progress(0.8 * f, m), classifier.max_length)
        kept_heads, kept_neurons = choose_heads(scores.heads, keep), choose_neurons(scores.neurons, keep)
    removed: dict[str, list[int]] = {}
    shifts: list[tuple[nn.Linear, torch.Tensor]] = []
    for index, (layer, p, heads, neurons) in enumerate(
        zip(adapter.layers(encoder), parts, kept_heads, kept_neurons, strict=True)
    ):
        if len(heads) < p.num_heads:
            removed[str(index)] = sorted(set(range(p.num_heads)) - set(heads.tolist()))
        shifts += remove_units(adapter, layer, p, heads, neurons,
                               scores.head_means[index] if scores.head_means else None,
                               scores.neuron_means[index] if scores.neuron_means else None)
    # Layers may differ in head count, which a config cannot express: num_attention_heads stays (the head
    # size is derived from it) and the removed heads are recorded, as transformers 4 did in pruned_heads.
    encoder.config.pruned_heads = removed
    encoder.config.intermediate_size = parts[0].num_neurons
    pruned = classifier.with_module(module)
    compensation: dict[str, Any] = {"mean_compensation": False}
    if shifts:
        ctx.progress(0.85, "Checking mean compensation on validation sentences")
        compensation = choose_compensation(pruned, shifts, ctx)
    ctx.report(
        "prune-structured",
        keep=keep,
        importance=scores.method,
        **compensation,
        heads_before=heads_before,
        heads_after=sum(p.num_heads for p in parts),
        heads_per_layer=[p.num_heads for p in parts],
        neurons_before=neurons_before,
        neurons_after=sum(p.num_neurons for p in parts),
        params_before=params_before,
        params_after=count_parameters(module),
    )
    ctx.progress(1.0, f"Kept {sum(p.num_heads for p in parts)}/{heads_before} heads")
    return pruned
