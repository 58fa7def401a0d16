"""Layer dropping: keep some of the encoder's layers, evenly spaced, always including the last one."""

from __future__ import annotations

import copy

from torch import nn

from engine.models.text_model import TextModel, count_parameters
from engine.techniques.architectures import adapter_for, encoder_of
from engine.techniques.base import TechniqueContext


def kept_layers(num_layers: int, keep: int) -> list[int]:
    """Indices of the layers kept: the last of each of `keep` equal slices, e.g. 6 keep 3 -> [1, 3, 5],
    12 keep 6 -> [1, 3, ..., 11], 3 keep 2 -> [0, 2].

    The last layer always stays: the task head was fitted on its output, and the top layer is what maps
    everything below into that space. Even spacing keeps some of every depth's processing (the layers a
    dropped one would have fed are the nearest kept ones), the usual choice before distillation.
    """
    return [(i + 1) * num_layers // keep - 1 for i in range(keep)]


def layer_drop(classifier: TextModel, ctx: TechniqueContext, keep: int) -> TextModel:
    if classifier.module is None:
        raise ValueError(f"{classifier.name} has no PyTorch model to drop layers from.")
    encoder = encoder_of(classifier.module, "layer-drop")
    adapter = adapter_for(encoder)
    layers_before = len(adapter.layers(encoder))
    if not 1 <= keep <= layers_before:
        raise ValueError(f"layer-drop:keep={keep} is out of range for {classifier.name}, which has "
                         f"{layers_before} layers: use 1 <= keep <= {layers_before}.")
    module = copy.deepcopy(classifier.module)  # checked first: a bad keep costs no copy of a large model
    encoder = module.encoder
    indices = kept_layers(layers_before, keep)
    layers = adapter.layers(encoder)
    kept = nn.ModuleList([layers[i] for i in indices])
    for position, layer in enumerate(kept):
        adapter.renumber(layer, position)
    adapter.set_layers(encoder, kept)
    ctx.report(
        "layer-drop",
        kept_layers=indices,
        layers_before=layers_before,
        layers_after=keep,
        params_before=count_parameters(classifier.module),
        params_after=count_parameters(module),
    )
    ctx.progress(1.0, f"Kept layers {indices} of {layers_before}")
    return classifier.with_module(module)
