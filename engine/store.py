"""SQLite store for jobs and trial records. Every write is one transaction; WAL lets the dashboard read
while the worker writes."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from engine import journal
from engine.config import settings
from engine.record import TrialRecord
from engine.storage import (
    Health,
    StoreCorruptError,
    StoreError,
    StoreFullError,
    StoreReadOnlyError,
    classify,
    corrupt_error,
    full_error,
    inspect,
    process_started_after,
    read_only_error,
)
from engine.summary.variants import cpu_name

__all__ = ["StoreCorruptError", "StoreError", "StoreFullError", "StoreReadOnlyError"]  # re-exported for callers
log = logging.getLogger("rightsize.store")
RETRY_DELAYS_S = (1.0, 2.0, 4.0, 8.0, 15.0)  # ~30 s for disk space to come back before a trial gives up

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task TEXT NOT NULL,
    spec TEXT NOT NULL,            -- JSON: models, techniques, eval_size, region, test_set, seed
    status TEXT NOT NULL,          -- queued | running | done | failed | cancelled
    progress REAL NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    worker_pid INTEGER,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    result TEXT,                   -- JSON summary of a job's outcome (e.g. an accuracy-floor search), or NULL
    owner TEXT NOT NULL DEFAULT '',             -- who asked: a dashboard session's token, "cli", or ''
    cancel_requested INTEGER NOT NULL DEFAULT 0 -- 1 once the owner asked a running job to stop
);
CREATE TABLE IF NOT EXISTS trials (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER REFERENCES jobs(id),
    task TEXT NOT NULL,
    model TEXT NOT NULL,
    technique TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    record TEXT NOT NULL           -- the whole TrialRecord as JSON
);
CREATE TABLE IF NOT EXISTS curves (
    job_id INTEGER REFERENCES jobs(id),
    model TEXT NOT NULL,
    technique TEXT NOT NULL,
    point TEXT NOT NULL            -- JSON: step, epoch, loss, val_accuracy of a live training run
);
CREATE INDEX IF NOT EXISTS curves_by_job ON curves(job_id);
CREATE INDEX IF NOT EXISTS trials_by_task ON trials(task, started_at);
CREATE INDEX IF NOT EXISTS trials_by_job ON trials(job_id);
"""

ACTIVE = ("queued", "running")
# Columns added to `jobs` after its first release: a database from before them gets them on open.
LATER_JOB_COLUMNS = {"result": "TEXT", "owner": "TEXT NOT NULL DEFAULT ''",
                     "cancel_requested": "INTEGER NOT NULL DEFAULT 0"}
SCHEMA_VERSION = 2  # 2: records carry a generic quality (metric, value, CI, extras) instead of accuracy


def _migrate_records(conn: sqlite3.Connection) -> None:
    """Rewrite schema-1 trial records (accuracy fields) in today's field names, in the caller's transaction:
    the same figures, now the quality of metric "accuracy". Rows already migrated are left as they are."""
    from engine.record import upgraded

    for row in conn.execute("SELECT id, record FROM trials").fetchall():
        data = json.loads(row["record"])
        new = upgraded(data)
        if new is not data:
            conn.execute("UPDATE trials SET record = ? WHERE id = ?", (json.dumps(new, sort_keys=True), row["id"]))
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


class NotFoundError(ValueError):
    """A job or trial id that is not in the store."""


class JobBusyError(ValueError):
    """A job that cannot be deleted while it runs."""


@dataclass(frozen=True)
class StoredTrial:
    """A trial record with its row id in the store (what deleting a trial takes)."""

    id: int
    record: TrialRecord


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Job:
    id: int
    task: str
    spec: dict[str, Any]
    status: str
    progress: float
    message: str
    error: str
    worker_pid: int | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    result: dict[str, Any] | None = None
    owner: str = ""
    cancel_requested: int = 0

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        data = dict(row)
        data["spec"] = json.loads(data["spec"])
        data["result"] = json.loads(data["result"]) if data.get("result") else None
        return cls(**data)

    @property
    def kind(self) -> str:
        return self.spec.get("kind", "run")


