"""The task-kind seam: what every kind of task provides, so that a trial, the techniques and the decisions
never assume classification.

A kind (one module: text_classification.py, retrieval.py, ...) provides
- `load`: a servable model for a task (an encoder with the task's head, a baseline, ...);
- `workload`: the queries a trial serves while it measures speed and energy, how one user query runs
  (batch-1 latency), and how the outputs of one pass are scored (a Quality: metric, value, 95% CI, extras);
- `signal`: the training signal that pruning, distillation and retraining need (texts, targets, a loss on
  model outputs, a validation score);
- `output_name`: what an exported ONNX graph calls its output;
- `not_applicable`: techniques that cannot apply to the kind, with the reason a "does not apply" record gives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from engine.tasks.scoring import Quality

if TYPE_CHECKING:
    import numpy as np
    import torch

    from engine.registry import ModelSpec, TaskSpec

Progress = Callable[[float, str], None]


class Servable(Protocol):
    """What a trial measures: texts in, one output row per text (logits, an embedding) out."""

    name: str
    family: str
    module: Any  # a torch module techniques may transform, or None (ONNX Runtime, rule-based, TF-IDF)
    tokenizer: Any
    info: dict[str, Any]
    max_length: int

    def outputs(self, texts: Sequence[str], batch_size: int = 32) -> Any: ...  # (n, d) array or sparse matrix
    def with_module(self, module: Any) -> Servable: ...
    def num_parameters(self) -> int: ...
    def size_bytes(self) -> int: ...


@dataclass
class Workload:
    """The measured work of a trial and how its answers are scored."""

    texts: list[str]  # served at batch 32 in the measured window (indexing, for search)
    score: Callable[[Any], Quality]  # quality from the outputs of one pass over `texts`
    # one user query at batch 1, given the outputs of a pass over `texts` (for search: embed, look up that index)
    query: Callable[[Servable, str, Any], Any]
    source: str  # provenance of the test data
    queries: list[str] | None = None  # what users send one at a time (default: texts); for search the questions
    # quality read from the model itself after the measured window (generation: bits per byte on held-out
    # text), given the outputs of the first pass; None: `score` the outputs
    evaluate: Callable[[Servable, Any], Quality] | None = None
    latency_queries: int | None = None  # single queries timed (default: the trial's 100); a response takes seconds

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class TrainingSignal:
    """What training and importance scoring optimise, in terms of model outputs (torch tensors)."""

    texts: Sequence[str]  # training texts
    targets: Sequence[int]  # one target per text (class; question type for search); -1: unlabelled
    validation_texts: Sequence[str]
    validation_targets: Sequence[int]
    # (student outputs, targets) -> mean loss over the labelled items (targets of -1 are skipped)
    label_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    # (student outputs, teacher outputs, temperature) -> how far the student is from the teacher
    teacher_loss: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]
    # (outputs of the validation texts, their targets) -> a score, higher is better (early stopping, checks)
    validation_score: Callable[[np.ndarray, Sequence[int]], float]
    score_name: str  # what validation_score is, for curves and reports: "val_accuracy", "val_precision@10"
    source: str
    extras: dict[str, Any] = field(default_factory=dict)


class TaskKind(Protocol):
    id: str
    output_name: str
    not_applicable: dict[str, str]  # technique id -> why it cannot apply to this kind

    def load(self, task: TaskSpec, model: ModelSpec, progress: Progress | None = None) -> Servable: ...
    def workload(self, task: TaskSpec, test_set: str, eval_size: int, seed: int = 0) -> Workload: ...
    def signal(self, task: TaskSpec, seed: int = 0) -> TrainingSignal: ...
