"""Technique spec strings: "name[:key=value[,key=value]]" steps joined with "+". Torch-free, so the dashboard
and the CLI validate input without loading a model.

    int8-dynamic
    prune-structured:keep=0.5+int8-dynamic
    layer-drop:keep=3+distill:teacher=mpnet-base+onnx-int8
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from engine.registry import MODELS, ParamSpec, TechniqueSpec, get_technique


@dataclass(frozen=True)
class Step:
    name: str
    params: dict[str, Any] = field(default_factory=dict)  # every parameter, defaults filled in

    def __str__(self) -> str:
        optional = {p.name: p.default for p in get_technique(self.name).params if p.optional}
        args = ",".join(f"{k}={v}" for k, v in self.params.items() if k not in optional or v != optional[k])
        return f"{self.name}:{args}" if args else self.name

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "params": dict(self.params)}


def _value(technique: TechniqueSpec, param: ParamSpec, raw: str) -> Any:
    form = f"Use {technique.form}"
    if param.kind == "model":
        if raw not in MODELS:
            raise ValueError(f"Unknown model '{raw}' for {technique.id}:{param.name}. {form} with one of: "
                             f"{', '.join(m for m in MODELS if MODELS[m].family == 'encoder')}.")
        return raw
    try:
        value = int(raw) if param.kind == "int" else float(raw)
    except ValueError:
        raise ValueError(f"{technique.id}:{param.name}={raw} is not a{'n integer' if param.kind == 'int' else ' number'}. "
                         f"{form} ({param.help}).") from None
    if not param.accepts(value):
        raise ValueError(f"{technique.id}:{param.name}={raw} is out of range: {param.range_text()}. {form}.")
    return value


def parse_step(text: str) -> Step:
    name, _, raw = text.strip().partition(":")
    technique = get_technique(name.strip())
    known = {p.name: p for p in technique.params}
    values = {p.name: p.default for p in technique.params}
    for item in filter(None, (s.strip() for s in raw.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in known:
            expected = ", ".join(known) or "no parameters"
            raise ValueError(f"Bad parameter '{item}' for {technique.id} (it takes {expected}). Use {technique.form}.")
        values[key] = _value(technique, known[key], value.strip())
    return Step(technique.id, values)


def parse_spec(spec: str) -> list[Step]:
    """Parse and validate a whole pipeline; errors name the valid form."""
    if not spec.strip():
        raise ValueError("Empty technique. Use e.g. int8-dynamic or prune-structured:keep=0.5+int8-dynamic.")
    steps = [parse_step(part) for part in spec.split("+")]
    for step in steps[:-1]:
        if get_technique(step.name).final:
            raise ValueError(f"{step.name} must be the last step of a pipeline: it leaves PyTorch for another runtime.")
    for earlier, later in itertools.combinations(steps, 2):  # a pipeline the engine can tell will fail is refused
        first, then = get_technique(earlier.name), get_technique(later.name)
        if then.packaged_file and not first.keeps_weights:
            raise ValueError(f"{later.name} cannot follow {earlier.name}: it runs the model's packaged file as it "
                             f"is, so the weights {earlier.name} changes would be ignored. Measure "
                             f"{earlier.name} and {later.name} as separate variants.")
        if first.leaves_fp32 and then.needs_fp32:
            if then.leaves_fp32:
                fix = f"use one precision step, {earlier.name} or {later.name}, not both."
            elif then.final:
                fix = f"drop {earlier.name}: {later.name} converts the fp32 model itself."
            else:
                fix = f"put {later.name} first, e.g. {later.name}+{earlier.name}."
            raise ValueError(f"{later.name} cannot follow {earlier.name}: it needs the fp32 weights that "
                             f"{earlier.name} replaced; {fix}")
    return steps


def canonical(spec: str) -> str:
    """The spec as stored: parameters in registry order, defaults written out."""
    return "+".join(str(step) for step in parse_spec(spec))


def split_techniques(text: str) -> tuple[str, ...]:
    """Split a comma-separated list of specs where parameters also use commas:
    "fp32,distill:teacher=mpnet-base,epochs=1,int8-dynamic" -> ("fp32", "distill:...,epochs=1", "int8-dynamic").
    A chunk that starts with "key=" continues the previous spec's parameters."""
    specs: list[str] = []
    for chunk in (c.strip() for c in text.split(",")):
        if not chunk:
            continue
        head = chunk.split("+")[0]
        if specs and "=" in head and ":" not in head:
            specs[-1] += "," + chunk
        else:
            specs.append(chunk)
    return tuple(specs)
