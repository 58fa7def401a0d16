"""The teacher's answers, cached: its outputs (logits or embeddings, whatever the task's kind serves) on the
training texts and on a prefix of the transfer set, each with the time and energy the pass took, so every
distillation counts them in its upfront cost without running the teacher again.

Files are safetensors keyed on the teacher and the data its head was fitted on, each with its own SHA-256
(engine.cache_files): a damaged file is logged and recomputed once, a foreign one recomputed, neither trusted.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine import cache_files
from engine.config import settings
from engine.datasets import Texts
from engine.measure.energy import EnergyMeter
from engine.models.batching import MAX_LENGTH_TOKENS
from engine.models.heads import data_fingerprint, read_tensors, save_tensors
from engine.registry import get_task, transfer_data
from engine.tasks.base import Servable, TrainingSignal

Progress = Callable[[float, str], None]
LOGITS_FORMAT = "1"  # bump when the teacher pass changes, so cached outputs are recomputed
CHUNK = 512  # texts per teacher call, for progress


def transfer_pool(task_id: str, size: int) -> Texts | None:
    """The first `size` sentences of the task's unlabelled transfer set (None for 0)."""
    if size == 0:
        return None
    if not get_task(task_id).transfer_loader:
        raise ValueError(f"Task '{task_id}' has no unlabelled sentences for distillation: use transfer=0.")
    pool = transfer_set(task_id)
    if size > len(pool):
        raise ValueError(f"transfer={size} is out of range: the {task_id} transfer set holds {len(pool)} "
                         f"sentences. Use transfer={len(pool)} or less.")
    return Texts(pool.texts[:size], f"{pool.source}, first {size}")


def transfer_set(task_id: str) -> Texts:
    return transfer_data(get_task(task_id))



def teacher_logits_path(task_id: str, teacher: str, splits: Any) -> Path:
    """Keyed on the teacher AND the data its head was fitted on (the head cache's fingerprint), so changed
    splits or a retrained head give a new file instead of stale logits."""
    head = data_fingerprint(teacher, (splits.train.texts, splits.train.labels),
                            (splits.validation.texts, splits.validation.labels))
    key = hashlib.sha256(f"{LOGITS_FORMAT}\0{MAX_LENGTH_TOKENS}\0{head}".encode()).hexdigest()[:16]
    safe = teacher.replace("/", "--").replace("\\", "--")
    return settings().cache_dir / "teacher-logits" / task_id / f"{safe}-{key}.safetensors"


def _read_logits(path: Path) -> tuple[torch.Tensor, dict[str, Any]] | None:
    """Cached logits and their metadata; None when missing, damaged or foreign (they are then recomputed). A
    damaged file (checksum mismatch, unreadable) is logged and removed; save_tensors checks the new one."""
    found = cache_files.cached_file(path, read_tensors)
    if found is None or "logits" not in found[0]:
        return None
    return found[0]["logits"], found[1]


def read_teacher_logits(task_id: str, teacher: str, splits: Any) -> tuple[torch.Tensor, dict[str, Any]] | None:
    cached = _read_logits(teacher_logits_path(task_id, teacher, splits))
    if cached is None:
        return None
    logits, meta = cached
    if logits.shape[0] != len(splits.train) or not {"seconds", "load_s", "energy_wh", "train_accuracy"} <= meta.keys():
        return None
    return logits, meta


