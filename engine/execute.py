"""Runs one stored job, a run or a quality-floor search, for the worker and the CLI alike.

Its records go to the store as they are measured, progress and live training curves to the given sinks (by
default the store's), and the job is finished with what went wrong, if anything: a job never stays "running".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.optimize import job_summary, run_optimize
from engine.optimize_choice import BaselineFailed
from engine.record import TrialRecord
from engine.requests import OptimizeRequest, RunRequest
from engine.runner import CurveSink, Progress, run_request
from engine.store import Store, StoreError, StoreFullError, now_iso
from engine.trial import TrialSpec


class JobCancelled(Exception):
    """The job's owner asked it to stop (Store.cancel): raised from the progress sink, so the running trial's
    child process is killed where it is."""


CANCEL_POLL_S = 1.0


def _cancellable(store: Store, job_id: int, progress: Progress) -> Progress:
    """`progress`, checking at most once a second whether the job was asked to stop."""
    checked = [0.0]

    def report(fraction: float, message: str) -> None:
        now = time.monotonic()
        if now - checked[0] >= CANCEL_POLL_S:
            checked[0] = now
            if store.cancel_requested(job_id):
                raise JobCancelled(f"Job #{job_id} was cancelled by its owner.")
        progress(fraction, message)

    return report

log = logging.getLogger("rightsize.execute")


@dataclass
class JobOutcome:
    records: list[TrialRecord] = field(default_factory=list)  # every record stored, failures included
    result: dict[str, Any] | None = None  # a quality-floor search's whole result (engine.optimize)
    error: str = ""  # the job's error as stored; "" when it did its work


def _reusable(store: Store, spec: TrialSpec) -> TrialRecord | None:
    from engine.reuse import find_reusable, reused_copy

    found = find_reusable(store, spec)
    return reused_copy(*found, spec) if found else None


def store_sinks(store: Store, job_id: int) -> tuple[Progress, CurveSink]:
    """Progress and live training curves of a job, written to the store as they come."""
    return (_best_effort(lambda f, m: store.update_progress(job_id, f, m)),
            _best_effort(lambda model, technique, point: store.add_curve_point(job_id, model, technique, point)))


def _best_effort(write: Callable[..., None]) -> Callable[..., None]:
    """A progress line or curve point the store cannot take (full, read-only) is dropped: raising would end
    the trial being measured, and the record is what counts."""
    def call(*args: Any) -> None:
        try:
            write(*args)
        except StoreError as error:
            log.warning("progress not stored: %s", error)
    return call


def finish_job(store: Store, job_id: int, error: str = "") -> None:
    """store.finish; on a full disk the ending is kept beside the store and written when space returns, so the
    job does not stay "running" (until then the worker's death shows it failed)."""
    try:
        store.finish(job_id, error)
    except StoreFullError:
        store.keep_pending({"op": "finish", "job_id": job_id, "error": error, "at": now_iso()})


def run_job(store: Store, job_id: int, request: RunRequest | OptimizeRequest, progress: Progress | None = None,
            curve: CurveSink | None = None, *, max_candidates: int | None = None) -> JobOutcome:
    """Run the request of job `job_id` (already in the store, claimed or started) and finish the job.

    A run fails when every trial failed; a search when its fp32 baseline failed (BaselineFailed is not raised:
    the outcome carries it). Any other exception, Ctrl-C included, fails the job and propagates."""
    default_progress, default_curve = store_sinks(store, job_id)
    progress = _cancellable(store, job_id, progress or default_progress)
    curve = curve or default_curve
    outcome = JobOutcome()

    def keep(record: TrialRecord) -> None:
        store.add_trial(record)
        outcome.records.append(record)

    try:
        if isinstance(request, OptimizeRequest):
            outcome.result = run_optimize(request, job_id, progress, curve, on_record=keep,
                                          max_candidates=max_candidates)
            store.set_result(job_id, job_summary(outcome.result))
        else:
            if request.cluster:  # Ray is imported only here, for a run that names a cluster
                from engine.cluster.sweep import run_on_cluster

                records = run_on_cluster(request, job_id, progress, curve, None if request.remeasure else store)
            else:
                reuse = None if request.remeasure else lambda spec: _reusable(store, spec)
                records = run_request(request, job_id, progress, curve, reuse)
            try:
                for record in records:
                    keep(record)
                    if store.cancel_requested(job_id):
                        raise JobCancelled(f"Job #{job_id} was cancelled by its owner.")
            finally:  # a generator is closed at once, on cancel too: a cluster's tasks are cancelled there and then
                getattr(records, "close", lambda: None)()
    except JobCancelled:
        store.finish(job_id, cancelled=True)
        return outcome
    except BaselineFailed as error:
        outcome.error = str(error)
        finish_job(store, job_id, outcome.error)
        return outcome
    except BaseException as error:  # a crash or Ctrl-C: the job must not stay "running"
        finish_job(store, job_id, f"{'' if isinstance(error, Exception) else 'Interrupted: '}"
                                  f"{type(error).__name__}: {error}")
        raise
    failures = [f"{r.model} · {r.technique}: {r.error}" for r in outcome.records if r.status == "failed"]
    total = len(outcome.records)
    if failures and len(failures) == total and outcome.result is None:
        outcome.error = "Every trial failed. " + " | ".join(failures)
    finish_job(store, job_id, outcome.error)
    if failures and not outcome.error:
        _best_effort(store.update_message)(job_id, f"finished; {len(failures)} of {total} trials failed")
    return outcome
