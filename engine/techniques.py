"""Compression techniques: one verb, `compress`, which never mutates the module it is given.

A technique spec is a string: a name, optional parameters after a colon, steps joined with "+"
("int8-dynamic", later "prune-structured:keep=0.5+int8-dynamic"). Handlers are a table keyed by name.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.registry import TECHNIQUES, get_technique

if TYPE_CHECKING:  # torch is imported by the handlers only, so validating a spec stays light
    import torch


@dataclass(frozen=True)
class Step:
    name: str
    params: dict[str, float] = field(default_factory=dict)


def parse_spec(spec: str) -> list[Step]:
    """Parse "name[:k=v[,k=v]][+name...]"; unknown names raise ChoiceError naming the valid ones."""
    steps = []
    for part in spec.split("+"):
        name, _, raw = part.strip().partition(":")
        get_technique(name)
        params = {}
        for item in filter(None, raw.split(",")):
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"Bad parameter '{item}' in technique '{spec}': use name:key=value.")
            params[key.strip()] = float(value)
        steps.append(Step(name, params))
    return steps


def _fp32(module: torch.nn.Module) -> torch.nn.Module:
    return module  # the reference: nothing changes, so nothing to copy


VOCABULARY_MIN_ROWS = 1000  # embedding tables this large are vocabularies: most of a small encoder's bytes


def _int8_dynamic(module: torch.nn.Module) -> torch.nn.Module:
    """int8 weights for every Linear (activations quantized on the fly) and for vocabulary tables (weight-only).
    Small tables (positions, token types) stay fp32: the quantized lookup needs contiguous indices they lack."""
    import torch
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


def _bf16(module: torch.nn.Module) -> torch.nn.Module:
    import torch

    return copy.deepcopy(module).to(torch.bfloat16)


HANDLERS: dict[str, Callable[..., torch.nn.Module]] = {
    "fp32": _fp32,
    "int8-dynamic": _int8_dynamic,
    "bf16": _bf16,
}
assert set(HANDLERS) == set(TECHNIQUES), "every registered technique needs a handler"


def compress(module: torch.nn.Module, spec: str) -> torch.nn.Module:
    """Apply the spec's steps in order to a copy of `module`; the input module is left untouched."""
    for step in parse_spec(spec):
        module = HANDLERS[step.name](module, **step.params)
    return module
