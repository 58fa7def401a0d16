"""Where each encoder architecture keeps its layers, attention projections, FFN and head counts.

Pruning and layer dropping work on these adapters instead of on attribute paths, so a new architecture is
one more adapter here. Checked against transformers 5.24: BertModel (minilm-l3, minilm-l6) and MPNetModel
(mpnet-base). Both compute the head count at run time from the projection width (`view(..., -1, head_size)`),
so a layer keeps working with fewer heads once its Linear layers and its head-count attributes shrink.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers.models.mpnet.modeling_mpnet import MPNetSelfAttention


@dataclass(frozen=True)
class LayerParts:
    """One transformer layer's prunable parts (references into the model, not copies)."""

    attention: nn.Module  # holds num_attention_heads / attention_head_size / all_head_size
    query: nn.Linear
    key: nn.Linear
    value: nn.Linear
    attention_out: nn.Linear  # input columns are the heads' outputs, head after head
    ffn_in: nn.Linear  # output rows are the FFN neurons
    ffn_out: nn.Linear  # input columns are the FFN neurons

    @property
    def num_heads(self) -> int:
        return int(self.attention.num_attention_heads)

    @property
    def head_size(self) -> int:
        return int(self.attention.attention_head_size)

    @property
    def num_neurons(self) -> int:
        return self.ffn_in.out_features


class Adapter:
    """Bert layout: encoder.layer[i].attention.self.{query,key,value}, attention.output.dense,
    intermediate.dense, output.dense."""

    model_type = "bert"

    def layers(self, encoder: nn.Module) -> nn.ModuleList:
        return encoder.encoder.layer

    def set_layers(self, encoder: nn.Module, layers: nn.ModuleList) -> None:
        encoder.encoder.layer = layers
        encoder.config.num_hidden_layers = len(layers)

    def parts(self, layer: nn.Module) -> LayerParts:
        attention = layer.attention.self
        return LayerParts(attention, attention.query, attention.key, attention.value,
                          layer.attention.output.dense, layer.intermediate.dense, layer.output.dense)

    def heads_pruned(self, layer: nn.Module, kept_heads: torch.Tensor) -> None:
        """Called after a layer lost heads; `kept_heads` are the original indices still there."""

    def renumber(self, layer: nn.Module, index: int) -> None:
        """The layer now sits at `index` (after layer dropping); Bert keys its (decoder-only) cache on it."""
        for module in layer.modules():
            if hasattr(module, "layer_idx"):
                module.layer_idx = index


class MPNetAdapter(Adapter):
    """MPNet layout: encoder.layer[i].attention.attn.{q,k,v,o}, intermediate.dense, output.dense.

    MPNet adds one relative-position bias per head, computed once for all layers in MPNetEncoder
    (batch, heads, q, k). A layer with pruned heads must only add its kept heads' bias: see PrunedMPNetSelfAttention.
    """

    model_type = "mpnet"

    def parts(self, layer: nn.Module) -> LayerParts:
        attention = layer.attention.attn
        return LayerParts(attention, attention.q, attention.k, attention.v, attention.o,
                          layer.intermediate.dense, layer.output.dense)

    def heads_pruned(self, layer: nn.Module, kept_heads: torch.Tensor) -> None:
        attention = layer.attention.attn
        if isinstance(attention, PrunedMPNetSelfAttention):  # pruned twice: map to the original indices
            kept_heads = attention.kept_heads[kept_heads]
        else:
            attention.__class__ = PrunedMPNetSelfAttention
        # Not persistent: the state dict keeps MPNet's keys (sizes and ONNX export see the same tensors).
        attention.register_buffer("kept_heads", kept_heads.clone().long(), persistent=False)

    def renumber(self, layer: nn.Module, index: int) -> None:
        return None  # MPNet layers do not know their index


class PrunedMPNetSelfAttention(MPNetSelfAttention):
    """An MPNet attention that lost heads: it adds only its kept heads' share of the shared position bias.
    Made by swapping the class of the existing instance (weights and attributes stay as they are)."""

    kept_heads: torch.Tensor

    def forward(self, hidden_states, attention_mask=None, position_bias=None, output_attentions=False, **kwargs):
        if position_bias is not None:
            position_bias = position_bias.index_select(1, self.kept_heads)
        return super().forward(hidden_states, attention_mask, position_bias, output_attentions, **kwargs)


ADAPTERS = {adapter.model_type: adapter for adapter in (Adapter(), MPNetAdapter())}


def adapter_for(encoder: nn.Module) -> Adapter:
    model_type = getattr(getattr(encoder, "config", None), "model_type", type(encoder).__name__)
    if model_type not in ADAPTERS:
        raise ValueError(f"Pruning and layer dropping support {', '.join(ADAPTERS)} encoders, "
                         f"not '{model_type}' ({type(encoder).__name__}).")
    return ADAPTERS[model_type]


def encoder_of(module: nn.Module | None, technique: str) -> nn.Module:
    """The transformers encoder inside an PooledEncoder, with plain fp32/bf16 Linear layers."""
    encoder = getattr(module, "encoder", None)
    if encoder is None:
        raise ValueError(f"{technique} needs an encoder classifier with a PyTorch module.")
    adapter = adapter_for(encoder)
    if len(adapter.layers(encoder)) and not isinstance(adapter.parts(adapter.layers(encoder)[0]).query, nn.Linear):
        raise ValueError(f"{technique} needs plain Linear layers: put it before quantization in the pipeline "
                         f"(e.g. {technique}+int8-dynamic).")
    return encoder


def all_parts(encoder: nn.Module) -> list[LayerParts]:
    adapter = adapter_for(encoder)
    return [adapter.parts(layer) for layer in adapter.layers(encoder)]
