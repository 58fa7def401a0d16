"""An image model served by ONNX Runtime: the same pixels in, the same logits out as ImageModel."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.models.onnx_model import create_session
from engine.models.vision.image_model import pixels

OPSET = 17


def export_images(module: torch.nn.Module, path: Path) -> float:
    """TorchScript export with a dynamic batch axis: input "pixels" (n, 1, 28, 28) float, output "logits"."""
    started = time.perf_counter()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the legacy exporter warns it is deprecated
        torch.onnx.export(module, (torch.zeros(2, 1, 28, 28),), str(path), dynamo=False, input_names=["pixels"],
                          output_names=["logits"], dynamic_axes={"pixels": {0: "batch"}, "logits": {0: "batch"}},
                          opset_version=OPSET, do_constant_folding=True, training=torch.onnx.TrainingMode.EVAL)
    return time.perf_counter() - started


class OnnxImageModel:
    """ONNX Runtime session over an exported image model; the session holds the whole graph, so the file may go."""

    module = None  # no PyTorch module: PyTorch techniques cannot follow
    tokenizer = None
    max_length = 0

    def __init__(self, source: Any, onnx_path: Path, footprint: dict[str, int]) -> None:
        from engine.models.text_model import count_parameters

        self.name, self.family, self.info = source.name, source.family, dict(source.info)
        self.parameters = count_parameters(source.module)
        self.file_bytes = os.path.getsize(onnx_path)
        self._footprint = {"weights_bytes": self.file_bytes, **footprint}
        self.session = create_session(onnx_path)

    def outputs(self, images: Sequence[np.ndarray], batch_size: int = 32) -> np.ndarray:
        rows = [self.session.run(None, {"pixels": pixels(images[i: i + batch_size]).numpy()})[0]
                for i in range(0, len(images), batch_size)]
        return np.concatenate(rows) if rows else np.empty((0, 0), dtype=np.float32)

    def predict(self, images: Sequence[np.ndarray], batch_size: int = 32) -> list[int]:
        return self.outputs(images, batch_size).argmax(axis=-1).tolist() if len(images) else []

    def with_module(self, module: torch.nn.Module) -> OnnxImageModel:
        raise ValueError(f"{self.name} runs in ONNX Runtime: no PyTorch technique can follow it.")

    def num_parameters(self) -> int:
        return self.parameters

    def size_bytes(self) -> int:
        return self.file_bytes

    def footprint(self) -> dict[str, int]:
        return dict(self._footprint)
