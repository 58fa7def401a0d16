"""Per-trial overhead of a sweep on Ray against the same sweep run locally, on this machine: a one-node Ray
cluster (`ray start --head` on loopback, tests/ray_cluster.py) and the local runner measure the same VADER
trials (fp32 is measured; the other techniques are skipped by the trial process, so they cost only what every
trial pays: a child process, its imports, the lock, the record's trip home). Rounds alternate local and Ray so
drift in the machine's load hits both. Printed, never asserted: wall seconds per trial, the Ray/local ratio,
the cluster's start time, the hardware and how busy the machine was (load average, others' CPU share while
fp32 measured).

    .venv/bin/python bench/cluster.py --rounds 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from ray_cluster import LocalCluster  # noqa: E402

from engine.execute import run_job  # noqa: E402
from engine.measure.system import hardware  # noqa: E402
from engine.requests import RunRequest  # noqa: E402
from engine.store import Store  # noqa: E402

TECHNIQUES = "fp32,int8-dynamic,bf16,onnx-fp32,onnx-int8,prune-structured"


def sweep(cluster: str, techniques: tuple[str, ...]) -> tuple[float, list]:
    request = RunRequest("sentiment", ("vader",), techniques, 20, "USA", remeasure=True, cluster=cluster).validated()
    store = Store()
    job = store.start_job(request.task, request.to_dict(), os.getpid())
    started = time.perf_counter()
    outcome = run_job(store, job, request, lambda f, m: None)
    return time.perf_counter() - started, outcome.records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--techniques", default=TECHNIQUES)
    args = parser.parse_args()
    techniques = tuple(args.techniques.split(","))
    home = Path(tempfile.mkdtemp(prefix="rs-bench-cluster-"))
    env = LocalCluster.environment(ROOT, RIGHTSIZE_HOME=str(home), RIGHTSIZE_LOCK_DIR=str(home),
                                   RIGHTSIZE_CONTENDED_RETRIES="0")
    os.environ.update(env)  # before Ray is imported: it reads its token settings once
    hw = hardware()
    print(f"hardware: {hw['cpu_model']}, {hw['logical_cores']} logical cores, {hw['memory_gb']} GB; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    cluster = LocalCluster(env)
    walls: dict[str, list[float]] = {"local": [], "ray": []}
    busy: dict[str, list[float]] = {"local": [], "ray": []}
    try:
        started = time.perf_counter()
        cluster.start("head", head=True)
        print(f"one-node cluster started in {time.perf_counter() - started:.1f} s")
        sweep(cluster.address, techniques[:1])  # warm-up: Ray's first task starts a worker and imports engine
        for round_ in range(args.rounds):
            for where, address in (("local", ""), ("ray", cluster.address)):
                wall, records = sweep(address, techniques)
                walls[where].append(wall / len(records))
                busy[where] += [r.contention for r in records if r.contention is not None]
                print(f"round {round_ + 1} {where:>5}: {len(records)} trials in {wall:6.1f} s, "
                      f"{wall / len(records):5.2f} s per trial, statuses "
                      f"{sorted({r.status for r in records})}")
    finally:
        cluster.stop()
        shutil.rmtree(home, ignore_errors=True)
    local, ray = statistics.median(walls["local"]), statistics.median(walls["ray"])
    print(f"median wall per trial: local {local:.2f} s, Ray {ray:.2f} s, ratio {ray / local:.2f}x "
          f"(+{ray - local:.2f} s per trial)")
    for where in ("local", "ray"):
        if busy[where]:
            print(f"others' CPU share while fp32 measured ({where}): median {statistics.median(busy[where]):.0%}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
