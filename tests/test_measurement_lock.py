"""One measurement at a time on the whole machine: the lock is shared by every Rightsize home (two homes measured
at once used to overlap fully: p50 x2, energy +56%, both stored as valid)."""

from __future__ import annotations

import os
import subprocess
import sys

from engine.runner import measurement_lock, measurement_lock_path

PROBE = """
import fcntl, sys
from engine.runner import measurement_lock_path
with open(measurement_lock_path(), "a") as handle:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("busy")
    else:
        print("free")
"""


def probe(home, lock_dir) -> str:
    env = {**os.environ, "RIGHTSIZE_HOME": str(home), "RIGHTSIZE_LOCK_DIR": str(lock_dir)}
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                          timeout=60).stdout.strip()


def test_another_home_waits_for_the_measurement_in_progress(tmp_path, monkeypatch):
    monkeypatch.setenv("RIGHTSIZE_LOCK_DIR", str(tmp_path / "locks"))
    monkeypatch.setenv("RIGHTSIZE_HOME", str(tmp_path / "home-a"))
    with measurement_lock():
        assert probe(tmp_path / "home-b", tmp_path / "locks") == "busy"
    assert probe(tmp_path / "home-b", tmp_path / "locks") == "free"
    assert measurement_lock_path().parent == tmp_path / "locks"
    assert measurement_lock_path().stat().st_mode & 0o666 == 0o666  # every user's trials can share it
