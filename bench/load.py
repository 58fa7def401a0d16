"""A workshop's load on one dashboard: N sessions, each Home -> Compare -> What-if -> a few What-if edits, all at
once, while the worker measures a real trial. Printed per N: p50/p95 seconds per action (from the rerun sent
to the script finished), errors and page exceptions, the server's peak memory, CPU used by the server, the
worker and these clients (the clients' own CPU is reported, not hidden), and whether the job finished.

Sessions are websocket clients speaking Streamlit's own protocol (what a browser tab sends), not browsers: a
browser's rendering would otherwise compete with the server for the same two cores. Loopback only, bounded in
sessions and time. Printed, never asserted.

    .venv/bin/python bench/load.py --sessions 1,5,15,30 --edits 3 --out load.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from engine.config import settings  # noqa: E402
from engine.measure.system import hardware  # noqa: E402

PAGES = (("home", ""), ("compare", "compare"), ("whatif", "whatif"))
EDITED_WIDGET = "whatif_queries_per_day"  # the key ends the widget id Streamlit sends
ACTION_TIMEOUT_S = 300.0
MAX_SESSIONS = 60


@dataclass
class Level:
    sessions: int
    times_s: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    page_exceptions: int = 0


class Session:
    """One browser tab's conversation with the server: reruns sent, messages read until the script finishes."""

    def __init__(self, url: str, level: Level) -> None:
        self.url, self.level = url, level
        self.widgets: dict[str, str] = {}  # widget key -> id, learnt from the elements the server sends

    async def run(self, edits: int, rng: random.Random) -> None:
        try:
            async with connect(self.url, max_size=None, open_timeout=ACTION_TIMEOUT_S) as ws:
                for action, page in PAGES:
                    await self.rerun(ws, action, page)
                for _ in range(edits):
                    await self.rerun(ws, "whatif edit", "whatif", rng.randrange(10_000, 5_000_000, 1_000))
        except Exception as error:  # every failure is counted, none stops the other sessions
            self.level.errors.append(f"{type(error).__name__}: {error}")

    async def rerun(self, ws, action: str, page: str, queries_per_day: int | None = None) -> None:
        msg = BackMsg()
        msg.rerun_script.query_string = ""
        msg.rerun_script.page_name = page
        if queries_per_day is not None:
            widget_id = self.widgets.get(EDITED_WIDGET)
            if widget_id is None:
                raise RuntimeError("the What-if page showed no queries-per-day input")
            state = msg.rerun_script.widget_states.widgets.add()
            state.id, state.int_value = widget_id, queries_per_day
        started = time.perf_counter()
        await ws.send(msg.SerializeToString())
        while True:
            fm = ForwardMsg.FromString(await asyncio.wait_for(ws.recv(), ACTION_TIMEOUT_S))
            kind = fm.WhichOneof("type")
            if kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                self.learn(fm.delta.new_element)
            elif kind == "script_finished":
                break
            elif kind == "page_not_found":
                raise RuntimeError(f"page '{page}' not found")
        self.level.times_s.setdefault(action, []).append(time.perf_counter() - started)

    def learn(self, element) -> None:
        kind = element.WhichOneof("type")
        if kind == "exception":
            self.level.page_exceptions += 1
            self.level.errors.append(f"page exception: {element.exception.message[:120]}")
            return
        widget_id = getattr(getattr(element, kind), "id", "") if kind else ""
        if widget_id.startswith("$$ID-") and widget_id.endswith(EDITED_WIDGET):
            self.widgets[EDITED_WIDGET] = widget_id


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed_store(home: Path) -> int:
    """The shipped reference snapshots (real measurements) as stored runs, so every page has real data."""
    os.environ["RIGHTSIZE_HOME"] = str(home)
    from engine.reference import load_reference
    from engine.registry import TASKS
    from engine.store import Store

    store, n = Store(), 0
    for task in TASKS:
        snapshot = load_reference(task)
        if snapshot is None:
            continue
        job = store.submit(task, {"models": [], "techniques": [], "seeded_from": "reference snapshot"})
        store.claim_next(os.getpid())
        for record in snapshot.records:
            store.add_trial(replace(record, job_id=job))  # the snapshot's records are shared: never mutated
            n += 1
        store.finish(job)
    return n


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def cpu_s(processes: list[psutil.Process]) -> float:
    total = 0.0
    for p in processes:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def submit_trial(models: str, techniques: str) -> int:
    from engine.queue import submit_run
    from engine.requests import RunRequest

    request = RunRequest("sentiment", tuple(models.split(",")), tuple(techniques.split(",")), 300, remeasure=True)
    return submit_run(request)


async def level_run(url: str, n: int, edits: int, seed: int) -> Level:
    level = Level(n)
    rng = random.Random(seed)
    await asyncio.gather(*(Session(url, level).run(edits, random.Random(rng.random())) for _ in range(n)))
    return level


