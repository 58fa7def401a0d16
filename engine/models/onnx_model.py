"""A model served by ONNX Runtime instead of PyTorch: the same tokenizer, batching and interface as
TextModel, so a trial measures it the same way. Built by engine.techniques.onnx (a final step)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.config import settings
from engine.models.batching import MAX_LENGTH_TOKENS, output_rows

PROVIDERS = ["CPUExecutionProvider"]


def create_session(onnx_path: Path | str) -> Any:
    """A CPU session with the trial's thread budget. intra_op = settings().threads like torch; inter_op 1
    because an encoder graph is one chain of ops: parallel branches would only compete for the same cores."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = settings().threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL  # LayerNorm/GELU/MatMul fusions
    options.log_severity_level = 3  # errors only: ORT warns about every initializer it cannot fold
    return ort.InferenceSession(str(onnx_path), options, providers=PROVIDERS)


class OnnxModel:
    """Tokenizer + an ONNX Runtime session mapping (input_ids, attention_mask) to one output row per text.

    The session is created from the .onnx file and holds the whole model in memory afterwards (no external
    data), so the file may be deleted once this object exists: nothing is left behind in a temp folder.
    """

    module = None  # no PyTorch module: with_module() and PyTorch techniques cannot follow

    def __init__(
        self,
        name: str,
        onnx_path: Path | str,
        tokenizer: Any,
        parameters: int,
        info: dict[str, Any] | None = None,
        max_length: int = MAX_LENGTH_TOKENS,
    ) -> None:
        self.name = name
        self.family = "encoder"
        self.tokenizer = tokenizer
        self.info = dict(info or {})
        self.max_length = max_length
        self.file_bytes = os.path.getsize(onnx_path)
        self.parameters = parameters  # counted on the source torch module: ONNX initializers mix in constants
        self.session = create_session(onnx_path)
        self.input_names = [i.name for i in self.session.get_inputs()]

    @property
    def providers(self) -> list[str]:
        return list(self.session.get_providers())

    def run(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> np.ndarray:
        """(batch, outputs) float32, like PooledEncoder.forward."""
        feeds = {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()}
        return self.session.run(None, {k: v for k, v in feeds.items() if k in self.input_names})[0]

    def outputs(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """One output row per text, in the order given; same tokenization and length-sorted batches as TextModel."""
        return output_rows(self.tokenizer, texts, batch_size, self.max_length, self.run)

    def predict(self, texts: Sequence[str], batch_size: int = 32) -> list[int]:
        return self.outputs(texts, batch_size).argmax(axis=-1).tolist() if texts else []

    def with_module(self, module: torch.nn.Module) -> OnnxModel:
        raise ValueError(
            f"{self.name} runs in ONNX Runtime: ONNX is a final step, so no PyTorch technique can follow it."
        )

    def num_parameters(self) -> int:
        return self.parameters

    def size_bytes(self) -> int:
        """Bytes of the .onnx file: what would ship."""
        return self.file_bytes
