"""The stored runs that have results, read from a Store (the summaries themselves are pure: engine.summary)."""

from __future__ import annotations

from collections.abc import Iterable

from engine.record import TrialRecord
from engine.store import Store
from engine.summary.runs import RunSummary, runs_from


def runs_with_results(store: Store, task: str | None = None) -> list[RunSummary]:
    """Stored runs of a task (all tasks if None) with at least one ok trial, newest first."""
    return runs_from(store.trials(task=task), store.jobs(task=task, limit=10_000))


def latest_run_with_results(store: Store, task: str | None = None, min_ok: int = 1) -> RunSummary | None:
    """The newest run with at least `min_ok` ok trials (2 for a comparison), or None."""
    return next((r for r in runs_with_results(store, task) if r.n_ok >= min_ok), None)


def run_records(store: Store, task: str | None, keys: Iterable[int]) -> list[TrialRecord]:
    """All records (ok, failed, skipped) of the chosen runs; key 0 = trials stored without a job."""
    wanted = set(keys)
    return [r for r in store.trials(task=task) if (r.job_id or 0) in wanted]
