"""Calibration data for static quantization (onnx-int8-static, ov-int8): sentences of the task's TRAIN split,
never its test data, tokenized and batched as serving batches them (length-sorted, padded per batch), so the
activation ranges seen are the ones served.

Why 256 sentences in batches of 32 (8 batches): NNCF's and ONNX Runtime's min/max ranges settle within a few
hundred samples; on the AMX Xeon 8 batches gave OpenVINO int8 within a point of fp32 (issue 10's figures).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.models.batching import MAX_LENGTH_TOKENS, length_sorted_batches

CALIBRATION_SENTENCES = 256
CALIBRATION_BATCH = 32


@dataclass(frozen=True)
class Calibration:
    batches: list[dict[str, np.ndarray]]  # the graph's inputs, one dict per batch
    texts: tuple[str, ...]  # what was read, for tests and provenance
    source: str

    def facts(self) -> dict[str, Any]:
        return {"calibration_split": "train", "calibration_sentences": len(self.texts),
                "calibration_batches": len(self.batches), "calibration_source": self.source}


def calibration_data(task_id: str, tokenizer: Any, seed: int = 0, max_length: int = MAX_LENGTH_TOKENS,
                     sentences: int = CALIBRATION_SENTENCES) -> Calibration:
    """A fixed-seed sample of the task's training sentences, as model inputs."""
    from engine.models.heads import task_splits  # the one place task data comes from (tests route it)

    train = task_splits(task_id).train.sample(sentences, seed)
    batches = [{"input_ids": ids.numpy(), "attention_mask": mask.numpy()}
               for _, ids, mask in length_sorted_batches(tokenizer, train.texts, CALIBRATION_BATCH, max_length)]
    return Calibration(batches, train.texts, train.source)
