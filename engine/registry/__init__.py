"""Tasks, metrics, models and techniques as data, and the lookups that turn names into entries.

Adding a model or a task means adding an entry to models.py or tasks.py. Loaders are "module:function"
strings resolved lazily, so importing the registry (the CLI's `tasks`, the dashboard's pickers) does not
import torch.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import importlib.metadata
import importlib.util
from collections.abc import Callable, Iterable
from typing import Any

from engine.registry.errors import ChoiceError, NotInstalledError, OfflineError
from engine.registry.models import MODELS, PACK_INSTALL
from engine.registry.specs import (
    MetricSpec,
    ModelSpec,
    ParamSpec,
    TaskSpec,
    TechniqueSpec,
    TestSetSpec,
    WeightsSpec,
)
from engine.registry.tasks import METRICS, OWN_DATA_PREFIX, TASKS, own_data_task
from engine.registry.techniques import TECHNIQUES

__all__ = [
    "MODELS", "METRICS", "PACK_INSTALL", "TASKS", "TECHNIQUES", "ChoiceError", "MetricSpec", "ModelSpec",
    "NotInstalledError", "OfflineError", "ParamSpec", "TaskSpec", "TechniqueSpec", "TestSetSpec", "WeightsSpec",
    "closest", "get_metric", "get_model", "get_task", "get_technique", "get_test_set", "hub_model", "is_hub_id",
    "is_installed", "metric_of", "require_installed", "task_metric", "resolve", "task_data", "test_data", "transfer_data",
]


def closest(name: str, choices: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.4)
    return matches[0] if matches else None


def _choose(kind: str, name: str, table: dict[str, Any]) -> Any:
    if name in table:
        return table[name]
    hint = closest(name, table)
    did_you_mean = f" Did you mean '{hint}'?" if hint else ""
    raise ChoiceError(f"Unknown {kind} '{name}'.{did_you_mean} Available: {', '.join(table)}.")


def get_task(task_id: str) -> TaskSpec:
    """A catalog task, or a stored upload ("csv-<hash>", see engine.datasets.own)."""
    if task_id.startswith(OWN_DATA_PREFIX) and task_id not in TASKS:
        return own_data_task(task_id)
    return _choose("task", task_id, TASKS)


def get_metric(metric_id: str) -> MetricSpec:
    return _choose("metric", metric_id, METRICS)


def metric_of(task_id: str) -> MetricSpec:
    """The headline metric of a task; accuracy for a task this install does not know (an old record)."""
    try:
        return task_metric(get_task(task_id))
    except ValueError:
        return METRICS["accuracy"]


def task_metric(task: TaskSpec) -> MetricSpec:
    """The task's metric under the task's own name for it, if it has one ("Spam F1")."""
    metric = METRICS[task.metric]
    title = task.extra.get("metric_title")
    return dataclasses.replace(metric, title=title) if title else metric


def task_data(task: TaskSpec, seed: int = 0) -> Any:
    """The task's Splits (train / validation / test), from its registry loader."""
    return resolve(task.data_loader)(*task.data_args, seed=seed)


def test_data(task: TaskSpec, test_set_id: str, seed: int = 0) -> Any:
    return resolve(get_test_set(task, test_set_id).loader)(*task.data_args, seed=seed)


def transfer_data(task: TaskSpec, seed: int = 0) -> Any:
    """Unlabelled texts a teacher may label for distillation; ValueError when the task has none."""
    if not task.transfer_loader:
        raise ValueError(f"Task '{task.id}' has no unlabelled texts for distillation: use transfer=0.")
    return resolve(task.transfer_loader)(*task.data_args, seed=seed)


def get_model(model_id: str, task: TaskSpec | None = None) -> ModelSpec:
    if task is not None and model_id not in task.models and model_id in MODELS:
        raise ChoiceError(
            f"Model '{model_id}' is not on the ladder of task '{task.id}'. Available: {', '.join(task.models)}."
        )
    if model_id not in MODELS and is_hub_id(model_id):
        return hub_model(model_id)
    table = {m: MODELS[m] for m in task.models} if task else MODELS
    return _choose("model", model_id, table)


def get_technique(technique_id: str) -> TechniqueSpec:
    """One technique by name; a whole spec string ("a:k=v+b") is parsed by engine.techniques.spec."""
    return _choose("technique", technique_id, TECHNIQUES)


def get_test_set(task: TaskSpec, test_set_id: str) -> TestSetSpec:
    return _choose("test set", test_set_id, {s.id: s for s in task.test_sets})


def is_hub_id(name: str) -> bool:
    """A hub id ("org/name") or a local folder, which the generic encoder loader accepts."""
    return "/" in name


def hub_model(name: str) -> ModelSpec:
    from pathlib import Path

    from engine.config import settings

    if settings().offline and not Path(name).expanduser().is_dir():
        raise OfflineError(
            f"'{name}' looks like a model-hub id, but Rightsize runs offline (RIGHTSIZE_OFFLINE=1), so it cannot "
            f"be downloaded. Use an installed model ({', '.join(MODELS)}), a local folder with a safetensors "
            "model, or set RIGHTSIZE_OFFLINE=0 on a machine that reaches the hub."
        )
    return ModelSpec(
        id=name,
        family="encoder",
        params_m=0.0,
        source=f"hub id or local folder '{name}' (safetensors only, no remote code)",
        weights=WeightsSpec("hub"),
        install="",
        hub_id=name,
    )


def is_installed(model: ModelSpec) -> bool:
    return all(_package_present(p) for p in model.weights.packages)


def _package_present(package: str) -> bool:
    if "-" in package:  # a distribution name (folder names with hyphens cannot be imported)
        try:
            importlib.metadata.distribution(package)
            return True
        except importlib.metadata.PackageNotFoundError:
            return False
    return importlib.util.find_spec(package) is not None


def require_installed(model: ModelSpec) -> None:
    if not is_installed(model):
        raise NotInstalledError(f"Model '{model.id}' is not installed. Install it with: {model.install}")


def resolve(ref: str) -> Callable[..., Any]:
    """Turn a "module:function" string into the function, importing the module only now."""
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)
