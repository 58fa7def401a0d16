"""What every model served outside PyTorch shares (ONNX Runtime, OpenVINO): the same tokenizer, batching and
interface as TextModel, so a trial measures it the same way. A runtime subclass only says how one batch runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from engine.models.batching import MAX_LENGTH_TOKENS, output_rows

INPUTS = ("input_ids", "attention_mask")  # what the exported graph takes (engine.techniques.onnx.export)


class CompiledModel:
    """Tokenizer + a runtime's compiled graph mapping (input_ids, attention_mask) to one output row per text."""

    module = None  # no PyTorch module: with_module() and PyTorch techniques cannot follow
    runtime = "a runtime"  # for messages: "ONNX Runtime", "OpenVINO"

    def __init__(self, name: str, tokenizer: Any, parameters: int, file_bytes: int,
                 info: dict[str, Any] | None = None, max_length: int = MAX_LENGTH_TOKENS) -> None:
        self.name = name
        self.family = "encoder"
        self.tokenizer = tokenizer
        self.info = dict(info or {})
        self.max_length = max_length
        self.file_bytes = file_bytes  # what would ship: the runtime's model file(s)
        self.parameters = parameters  # counted on the source torch module: graph initializers mix in constants

    def run(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> np.ndarray:
        """(batch, outputs) float32, like PooledEncoder.forward."""
        raise NotImplementedError

    def outputs(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """One output row per text, in the order given; same tokenization and length-sorted batches as TextModel."""
        return output_rows(self.tokenizer, texts, batch_size, self.max_length, self.run)

    def predict(self, texts: Sequence[str], batch_size: int = 32) -> list[int]:
        return self.outputs(texts, batch_size).argmax(axis=-1).tolist() if texts else []

    def with_module(self, module: torch.nn.Module) -> CompiledModel:
        raise ValueError(f"{self.name} runs in {self.runtime}: {self.runtime} is a final step, so no PyTorch "
                         "technique can follow it.")

    def num_parameters(self) -> int:
        return self.parameters

    def size_bytes(self) -> int:
        return self.file_bytes


def feeds(input_ids: torch.Tensor, attention_mask: torch.Tensor, names: Sequence[str]) -> dict[str, np.ndarray]:
    """The graph's inputs as numpy arrays; a graph that dropped an unused input (no mask path) gets only the rest."""
    arrays = {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()}
    return {k: v for k, v in arrays.items() if k in names}
