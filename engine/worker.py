"""The worker process: takes queued jobs one at a time and writes their results to the store.

Exactly one worker runs per RIGHTSIZE_HOME (it holds worker.lock, engine.spawn, for its lifetime). Jobs left "running" by a
worker that died (kill -9) are marked failed when the next worker starts or when the dashboard polls.
After IDLE_EXIT_S without work the worker exits; the dashboard starts a new one on the next submission.
"""

from __future__ import annotations

import logging
import os
import time

from engine.execute import finish_job, run_job
from engine.requests import OptimizeRequest, RunRequest
from engine.spawn import pid_alive, try_worker_lock
from engine.store import Store

IDLE_EXIT_S = 600.0
POLL_S = 0.5
log = logging.getLogger("rightsize.worker")


def serve(idle_exit_s: float = IDLE_EXIT_S) -> None:
    """Process the queue until idle; returns at once if another worker holds the lock."""
    while True:
        lock = try_worker_lock()
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
                    kind = OptimizeRequest if job.kind == "optimize" else RunRequest
                    run_job(store, job.id, kind.from_dict(job.spec))
                except Exception as error:  # the worker outlives a broken job (run_job failed it already)
                    log.exception("job %s failed", job.id)
                    finish_job(store, job.id, f"{type(error).__name__}: {error}")
                idle_since = time.monotonic()
        finally:
            lock.close()
        # A job submitted just as we gave up the lock would find "a worker running" and wait forever: look again.
        if not any(j.status == "queued" for j in Store().jobs(limit=20)):
            return
