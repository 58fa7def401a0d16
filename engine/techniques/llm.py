"""Techniques on a causal LM (family "llm"): precision, 8-bit weights, fewer layers, few-shot prompting, and
llama.cpp as the runtime.

Each handler gets a servable whose weights may not be loaded yet and works on a FRESH module (loaded in the
dtype it needs, or a copy of a loaded one), never on the one it was given: a 1.5B model in bf16 is loaded
as bf16, not cast from a second fp32 copy. The registry routes the llm family here (TechniqueSpec.family_handlers).
"""

from __future__ import annotations

import random
import warnings
from typing import Any

import torch
from torch import nn

from engine.models.text_model import count_parameters
from engine.techniques.base import TechniqueContext
from engine.techniques.int8_weight import parameter_count, quantize_weights_
from engine.techniques.layers import kept_layers

LM = Any  # engine.models.llm_classifier.PromptClassifier or engine.models.generator.Generator


def bf16(model: LM, ctx: TechniqueContext) -> LM:
    return model.reloaded(torch.bfloat16)


def int8_weight(model: LM, ctx: TechniqueContext) -> LM:
    module = model.fresh_module()
    replaced = quantize_weights_(module)
    ctx.report("int8-weight", linear_layers=replaced, kept="lm_head (tied to the vocabulary table)")
    return model.with_module(module)


def int8_dynamic(model: LM, ctx: TechniqueContext) -> LM:
    """torch's dynamic int8 (activations quantized too), per output channel, lm_head kept: in place on a
    fresh fp32 module (torch would otherwise copy the whole model first)."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    module = model.fresh_module()
    names = {name for name, sub in module.named_modules() if isinstance(sub, nn.Linear) and not name.endswith("lm_head")}
    with warnings.catch_warnings():  # torch.ao.quantization warns it is deprecated; still the fast CPU int8 path
        warnings.simplefilter("ignore")
        quantize_dynamic(module, dict.fromkeys(names, per_channel_dynamic_qconfig), dtype=torch.qint8, inplace=True)
    ctx.report("int8-dynamic", linear_layers=len(names), per_channel=True, kept="lm_head")
    return model.with_module(module)


def layer_drop(model: LM, ctx: TechniqueContext, keep: int) -> LM:
    """Keep `keep` evenly spaced decoder layers (the last always), renumbered for the KV cache."""
    layers_before = model.layer_count()
    if not 1 <= keep <= layers_before:
        raise ValueError(f"layer-drop:keep={keep} is out of range for {model.name}, which has {layers_before} "
                         f"layers: use 1 <= keep <= {layers_before}.")
    module = model.fresh_module()
    before = count_parameters(module)
    indices = kept_layers(layers_before, keep)
    decoder = module.model
    decoder.layers = nn.ModuleList([decoder.layers[i] for i in indices])
    for position, layer in enumerate(decoder.layers):
        layer.self_attn.layer_idx = position
    config = module.config
    if getattr(config, "layer_types", None):
        config.layer_types = [config.layer_types[i] for i in indices]
    config.num_hidden_layers = keep
    ctx.report("layer-drop", kept_layers=indices, layers_before=layers_before, layers_after=keep,
               params_before=before, params_after=parameter_count(module))
    return model.with_module(module)


def few_shot(model: LM, ctx: TechniqueContext, k: int) -> LM:
    """Put k solved training examples in the prompt, taken class by class in turn (seeded): the model sees
    every class's answer word used once before it answers."""
    from engine.models.heads import task_splits

    train = task_splits(ctx.task).train
    rng = random.Random(ctx.seed)
    by_class: dict[int, list[int]] = {}
    for index, label in enumerate(train.labels):
        by_class.setdefault(int(label), []).append(index)
    pools = {c: rng.sample(ids, len(ids)) for c, ids in sorted(by_class.items())}
    classes = rng.sample(sorted(pools), len(pools))
    picked: list[int] = []
    while len(picked) < k and any(pools.values()):
        for c in classes:
            if pools[c] and len(picked) < k:
                picked.append(pools[c].pop())
    rng.shuffle(picked)
    shots = [(train.texts[i], int(train.labels[i])) for i in picked]
    ctx.report("few-shot", k=k, examples=[{"text": t[:120], "label": c} for t, c in shots], source=train.source)
    return model.with_shots(shots)


def llamacpp(model: LM, ctx: TechniqueContext, bits: int = 0) -> LM:
    """The packaged GGUF file in llama.cpp (its own quantization, its own kernels), or a copy requantized to
    `bits`: the same rung, another runtime. Only steps that leave the weights alone (few-shot) may come before
    it (engine.techniques.spec)."""
    from engine.models.llamacpp import on_llamacpp

    served = on_llamacpp(model, ctx.progress, bits)
    ctx.report("llamacpp", **served.source.facts(), file_mb=round(served.source.size_bytes / 1e6, 1),
               parameters=served.source.parameters)
    return served