class Teacher:
    """The teacher, loaded at most once per distillation and only when some of its answers are not cached.
    Each pass is metered; the first one also pays for loading the model (it is part of the cost)."""

    def __init__(self, task_id: str, teacher: str, region: str) -> None:
        self.task_id, self.name, self.region = task_id, teacher, region
        self.model: Servable | None = None

    def label(self, texts: Sequence[str], what: str, progress: Progress) -> tuple[torch.Tensor, dict[str, Any]]:
        started = time.perf_counter()
        with EnergyMeter(region=self.region) as meter:
            if self.model is None:
                from engine.tasks import load_model

                self.model = load_model(self.task_id, self.name, progress=lambda f, m: progress(0.2 * f, m))
                labelling = getattr(self.model, "for_labelling", None)  # an LLM labels in its fastest precision
                if labelling is not None:
                    self.model = labelling()
                elif self.model.module is None:
                    raise ValueError(f"Teacher '{self.name}' has no PyTorch model to run.")
            loaded = time.perf_counter()
            chunks, done = [], 0
            for start in range(0, len(texts), CHUNK):  # chunks: progress while a large model works
                chunks.append(self.model.outputs(texts[start:start + CHUNK], batch_size=32))
                done += len(chunks[-1])
                progress(0.2 + 0.8 * done / len(texts), f"Teacher {self.name}: labelling {what} {done}/{len(texts)}")
            logits = torch.from_numpy(np.concatenate(chunks)) if chunks else torch.empty(0)
        meta = {"teacher": self.name, "task": self.task_id, "sentences": len(texts),
                "seconds": round(time.perf_counter() - started, 2), "load_s": round(loaded - started, 2),
                "energy_wh": meter.result.energy_wh, "energy_method": meter.result.method,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
        return logits, meta


def compute_teacher_logits(task_id: str, teacher: str, splits: Any, region: str, progress: Progress,
                           labeller: Teacher, signal: TrainingSignal) -> tuple[torch.Tensor, dict[str, Any]]:
    """Run the teacher over the training split and cache its outputs with what they cost. `train_accuracy`
    is the teacher's own score on them: the kind's validation score (accuracy of class logits)."""
    train = splits.train
    logits, meta = labeller.label(train.texts, "training sentences", progress)
    agree = signal.validation_score(logits.numpy(), train.labels)
    meta.update(train_accuracy=round(agree, 4), data=train.source)
    save_tensors(teacher_logits_path(task_id, teacher, splits), {"logits": logits}, meta)
    return logits, meta


def transfer_logits_path(task_id: str, teacher: str, splits: Any) -> Path:
    """One file per teacher (and its head's data): it holds the teacher's answers on a prefix of the transfer
    set, so any smaller request is a slice of it."""
    path = teacher_logits_path(task_id, teacher, splits)
    return path.with_name(path.stem + "-transfer" + path.suffix)


def _transfer_cache(task_id: str, teacher: str, splits: Any) -> tuple[torch.Tensor, dict[str, Any]] | None:
    """The cached answers on a prefix of the current transfer set (None if absent or the set changed since)."""
    found = _read_logits(transfer_logits_path(task_id, teacher, splits))
    if found is None or found[1].get("texts_hash") != _texts_hash(transfer_set(task_id).texts[: found[0].shape[0]]):
        return None
    return found


def read_transfer_logits(task_id: str, teacher: str, splits: Any,
                         size: int) -> tuple[torch.Tensor, dict[str, Any]] | None:
    """The cached answers on the first `size` transfer sentences, charged their share of the pass's cost."""
    found = _transfer_cache(task_id, teacher, splits)
    if found is None or found[0].shape[0] < size:
        return None
    logits, meta = found
    share = size / logits.shape[0]
    return logits[:size], {**meta, "seconds": meta["seconds"] * share, "energy_wh": meta["energy_wh"] * share,
                           "sentences": size}


def compute_transfer_logits(task_id: str, teacher: str, splits: Any, texts: Texts, labeller: Teacher,
                            progress: Progress) -> tuple[torch.Tensor, dict[str, Any]]:
    """Label the sentences the cache does not hold yet (a longer prefix extends it) and cache them all."""
    cached = _transfer_cache(task_id, teacher, splits)
    done = cached[0].shape[0] if cached else 0
    logits, meta = labeller.label(texts.texts[done:], "unlabelled sentences", progress)
    if cached:
        logits = torch.cat([cached[0], logits])
        meta.update(seconds=meta["seconds"] + cached[1]["seconds"], energy_wh=meta["energy_wh"] + cached[1]["energy_wh"],
                    sentences=len(texts))
    meta.update(data=texts.source, texts_hash=_texts_hash(texts.texts))
    save_tensors(transfer_logits_path(task_id, teacher, splits), {"logits": logits}, meta)
    return logits, meta


def _texts_hash(texts: Sequence[str]) -> str:
    return hashlib.sha256("\0".join(texts).encode()).hexdigest()[:16]
