"""Task kinds: one module per kind of task, chosen from KINDS by TaskSpec.kind (see base.py for the seam).

Trials, techniques and decisions call a task's kind instead of assuming classification. Adding a kind is one
module with a KIND object and one line here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from engine.registry import TaskSpec, get_model, get_task, get_technique, require_installed, resolve

if TYPE_CHECKING:
    from engine.tasks.base import Progress, Servable, TaskKind

KINDS: dict[str, str] = {
    "text-classification": "engine.tasks.text_classification:KIND",
    "retrieval": "engine.tasks.retrieval:KIND",
    "image-classification": "engine.tasks.image_classification:KIND",
    "generation": "engine.tasks.generation:KIND",
}


def kind_of(task: TaskSpec | str) -> TaskKind:
    spec = get_task(task) if isinstance(task, str) else task
    if spec.kind not in KINDS:
        raise ValueError(f"Task '{spec.id}' is of kind '{spec.kind}', which this version cannot run. "
                         f"Known kinds: {', '.join(KINDS)}.")
    return resolve(KINDS[spec.kind])


def load_model(task_id: str, model_id: str, progress: Progress | None = None) -> Servable:
    """A ready model for the task (an encoder with the task's head, a baseline, ...), as its kind builds it."""
    task = get_task(task_id)
    model = get_model(model_id, task)
    require_installed(model)
    return kind_of(task).load(task, model, progress)


def does_not_apply(task: TaskSpec, family: str, spec: str, steps: Sequence[str]) -> str:
    """Why the pipeline `spec` (its step names: `steps`) cannot run on this task's kind or this model family;
    "" when it can."""
    kind = kind_of(task)
    if any(family not in get_technique(name).applies_to for name in steps):
        return f"'{spec}' does not apply to a {family} model."
    for name in steps:
        if name in kind.not_applicable:
            return f"'{name}' does not apply to a {task.kind} task: {kind.not_applicable[name]}"
    return ""
