"""Precision techniques on the PyTorch model: fp32 (the reference), int8-dynamic, bf16."""

from __future__ import annotations

import copy
import warnings

import torch

from engine.models.text_model import TextModel
from engine.techniques.base import TechniqueContext

VOCABULARY_MIN_ROWS = 1000  # embedding tables this large are vocabularies: most of a small encoder's bytes


def fp32(classifier: TextModel, ctx: TechniqueContext) -> TextModel:
    return classifier  # the reference: nothing changes, so nothing to copy


def int8_dynamic_module(module: torch.nn.Module) -> torch.nn.Module:
    """int8 weights for every Linear (activations quantized on the fly) and for vocabulary tables (weight-only).
    Small tables (positions, token types) stay fp32: the quantized lookup needs contiguous indices they lack."""
    from torch.ao.quantization import (
        default_dynamic_qconfig,
        float_qparams_weight_only_qconfig,
        quantize_dynamic,
    )

    vocabularies = {
        name: float_qparams_weight_only_qconfig
        for name, sub in module.named_modules()
        if isinstance(sub, torch.nn.Embedding) and sub.num_embeddings >= VOCABULARY_MIN_ROWS
    }
    with warnings.catch_warnings():  # torch.ao.quantization warns it is deprecated; it is still the fast CPU path
        warnings.simplefilter("ignore")
        return quantize_dynamic(module, {torch.nn.Linear: default_dynamic_qconfig, **vocabularies},
                                dtype=torch.qint8, inplace=False)


def int8_dynamic(classifier: TextModel, ctx: TechniqueContext) -> TextModel:
    return classifier.with_module(int8_dynamic_module(_torch_module(classifier)))


def bf16(classifier: TextModel, ctx: TechniqueContext) -> TextModel:
    return classifier.with_module(copy.deepcopy(_torch_module(classifier)).to(torch.bfloat16))


def _torch_module(classifier: TextModel) -> torch.nn.Module:
    if classifier.module is None:
        raise ValueError(f"{classifier.name} has no PyTorch model to compress.")
    return classifier.module
