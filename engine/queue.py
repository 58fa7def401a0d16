"""The job queue the dashboard and the CLI submit to: validate a request, store it as a queued job, make sure
a worker will run it (engine.spawn); a job's status and its place in the queue.
"""

from __future__ import annotations

from engine.config import settings
from engine.requests import OptimizeRequest, RunRequest
from engine.spawn import ensure_worker, pid_alive
from engine.store import Job, Store


def submit_run(request: RunRequest, store: Store | None = None, start_worker: bool | None = None) -> int:
    """Validate, queue, and (unless RIGHTSIZE_NO_WORKER is set) make sure a worker will run it."""
    request = request.validated()
    return _queue(request.task, request.to_dict(), store, start_worker)


def submit_optimize(request: OptimizeRequest, store: Store | None = None, start_worker: bool | None = None) -> int:
    """Validate and queue a quality-floor search (spec kind "optimize"); the worker runs it like a run."""
    request = request.validated()
    return _queue(request.task, request.to_dict(), store, start_worker)


def _queue(task: str, spec: dict, store: Store | None, start_worker: bool | None) -> int:
    job_id = (store or Store()).submit(task, spec)
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


def queue_position(store: Store, job_id: int) -> int:
    """How many jobs will run before this queued one (a running job counts). 0 if it is not queued."""
    jobs = store.jobs(limit=10_000)
    me = next((j for j in jobs if j.id == job_id), None)
    if me is None or me.status != "queued":
        return 0
    return sum(1 for j in jobs if j.status == "running" or (j.status == "queued" and j.id < job_id))
