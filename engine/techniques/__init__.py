"""Compression techniques: one verb, `compress`, which never changes the classifier it is given.

A technique spec is a string (see engine.techniques.spec): steps joined with "+", each a registered technique
with optional parameters, e.g. "layer-drop:keep=3+distill:teacher=mpnet-base+onnx-int8". Each step's
handler is named in the registry ("module:function") and imported only when used, so validating a spec
stays light (no torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.registry import get_technique, resolve
from engine.techniques.base import TechniqueContext
from engine.techniques.spec import Step, canonical, parse_spec

if TYPE_CHECKING:
    from engine.models.text_model import TextModel

__all__ = ["Step", "TechniqueContext", "canonical", "compress", "parse_spec"]


def compress(classifier: TextModel, spec: str, ctx: TechniqueContext) -> TextModel:
    """Apply the spec's steps in order; each step's progress fills its share of the bar."""
    steps = parse_spec(spec)
    overall = ctx.progress
    try:
        for index, step in enumerate(steps):
            ctx.progress = lambda f, m, i=index: overall((i + f) / len(steps), m)
            ctx.progress(0.0, f"Applying {step}")
            handler = (_kind_handlers(ctx.task).get(step.name)
                       or get_technique(step.name).handler_for(getattr(classifier, "family", "")))
            classifier = resolve(handler)(classifier, ctx, **step.params)
    finally:
        ctx.progress = overall
    return classifier


def _kind_handlers(task_id: str) -> dict[str, str]:
    """Techniques a task's kind implements itself (images: ONNX export from pixels, channel pruning)."""
    from engine.tasks import kind_of

    try:
        return getattr(kind_of(task_id), "handlers", {})
    except ValueError:  # a test double's task
        return {}
