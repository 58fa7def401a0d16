"""The worker process: takes queued jobs one at a time and writes their results to the store.

Exactly one worker runs per RIGHTSIZE_HOME (it holds worker.lock for its lifetime). Jobs left "running" by a
worker that died (kill -9) are marked failed when the next worker starts or when the dashboard polls.
After IDLE_EXIT_S without work the worker exits; the dashboard starts a new one on the next submission.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from pathlib import Path
from typing import IO

from engine.config import settings
from engine.jobs import OptimizeRequest, RunRequest, pid_alive
from engine.optimize import job_summary, run_optimize
from engine.runner import CurveSink, Progress, run_request
from engine.store import Store

IDLE_EXIT_S = 600.0
POLL_S = 0.5
log = logging.getLogger("rightsize.worker")


def _lock_path() -> Path:
    path = settings().home / "worker.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _try_lock() -> IO[str] | None:
    handle = open(_lock_path(), "w")  # noqa: SIM115 - held open for the worker's lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return handle
    except BlockingIOError:
        handle.close()
        return None


def worker_running() -> bool:
    handle = _try_lock()
    if handle is None:
        return True
    handle.close()  # closing releases the probe's lock
    return False


def _sinks(store: Store, job_id: int) -> tuple[Progress, CurveSink]:
    """Progress and live training curves of a job, written to the store as they come."""
    return (lambda f, m: store.update_progress(job_id, f, m),
            lambda model, technique, point: store.add_curve_point(job_id, model, technique, point))


def run_job(store: Store, job_id: int, request: RunRequest) -> None:
    failures = []
    progress, curve = _sinks(store, job_id)
    for record in run_request(request, job_id, progress, curve):
        store.add_trial(record)
        if record.status == "failed":
            failures.append(f"{record.model} · {record.technique}: {record.error}")
    total = len(request.trials())
    error = ""
    if failures and len(failures) == total:
        error = "Every trial failed. " + " | ".join(failures)
    store.finish(job_id, error)
    if failures and not error:
        store.update_message(job_id, f"finished; {len(failures)} of {total} trials failed")


def run_optimize_job(store: Store, job_id: int, request: OptimizeRequest) -> None:
    """An accuracy-floor search: each record is stored as it is measured, then the summary as the job's result."""
    progress, curve = _sinks(store, job_id)
    result = run_optimize(request, job_id, progress, curve, on_record=store.add_trial)
    store.set_result(job_id, job_summary(result))
    failed = sum(c["status"] == "failed" for c in result["candidates"])
    store.finish(job_id)
    if failed:
        store.update_message(job_id, f"finished; {failed} of {len(result['candidates'])} trials failed")


def serve(idle_exit_s: float = IDLE_EXIT_S) -> None:
    """Process the queue until idle; returns at once if another worker holds the lock."""
    while True:
        lock = _try_lock()
        if lock is None:
            return
        try:
            store = Store()
            store.fail_orphans(pid_alive)
            idle_since = time.monotonic()
            while time.monotonic() - idle_since < idle_exit_s:
                job = store.claim_next(os.getpid())
                if job is None:
                    time.sleep(POLL_S)
                    continue
                log.info("job %s: %s", job.id, job.spec)
                try:
                    if job.kind == "optimize":
                        run_optimize_job(store, job.id, OptimizeRequest.from_dict(job.spec))
                    else:
                        run_job(store, job.id, RunRequest.from_dict(job.spec))
                except Exception as error:  # the worker outlives a broken job
                    log.exception("job %s failed", job.id)
                    store.finish(job.id, f"{type(error).__name__}: {error}")
                idle_since = time.monotonic()
        finally:
            lock.close()
        # A job submitted just as we gave up the lock would find "a worker running" and wait forever: look again.
        if not any(j.status == "queued" for j in Store().jobs(limit=20)):
            return
