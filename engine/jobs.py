"""Run requests and the job queue the dashboard and the CLI submit to.

The dashboard never measures inside the Streamlit server: it validates a RunRequest, stores it as a queued
job and makes sure one worker process (engine.worker) is running. The worker runs jobs one at a time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import asdict, dataclass, field

from engine.config import settings
from engine.registry import get_model, get_task, get_test_set, require_installed
from engine.store import Job, Store
from engine.techniques.spec import canonical

EVAL_SIZE_RANGE = (20, 5000)


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
    store = store or Store()
    job_id = store.submit(request.task, request.to_dict())
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
