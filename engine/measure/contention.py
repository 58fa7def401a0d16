"""How much of the machine OTHER processes used while we measured (the machine is shared and noisy).

System CPU time comes from psutil.cpu_times(); our own from this process and all its descendants. Both
are in seconds of CPU time, so they share one denominator: the system's total CPU time in the window
(wall time x cores). Steal time counts as busy: on a VM it is CPU a neighbour took from us.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from types import TracebackType

import psutil

from engine.record import CONTENTION_FLAG


@dataclass(frozen=True)
class ContentionReading:
    others_share: float  # share of ALL the machine's CPU capacity used by other processes, 0..1
    system_busy: float  # 0..1 of all cores
    own_busy: float  # 0..1 of all cores (this process + descendants)
    samples: int  # snapshots taken, first and last included
    contended: bool  # others_share > CONTENTION_FLAG


@dataclass(frozen=True)
class _Snapshot:
    total_s: float  # all cores' CPU time, busy or idle
    busy_s: float
    own_s: float


def _system_times() -> tuple[float, float]:
    t = psutil.cpu_times()
    # Linux counts guest time inside user/nice already; idle and iowait are the only non-busy states.
    total = sum(t) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)
    return total, total - t.idle - getattr(t, "iowait", 0.0)


def _tree_cpu_s(proc: psutil.Process) -> float:
    """CPU seconds of a process tree: each live member's own time plus the time of children it reaped.

    Counting reaped children keeps the sum continuous when a child exits and is waited for.
    """
    total = 0.0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        members = [proc]
    for member in members:
        try:
            t = member.cpu_times()
        except psutil.Error:  # exited between listing and reading
            continue
        total += t.user + t.system + getattr(t, "children_user", 0.0) + getattr(t, "children_system", 0.0)
    return total


class ContentionWatch:
    """Context manager: samples system vs own CPU time in a background thread every `interval_s`.

    Works for windows shorter than one interval too (first and last snapshots are always taken).
    """

    def __init__(self, interval_s: float = 0.25) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        self.interval_s = interval_s
        self.reading: ContentionReading | None = None
        self._proc = psutil.Process()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._first: _Snapshot | None = None
        self._last: _Snapshot | None = None
        self._own_s = 0.0  # own CPU seconds summed over intervals
        self._samples = 0

    def _snapshot(self) -> _Snapshot:
        total, busy = _system_times()
        return _Snapshot(total, busy, _tree_cpu_s(self._proc))

    def _take(self) -> None:
        snap = self._snapshot()
        with self._lock:
            if self._last is not None:
                # A descendant that vanished without being reaped by us drops out of the sum: clamp so
                # it costs at most one interval of its time instead of subtracting its whole history.
                self._own_s += max(0.0, snap.own_s - self._last.own_s)
            self._first = self._first or snap
            self._last = snap
            self._samples += 1

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._take()

    def __enter__(self) -> ContentionWatch:
        self.reading = None
        self._first = self._last = None
        self._own_s, self._samples = 0.0, 0
        self._stop.clear()
        self._take()
        self._thread = threading.Thread(target=self._run, name="contention-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self._stop.set()
            if self._thread is not None:
                self._thread.join()
        finally:
            self._thread = None
            self._take()
            self.reading = self._reading()

    def _reading(self) -> ContentionReading:
        assert self._first is not None and self._last is not None
        total = self._last.total_s - self._first.total_s
        if total <= 0:  # window shorter than one clock tick: nothing observable
            return ContentionReading(0.0, 0.0, 0.0, self._samples, False)
        system_busy = _unit((self._last.busy_s - self._first.busy_s) / total)
        own_busy = _unit(self._own_s / total)
        others = _unit(system_busy - own_busy)
        return ContentionReading(others, system_busy, own_busy, self._samples, others > CONTENTION_FLAG)


def _unit(x: float) -> float:
    return min(1.0, max(0.0, x))


def wait_until_quiet(max_wait_s: float, sample_s: float = 2.0) -> ContentionReading | None:
    """Sample the machine for `sample_s` at a time until other processes use at most CONTENTION_FLAG of it, for
    up to `max_wait_s`: a contended measurement is repeated only once the room has calmed down. Returns the
    last quiet reading, or None when the machine stayed busy."""
    import time

    deadline = time.monotonic() + max_wait_s
    while True:
        with ContentionWatch() as watch:
            time.sleep(sample_s)
        if watch.reading is not None and not watch.reading.contended:
            return watch.reading
        if time.monotonic() + sample_s > deadline:
            return None
