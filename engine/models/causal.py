"""Where a causal language model's tokenizer and weights come from, per weights format (registry data).

A source opens with the tokenizer only; weights load on demand, fresh, in the dtype asked for, so a bf16
variant of a 1.5B model never holds an fp32 copy beside it (6 GB more), and each load is checked against the
machine's free memory first (engine.models.memory). The `llamacpp` technique swaps in another source, the GGUF
file as it is in llama.cpp (engine.models.llamacpp.LlamaCppSource): same tokenizer and prompts, no PyTorch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import torch

from engine.models.memory import require_memory
from engine.registry import ModelSpec, resolve

Progress = Callable[[float, str], None]
SOURCES = {"gguf": "engine.models.gguf:GgufSource", "tiny-causal-config": "engine.models.causal:TinySource"}


class Source(Protocol):
    spec: ModelSpec
    tokenizer: Any

    def weights(self, dtype: torch.dtype, progress: Progress = ...) -> torch.nn.Module: ...


class TinySource:
    def __init__(self, model: ModelSpec, progress: Progress = lambda f, m: None) -> None:
        from engine.models.tiny_causal import tiny_tokenizer

        self.spec, self.tokenizer = model, tiny_tokenizer()

    def weights(self, dtype: torch.dtype, progress: Progress = lambda f, m: None) -> torch.nn.Module:
        from engine.models.tiny_causal import tiny_causal_lm

        require_memory(self.spec, dtype)
        return tiny_causal_lm(self.spec, dtype)


def open_source(model: ModelSpec, progress: Progress = lambda f, m: None) -> Source:
    if model.weights.format not in SOURCES:
        raise ValueError(f"Model '{model.id}' has weights in format '{model.weights.format}', which is not a "
                         f"language-model format ({', '.join(SOURCES)}).")
    return resolve(SOURCES[model.weights.format])(model, progress)
