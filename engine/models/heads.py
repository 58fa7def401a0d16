"""Task heads: logistic regression on frozen, mean-pooled sentence embeddings, trained once and cached.

A head is tiny (hidden x classes) and the encoder stays as published, so every technique applied later (int8, bf16,
pruning) is measured against the same head. The cache is keyed on the model id AND a hash of the training
and validation data, so a changed split retrains instead of reusing a stale head.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine import cache_files
from engine.config import settings
from engine.models.batching import length_sorted_batches, mean_pool
from engine.models.encoders import Encoder
from engine.registry import get_task, task_data

Progress = Callable[[float, str], None]
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)  # inverse regularization strength
HEAD_FORMAT = "1"  # bump when training changes, so cached heads are retrained


def embed(
    encoder: Encoder,
    texts: Sequence[str],
    batch_size: int = 32,
    progress: Progress | None = None,
    what: str = "sentences",
) -> np.ndarray:
    """Mean-pooled fp32 embeddings (n, hidden), in the order of `texts`."""
    out: np.ndarray | None = None
    done = 0
    with torch.inference_mode():
        for indices, input_ids, mask in length_sorted_batches(encoder.tokenizer, texts, batch_size):
            hidden = encoder.model(input_ids=input_ids, attention_mask=mask).last_hidden_state
            pooled = mean_pool(hidden, mask).float().numpy()
            if out is None:
                out = np.empty((len(texts), pooled.shape[1]), dtype=np.float32)
            out[indices] = pooled
            done += len(indices)
            if progress:
                progress(done / len(texts), f"Embedding {what} {done}/{len(texts)}")
    return out if out is not None else np.empty((0, 0), dtype=np.float32)


Score = Callable[[Sequence[int], Sequence[int]], float]  # (true, predicted) -> higher is better


def _accuracy(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def train_head(
    train_x: np.ndarray, train_y: Sequence[int], val_x: np.ndarray, val_y: Sequence[int], seed: int = 0,
    score: Score = _accuracy, score_name: str = "val_accuracy",
) -> tuple[torch.nn.Linear, dict[str, Any]]:
    """Fit logistic regression for each C in C_GRID, keep the best on validation by `score` (the task's
    metric), return it as nn.Linear with one logit per class.

    Raw pooled embeddings: standardizing them first scored no better on validation for L3/L6 (0.748 vs
    0.752, 0.764 vs 0.771) and would need folding into the head.
    """
    from sklearn.linear_model import LogisticRegression

    best: tuple[float, float, Any] | None = None
    for c in C_GRID:
        fit = LogisticRegression(C=c, max_iter=3000, random_state=seed).fit(train_x, train_y)
        value = float(score(val_y, fit.predict(val_x)))
        if best is None or value > best[0]:  # ties keep the smaller C (stronger regularization)
            best = (value, c, fit)
    assert best is not None
    value, c, fit = best
    head = linear_head(fit.coef_, fit.intercept_)
    info = {"C": c, score_name: value, "train_size": len(train_y), "val_size": len(val_y)}
    return head.eval(), info


def linear_head(coef: np.ndarray, intercept: np.ndarray) -> torch.nn.Linear:
    """sklearn's logistic regression as logits. Binary models have one weight row z: two logits (-z/2, +z/2)
    give softmax probabilities equal to its sigmoid(z); multinomial ones map row for row."""
    if coef.shape[0] == 1:
        coef = np.stack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    head = torch.nn.Linear(coef.shape[1], coef.shape[0])
    with torch.no_grad():
        head.weight.copy_(torch.tensor(coef, dtype=torch.float32))
        head.bias.copy_(torch.tensor(intercept, dtype=torch.float32))
    return head


def data_fingerprint(model_id: str, *parts: tuple[Sequence[str], Sequence[int]]) -> str:
    digest = hashlib.sha256(f"{HEAD_FORMAT}\0{model_id}".encode())
    for texts, labels in parts:
        digest.update(json.dumps([list(texts), list(labels)]).encode())
    return digest.hexdigest()


def task_splits(task_id: str) -> Any:
    """The task's engine.datasets.Splits (its registry data loader)."""
    return task_data(get_task(task_id))


