"""The thing a trial measures: a tokenizer plus a torch module that maps token ids to one output row per text
(class logits for classification, a sentence embedding for search). Which head sits on the encoder is the
task kind's choice (engine.tasks); techniques transform `module` and never look at what the outputs mean."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from engine.models.batching import MAX_LENGTH_TOKENS, mean_pool, output_rows

Progress = Callable[[float, str], None]


class PooledEncoder(torch.nn.Module):
    """encoder -> mean pooling over the attention mask -> head (a Linear for class logits; Identity for an
    embedding)."""

    def __init__(self, encoder: torch.nn.Module, head: torch.nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(mean_pool(hidden, attention_mask))


def count_parameters(module: torch.nn.Module) -> int:
    """Trainable-size count that survives compression: dynamically quantized Linear layers keep their weights
    in packed int8 (not parameters), so they count as their weight + bias elements, the number they had
    before quantizing. bf16 casts and physical pruning change numel and so show up; masks do not count."""
    from torch.ao.nn.quantized import Embedding as QuantizedEmbedding
    from torch.ao.nn.quantized import Linear as QuantizedLinear  # the dynamic one subclasses it

    total = sum(p.numel() for p in module.parameters())
    for sub in module.modules():
        if isinstance(sub, QuantizedLinear):
            bias = sub.bias()
            total += sub.weight().numel() + (bias.numel() if bias is not None else 0)
        elif isinstance(sub, QuantizedEmbedding):
            total += sub.weight().numel()
    return total


class TextModel:
    """What a trial measures: tokenizer + a module. Techniques swap in a transformed copy of `module`."""

    def __init__(
        self,
        name: str,
        family: str,
        module: torch.nn.Module | None,
        tokenizer: Any,
        info: dict[str, Any] | None = None,
        max_length: int = MAX_LENGTH_TOKENS,
    ) -> None:
        self.name = name
        self.family = family  # "encoder" | "rule-based" | "classic"
        self.module = module
        self.tokenizer = tokenizer
        self.info = dict(info or {})  # how the head was trained (C, validation score, ...)
        self.max_length = max_length

    def outputs(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """One float32 output row per text (logits or embedding), in the order given."""
        if self.module is None:
            raise ValueError(f"{self.name} has no module to run")
        module = self.module
        with torch.inference_mode():
            return output_rows(self.tokenizer, texts, batch_size, self.max_length,
                               lambda ids, mask: module(ids, mask).float().numpy())

    def predict(self, texts: Sequence[str], batch_size: int = 32) -> list[int]:
        """Class per text (the largest output), for classification heads."""
        return self.outputs(texts, batch_size).argmax(axis=-1).tolist() if texts else []

    def with_module(self, module: torch.nn.Module) -> TextModel:
        """The same model running another (e.g. quantized) module; the tokenizer is shared."""
        return TextModel(self.name, self.family, module, self.tokenizer, self.info, self.max_length)

    def num_parameters(self) -> int:
        return count_parameters(self.module) if self.module is not None else 0

    def size_bytes(self) -> int:
        """Bytes of the serialized state dict (int8 weights packed): what would ship. Measured in memory only."""
        if self.module is None:
            return 0
        buffer = io.BytesIO()
        torch.save(self.module.state_dict(), buffer)
        return buffer.tell()
