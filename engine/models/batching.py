"""Tokenize once, batch by length, mean-pool: shared by prediction and head training so both see the same inputs."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch

MAX_LENGTH_TOKENS = 128


def length_sorted_batches(
    tokenizer: Any, texts: Sequence[str], batch_size: int = 32, max_length: int = MAX_LENGTH_TOKENS
) -> Iterator[tuple[list[int], torch.Tensor, torch.Tensor]]:
    """Yield (original indices, input_ids, attention_mask) with texts of similar length batched together.

    Padding a short sentence to the longest one in a random batch wastes most of the compute on pad tokens;
    sorting by token length keeps each batch tight. Callers put results back with the indices.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if not texts:  # tokenizers fail on an empty list
        return
    ids = tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    pad_id = tokenizer.pad_token_id or 0
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        width = max(len(ids[i]) for i in chunk)
        input_ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, i in enumerate(chunk):
            input_ids[row, : len(ids[i])] = torch.tensor(ids[i])
            mask[row, : len(ids[i])] = 1
        yield chunk, input_ids, mask


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average of the token vectors that are not padding. The mask takes the hidden dtype so a bfloat16
    model stays in bfloat16 instead of failing on a float32 x bfloat16 product."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)


def output_rows(tokenizer: Any, texts: Sequence[str], batch_size: int, max_length: int,
                run: Callable[[torch.Tensor, torch.Tensor], np.ndarray]) -> np.ndarray:
    """run(input_ids, mask) -> (batch, d) rows for every length-sorted batch, put back in the order of `texts`."""
    out: np.ndarray | None = None
    for indices, input_ids, mask in length_sorted_batches(tokenizer, texts, batch_size, max_length):
        rows = run(input_ids, mask)
        if out is None:
            out = np.empty((len(texts), rows.shape[1]), dtype=np.float32)
        out[indices] = rows
    return out if out is not None else np.empty((0, 0), dtype=np.float32)