def head_path(task_id: str, model_id: str) -> Path:
    safe = model_id.replace("/", "--").replace("\\", "--")  # hub ids and folders contain slashes
    return settings().cache_dir / "heads" / task_id / f"{safe}.safetensors"


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Safetensors with JSON metadata and its own SHA-256 (engine.cache_files), written to a temporary file in
    the same folder and renamed: readers never see a partial file. Read back before returning, so a file that
    is bad from the start fails here, naming the fix. World-readable: the cache is shared by the app, the
    worker and the CLI."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.contiguous() for k, v in tensors.items()}
    metadata = {k: json.dumps(v) for k, v in meta.items()}
    metadata[cache_files.DIGEST_KEY] = cache_files.tensors_digest(tensors, metadata)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        os.chmod(tmp, 0o644)  # mkstemp makes it private
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    cache_files.written_file(path, read_tensors, cache_files.disk_fix(path))


def read_tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """What save_tensors wrote: the tensors and the decoded metadata. Raises ValueError when they do not match
    the SHA-256 written with them (or none was), and whatever safetensors raises on an unreadable file."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        # Copies, not views of the mapped file: what the checksum vouched for is what the caller uses.
        tensors = {k: f.get_tensor(k).clone() for k in f.keys()}  # noqa: SIM118 - safe_open is not iterable
        metadata = f.metadata() or {}
    problem = cache_files.tensors_problem(tensors, metadata)
    if problem:
        raise ValueError(problem)
    return tensors, {k: json.loads(v) for k, v in metadata.items() if k != cache_files.DIGEST_KEY}


def save_head(path: Path, head: torch.nn.Linear, info: dict[str, Any]) -> None:
    save_tensors(path, {"weight": head.weight.detach().float(), "bias": head.bias.detach().float()}, info)


def read_head(path: Path) -> tuple[torch.nn.Linear, dict[str, Any]]:
    tensors, info = read_tensors(path)
    weight, bias = tensors["weight"], tensors["bias"]
    head = torch.nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        head.weight.copy_(weight)
        head.bias.copy_(bias)
    return head.eval(), info


def load_or_train_head(
    task_id: str, model_id: str, encoder: Encoder, progress: Progress | None = None,
    score: Score = _accuracy, score_name: str = "val_accuracy",
) -> tuple[torch.nn.Linear, dict[str, Any]]:
    """The cached head when it was trained on exactly this model and data; otherwise train it (minutes for
    the largest model on 2 cores, with progress) and cache it."""
    splits = task_splits(task_id)
    train, val = splits.train, splits.validation
    fingerprint = data_fingerprint(model_id, (train.texts, train.labels), (val.texts, val.labels))
    path = head_path(task_id, model_id)
    cached = cache_files.cached_file(path, read_head)  # a damaged file is logged, removed and retrained once
    if cached is not None and cached[1].get("fingerprint") == fingerprint:
        return cached  # (another fingerprint: trained on other data, retrained and overwritten)
    report = progress or (lambda fraction, message: None)
    total = len(train) + len(val)

    def scaled(start: int, size: int) -> Progress:
        # Embedding is ~all of the work: map it onto 0..0.95 of the bar, the fit gets the rest.
        return lambda fraction, message: report(0.95 * (start + fraction * size) / total, message)

    train_x = embed(encoder, train.texts, progress=scaled(0, len(train)), what="training sentences")
    val_x = embed(encoder, val.texts, progress=scaled(len(train), len(val)), what="validation sentences")
    report(0.95, "Fitting the classification head")
    head, info = train_head(train_x, train.labels, val_x, val.labels, score=score, score_name=score_name)
    info.update(model_id=model_id, task_id=task_id, fingerprint=fingerprint, data=train.source)
    save_head(path, head, info)
    return head, info
