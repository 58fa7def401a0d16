"""A model served by OpenVINO (engine.models.compiled_model.CompiledModel). Built by engine.techniques.openvino
(final steps: ov-fp32, ov-bf16, ov-int8)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from engine.config import settings
from engine.models.batching import MAX_LENGTH_TOKENS
from engine.models.compiled_model import CompiledModel, feeds

DEVICE = "CPU"


def compile_config(precision: str) -> dict[str, Any]:
    """OpenVINO CPU settings: the trial's thread budget (settings().threads, like torch and ONNX Runtime), one
    stream (one request at a time is what a trial measures: a second stream would split the threads), and the
    precision the plugin computes in ("f32" or "bf16"; int8 comes from the graph's quantize nodes, not a hint)."""
    return {"INFERENCE_NUM_THREADS": settings().threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": precision}


class OpenVinoModel(CompiledModel):
    """Tokenizer + an OpenVINO model compiled for this CPU. `model` is an openvino.Model (read from the ONNX
    export, or NNCF's quantized copy of it): compiled here, it needs no file afterwards."""

    runtime = "OpenVINO"

    def __init__(self, name: str, model: Any, tokenizer: Any, parameters: int, file_bytes: int, precision: str,
                 info: dict[str, Any] | None = None, max_length: int = MAX_LENGTH_TOKENS) -> None:
        import openvino as ov

        super().__init__(name, tokenizer, parameters, file_bytes, info, max_length)
        self.compiled = ov.Core().compile_model(model, DEVICE, compile_config(precision))
        self.request = self.compiled.create_infer_request()
        self.input_names = [port.get_any_name() for port in self.compiled.inputs]

    def property(self, name: str) -> Any:
        """A setting as the compiled model applies it (e.g. INFERENCE_PRECISION_HINT falls back to f32 on a CPU
        without bf16 support)."""
        return self.compiled.get_property(name)

    def run(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> np.ndarray:
        # The request reuses its output buffer: copy before the next batch overwrites it.
        return np.array(self.request.infer(feeds(input_ids, attention_mask, self.input_names))[0], copy=True)
