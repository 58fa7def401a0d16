"""What every technique handler receives and returns.

A handler is `apply(classifier, ctx, **params) -> TextModel`. It must not change the classifier it is
given (cached models are shared): it works on a copy and returns a new classifier. What it learns along the
way (achieved sparsity, a compressed size, a training curve, energy spent up front) goes into `ctx.details`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Progress = Callable[[float, str], None]


def _ignore(*args: Any, **kwargs: Any) -> None:
    return None


@dataclass
class TechniqueContext:
    task: str
    seed: int = 0
    region: str = "USA"
    progress: Progress = _ignore  # (fraction 0..1 of this step, message)
    curve: Callable[[dict[str, Any]], None] = _ignore  # training points: {"step", "loss", "val_accuracy", ...}
    details: dict[str, Any] = field(default_factory=dict)  # per step name: what the step measured or decided

    def report(self, step: str, **facts: Any) -> None:
        self.details.setdefault(step, {}).update(facts)
