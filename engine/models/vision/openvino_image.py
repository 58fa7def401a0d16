"""An image model served by OpenVINO: the same pixels in, the same logits out as ImageModel (and OnnxImageModel)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from engine.models.openvino_model import DEVICE, compile_config
from engine.models.vision.image_model import pixels


class OpenVinoImageModel:
    """An openvino.Model (read from the ONNX export, or NNCF's int8 copy) compiled for this CPU with the trial's
    threads; it needs no file afterwards."""

    module = None  # no PyTorch module: PyTorch techniques cannot follow
    tokenizer = None
    max_length = 0
    runtime = "OpenVINO"

    def __init__(self, source: Any, model: Any, parameters: int, file_bytes: int, precision: str,
                 footprint: dict[str, int]) -> None:
        import openvino as ov

        self.name, self.family, self.info = source.name, source.family, dict(source.info)
        self.parameters, self.file_bytes = parameters, file_bytes
        self._footprint = {"weights_bytes": file_bytes, **footprint}
        self.compiled = ov.Core().compile_model(model, DEVICE, compile_config(precision))
        self.request = self.compiled.create_infer_request()

    def property(self, name: str) -> Any:
        return self.compiled.get_property(name)

    def outputs(self, images: Sequence[np.ndarray], batch_size: int = 32) -> np.ndarray:
        # the request reuses its output buffer: copy before the next batch overwrites it
        rows = [np.array(self.request.infer({0: pixels(images[i: i + batch_size]).numpy()})[0], copy=True)
                for i in range(0, len(images), batch_size)]
        return np.concatenate(rows) if rows else np.empty((0, 0), dtype=np.float32)

    def predict(self, images: Sequence[np.ndarray], batch_size: int = 32) -> list[int]:
        return self.outputs(images, batch_size).argmax(axis=-1).tolist() if len(images) else []

    def with_module(self, module: torch.nn.Module) -> OpenVinoImageModel:
        raise ValueError(f"{self.name} runs in OpenVINO: no PyTorch technique can follow it.")

    def num_parameters(self) -> int:
        return self.parameters

    def size_bytes(self) -> int:
        return self.file_bytes

    def footprint(self) -> dict[str, int]:
        return dict(self._footprint)
