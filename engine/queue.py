"""The job queue the dashboard and the CLI submit to: validate a request, store it as a queued job (once: an
identical queued or running job is joined instead), make sure a worker will run it (engine.spawn); a job's
status, its place in the round-robin order (engine.fairness) and the wait estimated from measured durations.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass

from engine.config import settings
from engine.fairness import run_order
from engine.requests import OptimizeRequest, RunRequest
from engine.spawn import ensure_worker, pid_alive
from engine.store import Job, Store

MAX_QUEUED_TRIALS = 24  # per session (RIGHTSIZE_MAX_QUEUED_TRIALS): one person cannot fill a room's queue
SEARCH_TRIALS_ESTIMATE = 10  # a leanest-variant search measures 6-14 candidates (engine.optimize_plan)
DEFAULT_TRIAL_S = 60.0  # a trial's duration before anything was measured on this store


class QueueFullError(ValueError):
    """A session asked for more queued trials than its share of the queue."""


def max_queued_trials() -> int:
    return int(os.environ.get("RIGHTSIZE_MAX_QUEUED_TRIALS", MAX_QUEUED_TRIALS))


def job_trials(job: Job) -> int:
    """How many trials a job will measure (a search's count is an estimate)."""
    if job.kind == "optimize":
        return SEARCH_TRIALS_ESTIMATE
    return len(job.spec.get("models", ())) * len(job.spec.get("techniques", ()))


def submit_run(request: RunRequest, store: Store | None = None, start_worker: bool | None = None,
               owner: str = "") -> int:
    """Validate, queue (or join the identical queued/running job), and (unless RIGHTSIZE_NO_WORKER is set)
    make sure a worker will run it. `owner` (a session's token) gets a fair turn and a cap on queued trials."""
    request = request.validated()
    return _queue(request.task, request.to_dict(), store, start_worker, owner)


def submit_optimize(request: OptimizeRequest, store: Store | None = None, start_worker: bool | None = None,
                    owner: str = "") -> int:
    """Validate and queue a quality-floor search (spec kind "optimize"); the worker runs it like a run."""
    request = request.validated()
    return _queue(request.task, request.to_dict(), store, start_worker, owner)


def _queue(task: str, spec: dict, store: Store | None, start_worker: bool | None, owner: str) -> int:
    new = Job(0, task, spec, "queued", 0.0, "", "", None, "", None, None, owner=owner)

    def admit(active: list[Job]) -> None:
        if not owner:
            return
        mine = sum(job_trials(j) for j in active if j.owner == owner and j.status == "queued")
        cap = max_queued_trials()
        if mine + job_trials(new) > cap:
            raise QueueFullError(
                f"You already have {mine} trial{'s' * (mine != 1)} waiting; each session may queue up to {cap} so "
                f"everyone in the room gets a turn. Wait for one of your runs to start, or cancel one.")

    job_id, _ = (store or Store()).submit_once(task, spec, owner, admit)
    if settings().autostart_worker if start_worker is None else start_worker:
        ensure_worker()
    return job_id


def job_status(job_id: int, store: Store | None = None) -> Job | None:
    """The job as stored, after failing any running job whose worker has died (and restarting the queue)."""
    store = store or Store()
    orphans = store.fail_orphans(pid_alive)
    if orphans and settings().autostart_worker and any(j.status == "queued" for j in store.jobs(limit=50)):
        ensure_worker()
    return store.job(job_id)


@dataclass(frozen=True)
class QueueRow:
    """One queued or running job as the Run page lists it."""

    job: Job
    position: int  # 0 = running now; 1 = next; ...
    wait_s: float  # estimated seconds until it starts (0 when running)
    remaining_s: float  # estimated seconds until it ends
    trials: int

    @property
    def running(self) -> bool:
        return self.job.status == "running"


def queue_view(store: Store) -> list[QueueRow]:
    """Running jobs, then queued ones in the order they will start (the worker's round robin), each with the
    wait estimated from this store's measured trial durations."""
    active, last_started = store.queue_state()
    running = [j for j in active if j.status == "running"]
    queued = run_order([j for j in active if j.status == "queued"], last_started)
    durations = trial_durations(store)
    rows, clock = [], 0.0
    for position, job in enumerate([*running, *queued]):
        total = _job_seconds(job, durations)
        remaining = total * (1.0 - job.progress) if job.status == "running" else total
        wait = 0.0 if job.status == "running" else clock
        rows.append(QueueRow(job, 0 if job.status == "running" else position - len(running) + 1, wait,
                             wait + remaining, job_trials(job)))
        clock = max(clock, remaining) if job.status == "running" else clock + remaining
    return rows


def queue_position(store: Store, job_id: int) -> int:
    """How many jobs will run before this queued one (a running job counts). 0 if it is not queued."""
    return jobs_ahead(queue_view(store), job_id)


def jobs_ahead(rows: list[QueueRow], job_id: int) -> int:
    """queue_position from rows already read (the Run page has them)."""
    me = next((r for r in rows if r.job.id == job_id), None)
    if me is None or me.running:
        return 0
    return sum(1 for r in rows if r.running) + me.position - 1


_durations_cache: dict[tuple, dict[tuple[str, str], float]] = {}


def trial_durations(store: Store) -> dict[tuple[str, str], float]:
    """Median measured seconds per (model, technique), with (model, ""), ("", technique) and ("", "") as
    fallbacks; read once per change of the store's trials."""
    key = (str(store.path), store.trials_marker())
    if key not in _durations_cache:
        seen: dict[tuple[str, str], list[float]] = {}
        for model, technique, seconds in store.trial_durations():
            for k in ((model, technique), (model, ""), ("", technique), ("", "")):
                seen.setdefault(k, []).append(seconds)
        _durations_cache.clear()
        _durations_cache[key] = {k: statistics.median(v) for k, v in seen.items()}
    return _durations_cache[key]


def _job_seconds(job: Job, durations: dict[tuple[str, str], float]) -> float:
    def one(model: str, technique: str) -> float:
        for k in ((model, technique), ("", technique), ("", "")):
            if k in durations:
                return durations[k]
        return DEFAULT_TRIAL_S

    if job.kind == "optimize":
        return SEARCH_TRIALS_ESTIMATE * one(job.spec.get("model", ""), "")
    return sum(one(m, t) for m in job.spec.get("models", ()) for t in job.spec.get("techniques", ()))
