"""Offline mode attempts no network connection: every socket connect in every process is recorded and refused."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow

GUARD = textwrap.dedent(
    """
    import os, socket
    _log = os.environ["NETWORK_LOG"]
    def _refuse(self, address, *args):
        if self.family == socket.AF_UNIX:
            return _connect(self, address, *args)
        with open(_log, "a") as f:
            f.write(f"{os.getpid()} {address!r}\\n")
        raise OSError("network disabled by test")
    _connect = socket.socket.connect
    socket.socket.connect = _refuse
    socket.socket.connect_ex = lambda self, address: _refuse(self, address)
    """
)


def test_a_whole_trial_makes_no_network_connection(tmp_path, shared_cache):
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)  # imported at start-up by every Python process
    log = tmp_path / "connections.log"
    env = {**os.environ, "PYTHONPATH": str(guard), "NETWORK_LOG": str(log), "RIGHTSIZE_OFFLINE": "1",
           "RIGHTSIZE_HOME": str(tmp_path / "home"), "RIGHTSIZE_CACHE": str(shared_cache)}
    probe = subprocess.run([sys.executable, "-c", "import socket; socket.create_connection(('192.0.2.1', 80))"],
                           env=env, capture_output=True, text=True)
    assert "network disabled by test" in probe.stderr and log.exists()  # the guard works
    log.unlink()
    done = subprocess.run(
        [sys.executable, "-m", "engine", "run", "--task", "sentiment", "--models", "minilm-l3",
         "--techniques", "int8-dynamic,ov-int8", "--eval-size", "40", "--json"],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # stdout is the records alone (NNCF draws progress bars on stdout unless silenced), every one ok;
    # ov-int8 imports NNCF, whose telemetry would phone home unless turned off
    assert [r["status"] for r in json.loads(done.stdout)] == ["ok", "ok"]
    assert not log.exists(), f"connections attempted: {log.read_text()}"
