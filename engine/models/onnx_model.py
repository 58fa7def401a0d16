"""A model served by ONNX Runtime instead of PyTorch (engine.models.compiled_model.CompiledModel). Built by
engine.techniques.onnx and onnx_static (final steps)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.config import settings
from engine.models.batching import MAX_LENGTH_TOKENS
from engine.models.compiled_model import CompiledModel, feeds

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


class OnnxModel(CompiledModel):
    """Tokenizer + an ONNX Runtime session.

    The session is created from the .onnx file and holds the whole model in memory afterwards (no external
    data), so the file may be deleted once this object exists: nothing is left behind in a temp folder.
    """

    runtime = "ONNX Runtime"

    def __init__(
        self,
        name: str,
        onnx_path: Path | str,
        tokenizer: Any,
        parameters: int,
        info: dict[str, Any] | None = None,
        max_length: int = MAX_LENGTH_TOKENS,
    ) -> None:
        super().__init__(name, tokenizer, parameters, os.path.getsize(onnx_path), info, max_length)
        self.session = create_session(onnx_path)
        self.input_names = [i.name for i in self.session.get_inputs()]

    @property
    def providers(self) -> list[str]:
        return list(self.session.get_providers())

    def run(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> np.ndarray:
        return self.session.run(None, feeds(input_ids, attention_mask, self.input_names))[0]
