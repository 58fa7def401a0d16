"""What every servable causal LM shares (a prompted classifier, a text generator): weights loaded lazily,
fresh and in the dtype a technique asks for, so a bf16 variant of a 1.5B model never sits beside an fp32 copy
(6 GB more); copies for techniques that change a module in place; size and parameter counts without
serializing the model (a 3 GB in-memory copy)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch

from engine.models.causal import Source

Progress = Callable[[float, str], None]


class LazyLM:
    family = "llm"

    def __init__(self, name: str, source: Source, dtype: torch.dtype = torch.float32,
                 module: torch.nn.Module | None = None, info: dict[str, Any] | None = None,
                 progress: Progress = lambda f, m: None) -> None:
        self.name, self.source, self.dtype = name, source, dtype
        self._module = module
        self.info = dict(info or {})
        self.progress = progress  # where a lazy weight load reports (the trial's bar)

    @property
    def tokenizer(self) -> Any:
        """The source's: read when first used, so a runtime that brings its own (llama.cpp) never makes
        transformers dequantize the GGUF file."""
        return self.source.tokenizer

    @property
    def module(self) -> torch.nn.Module:
        if self._module is None:
            self._module = self.source.weights(self.dtype, self.progress)
        return self._module

    @property
    def loaded(self) -> bool:
        return self._module is not None

    def layer_count(self) -> int:
        return len(self._module.model.layers) if self._module is not None else self.source.spec.layers

    def fresh_module(self) -> torch.nn.Module:
        """A module a technique may change in place: a copy of the loaded one, else a fresh load."""
        return copy.deepcopy(self._module) if self._module is not None else self.source.weights(self.dtype, self.progress)

    def _copy(self, **changes: Any) -> Any:
        """The same model with other settings (module, dtype, ...): each subclass builds its own."""
        raise NotImplementedError

    def with_module(self, module: torch.nn.Module) -> Any:
        dtype = next((p.dtype for p in module.parameters() if p.is_floating_point()), self.dtype)
        return self._copy(module=module, dtype=dtype)

    def reloaded(self, dtype: torch.dtype) -> Any:
        """The same model loaded fresh in `dtype` when it is needed (never cast from a second full copy)."""
        if self._module is not None:
            return self.with_module(copy.deepcopy(self._module).to(dtype))
        return self._copy(module=None, dtype=dtype)

    def num_parameters(self) -> int:
        from engine.techniques.int8_weight import parameter_count

        return parameter_count(self.module)

    def size_bytes(self) -> int:
        """Bytes of the weights as held (int8 packed, bf16 halves), tied tensors once; no serialized copy."""
        from torch.ao.nn.quantized.dynamic import Linear as DynamicInt8Linear

        seen: set[int] = set()
        total = 0
        for tensor in [*self.module.parameters(), *self.module.buffers()]:
            if tensor.data_ptr() not in seen:
                seen.add(tensor.data_ptr())
                total += tensor.numel() * tensor.element_size()
        for sub in self.module.modules():  # packed int8 weights are neither parameters nor buffers
            if isinstance(sub, DynamicInt8Linear):
                weight, bias = sub.weight(), sub.bias()
                total += weight.numel() + 12 * weight.shape[0] + (bias.numel() * 4 if bias is not None else 0)
        return total
