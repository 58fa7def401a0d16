"""The real-browser tests' shared parts: Debian's chromium settings, and the dashboard started the README way
(`./scripts/run.sh`) on a fresh home, stopped with every process it started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts"
START_TIMEOUT_S = 120
PAGE_TIMEOUT_MS = 60_000  # a busy 2-core machine can take seconds to render a page


@contextmanager
def browser_page(width: int = 1600, height: int = 1000) -> Iterator:
    """A page in Debian's headless chromium, with patient timeouts; closed afterwards."""
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            expect.set_options(timeout=PAGE_TIMEOUT_MS)
            yield page
        finally:
            browser.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(home: Path, cache: Path, args: tuple[str, ...] = ()) -> Iterator[str]:
    """`./scripts/run.sh --server.port N [args]` in its own process group, with RIGHTSIZE_HOME=home (its store is
    home/rightsize.sqlite: seed it before calling) and the shared model cache. Yields the base URL; what the
    launcher printed is in home/server.log."""
    port = free_port()
    env = {**os.environ, "RIGHTSIZE_HOME": str(home), "RIGHTSIZE_DB": str(home / "rightsize.sqlite"),
           "RIGHTSIZE_CACHE": str(cache)}
    env.pop("RIGHTSIZE_NO_WORKER", None)
    log_path = home / "server.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed in the finally below
    process = subprocess.Popen(["./scripts/run.sh", *args, f"--server.port={port}"], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError(log_path.read_text()[-3000:]) from None
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()
        stop_processes_of_home(home)  # the worker the server started lives in its own session


def stop_processes_of_home(home: Path) -> None:
    import psutil

    for process in psutil.process_iter():
        try:
            if process.environ().get("RIGHTSIZE_HOME") == str(home):
                process.kill()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
