"""Worker processes: whether one is alive (the worker lock, a pid) and starting one in its own session.

The dashboard never measures inside the Streamlit server: it queues a job (engine.queue) and makes sure one
worker process (engine.worker) is running. Exactly one worker runs per RIGHTSIZE_HOME: it holds worker.lock.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path
from typing import IO

from engine.config import settings


def _lock_path() -> Path:
    path = settings().home / "worker.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def try_worker_lock() -> IO[str] | None:
    """The worker lock, held until the returned handle is closed; None if another worker holds it."""
    handle = open(_lock_path(), "w")  # noqa: SIM115 - held open for the worker's lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return handle
    except BlockingIOError:
        handle.close()
        return None


def worker_running() -> bool:
    handle = try_worker_lock()
    if handle is None:
        return True
    handle.close()  # closing releases the probe's lock
    return False


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed child not yet reaped) is dead for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return True


def ensure_worker() -> None:
    """Start a worker in its own session unless one already holds the worker lock (it exits at once if so)."""
    if worker_running():
        return
    log = settings().home / "worker.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        subprocess.Popen(
            [sys.executable, "-m", "engine", "worker"],
            stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True, env=os.environ.copy(),
        )
