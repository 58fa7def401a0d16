"""Jobs (what was asked, by whom, how far it got) and the training curves they stream."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from engine.storage import StoreFullError, StoreReadOnlyError, process_started_after
from engine.store.base import JobBusyError, NotFoundError, StoreBase, log, now_iso
from engine.store.schema import ACTIVE


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



class JobStore(StoreBase):
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


def _orphaned(pid: int | None, started_at: str | None, alive: Callable[[int | None], bool]) -> bool:
    return not alive(pid) or (pid is not None and process_started_after(pid, started_at))


def orphan_error(pid: int | None) -> str:
    return (f"The process running this job (pid {pid}) died before finishing it (killed, crashed or the machine "
            "restarted); the trials it measured before are kept.")


def _last_started(conn: sqlite3.Connection) -> dict[str, str]:
    """Each owner's latest job start (ISO time): whom the round robin served longest ago."""
    rows = conn.execute("SELECT owner, MAX(started_at) FROM jobs WHERE started_at IS NOT NULL GROUP BY owner")
    return {row[0]: row[1] for row in rows.fetchall()}
