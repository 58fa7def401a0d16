"""The store's file before anything is written to it, and what a SQLite error means to the person using it.

Store asks `inspect` first: a missing file is created, a zero-length one is a warning (results may have been
lost), a file or folder this process cannot write is opened read-only (reads work, writes are refused with the
fix), a damaged one is refused untouched with the doctor command. `classify` turns SQLite's errors into those
same messages wherever they happen later.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger("rightsize.store")
TABLES = ("jobs", "trials", "curves")


class StoreError(ValueError):
    """The store cannot do what was asked (a ValueError: the CLI prints it and exits 2; pages show it)."""


class StoreReadOnlyError(StoreError):
    """A write to a store this process may only read."""


class StoreCorruptError(StoreError):
    """A database file SQLite cannot read as a database; it is never modified."""


class StoreFullError(StoreError):
    """The disk (or its quota) holding the store is full."""


def doctor_command(path: Path) -> str:
    return f"python -m engine doctor --db {path}"


def read_only_error(path: Path, reason: str) -> StoreReadOnlyError:
    return StoreReadOnlyError(
        f"The results database {path} is read-only ({reason}): stored results can be viewed, but nothing can be "
        "saved, queued or deleted. To save, make the file and its folder writable for this user (e.g. "
        f"`chmod u+w {path} {path.parent}`), or point RIGHTSIZE_DB at a writable copy.")


def corrupt_error(path: Path, detail: str) -> StoreCorruptError:
    return StoreCorruptError(
        f"The results database {path} is damaged ({detail}). It has been left exactly as it is. Check it and save "
        f"what is readable into a new file with `{doctor_command(path)} --salvage`; the report says what was "
        "lost and how to put the new file in place.")


def full_error(path: Path, what: str = "") -> StoreFullError:
    return StoreFullError(
        f"The disk holding the results database {path} is full{': ' + what if what else ''}. Free some space "
        f"(`df -h {path.parent}`); nothing stored so far is lost.")


def classify(error: sqlite3.DatabaseError, path: Path) -> StoreError | None:
    """The StoreError a SQLite error stands for, or None for the others (locked, a bad query, ...)."""
    text = str(error).lower()
    if "readonly" in text or "read-only" in text:
        return read_only_error(path, "SQLite refused the write")
    if "disk is full" in text or ("disk i/o error" in text and _nearly_full(path)):
        return full_error(path)  # a new connection on a full disk fails growing its -shm file: an I/O error
    if "malformed" in text or "not a database" in text:
        return corrupt_error(path, str(error))
    return None


def _nearly_full(path: Path) -> bool:
    try:
        return shutil.disk_usage(path.parent).free < 1 << 20
    except OSError:
        return False


def ro_uri(path: Path, immutable: bool = False) -> str:
    """A URI that opens the file read-only; immutable also skips the -shm/-wal files SQLite cannot create in a
    read-only folder (safe only while nobody writes to it, which such a folder ensures for us)."""
    return f"file:{quote(str(path.resolve()))}?mode=ro{'&immutable=1' if immutable else ''}"


@dataclass
class Health:
    """How the file stood when the store opened it."""

    read_only: bool = False
    reason: str = ""  # why it is read-only, in words
    uri: str = ""  # the read-only URI connections use; "" for a writable store
    schema_missing: bool = False  # a read-only file without Rightsize's tables (e.g. zero-length)
    warnings: list[str] = field(default_factory=list)


_NOTICES: dict[str, list[str]] = {}  # path -> warnings found by this process (a zero-length file is one once)
_CHECKED: dict[tuple, str] = {}  # (path, inode, size, mtime) -> quick_check's answer, so it runs once per change


def inspect(path: Path, read_only: str = "") -> Health:
    """Look at the file without writing to it; `read_only` (a reason) opens it read-only whatever the
    permissions say. Raises StoreCorruptError for a damaged file and StoreReadOnlyError when there is no file
    and none can be created."""
    if not path.exists():
        folder = next(p for p in (path.parent, *path.parent.parents) if p.exists())
        if not os.access(folder, os.W_OK):
            raise read_only_error(path, f"there is no database yet and {folder} is read-only")
        path.parent.mkdir(parents=True, exist_ok=True)
        return Health(warnings=_NOTICES.get(str(path), []))
    health = Health(read_only=bool(read_only), reason=read_only)
    for target in () if read_only else (path, path.parent):  # SQLite also needs the folder for -wal and -shm
        if not os.access(target, os.W_OK):
            health.read_only, health.reason = True, f"{target} is not writable by this user"
            break
    if path.stat().st_size == 0:
        warning = (f"The results database {path} was empty (0 bytes) when opened: if it held results, they were "
                   "lost before Rightsize opened it (a failed copy, a full disk); restore it from a backup. "
                   + ("It is read-only, so it stays empty." if health.read_only else "A new, empty store was started in it."))
        log.warning(warning)
        _NOTICES[str(path)] = [warning]
    health.warnings = list(_NOTICES.get(str(path), []))
    if health.read_only:
        health.uri = ro_uri(path)
        try:
            _probe(health.uri, path)
        except sqlite3.OperationalError as error:  # no -shm and no folder to create it in
            if "unable to open" not in str(error):
                raise
            health.uri = ro_uri(path, immutable=True)
            wal = path.with_name(path.name + "-wal")
            if wal.exists() and wal.stat().st_size:
                health.warnings.append(f"{wal} holds the latest writes, which cannot be read while the folder is "
                                       "read-only: the newest results may be missing until it is writable again.")
            health.schema_missing = _probe(health.uri, path)
        else:
            health.schema_missing = _probe(health.uri, path)
    else:
        _probe(ro_uri(path), path)  # read-only: a damaged file is found before anything is written to it
    return health


def _probe(uri: str, path: Path) -> bool:
    """Read the schema and run quick_check (once per change of the file). True when Rightsize's tables are
    missing. Raises StoreCorruptError for a damaged file."""
    stat = path.stat()
    key = (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=30)
        try:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if key not in _CHECKED and stat.st_size:
                started = time.perf_counter()
                _CHECKED[key] = "; ".join(row[0] for row in conn.execute("PRAGMA quick_check(5)"))
                log.debug("quick_check of %s: %.0f ms", path, (time.perf_counter() - started) * 1000)
        finally:
            conn.close()
    except sqlite3.OperationalError:
        raise
    except sqlite3.DatabaseError as error:  # "file is not a database", "database disk image is malformed"
        raise corrupt_error(path, str(error)) from error
    if _CHECKED.get(key, "ok") != "ok":
        raise corrupt_error(path, f"SQLite's quick check says: {_CHECKED[key][:300]}")
    return not set(TABLES) <= names


PROCESS_SLACK_S = 5.0  # job times are stored to the second; a worker may start a moment before its claim


def process_started_after(pid: int, iso_time: str | None) -> bool:
    """Whether process `pid` started after `iso_time` (plus slack): then it only reuses the pid of the process
    that ran the job (a restarted container hands out the same low pids). False when unknown."""
    from datetime import datetime

    if not iso_time:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat") as f:
            boot_s = next(int(line.split()[1]) for line in f if line.startswith("btime"))
        started_s = boot_s + start_ticks / os.sysconf("SC_CLK_TCK")
        return started_s > datetime.fromisoformat(iso_time).timestamp() + PROCESS_SLACK_S
    except (OSError, ValueError, IndexError, StopIteration):
        return False