class Store:
    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path else settings().db_path
        self.health: Health = inspect(self.path)  # before any write: damaged, read-only, zero-length (engine.storage)
        if not self.health.read_only:
            try:
                with self._connect() as conn:
                    self._initialise(conn)
            except StoreReadOnlyError:  # the permissions said yes, SQLite said no (a read-only mount, NFS)
                self.health = inspect(self.path, read_only="SQLite refused to write to it")
        pending = journal.entries(self.path)
        if pending and self.health.read_only:
            self.health.warnings.append(f"{len(pending)} result(s) wait in {journal.pending_dir(self.path)} to be "
                                        "added once the store is writable.")
        elif pending:
            self.replay_pending()

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

    # jobs
    def submit(self, task: str, spec: dict[str, Any], owner: str = "") -> int:
        with self._connect() as conn:
            cur = conn.execute(
                "INSERT INTO jobs(task, spec, status, message, created_at, owner) "
                "VALUES (?, ?, 'queued', 'waiting', ?, ?)",
                (task, json.dumps(spec), now_iso(), owner),
            )
            return int(cur.lastrowid)

    def submit_once(self, task: str, spec: dict[str, Any], owner: str, admit: Callable[[list[Job]], None]
                    ) -> tuple[int, bool]:
        """Queue a job unless an identical one (same task and spec, anyone's) is queued or running: then
        return that one, so a double click or two people asking the same thing are served once. `admit(active
        jobs)` may raise to refuse the new job (a session's cap). One locked transaction: no duplicate slips in.
        Returns (job id, whether it is new)."""
        text = json.dumps(spec, sort_keys=True)
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            active = [Job.from_row(r) for r in conn.execute(
                f"SELECT * FROM jobs WHERE status IN {ACTIVE} ORDER BY id").fetchall()]
            same = next((j for j in active if j.task == task and json.dumps(j.spec, sort_keys=True) == text), None)
            if same is not None:
                return same.id, False
            admit(active)
            cur = conn.execute(
                "INSERT INTO jobs(task, spec, status, message, created_at, owner) "
                "VALUES (?, ?, 'queued', 'waiting', ?, ?)",
                (task, json.dumps(spec), now_iso(), owner),
            )
            return int(cur.lastrowid), True

    def start_job(self, task: str, spec: dict[str, Any], worker_pid: int, owner: str = "cli") -> int:
        """A job run in the caller's own process (the CLI): it starts as running, owned by that process."""
        with self._connect() as conn:
            cur = conn.execute(
                "INSERT INTO jobs(task, spec, status, message, worker_pid, created_at, started_at, owner) "
                "VALUES (?, ?, 'running', 'starting', ?, ?, ?, ?)",
                (task, json.dumps(spec), worker_pid, now_iso(), now_iso(), owner),
            )
            return int(cur.lastrowid)

    def job(self, job_id: int) -> Job | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return self._shown(Job.from_row(row)) if row else None

    def jobs(self, task: str | None = None, limit: int = 200) -> list[Job]:
        query, args = "SELECT * FROM jobs", []
        if task:
            query, args = query + " WHERE task = ?", [task]
        with self._connect() as conn:
            rows = conn.execute(query + " ORDER BY id DESC LIMIT ?", [*args, limit]).fetchall()
        return [self._shown(Job.from_row(r)) for r in rows]

    def claim_next(self, worker_pid: int) -> Job | None:
        """Atomically move the next queued job to running, owned by this worker: round robin across owners
        (engine.fairness), so one session's five jobs do not hold up everyone else's first."""
        from engine.fairness import run_order

        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            queued = [Job.from_row(r) for r in conn.execute(
                "SELECT * FROM jobs WHERE status = 'queued' ORDER BY id").fetchall()]
            if not queued:
                return None
            chosen = run_order(queued, _last_started(conn))[0]
            conn.execute(
                "UPDATE jobs SET status='running', worker_pid=?, started_at=?, message='starting' WHERE id=?",
                (worker_pid, now_iso(), chosen.id),
            )
            job = conn.execute("SELECT * FROM jobs WHERE id = ?", (chosen.id,)).fetchone()
        return Job.from_row(job)

    def queue_state(self) -> tuple[list[Job], dict[str, str]]:
        """The queued and running jobs (oldest first) and when each owner's last job started: what the
        queue view needs, in one read."""
        with self._connect() as conn:
            active = [Job.from_row(r) for r in conn.execute(
                f"SELECT * FROM jobs WHERE status IN {ACTIVE} ORDER BY id").fetchall()]
            return active, _last_started(conn)

    def cancel(self, job_id: int, owner: str | None) -> str:
        """Cancel a job for its owner (owner None: anyone, as the CLI on the server may). A queued job is
        cancelled at once; a running one is asked to stop (the worker kills its trial and keeps what was
        measured). Returns the job's status afterwards. NotFoundError for an unknown id; PermissionError for
        someone else's job; ValueError for a job that has already ended."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT status, owner FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"No job #{job_id} in the store.")
            if owner is not None and row["owner"] != owner:
                raise PermissionError(f"Job #{job_id} was started by another session: only its owner can cancel it.")
            if row["status"] == "queued":
                conn.execute("UPDATE jobs SET status='cancelled', message='cancelled before it started', "
                             "finished_at=? WHERE id=?", (now_iso(), job_id))
                return "cancelled"
            if row["status"] == "running":
                conn.execute("UPDATE jobs SET cancel_requested=1, message='cancelling: stopping the trial "
                             "that runs now' WHERE id=?", (job_id,))
                return "running"
            raise ValueError(f"Job #{job_id} has already ended ({row['status']}): nothing to cancel.")

    def cancel_requested(self, job_id: int) -> bool:
        with self._connect() as conn:
            row = conn.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return bool(row and row[0])

    def update_progress(self, job_id: int, progress: float, message: str) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE jobs SET progress=?, message=? WHERE id=? AND status='running'",
                (max(0.0, min(1.0, progress)), message, job_id),
            )

    def set_result(self, job_id: int, result: dict[str, Any]) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE jobs SET result=? WHERE id=?", (json.dumps(result), job_id))

    def update_message(self, job_id: int, message: str) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE jobs SET message=? WHERE id=?", (message, job_id))

    def finish(self, job_id: int, error: str = "", *, cancelled: bool = False) -> None:
        status = "cancelled" if cancelled else "failed" if error else "done"
        message = {"done": "finished", "failed": "failed", "cancelled": "cancelled by its owner"}[status]
        with self._connect() as conn:
            conn.execute(
                "UPDATE jobs SET status=?, error=?, progress=CASE WHEN ?='done' THEN 1 ELSE progress END, "
                "message=?, finished_at=? WHERE id=?",
                (status, error, status, message, now_iso(), job_id),
            )

    def fail_orphans(self, alive: Callable[[int | None], bool]) -> list[int]:
        """Mark running jobs whose process is gone (or whose pid now belongs to a younger process) as failed.
        Returns their ids. A store that cannot be written is left as it is; a read-only one's job() and jobs()
        show those jobs failed anyway."""
        with self._connect() as conn:
            rows = conn.execute("SELECT id, worker_pid, started_at FROM jobs WHERE status='running'").fetchall()
        dead = [(r["id"], r["worker_pid"]) for r in rows if _orphaned(r["worker_pid"], r["started_at"], alive)]
        if dead and not self.read_only:
            try:
                with self._connect() as conn:
                    for job_id, pid in dead:
                        conn.execute(
                            "UPDATE jobs SET status='failed', error=?, message='failed', finished_at=? "
                            "WHERE id=? AND status='running'", (orphan_error(pid), now_iso(), job_id))
            except (StoreReadOnlyError, StoreFullError) as error:
                log.warning("jobs %s have a dead worker but cannot be marked failed: %s", [j for j, _ in dead], error)
        return [job_id for job_id, _ in dead]

    def _shown(self, job: Job) -> Job:
        """In a read-only store (no sweep can save it) a job whose process died is shown failed, not running."""
        from engine.spawn import pid_alive

        if self.read_only and job.status == "running" and _orphaned(job.worker_pid, job.started_at, pid_alive):
            return replace(job, status="failed", message="failed", error=orphan_error(job.worker_pid))
        return job

    # training curves (distillation progress, streamed while a trial runs)
    def add_curve_point(self, job_id: int, model: str, technique: str, point: dict[str, Any]) -> None:
        with self._connect() as conn:
            conn.execute("INSERT INTO curves(job_id, model, technique, point) VALUES (?, ?, ?, ?)",
                         (job_id, model, technique, json.dumps(point)))

    def curves(self, job_id: int) -> dict[tuple[str, str], list[dict[str, Any]]]:
        with self._connect() as conn:
            rows = conn.execute("SELECT model, technique, point FROM curves WHERE job_id = ? ORDER BY rowid",
                                (job_id,)).fetchall()
        out: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for row in rows:
            out.setdefault((row["model"], row["technique"]), []).append(json.loads(row["point"]))
        return out

    # trials
    def add_trial(self, record: TrialRecord) -> int:
        """Store a measured record. On a full disk it is first kept beside the store (engine.journal), then
        retried for ~30 s; if space does not come back, StoreFullError says where the record waits."""
        try:
            with self._connect() as conn:
                return self._insert_trial(conn, record)
        except StoreFullError:
            kept = self.keep_pending({"op": "trial", "job_id": record.job_id, "record": record.to_dict()})
        for delay_s in RETRY_DELAYS_S:
            time.sleep(delay_s)
            try:
                with self._connect() as conn:
                    trial_id = self._insert_trial(conn, record, dedupe=True)  # a replay may have added it
            except StoreFullError:
                continue
            if kept:
                kept.unlink(missing_ok=True)
            return trial_id
        where = (f"it is kept in {kept} and is added the next time the store opens with space free" if kept
                 else "it could not be written anywhere either: its figures are in the log")
        raise full_error(self.path, f"trial {record.model} · {record.technique} of job {record.job_id} is not "
                                    f"in the store yet; {where}")

    @staticmethod
    def _insert_trial(conn: sqlite3.Connection, record: TrialRecord, dedupe: bool = False) -> int:
        if dedupe:  # the same record of the same job is not added twice (a retry after a replay, two replays)
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT id FROM trials WHERE job_id IS ? AND record = ?",
                               (record.job_id, record.to_json())).fetchone()
            if row:
                return int(row["id"])
        cur = conn.execute(
            "INSERT INTO trials(job_id, task, model, technique, status, started_at, record) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (record.job_id, record.task, record.model, record.technique, record.status,
             record.started_at or now_iso(), record.to_json()),
        )
        return int(cur.lastrowid)

    def keep_pending(self, entry: dict[str, Any]) -> Path | None:
        """Keep a write the store cannot take now (engine.journal); None, with the entry logged, when even
        that fails."""
        try:
            path = journal.keep(self.path, entry)
        except OSError as error:
            log.error("cannot keep %s beside the store (%s); the entry: %s", entry["op"], error,
                      json.dumps(entry, sort_keys=True))
            return None
        log.warning("the store cannot take a %s now; kept in %s", entry["op"], path)
        return path

    def replay_pending(self) -> tuple[int, int]:
        """Write the entries kept while the disk was full; returns (written, still waiting)."""
        pending, written = journal.entries(self.path), 0
        for path, entry in pending:
            try:
                with self._connect() as conn:
                    if entry["op"] == "trial":
                        self._insert_trial(conn, TrialRecord.from_dict(entry["record"]), dedupe=True)
                    elif entry["op"] == "finish":
                        status = "failed" if entry["error"] else "done"
                        conn.execute(
                            "UPDATE jobs SET status=?, error=?, message=?, finished_at=?, "
                            "progress=CASE WHEN ?='done' THEN 1 ELSE progress END "
                            "WHERE id=? AND status IN ('running', 'failed')",
                            (status, entry["error"], "finished" if status == "done" else "failed",
                             entry.get("at") or now_iso(), status, entry["job_id"]))
                    else:
                        raise KeyError(entry["op"])
            except StoreFullError:
                break  # still full: everything waits for the next open
            except (KeyError, TypeError) as error:
                log.warning("pending entry %s is not one this version writes (%s); left in place", path, error)
                continue
            path.unlink(missing_ok=True)
            written += 1
        if written:
            log.info("added %d pending write(s) to %s", written, self.path)
        return written, len(pending) - written

    def trials(self, task: str | None = None, job_ids: list[int] | None = None, **filters: Any) -> list[TrialRecord]:
        """Trial records, oldest first; the same filters as trial_rows."""
        return [row.record for row in self.trial_rows(task, job_ids, **filters)]

    def trials_marker(self) -> tuple[int, int | None, str | None]:
        """(count, newest id, latest start) of the stored trials: cheap, and it changes with every new or deleted
        trial (the start too when SQLite reuses the id of a deleted newest trial)."""
        with self._connect() as conn:
            row = conn.execute("SELECT COUNT(*), MAX(id), MAX(started_at) FROM trials").fetchone()
        return int(row[0]), row[1], row[2]

    def trial_durations(self) -> list[tuple[str, str, float]]:
        """(model, technique, seconds) of every ok trial: what queue waits are estimated from."""
        with self._connect() as conn:
            rows = conn.execute("SELECT model, technique, json_extract(record, '$.duration_s') FROM trials "
                                "WHERE status = 'ok' AND json_extract(record, '$.duration_s') > 0").fetchall()
        return [(r[0], r[1], float(r[2])) for r in rows]

    def trial_rows(self, task: str | None = None, job_ids: list[int] | None = None, *, model: str | None = None,
                   technique: str | None = None, machine: str | None = None,
                   since: date | datetime | str | None = None, until: date | datetime | str | None = None,
                   ) -> list[StoredTrial]:
        """Trials with their ids, oldest first. Filters (all optional, combined with AND): task, job ids, model,
        technique (exact), machine (case-insensitive part of the CPU name or host name in the record's
        hardware), since/until (UTC dates of started_at, both inclusive; a date, datetime or 'YYYY-MM-DD')."""
        query, args = "SELECT id, record FROM trials WHERE 1=1", []
        for column, value in (("task", task), ("model", model), ("technique", technique)):
            if value:
                query += f" AND {column} = ?"
                args.append(value)
        if job_ids is not None:
            query += f" AND job_id IN ({','.join('?' * len(job_ids))})"
            args.extend(job_ids)
        first, last = _day(since, "since"), _day(until, "until")
        if first and last and first > last:
            raise ValueError(f"The date range is empty: since {first} is after until {last}.")
        if first:
            query += " AND substr(started_at, 1, 10) >= ?"
            args.append(first)
        if last:
            query += " AND substr(started_at, 1, 10) <= ?"
            args.append(last)
        with self._connect() as conn:
            rows = conn.execute(query + " ORDER BY id", args).fetchall()
        out = [StoredTrial(int(r["id"]), self._record(r)) for r in rows]
        if machine:
            out = [row for row in out if machine.strip().lower() in machine_name(row.record).lower()]
        return out

    def _record(self, row: sqlite3.Row) -> TrialRecord:
        try:
            return TrialRecord.from_dict(json.loads(row["record"]))
        except (ValueError, TypeError) as error:  # bytes damaged inside the text: the page survives it
            raise corrupt_error(self.path, f"trial #{row['id']}'s record cannot be read: {error}") from error

    def delete_trial(self, trial_id: int) -> TrialRecord:
        """Remove one trial; returns its record. NotFoundError for an unknown id."""
        with self._connect() as conn:
            row = conn.execute("SELECT record FROM trials WHERE id = ?", (trial_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"No trial #{trial_id} in the store.")
            conn.execute("DELETE FROM trials WHERE id = ?", (trial_id,))
        return TrialRecord.from_dict(json.loads(row["record"]))

    def delete_job(self, job_id: int) -> int:
        """Remove a job with its trials and training curves; returns how many trials went. A queued job is
        removed before any worker takes it (the check and the delete are one locked transaction); a running
        job is refused with JobBusyError. NotFoundError for an unknown id."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")  # no worker can claim the job between the check and the delete
            row = conn.execute("SELECT status, worker_pid FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"No job #{job_id} in the store.")
            if row["status"] == "running":
                raise JobBusyError(f"Job #{job_id} is still running (worker pid {row['worker_pid']}): wait for it "
                                   "to finish, or stop it, before deleting it.")
            conn.execute("DELETE FROM curves WHERE job_id = ?", (job_id,))
            n = conn.execute("DELETE FROM trials WHERE job_id = ?", (job_id,)).rowcount
            conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        return n

    def machines(self, task: str | None = None) -> list[str]:
        """The distinct machines (CPU names) the stored trials ran on, for a filter."""
        return sorted({machine_name(row.record) for row in self.trial_rows(task)})


def _orphaned(pid: int | None, started_at: str | None, alive: Callable[[int | None], bool]) -> bool:
    return not alive(pid) or (pid is not None and process_started_after(pid, started_at))


def orphan_error(pid: int | None) -> str:
    return (f"The process running this job (pid {pid}) died before finishing it (killed, crashed or the machine "
            "restarted); the trials it measured before are kept.")


def _last_started(conn: sqlite3.Connection) -> dict[str, str]:
    """Each owner's latest job start (ISO time): whom the round robin served longest ago."""
    rows = conn.execute("SELECT owner, MAX(started_at) FROM jobs WHERE started_at IS NOT NULL GROUP BY owner")
    return {row[0]: row[1] for row in rows.fetchall()}


def machine_name(record: TrialRecord) -> str:
    """The CPU name, and the host name when the record has one: what the machine filter matches."""
    host = (record.hardware or {}).get("hostname") or (record.hardware or {}).get("node")
    return f"{cpu_name(record)} ({host})" if host else cpu_name(record)


def _day(value: date | datetime | str | None, name: str) -> str | None:
    """A UTC calendar day as 'YYYY-MM-DD' (what started_at begins with), or None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).date().isoformat() if value.tzinfo else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    try:
        return _day(datetime.fromisoformat(str(value).strip()), name)
    except ValueError:
        raise ValueError(f"{name} must be a date as YYYY-MM-DD (got '{value}').") from None