async def measured_level(url: str, n: int, edits: int, server_pid: int) -> tuple[Level, float, float]:
    """One level's sessions, timed, with the server's peak memory (its process tree) sampled twice a second."""
    stop, peak_mb = asyncio.Event(), [0.0]

    async def watch() -> None:
        while not stop.is_set():
            peak_mb[0] = max(peak_mb[0], sum(p.memory_info().rss for p in tree(server_pid) if p.is_running()) / 1e6)
            await asyncio.sleep(0.5)

    watcher = asyncio.create_task(watch())
    started = time.perf_counter()
    level = await level_run(url, n, edits, n)
    wall_s = time.perf_counter() - started
    stop.set()
    await watcher
    return level, wall_s, peak_mb[0]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", default="1,5,15,30", help="comma-separated session counts, run in turn")
    parser.add_argument("--edits", type=int, default=3, help="What-if edits per session")
    parser.add_argument("--models", default="minilm-l3", help="the trial measured while sessions run")
    parser.add_argument("--techniques", default="fp32,int8-dynamic")
    parser.add_argument("--job-timeout-s", type=float, default=600.0, help="how long to wait for each job")
    parser.add_argument("--out", default="", help="write the figures as JSON")
    args = parser.parse_args()
    counts = [int(x) for x in args.sessions.split(",")]
    if any(not 1 <= c <= MAX_SESSIONS for c in counts):
        raise SystemExit(f"--sessions: each count must be 1..{MAX_SESSIONS}")

    cache = settings().cache_dir  # the developer's converted models: no conversion inside the measurement
    home = Path(tempfile.mkdtemp(prefix="rightsize-load-"))
    os.environ.update(RIGHTSIZE_CACHE=str(cache), RIGHTSIZE_CONTENDED_RETRIES="0")
    seeded = seed_store(home)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "app.serve", f"--server.port={port}",
                               "--server.address=127.0.0.1"], cwd=ROOT, env=os.environ.copy(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"ws://127.0.0.1:{port}/_stcore/stream"
    hw = hardware()
    print(f"hardware: {hw['cpu_model']}, {hw['logical_cores']} logical cores, {hw['memory_gb']} GB; "
          f"{seeded} reference records seeded; server on 127.0.0.1:{port}", flush=True)
    results = []
    try:
        for _ in range(100):  # wait for the server to answer
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        asyncio.run(level_run(url, 1, 0, 0))  # warm-up: first imports and caches, not counted
        from engine.store import Store

        for n in counts:
            job = submit_trial(args.models, args.techniques)
            time.sleep(3.0)  # the worker starts and loads the model: sessions arrive while it measures
            server_before, me_before = cpu_s(tree(server.pid)), cpu_s([psutil.Process()])
            level, wall_s, peak_rss_mb = asyncio.run(measured_level(url, n, args.edits, server.pid))
            server_cpu = cpu_s(tree(server.pid)) - server_before
            clients_cpu = cpu_s([psutil.Process()]) - me_before
            deadline = time.monotonic() + args.job_timeout_s
            while (state := Store().job(job)).status in ("queued", "running") and time.monotonic() < deadline:
                time.sleep(1.0)
            trials = Store().trials(job_ids=[job])
            row = {
                "sessions": n, "wall_s": round(wall_s, 1), "errors": len(level.errors),
                "page_exceptions": level.page_exceptions, "first_errors": level.errors[:3],
                "server_peak_rss_mb": round(peak_rss_mb), "server_cpu_s": round(server_cpu, 1),
                "clients_cpu_s": round(clients_cpu, 1), "job": job, "job_status": state.status,
                "job_trials_ok": sum(r.status == "ok" for r in trials),
                "job_trials_contended": sum(r.contended for r in trials),
                "actions": {a: {"n": len(v), "p50_s": round(statistics.median(v), 2), "p95_s": round(pct(v, 0.95), 2),
                                "max_s": round(max(v), 2)} for a, v in level.times_s.items()},
            }
            results.append(row)
            print(f"\n{n} session(s): {wall_s:.1f} s wall, {len(level.errors)} errors ({level.page_exceptions} page "
                  f"exceptions), server peak RSS {row['server_peak_rss_mb']} MB, CPU s: server "
                  f"{server_cpu:.1f}, these clients {clients_cpu:.1f}; job #{job} {state.status} "
                  f"({row['job_trials_ok']} ok, {row['job_trials_contended']} contended)", flush=True)
            for action, figures in row["actions"].items():
                print(f"  {action:<12} n={figures['n']:>3}  p50 {figures['p50_s']:>6.2f} s  p95 {figures['p95_s']:>6.2f} s"
                      f"  max {figures['max_s']:>6.2f} s", flush=True)
            for error in level.errors[:3]:
                print(f"  error: {error}")
    finally:
        from engine.store import Store

        # the worker the server started, and its trial (the seeded jobs carry this process's own pid: spared)
        for pid in {j.worker_pid for j in Store().jobs() if j.worker_pid and j.worker_pid != os.getpid()}:
            for process in tree(pid):
                process.kill()
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(home, ignore_errors=True)
    if args.out:
        Path(args.out).write_text(json.dumps({"hardware": hw, "levels": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
