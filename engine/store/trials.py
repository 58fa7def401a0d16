"""Trial records: adding them (kept beside the store while the disk is full, engine.journal), reading and
filtering them, deleting one."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from engine import journal
from engine.record import TrialRecord
from engine.storage import StoreFullError, corrupt_error, full_error
from engine.store.base import NotFoundError, StoreBase, log, now_iso
from engine.summary.variants import cpu_name

RETRY_DELAYS_S = (1.0, 2.0, 4.0, 8.0, 15.0)  # ~30 s for disk space to come back before a trial gives up


@dataclass(frozen=True)
class StoredTrial:
    """A trial record with its row id in the store (what deleting a trial takes)."""

    id: int
    record: TrialRecord



class TrialStore(StoreBase):
    def replay_or_warn(self) -> None:
        """Writes kept while the disk was full: added now, or (read-only) reported."""
        pending = journal.entries(self.path)
        if pending and self.health.read_only:
            self.health.warnings.append(f"{len(pending)} result(s) wait in {journal.pending_dir(self.path)} to be "
                                        "added once the store is writable.")
        elif pending:
            self.replay_pending()

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

    def machines(self, task: str | None = None) -> list[str]:
        """The distinct machines (CPU names) the stored trials ran on, for a filter."""
        return sorted({machine_name(row.record) for row in self.trial_rows(task)})


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
