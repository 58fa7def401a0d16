"""The shapes of the registry's data: metrics, weights, models, test sets, tasks, technique parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MetricSpec:
    """How a task's quality is scored, in words an executive can read."""

    id: str
    title: str  # short label for charts and cards: "Accuracy", "Spam F1", "Precision@10"
    meaning: str  # one plain line: what the number says
    higher_is_better: bool = True
    low: float = 0.0  # the metric's possible range (a correlation reaches -1)
    high: float = 1.0


@dataclass(frozen=True)
class WeightsSpec:
    """Where a model's weights come from. `format` names one loader in engine.models.sources.FORMATS, so a
    model in a known format is a registry entry, not new code."""

    format: str  # "package-folder" | "split-zip" | "onnx-bert" | "vader" | "tfidf" | "hub" | "gguf"
    packages: tuple[str, ...] = ()  # distributions or import names whose presence means "installed"
    path: str = ""  # inside the package: the model folder, or the file suffix to find
    tokenizer_from: str = ""  # another model whose tokenizer this one uses (an ONNX file ships none)
    sha256: str = ""  # of the (joined) weights file, pinned: a file that differs is refused, never loaded


@dataclass(frozen=True)
class ModelSpec:
    id: str
    family: str  # "rule-based" | "classic" (no neural parameters) | "encoder" | "llm" (a causal language model)
    params_m: float  # nominal size in millions of parameters; trials count the real number
    source: str  # where the weights come from, in words
    weights: WeightsSpec
    install: str  # command that installs it
    layers: int = 0  # transformer layers (0: none); the search plans layer-drop from it before loading
    memory_mb: int = 0  # peak memory of a trial, measured: what a machine needs to run it
    memory_mb_bf16: int = 0  # the same in bfloat16 (0: not measured; memory_mb applies)
    memory_mb_gguf: int = 0  # the same in llama.cpp from the packaged GGUF file (0: not measured)
    hub_id: str = ""  # the same model on a model hub, for online users

    @property
    def package(self) -> str:
        """The last package of the weights: installed means every one of them is present."""
        return self.weights.packages[-1] if self.weights.packages else ""


@dataclass(frozen=True)
class TestSetSpec:
    id: str
    title: str
    loader: str  # "module:function" returning the test data the task's kind scores


@dataclass(frozen=True)
class TaskSpec:
    id: str
    title: str  # what a user wants done, in their words: "Flag spam text messages"
    description: str  # one plain sentence for executives
    kind: str  # a key of engine.tasks.KINDS: "text-classification" | "retrieval"
    labels: tuple[str, ...]  # class names (classification); empty for retrieval
    data_loader: str  # "module:function" returning the task's Splits (train / validation / test)
    test_sets: tuple[TestSetSpec, ...]
    models: tuple[str, ...]  # the model ladder, smallest to largest
    default_models: tuple[str, ...]
    metric: str = "accuracy"  # a key of METRICS: the headline quality
    positive_label: int = 1  # the class an F1 metric is about (spam)
    default_techniques: tuple[str, ...] = ("fp32", "int8-dynamic")
    transfer_loader: str = ""  # "module:function" returning unlabelled Texts a teacher may label (distillation)
    data_note: str = ""  # data, split and caveats in one paragraph (methodology)
    data_args: tuple[str, ...] = ()  # leading arguments of every data loader (an uploaded dataset's id)
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
    handler: str  # "module:function" with signature (model, ctx, **params) -> model
    params: tuple[ParamSpec, ...] = ()
    final: bool = False  # leaves PyTorch (e.g. for ONNX Runtime): must be the last step of a pipeline
    needs_fp32: bool = False  # reads or trains fp32 weights: cannot follow a step that leaves fp32
    leaves_fp32: bool = False  # the weights are int8 or bf16 afterwards
    family_handlers: tuple[tuple[str, str], ...] = ()  # (model family, handler) where a family needs its own
    keeps_weights: bool = False  # leaves the weights as they are (a prompt change): may precede packaged_file
    packaged_file: bool = False  # runs the model's packaged file itself: only keeps_weights steps before it

    def handler_for(self, family: str) -> str:
        return dict(self.family_handlers).get(family, self.handler)

    @property
    def form(self) -> str:
        """The spec string with default parameters, e.g. prune-structured:keep=0.5."""
        args = ",".join(f"{p.name}={p.default}" for p in self.params)
        return f"{self.id}:{args}" if args else self.id
