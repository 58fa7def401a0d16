"""Writes the store could not take (a full disk), kept as small JSON files beside it until it can.

A measured trial costs minutes of machine time; a full disk must not throw it away. `keep` writes the entry
atomically (temporary file, fsync, rename) into `<db>.pending/`; the store replays every entry the next time it
opens writable (the dashboard's next page, the worker's start, `python -m engine doctor`). Replaying is
idempotent: a trial already stored with the same record is not added twice.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any

log = logging.getLogger("rightsize.journal")


def pending_dir(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".pending")


def keep(db_path: Path, entry: dict[str, Any]) -> Path:
    """Write one entry ({"op": "trial", "record": {...}} or {"op": "finish", ...}); returns its file. Raises
    OSError when even that cannot be written."""
    folder = pending_dir(db_path)
    folder.mkdir(exist_ok=True)
    name = f"{entry['op']}-{entry.get('job_id') or 'none'}-{uuid.uuid4().hex[:8]}.json"
    tmp = folder / f".{name}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(entry, f, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, folder / name)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    return folder / name


def entries(db_path: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Pending entries, oldest first; an unreadable file is logged and left where it is."""
    folder = pending_dir(db_path)
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns):
        try:
            out.append((path, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError) as error:
            log.warning("pending entry %s cannot be read (%s); left in place", path, error)
    return out
