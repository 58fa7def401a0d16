"""Small CNNs for 28x28 grey images, built from a config that is registry data (WeightsSpec.path), e.g.
"channels=8,16,32 hidden=0": 3x3 convolutions (padding 1) each followed by ReLU and 2x2 max pooling
(28 -> 14 -> 7 -> 3), then a hidden fully connected layer (0: none) and one logit per class.

Trained here once per machine and task (Adam, one pass over the training images by default), cached as
checksummed safetensors (engine.models.heads.save_tensors) keyed on the config, recipe and data; the energy of
the training is measured (codecarbon, an estimate) and carried as the model's upfront cost.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from engine import cache_files
from engine.config import settings
from engine.models.heads import read_tensors, save_tensors
from engine.models.vision.image_model import pixels

Progress = Callable[[float, str], None]
TRAIN_FORMAT = "2"  # bump when training changes, so cached CNNs are retrained


@dataclass(frozen=True)
class CnnConfig:
    channels: tuple[int, ...]
    hidden: int = 0
    classes: int = 10

    @classmethod
    def parse(cls, text: str, classes: int = 10) -> CnnConfig:
        """ "channels=8,16,32 hidden=0" -> CnnConfig((8, 16, 32), 0)."""
        fields = dict(part.split("=", 1) for part in text.split())
        try:
            channels = tuple(int(c) for c in fields["channels"].split(","))
            return cls(channels, int(fields.get("hidden", 0)), classes)
        except (KeyError, ValueError) as error:
            raise ValueError(f"Bad CNN config '{text}': use e.g. 'channels=8,16,32 hidden=0'.") from error


class SmallCnn(nn.Module):
    """pixels 0..255 (n, 1, 28, 28) -> logits. `convs` and `fcs` are plain lists so pruning can slice them."""

    def __init__(self, config: CnnConfig) -> None:
        super().__init__()
        widths = (1, *config.channels)
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in zip(widths, widths[1:], strict=False))
        side = 28
        for _ in config.channels:
            side //= 2
        self.side = side  # spatial size after the last pooling: 3 for three convolutions
        flat = config.channels[-1] * side * side
        sizes = (flat, config.hidden, config.classes) if config.hidden else (flat, config.classes)
        self.fcs = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:], strict=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x / 255.0
        for conv in self.convs:
            x = torch.nn.functional.max_pool2d(torch.relu(conv(x)), 2)
        x = x.flatten(1)
        for i, fc in enumerate(self.fcs):
            x = fc(x)
            if i < len(self.fcs) - 1:
                x = torch.relu(x)
        return x


@dataclass(frozen=True)
class TrainRecipe:
    epochs: int = 1
    min_images_seen: int = 50_000  # few labels: more passes, so 1,000 images get as many steps as 50,000
    batch_size: int = 64
    lr: float = 2e-3
    seed: int = 0


RECIPE = TrainRecipe()


def fit(module: nn.Module, images: np.ndarray, labels: Sequence[int], recipe: TrainRecipe, progress: Progress,
        teacher: np.ndarray | None = None, temperature: float = 2.0, alpha: float = 0.5,
        what: str = "Training") -> float:
    """Train in place with Adam (cross-entropy; with `teacher` logits, Hinton's T^2-scaled KL plus alpha x
    cross-entropy; labels of -1 count only through the teacher); returns the final mean loss. Deterministic for a seed."""
    from engine.tasks.text_classification import label_loss, teacher_loss

    torch.manual_seed(recipe.seed)
    rng = np.random.default_rng(recipe.seed)
    y = torch.tensor(list(labels), dtype=torch.long)
    soft = torch.from_numpy(np.asarray(teacher, dtype=np.float32)) if teacher is not None else None
    optimizer = torch.optim.Adam(module.parameters(), lr=recipe.lr)
    epochs = max(recipe.epochs, -(-recipe.min_images_seen // max(1, len(y))))
    steps = epochs * -(-len(y) // recipe.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=recipe.lr, total_steps=max(1, steps))
    module.train()
    step, loss_value = 0, 0.0
    for epoch in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), recipe.batch_size):
            batch = order[start: start + recipe.batch_size]
            logits = module(pixels(images[batch]))
            loss = label_loss(logits, y[batch])  # labels of -1 (transfer images) are skipped
            if soft is not None:
                loss = teacher_loss(logits, soft[batch], temperature) + alpha * loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            loss_value = loss.item()
            if step % 20 == 0 or step == steps:
                progress(step / steps, f"{what}: epoch {epoch + 1}/{epochs}, step {step}/{steps}, "
                                       f"loss {loss_value:.3f}")
    module.eval()
    return loss_value


def accuracy(module: nn.Module, images: np.ndarray, labels: Sequence[int], batch_size: int = 256) -> float:
    with torch.inference_mode():
        predicted = np.concatenate([module(pixels(images[i: i + batch_size])).argmax(-1).numpy()
                                    for i in range(0, len(images), batch_size)])
    return float(np.mean(predicted == np.asarray(labels)))


def fingerprint(*parts: Any, images: Sequence[np.ndarray] = ()) -> str:
    digest = hashlib.sha256(json.dumps([TRAIN_FORMAT, *parts], default=str).encode())
    for array in images:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def cache_path(task_id: str, model_id: str) -> Path:
    return settings().cache_dir / "vision" / task_id / f"{model_id}.safetensors"


def load_or_train(task_id: str, model_id: str, config: CnnConfig, splits: Any, region: str = "USA",
                  progress: Progress | None = None, recipe: TrainRecipe = RECIPE) -> tuple[SmallCnn, dict]:
    """The cached CNN when it was trained on exactly this config, recipe and data; else train it (with
    progress and measured energy) and cache it. Returns (module, info with upfront_energy_wh, upfront_s)."""
    from engine.measure.energy import EnergyMeter

    report = progress or (lambda fraction, message: None)
    key = fingerprint(asdict(config), asdict(recipe), list(splits.train.labels), list(splits.validation.labels),
                      images=(splits.train.images, splits.validation.images))
    path = cache_path(task_id, model_id)
    module = SmallCnn(config)
    cached = cache_files.cached_file(path, read_tensors)  # a damaged file is logged, removed and retrained once
    if cached is not None and cached[1].get("fingerprint") == key:
        module.load_state_dict(cached[0])
        return module.eval(), {**cached[1], "trained": "cached (measured when first trained)"}
    started = time.perf_counter()
    with EnergyMeter(region=region) as meter:
        loss = fit(module, splits.train.images, splits.train.labels, recipe, report, what=f"Training {model_id}")
    seconds = time.perf_counter() - started
    report(0.98, f"Scoring {model_id} on the validation images")
    info = {"fingerprint": key, "model_id": model_id, "task_id": task_id, "config": asdict(config),
            "recipe": asdict(recipe), "train_size": len(splits.train), "final_loss": round(loss, 4),
            "val_accuracy": accuracy(module, splits.validation.images, splits.validation.labels),
            "upfront_energy_wh": meter.result.energy_wh, "upfront_s": round(seconds, 2),
            "upfront_note": f"training {model_id} from scratch on {len(splits.train):,} images, once per machine",
            "energy_method": meter.result.method, "data": splits.train.source}
    save_tensors(path, dict(module.state_dict()), info)
    return module, {**info, "trained": "now"}
