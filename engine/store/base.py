"""The store's connection: what the file's state allows (engine.storage looks before anything is written),
one transaction per connection, and SQLite's read-only, full and damaged errors as StoreErrors."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from engine.config import settings
from engine.storage import Health, StoreReadOnlyError, classify, inspect, read_only_error
from engine.store.schema import LATER_JOB_COLUMNS, SCHEMA, SCHEMA_VERSION, _migrate_records

log = logging.getLogger("rightsize.store")


class NotFoundError(ValueError):
    """A job or trial id that is not in the store."""


class JobBusyError(ValueError):
    """A job that cannot be deleted while it runs."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class StoreBase:
    """A SQLite file opened as its state allows; JobStore and TrialStore add the queries."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path else settings().db_path
        self.health: Health = inspect(self.path)  # before any write: damaged, read-only, zero-length (engine.storage)
        if not self.health.read_only:
            try:
                with self._connect() as conn:
                    self._initialise(conn)
            except StoreReadOnlyError:  # the permissions said yes, SQLite said no (a read-only mount, NFS)
                self.health = inspect(self.path, read_only="SQLite refused to write to it")

    @property
    def read_only(self) -> bool:
        return self.health.read_only

    @property
    def warnings(self) -> list[str]:
        return self.health.warnings

    def _initialise(self, conn: sqlite3.Connection) -> None:
        """WAL, tables and migrations of a writable store (nothing is written when they are in place already)."""
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(SCHEMA)
        columns = {row["name"] for row in conn.execute("PRAGMA table_info(jobs)")}
        for name, kind in LATER_JOB_COLUMNS.items():
            if name not in columns:
                conn.execute(f"ALTER TABLE jobs ADD COLUMN {name} {kind}")
        if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            _migrate_records(conn)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in one transaction; SQLite's read-only, full and damaged errors become StoreErrors."""
        try:
            if self.health.uri:
                conn = sqlite3.connect(self.health.uri, uri=True, timeout=30)
            else:
                conn = sqlite3.connect(self.path, timeout=30)
            conn.row_factory = sqlite3.Row
            try:
                if self.health.schema_missing:  # a read-only file without our tables reads as an empty store
                    for statement in SCHEMA.split(";"):
                        if "CREATE TABLE" in statement:
                            conn.execute(statement.replace("CREATE TABLE", "CREATE TEMP TABLE"))
                with conn:  # commits on success, rolls back on error
                    yield conn
            finally:
                conn.close()
        except sqlite3.DatabaseError as error:
            problem = classify(error, self.path)
            if isinstance(problem, StoreReadOnlyError) and self.health.reason:
                problem = read_only_error(self.path, self.health.reason)
            if problem is None:
                raise
            raise problem from error
