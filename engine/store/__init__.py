"""SQLite store for jobs and trial records. Every write is one transaction; WAL lets the dashboard read
while the worker writes. The connection and the file's state: base.py; jobs and curves: jobs.py; trial
records: trials.py; tables and migrations: schema.py."""

from __future__ import annotations

from pathlib import Path

from engine.storage import StoreCorruptError, StoreError, StoreFullError, StoreReadOnlyError
from engine.store.base import JobBusyError, NotFoundError, now_iso
from engine.store.jobs import Job, JobStore, orphan_error
from engine.store.schema import ACTIVE, SCHEMA_VERSION
from engine.store.trials import StoredTrial, TrialStore, _day, machine_name

__all__ = ["ACTIVE", "SCHEMA_VERSION", "Job", "JobBusyError", "NotFoundError", "Store", "StoreCorruptError",
           "StoreError", "StoreFullError", "StoreReadOnlyError", "StoredTrial", "_day", "machine_name", "now_iso",
           "orphan_error"]


class Store(JobStore, TrialStore):
    def __init__(self, path: Path | str | None = None) -> None:
        super().__init__(path)
        self.replay_or_warn()
