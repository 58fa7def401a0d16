"""A throwaway Ray cluster on this machine for tests and bench/cluster.py: `ray start --head` plus extra node
processes, each offering one unit of the measurement resource. Token authentication with a token kept in the
environment (Ray writes no ~/.ray/auth_token), usage statistics off, its files in one temporary folder, each
node in its own process group so a test can kill one outright, and everything killed by group on stop (never
`ray stop`: that would also stop any other Ray on the machine)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from engine.cluster import RESOURCE

RAY = [sys.executable, "-m", "ray.scripts.scripts"]
START_TIMEOUT_S = 90.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalCluster:
    env: dict[str, str]  # what every node (and so every trial on it) runs with
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="rsray-", dir="/tmp")))
    address: str = ""
    groups: dict[str, int] = field(default_factory=dict)  # node name -> process group

    @classmethod
    def environment(cls, repo: Path, **extra: str) -> dict[str, str]:
        """The environment for the nodes and the driver: this checkout first on the path, auth in the env."""
        path = os.pathsep.join(p for p in (str(repo), os.environ.get("PYTHONPATH", "")) if p)
        return {**os.environ, "PYTHONPATH": path, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
                "RAY_AUTH_TOKEN": secrets.token_hex(16),
                # a killed node is declared dead within seconds, not Ray's default half minute
                "RAY_health_check_period_ms": "500", "RAY_health_check_failure_threshold": "3",
                "RAY_health_check_timeout_ms": "500", **extra}

    def start(self, name: str, *, head: bool = False, measure: int = 1) -> None:
        """Start node `name` (the head first) and wait until it has joined."""
        args = ["start", f"--resources={{\"{RESOURCE}\": {measure}}}", "--num-cpus=1", "--node-ip-address=127.0.0.1",
                f"--temp-dir={self.root / name}", "--disable-usage-stats",
                f"--dashboard-agent-listen-port={_free_port()}", f"--metrics-export-port={_free_port()}"]
        if head:
            port = _free_port()
            args += ["--head", f"--port={port}", "--include-dashboard=false"]
            self.address = f"127.0.0.1:{port}"
        else:
            args += [f"--address={self.address}"]
        self.root.mkdir(parents=True, exist_ok=True)
        log = (self.root / f"{name}.log").open("w")
        child = subprocess.Popen([*RAY, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
        self.groups[name] = child.pid  # its own session: the node's every process shares this group id
        try:
            code = child.wait(timeout=START_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            code = None
        if code != 0:
            raise RuntimeError(f"ray start ({name}) failed ({code}): {(self.root / f'{name}.log').read_text()[-2000:]}")

    def kill(self, name: str) -> None:
        """Kill node `name` outright (every process of it, as a crashed machine would stop)."""
        pgid = self.groups.pop(name, None)
        if pgid is not None:
            _killpg(pgid, signal.SIGKILL)

    def stop(self) -> None:
        for pgid in self.groups.values():
            _killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + 3  # a throwaway cluster: a short grace, then SIGKILL
        while time.monotonic() < deadline and any(_alive(g) for g in self.groups.values()):
            time.sleep(0.2)
        for pgid in self.groups.values():
            _killpg(pgid, signal.SIGKILL)
        self.groups.clear()
        shutil.rmtree(self.root, ignore_errors=True)


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _alive(pgid: int) -> bool:
    """Whether a process of the group still runs (zombies do not count: nobody may reap them here)."""
    for process in psutil.process_iter(["status"]):
        try:
            if os.getpgid(process.pid) == pgid and process.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False
