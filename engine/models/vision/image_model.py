"""The servable of the image kind: (28, 28) uint8 images in, one float32 output row per image out.

The module takes raw pixels (n, 1, 28, 28) as float 0..255 and does its own preprocessing (scaling, resizing,
grey -> RGB), so every runtime (PyTorch, bf16, ONNX Runtime) runs the same graph from the same input.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from engine.models.text_model import TextModel


def pixels(images: Sequence[np.ndarray]) -> torch.Tensor:
    """(n, 1, 28, 28) float32 pixel values 0..255."""
    return torch.from_numpy(np.stack([np.asarray(i, dtype=np.uint8) for i in images])).unsqueeze(1).float()


def module_dtype(module: torch.nn.Module) -> torch.dtype:
    floats = [p.dtype for p in module.parameters() if p.is_floating_point()]
    return floats[0] if floats else torch.float32


def peak_activation_bytes(module: torch.nn.Module, bytes_per_value: float) -> int:
    """The largest (input + output) of any one layer at batch 1, in bytes: what a device must hold at once
    when layers run one after another (the usual peak-SRAM estimate for microcontrollers, as in MCUNet)."""
    sizes: list[int] = []

    def hook(_: Any, inputs: tuple, output: Any) -> None:
        first = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
        if isinstance(output, torch.Tensor):
            sizes.append((first.numel() if first is not None else 0) + output.numel())

    leaves = [m for m in module.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        with torch.inference_mode():
            module(torch.zeros(1, 1, 28, 28, dtype=module_dtype(module)))
    finally:
        for handle in handles:
            handle.remove()
    return int(max(sizes, default=0) * bytes_per_value)


class ImageModel:
    """What a trial measures for an image task; techniques swap in a transformed copy of `module`."""

    tokenizer = None
    max_length = 0

    def __init__(self, name: str, family: str, module: torch.nn.Module | None, info: dict[str, Any] | None = None,
                 ) -> None:
        self.name = name
        self.family = family  # "cnn"
        self.module = module
        self.info = dict(info or {})

    def outputs(self, images: Sequence[np.ndarray], batch_size: int = 32) -> np.ndarray:
        if self.module is None:
            raise ValueError(f"{self.name} has no module to run")
        dtype = module_dtype(self.module)
        rows = []
        with torch.inference_mode():
            for start in range(0, len(images), batch_size):
                batch = pixels(images[start: start + batch_size]).to(dtype)
                rows.append(self.module(batch).float().numpy())
        return np.concatenate(rows) if rows else np.empty((0, 0), dtype=np.float32)

    def predict(self, images: Sequence[np.ndarray], batch_size: int = 32) -> list[int]:
        return self.outputs(images, batch_size).argmax(axis=-1).tolist() if len(images) else []

    def with_module(self, module: torch.nn.Module) -> ImageModel:
        return ImageModel(self.name, self.family, module, self.info)

    # Parameters and serialized size are counted as for text models (one definition: TextModel's).
    num_parameters = TextModel.num_parameters
    size_bytes = TextModel.size_bytes

    def footprint(self) -> dict[str, int]:
        """What a device must hold: the weights, and the peak activations at batch 1 in the module's precision."""
        if self.module is None:
            return {}
        quantized = any(".quantized" in type(m).__module__ for m in self.module.modules())
        dtype = module_dtype(self.module)
        # torch's dynamic int8 quantizes weights only: activations stay fp32
        per_value = 2 if dtype in (torch.bfloat16, torch.float16) and not quantized else 4
        return {"weights_bytes": self.size_bytes(),
                "peak_activation_bytes": peak_activation_bytes(self.module, per_value)}
