"""The store's tables, and the migration of records written by older versions."""

from __future__ import annotations

import json
import sqlite3

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
