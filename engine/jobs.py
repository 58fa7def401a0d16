"""Run requests and the job queue the dashboard and the CLI submit to.

The dashboard never measures inside the Streamlit server: it validates a RunRequest, stores it as a queued
job and makes sure one worker process (engine.worker) is running. The worker runs jobs one at a time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import asdict, dataclass, field, fields

from engine import registry
from engine.config import settings
from engine.registry import MODELS, TaskSpec, _choose, get_model, get_task, get_test_set, require_installed
from engine.store import Job, Store
from engine.techniques.spec import canonical

EVAL_SIZE_RANGE = (20, 5000)
MAX_DROP_PTS_RANGE = (0.0, 50.0)  # accuracy points (0.01 accuracy = 1 point)
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
        return RunRequest(task.id, tuple(dict.fromkeys(self.models)), techniques,
                          int(self.eval_size), region, test_set, int(self.seed))

    def trials(self) -> list[tuple[str, str]]:
        return [(m, t) for m in self.models for t in self.techniques]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RunRequest:
        return cls(**{**data, "models": tuple(data["models"]), "techniques": tuple(data["techniques"])})


@dataclass(frozen=True)
class OptimizeRequest:
    """An accuracy-floor search (engine.optimize): the leanest variant of `model` within `max_drop_pts` of its fp32."""

    task: str
    model: str
    max_drop_pts: float = 1.0
    objective: str = "energy"  # a key of engine.optimize.OBJECTIVES: energy | latency | size
    eval_size: int = 300
    region: str = field(default_factory=lambda: settings().default_region)
    test_set: str = ""
    seed: int = 0
    teacher: str = ""  # "" = the largest installed model above `model` on the task's ladder; "none" = no distillation

    def validated(self) -> OptimizeRequest:
        """Check every name and number (RunRequest's checks for task, model, eval size, test set, region);
        resolve the teacher ("" becomes a model id or "none"). Returns a normalized copy."""
        from engine.optimize import OBJECTIVES

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
            raise ValueError(f"Max accuracy drop must be between {low:g} and {high:g} points (got {self.max_drop_pts}).")
        return OptimizeRequest(run.task, run.models[0], float(self.max_drop_pts), self.objective, run.eval_size,
                               run.region, run.test_set, run.seed, self._teacher(task))

    def _teacher(self, task: TaskSpec) -> str:
        if self.teacher == NO_TEACHER:
            return NO_TEACHER
        if not self.teacher:
            return default_teacher(task, self.model)
        teacher = get_model(self.teacher, task)
        require_installed(teacher)
        if teacher.family != "encoder" or teacher.id not in MODELS:
            raise ValueError(f"Teacher '{self.teacher}' must be an installed encoder from the pack "
                             f"({', '.join(m for m in task.models if MODELS[m].family == 'encoder')}) or 'none'.")
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


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed child not yet reaped) is dead for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return True


def submit_run(request: RunRequest, store: Store | None = None, start_worker: bool | None = None) -> int:
    """Validate, queue, and (unless RIGHTSIZE_NO_WORKER is set) make sure a worker will run it."""
    request = request.validated()
    return _queue(request.task, request.to_dict(), store, start_worker)


def submit_optimize(request: OptimizeRequest, store: Store | None = None, start_worker: bool | None = None) -> int:
    """Validate and queue an accuracy-floor search (spec kind "optimize"); the worker runs it like a run."""
    request = request.validated()
    return _queue(request.task, request.to_dict(), store, start_worker)


def _queue(task: str, spec: dict, store: Store | None, start_worker: bool | None) -> int:
    job_id = (store or Store()).submit(task, spec)
    if settings().autostart_worker if start_worker is None else start_worker:
        ensure_worker()
    return job_id


def ensure_worker() -> None:
    """Start a worker in its own session unless one already holds the worker lock (it exits at once if so)."""
    from engine.worker import worker_running

    if worker_running():
        return
    log = settings().home / "worker.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        subprocess.Popen(
            [sys.executable, "-m", "engine", "worker"],
            stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True, env=os.environ.copy(),
        )


def job_status(job_id: int, store: Store | None = None) -> Job | None:
    """The job as stored, after failing any running job whose worker has died (and restarting the queue)."""
    store = store or Store()
    orphans = store.fail_orphans(pid_alive)
    if orphans and settings().autostart_worker and any(j.status == "queued" for j in store.jobs(limit=50)):
        ensure_worker()
    return store.job(job_id)
