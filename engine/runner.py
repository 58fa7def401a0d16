"""Runs the trials of a request one at a time, each in a fresh child process, under a machine-wide lock.
A trial already measured here is served from the store (engine.reuse, when the caller passes it); a contended
one is measured again once the machine is quiet (RIGHTSIZE_CONTENDED_RETRIES times, default 1), both kept.

The child (`python -m engine trial ...`) speaks JSON lines on stdout: {"progress": f, "message": m} while it
works, {"curve": {...}} for each training point of a distillation, and {"record": {...}} at the end. One lock file serializes measurements across the dashboard's worker
and any CLI run, because two trials measured at once would contaminate each other's latency and energy.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from engine.measure.contention import wait_until_quiet
from engine.record import TrialRecord
from engine.requests import RunRequest
from engine.store import now_iso
from engine.trial import TrialSpec

Progress = Callable[[float, str], None]
CurveSink = Callable[[str, str, dict], None]  # (model, technique, training point)
Reuse = Callable[[TrialSpec], TrialRecord | None]  # a stored measurement of this trial, or None
CONTENDED_RETRIES = 1
QUIET_WAIT_S = 60.0  # how long a repeat waits for the machine to calm down before giving up


def contended_retries() -> int:
    return int(os.environ.get("RIGHTSIZE_CONTENDED_RETRIES", CONTENDED_RETRIES))


def _ignore_curve(model: str, technique: str, point: dict) -> None:
    return None


def measurement_lock_path() -> Path:
    """One lock for every Rightsize home on the machine (two homes measuring at once overlapped fully: p50 x2,
    energy +56%); RIGHTSIZE_LOCK_DIR moves it (default: the system's temp folder)."""
    return Path(os.environ.get("RIGHTSIZE_LOCK_DIR") or tempfile.gettempdir()) / "rightsize-measurement.lock"


@contextmanager
def measurement_lock(on_wait: Callable[[], None] = lambda: None) -> Iterator[dict]:
    """Hold the machine-wide measurement lock: one trial measures at a time, whatever home or process asked.
    Yields what a record keeps of it: {"path", "waited_s"}."""
    path = measurement_lock_path()
    asked = time.monotonic()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    with contextlib.suppress(OSError):  # another user's lock file: theirs to chmod
        os.fchmod(fd, 0o666)  # every user's trials share it
    with os.fdopen(fd, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield {"path": str(path), "waited_s": round(time.monotonic() - asked, 2)}
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_trial_process(spec: TrialSpec, progress: Progress, curve: CurveSink = _ignore_curve) -> TrialRecord:
    """Run one trial in a child process; a crash becomes a failed record with the child's last words."""
    command = [sys.executable, "-m", "engine", "trial", json.dumps(asdict(spec))]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             stdin=subprocess.DEVNULL, env=os.environ.copy())
    record = None
    try:
        for line in child.stdout:  # type: ignore[union-attr]
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # a library printed to stdout; not ours
            if "record" in event:
                record = TrialRecord.from_dict(event["record"])
            elif "curve" in event:
                curve(spec.model, spec.technique, event["curve"])
            elif "progress" in event:
                progress(float(event["progress"]), str(event.get("message", "")))
        stderr = child.stderr.read()  # type: ignore[union-attr]
        child.wait()
        for line in stderr.splitlines():  # a cache rebuilt in the child (engine.cache_files): say so here too
            if "rightsize.cache" in line:
                logging.getLogger("rightsize.cache").warning("trial %s · %s: %s", spec.model, spec.technique,
                                                             line.strip())
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    if record is None:
        last = " ".join(stderr.strip().splitlines()[-3:]) if stderr else ""
        record = failed_record(spec, f"The trial process ended with code {child.returncode}. {last}".strip())
    return record


def failed_record(spec: TrialSpec, error: str) -> TrialRecord:
    """The record of a trial that produced none of its own (its process or its node died)."""
    return TrialRecord(
        task=spec.task, model=spec.model, technique=spec.technique, status="failed", test_set=spec.test_set,
        eval_size=spec.eval_size, region=spec.region, seed=spec.seed, job_id=spec.job_id,
        started_at=now_iso(), error=error,
    )


def run_request(request: RunRequest, job_id: int | None, progress: Progress,
                curve: CurveSink = _ignore_curve, reuse: Reuse | None = None) -> Iterator[TrialRecord]:
    """Yield one record per (model, technique), in the request's order; failures are records too, and so is a
    contended measurement followed by its quiet repeat."""
    pairs = request.trials()
    for index, (model, technique) in enumerate(pairs):
        spec = TrialSpec(request.task, model, technique, request.eval_size, request.region, request.test_set,
                         request.seed, job_id)
        label = f"[{index + 1}/{len(pairs)}] {model} · {technique}"

        def report(fraction: float, message: str, index: int = index, label: str = label) -> None:
            progress((index + fraction) / len(pairs), f"{label}: {message}")

        stored = reuse(spec) if reuse else None
        if stored is not None:
            report(1.0, f"already measured here (trial #{stored.reused_from}, {stored.started_at[:16]} UTC): reused")
            yield stored
            continue
        yield from measure(spec, report, curve)


def measure(spec: TrialSpec, report: Progress, curve: CurveSink = _ignore_curve) -> Iterator[TrialRecord]:
    """Measure one trial in a child process under the machine-wide lock (here, or on a cluster node); a
    contended measurement is followed by its quiet repeat, both yielded."""
    busy = 0.0  # others' share of the machine during the last attempt
    for attempt in range(1 + max(0, contended_retries())):
        if attempt:
            report(0.0, f"the machine was busy while measuring (others used {busy:.0%} of it): "
                        "waiting for it to calm down, then measuring again")
            if wait_until_quiet(QUIET_WAIT_S) is None:
                break  # still busy: keep the contended figure (flagged) rather than hold the queue
        with measurement_lock(on_wait=lambda: report(0.0, "waiting for another measurement to finish")) as lock:
            measured = run_trial_process(spec, report, curve)
        measured.measurement_lock = lock
        yield measured
        if measured.status != "ok" or not measured.contended:
            break
        busy = measured.contention or 0.0
