"""The dashboard's worker on the real pack: a kill -9 mid-job fails that job, keeps the server's data, and the
next job still runs."""

import os
import signal
import time

import pytest

from engine.queue import job_status, submit_run
from engine.requests import RunRequest
from engine.store import Store

pytestmark = pytest.mark.slow


def wait_for(predicate, timeout_s=300.0, what="condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_killed_worker_fails_its_job_and_the_next_job_runs(tmp_path, monkeypatch, shared_cache):
    monkeypatch.setenv("RIGHTSIZE_HOME", str(tmp_path))
    monkeypatch.setenv("RIGHTSIZE_CACHE", str(shared_cache))
    store = Store()
    request = RunRequest("sentiment", ("minilm-l3",), ("fp32",), eval_size=40)
    first = submit_run(request, store)
    job = wait_for(lambda: (j := store.job(first)).status == "running" and j.worker_pid and j, what="job start")
    os.kill(job.worker_pid, signal.SIGKILL)
    wait_for(lambda: job_status(first, store).status == "failed", 30, "the dead worker's job to fail")
    assert "died" in store.job(first).error

    second = submit_run(request, store)
    done = wait_for(lambda: (j := job_status(second, store)).status in ("done", "failed") and j, what="second job")
    assert done.status == "done", done.error
    (record,) = store.trials(job_ids=[second])
    assert record.status == "ok" and record.quality > 0.5


def test_a_killed_dashboard_server_leaves_its_job_running_to_the_end(tmp_path, monkeypatch, shared_cache):
    """The server only queues and starts the worker in its own session: a kill -9 of the process that did so
    (here a stand-in for the Streamlit server) neither stops the job nor loses its record."""
    import subprocess
    import sys

    monkeypatch.setenv("RIGHTSIZE_HOME", str(tmp_path))
    monkeypatch.setenv("RIGHTSIZE_CACHE", str(shared_cache))
    monkeypatch.delenv("RIGHTSIZE_NO_WORKER", raising=False)
    server = subprocess.Popen([sys.executable, "-c", (
        "import time\n"
        "from engine.queue import submit_run\n"
        "from engine.requests import RunRequest\n"
        "print(submit_run(RunRequest('sentiment', ('minilm-l3',), ('fp32',), eval_size=40)), flush=True)\n"
        "time.sleep(600)\n")], stdout=subprocess.PIPE, text=True)
    job_id = int(server.stdout.readline())
    store = Store()
    wait_for(lambda: store.job(job_id).status == "running", what="the job to start")
    server.kill()
    server.wait()
    done = wait_for(lambda: (j := job_status(job_id, store)).status in ("done", "failed") and j, what="the job")
    assert done.status == "done", done.error
    (record,) = store.trials(job_ids=[job_id])
    assert record.status == "ok" and record.quality > 0.5
