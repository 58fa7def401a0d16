"""The stored runs that have results, read from a Store (the summaries themselves are pure: engine.summary).

Reads go through one process-wide copy of the store's trials, refreshed when the store's trials change
(Store.trials_marker): thirty dashboard sessions rerunning their pages parse the records once, not thirty
times. The records are shared: callers must not modify them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from engine.record import TrialRecord
from engine.store import Store
from engine.summary.runs import RunSummary, runs_from

_lock = threading.Lock()
_copies: dict[str, tuple[tuple, list[TrialRecord]]] = {}  # store path -> (trials marker, every record)


def stored_trials(store: Store, task: str | None = None) -> list[TrialRecord]:
    """Every stored record (of `task` if given), oldest first, from the copy kept since the last change."""
    marker, key = store.trials_marker(), str(store.path)
    with _lock:
        cached = _copies.get(key)
    if cached is None or cached[0] != marker:
        cached = (marker, store.trials())
        with _lock:
            _copies[key] = cached
    return [r for r in cached[1] if r.task == task] if task else list(cached[1])


def runs_with_results(store: Store, task: str | None = None) -> list[RunSummary]:
    """Stored runs of a task (all tasks if None) with at least one ok trial, newest first."""
    return runs_from(stored_trials(store, task), store.jobs(task=task, limit=10_000))


def latest_run_with_results(store: Store, task: str | None = None, min_ok: int = 1) -> RunSummary | None:
    """The newest run with at least `min_ok` ok trials (2 for a comparison), or None."""
    return next((r for r in runs_with_results(store, task) if r.n_ok >= min_ok), None)


def run_records(store: Store, task: str | None, keys: Iterable[int]) -> list[TrialRecord]:
    """All records (ok, failed, skipped) of the chosen runs; key 0 = trials stored without a job."""
    wanted = set(keys)
    return [r for r in stored_trials(store, task) if (r.job_id or 0) in wanted]
