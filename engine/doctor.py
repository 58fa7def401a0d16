"""`python -m engine doctor`: is the results database sound, and when it is not, what can be saved.

The check reads the file through a read-only connection (the file is never written); on a sound, writable
store it also adds the results a full disk kept aside (engine.journal) and fails jobs whose process died.
Salvage works on a copy: it reads every table row by row in rowid order, steps over rows SQLite cannot read,
writes what it could into a new database, checks that file, and lists what was kept and what was lost.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from engine import journal
from engine.storage import TABLES, ro_uri

MAGIC = b"SQLite format 3\x00"
PROBE_LIMIT = 100_000  # rowids probed past the last readable row when the table's highest id is unknown
JSON_COLUMNS = {"jobs": ("spec", "result"), "trials": ("record",), "curves": ("point",)}
NOUNS = {"jobs": "runs", "trials": "trials", "curves": "training-curve points"}


@dataclass
class Diagnosis:
    path: Path
    size_bytes: int = 0
    read_only: bool = False
    problems: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    pending: int = 0  # results kept aside by a full disk, still waiting
    replayed: int = 0  # of those, added to the store now
    failed_jobs: list[int] = field(default_factory=list)  # running jobs whose process had died, failed now

    @property
    def healthy(self) -> bool:
        return not self.problems


@dataclass
class TableSalvage:
    table: str
    kept: int = 0
    unreadable: list[int] = field(default_factory=list)  # rowids SQLite could not read (lost, or never there)
    damaged: list[int] = field(default_factory=list)  # rows read whose content is not valid (JSON) any more
    highest_id: int | None = None


@dataclass
class Salvage:
    source: Path
    out: Path
    tables: dict[str, TableSalvage] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    verified: str = ""  # the new file's integrity_check answer
    orphan_trials: int = 0  # kept trials whose run was lost


def diagnose(path: Path) -> Diagnosis:
    """Integrity and contents of the database at `path`, read-only. FileNotFoundError when there is none."""
    from engine.spawn import pid_alive
    from engine.store import Store, StoreError

    if not path.is_file():
        raise FileNotFoundError(path)
    report = Diagnosis(path, size_bytes=path.stat().st_size)
    report.pending = len(journal.entries(path))
    if report.size_bytes == 0:
        report.problems.append("the file is empty (0 bytes): whatever it held is gone; restore it from a backup")
        return report
    try:
        conn = _open_read_only(path)
    except sqlite3.DatabaseError as error:
        report.problems.append(f"SQLite cannot open it: {error}")
        return report
    try:
        answer = [row[0] for row in conn.execute("PRAGMA integrity_check(20)")]
        if answer != ["ok"]:
            report.problems.append("integrity check: " + "; ".join(answer))
        for table in TABLES:
            report.counts[table] = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    except sqlite3.DatabaseError as error:
        report.problems.append(f"reading it fails: {error}")
    finally:
        conn.close()
    if report.problems:
        return report
    try:  # sound: let the store add what a full disk kept aside, and fail jobs whose process died
        store = Store(path)
        report.read_only = store.read_only
        if not store.read_only:
            report.replayed = report.pending - len(journal.entries(path))
            report.pending -= report.replayed
            report.failed_jobs = store.fail_orphans(pid_alive)
    except StoreError as error:
        report.problems.append(str(error))
    return report


def _open_read_only(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(ro_uri(path), uri=True, timeout=30)
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        return conn
    except sqlite3.OperationalError as error:  # a read-only folder without the -shm file
        if "unable to open" not in str(error):
            raise
        return sqlite3.connect(ro_uri(path, immutable=True), uri=True, timeout=30)


def default_out(path: Path) -> Path:
    return path.with_name(f"{path.stem}.salvaged{path.suffix or '.sqlite'}")


def salvage(path: Path, out: Path) -> Salvage:
    """Copy every readable row of `path` into the new database `out` (which must not exist). The original is
    only read, through a copy."""
    from engine.store import Store

    if out.exists():
        raise FileExistsError(out)
    report = Salvage(path, out)
    with tempfile.TemporaryDirectory(prefix="rightsize-salvage-") as tmp:
        copy = Path(tmp) / path.name
        shutil.copyfile(path, copy)
        wal = path.with_name(path.name + "-wal")
        if wal.exists():
            shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
        with open(copy, "r+b") as f:  # a damaged magic string alone would hide every readable page
            head = f.read(len(MAGIC))
            if len(head) == len(MAGIC) and head != MAGIC:
                f.seek(0)
                f.write(MAGIC)
                report.notes.append("the file's first 16 bytes (its SQLite signature) were damaged; repaired in "
                                    "the copy that was read")
        rows: dict[str, list[sqlite3.Row]] = {}
        version = None
        try:
            conn = sqlite3.connect(copy, timeout=30)
            conn.row_factory = sqlite3.Row
            present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for table in TABLES:
                if table in present:
                    rows[table], report.tables[table] = _read_table(conn, table)
                else:
                    report.notes.append(f"the {NOUNS[table]} table is missing from the file's table list")
            conn.close()
        except sqlite3.DatabaseError as error:
            report.notes.append(f"nothing could be read ({error}): the page listing the tables is damaged. The "
                                f"sqlite3 tool may save more: `sqlite3 {path} .recover > recovered.sql`")
    out.parent.mkdir(parents=True, exist_ok=True)
    Store(out)  # an empty store of today's schema
    with closing(sqlite3.connect(out)) as dst, dst:
        for table, kept in rows.items():
            known = {r[1] for r in dst.execute(f"PRAGMA table_info({table})")}
            for row in kept:
                names = [k for k in row.keys() if k in known]  # noqa: SIM118 - a Row iterates over its values
                columns = names if "id" in names else ["rowid", *names]  # curves: no id column, keep the rowid
                values = [row[k] for k in names] if "id" in names else [row["_rowid"], *(row[k] for k in names)]
                dst.execute(f"INSERT INTO {table}({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                            values)
            highest = report.tables[table].highest_id
            if table != "curves" and highest:  # lost ids are never handed out again
                dst.execute("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
                dst.execute("INSERT INTO sqlite_sequence(name, seq) VALUES (?, ?)",
                            (table, max(highest, max((r["_rowid"] for r in kept), default=0))))
        if version is not None:  # older records are upgraded when the salvaged file is first opened
            dst.execute(f"PRAGMA user_version = {int(version)}")
        job_ids = {r["_rowid"] for r in rows.get("jobs", [])}
        report.orphan_trials = sum(1 for r in rows.get("trials", []) if r["job_id"] is not None
                                   and r["job_id"] not in job_ids)
    with closing(sqlite3.connect(out)) as check:
        report.verified = "; ".join(r[0] for r in check.execute("PRAGMA integrity_check"))
        for table, kept in rows.items():
            stored = check.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            if stored != len(kept):
                report.verified += f"; {table}: {stored} rows written, {len(kept)} read"
    return report


def _read_table(conn: sqlite3.Connection, table: str) -> tuple[list[sqlite3.Row], TableSalvage]:
    """Every readable, valid row of `table` in rowid order. A scan that breaks on a damaged page resumes after
    it: rowids are probed one at a time until one reads again."""
    report = TableSalvage(table, highest_id=_highest_id(conn, table))
    limit = report.highest_id
    scan = f"SELECT rowid AS _rowid, * FROM {table} WHERE rowid > ? ORDER BY rowid"
    point = f"SELECT rowid AS _rowid, * FROM {table} WHERE rowid = ?"
    rows: list[sqlite3.Row] = []
    after = 0
    while True:
        try:
            for row in conn.execute(scan, (after,)):
                rows.append(row)
                after = row["_rowid"]
            if limit is None or after >= limit:
                break
        except sqlite3.DatabaseError:
            pass
        # the scan broke (or ended early): probe the ids after the last row read
        rowid, found, end = after, None, limit if limit is not None else after + PROBE_LIMIT
        while found is None and rowid < end:
            rowid += 1
            try:
                found = conn.execute(point, (rowid,)).fetchone()
            except sqlite3.DatabaseError:
                report.unreadable.append(rowid)
        if found is None:
            break
        rows.append(found)
        after = rowid
    if limit is None and report.unreadable:  # past the last readable row nothing tells lost from never-used ids
        last = max(r["_rowid"] for r in rows) if rows else 0
        report.unreadable = [i for i in report.unreadable if i < last]
    valid = [r for r in rows if _valid(table, r)]
    report.damaged = [r["_rowid"] for r in rows if not _valid(table, r)]
    report.kept = len(valid)
    return valid, report


def _highest_id(conn: sqlite3.Connection, table: str) -> int | None:
    """The table's highest id ever handed out (sqlite_sequence), else its highest rowid; None if unreadable."""
    for query, args in (("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)),
                        (f"SELECT MAX(rowid) FROM {table}", ())):
        try:
            row = conn.execute(query, args).fetchone()
        except sqlite3.DatabaseError:
            continue
        if row and row[0] is not None:
            return int(row[0])
    return None


def _valid(table: str, row: sqlite3.Row) -> bool:
    try:
        for column in JSON_COLUMNS[table]:
            if row[column] is not None or column != "result":
                json.loads(row[column])
        if table == "trials":
            from engine.record import TrialRecord

            TrialRecord.from_dict(json.loads(row["record"]))
        return True
    except (ValueError, TypeError):
        return False


def id_ranges(ids: list[int]) -> str:
    """[3, 4, 5, 9] -> '3-5, 9'."""
    out: list[str] = []
    for i in sorted(set(ids)):
        if out and i == int(out[-1].split("-")[-1]) + 1:
            out[-1] = f"{out[-1].split('-')[0]}-{i}"
        else:
            out.append(str(i))
    return ", ".join(out)
