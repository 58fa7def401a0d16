"""What the dashboard and the CLI ask the engine to measure: a run (models x techniques) or a quality-floor
search, each validated here with the ranges the pages offer. The queue (engine.queue) stores them as jobs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from engine import registry
from engine.config import settings
from engine.objectives import OBJECTIVES
from engine.registry import MODELS, TaskSpec, _choose, get_model, get_task, get_test_set, require_installed
from engine.techniques.spec import canonical

EVAL_SIZE_RANGE = (20, 5000)
MAX_DROP_PTS_RANGE = (0.0, 50.0)  # points of the task's metric (0.01 = 1 point)
NO_TEACHER = "none"


@dataclass(frozen=True)
class RunRequest:
    task: str
    models: tuple[str, ...]
    techniques: tuple[str, ...]
    eval_size: int = 300
    region: str = field(default_factory=lambda: settings().default_region)
    test_set: str = ""  # "" means the task's first test set
    seed: int = 0
    remeasure: bool = False  # measure every trial again, even one already measured here (engine.reuse)
    cluster: str = ""  # a Ray cluster's address: measure there (engine.cluster); "" = on this machine
    every_node: bool = False  # on a cluster: each trial on every measuring node, not once on any free one

    def validated(self) -> RunRequest:
        """Check every name and number; raise ChoiceError/ValueError with a clear message. Returns a normalized copy."""
        from engine.carbon import grid_intensity

        task = get_task(self.task)
        if not self.models:
            raise ValueError(f"Pick at least one model. Available for '{task.id}': {', '.join(task.models)}.")
        if not self.techniques:
            raise ValueError("Pick at least one technique.")
        for model in self.models:
            require_installed(get_model(model, task))
        techniques = tuple(dict.fromkeys(canonical(t) for t in self.techniques))
        low, high = EVAL_SIZE_RANGE
        if not low <= int(self.eval_size) <= high:
            raise ValueError(f"Eval size must be between {low} and {high} items (got {self.eval_size}).")
        test_set = get_test_set(task, self.test_set).id if self.test_set else task.test_sets[0].id
        region = grid_intensity(self.region).region
        cluster = self.cluster.strip()
        if cluster:
            from engine.cluster import require_ray

            require_ray()
        elif self.every_node:
            raise ValueError("'every node' needs a cluster: give its address (--cluster or RAY_ADDRESS).")
        return RunRequest(task.id, tuple(dict.fromkeys(self.models)), techniques,
                          int(self.eval_size), region, test_set, int(self.seed), bool(self.remeasure), cluster,
                          bool(self.every_node))

    def trials(self) -> list[tuple[str, str]]:
        return [(m, t) for m in self.models for t in self.techniques]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RunRequest:
        return cls(**{**data, "models": tuple(data["models"]), "techniques": tuple(data["techniques"])})


@dataclass(frozen=True)
class OptimizeRequest:
    """A quality-floor search (engine.optimize): the leanest variant of `model` within `max_drop_pts` of its fp32."""

    task: str
    model: str
    max_drop_pts: float = 1.0
    objective: str = "energy"  # a key of engine.objectives.OBJECTIVES: energy | latency | size
    eval_size: int = 300
    region: str = field(default_factory=lambda: settings().default_region)
    test_set: str = ""
    seed: int = 0
    teacher: str = ""  # "" = the largest installed model above `model` on the task's ladder; "none" = no distillation

    def validated(self) -> OptimizeRequest:
        """Check every name and number (RunRequest's checks for task, model, eval size, test set, region);
        resolve the teacher ("" becomes a model id or "none"). Returns a normalized copy."""
        run = RunRequest(self.task, (self.model,), ("fp32",), self.eval_size, self.region, self.test_set,
                         self.seed).validated()
        task = get_task(run.task)
        model = get_model(self.model, task)
        if model.family != "encoder":
            encoders = ", ".join(m for m in task.models if m in MODELS and MODELS[m].family == "encoder")
            raise ValueError(f"'{model.id}' is a {model.family} model: it has no weights to compress. "
                             f"Pick an encoder: {encoders}.")
        _choose("objective", self.objective, OBJECTIVES)
        low, high = MAX_DROP_PTS_RANGE
        if not low <= float(self.max_drop_pts) <= high:
            raise ValueError(f"The maximum drop must be between {low:g} and {high:g} points (got {self.max_drop_pts}).")
        return OptimizeRequest(run.task, run.models[0], float(self.max_drop_pts), self.objective, run.eval_size,
                               run.region, run.test_set, run.seed, self._teacher(task))

    def _teacher(self, task: TaskSpec) -> str:
        if self.teacher == NO_TEACHER:
            return NO_TEACHER
        if not self.teacher:
            return default_teacher(task, self.model)
        teacher = get_model(self.teacher, task)
        require_installed(teacher)
        if teacher.family not in ("encoder", "llm") or teacher.id not in MODELS:
            raise ValueError(f"Teacher '{self.teacher}' must be an installed encoder or LLM from the pack "
                             f"({', '.join(m for m in task.models if MODELS[m].family in ('encoder', 'llm'))}) "
                             "or 'none'.")
        if teacher.id == self.model:
            raise ValueError(f"'{self.model}' cannot teach itself: pick a bigger teacher or 'none'.")
        return teacher.id

    def to_dict(self) -> dict:
        return {**asdict(self), "kind": "optimize"}

    @classmethod
    def from_dict(cls, data: dict) -> OptimizeRequest:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def default_teacher(task: TaskSpec, model_id: str) -> str:
    """The largest installed encoder above `model_id` on the task's ladder (smallest to largest), else "none"."""
    if model_id not in task.models:
        return NO_TEACHER  # a hub model's size is unknown: no teacher is picked for it
    above = task.models[task.models.index(model_id) + 1:]
    bigger = [m for m in above if MODELS[m].family == "encoder" and registry.is_installed(MODELS[m])]
    return bigger[-1] if bigger else NO_TEACHER
