"""Benchmark (not a test): cold and warm time of the default sweep, and per-variant ratios vs fp32.

    .venv/bin/python bench/sweep.py [--eval-size 500] [--models minilm-l3,minilm-l6,mpnet-base]

Cold = an empty cache (ONNX conversion, zip reassembly, sentiment heads trained), warm = the same sweep again.
Both runs go through the CLI exactly as users run it, one after the other in this one process tree, so the
ratios compare variants measured side by side on the same (shared, noisy) machine. Contention is printed
per variant: a high value means another process competed for the CPU during that measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TECHNIQUES = "fp32,int8-dynamic,bf16"


def sweep(home: Path, models: str, eval_size: int) -> tuple[float, list[dict]]:
    env = {**os.environ, "RIGHTSIZE_HOME": str(home)}
    command = [sys.executable, "-m", "engine", "run", "--task", "sentiment", "--models", models,
               "--techniques", TECHNIQUES, "--eval-size", str(eval_size), "--json"]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"sweep failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return elapsed, json.loads(done.stdout)


def ratios(records: list[dict]) -> None:
    print(f"\n{'model':<11} {'technique':<13} {'acc':>6} {'95% CI':>13} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'b32 q/s':>8} {'Wh/1k':>8} {'MB':>6} | {'b1 speedup':>10} {'b32 speedup':>11} "
          f"{'energy x':>8} {'acc delta':>9} {'contention':>10}")
    by_model: dict[str, dict[str, dict]] = {}
    for r in records:
        by_model.setdefault(r["model"], {})[r["technique"]] = r
    for model, variants in by_model.items():
        base = variants.get("fp32")
        for technique, r in variants.items():
            if r["status"] != "ok":
                print(f"{model:<11} {technique:<13} {r['status']}: {r['error']}")
                continue
            ci = f"{r['accuracy_ci_low']:.3f}-{r['accuracy_ci_high']:.3f}"
            line = (f"{model:<11} {technique:<13} {r['accuracy']:>6.3f} {ci:>13} {r['latency_p50_ms']:>8.1f} "
                    f"{r['latency_p95_ms']:>8.1f} {r['throughput_per_s']:>8.1f} {r['energy_wh_per_1k']:>8.4f} "
                    f"{r['model_size_mb']:>6.1f} | ")
            if base and base["status"] == "ok":
                line += (f"{base['latency_p50_ms'] / r['latency_p50_ms']:>9.2f}x "
                         f"{r['throughput_per_s'] / base['throughput_per_s']:>10.2f}x "
                         f"{r['energy_wh_per_1k'] / base['energy_wh_per_1k']:>7.2f}x "
                         f"{100 * (r['accuracy'] - base['accuracy']):>+8.1f}pt ")
            line += f"{r['contention']:>9.0%}" + (" !" if r["contended"] else "")
            print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval-size", type=int, default=500)
    parser.add_argument("--models", default="minilm-l3,minilm-l6,mpnet-base")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rightsize-bench-") as tmp:
        home = Path(tmp)
        cold_s, _ = sweep(home, args.models, args.eval_size)
        warm_s, records = sweep(home, args.models, args.eval_size)
    hardware = records[0]["hardware"]
    print(f"machine: {hardware.get('cpu_model')}, {hardware.get('logical_cores')} logical cores, "
          f"torch threads {records[0]['threads']}; versions: {records[0]['versions']}")
    print(f"sweep: {args.models} x {TECHNIQUES}, eval size {args.eval_size}")
    print(f"cold (empty cache: conversion, reassembly, heads): {cold_s:6.1f} s")
    print(f"warm (cache filled):                               {warm_s:6.1f} s")
    print(f"energy method: {records[0]['energy_method']}")
    ratios(records)
    print("\nSpeedups are fp32 / variant for p50 batch-1 latency and variant / fp32 for batch-32 throughput,")
    print("from the warm run. '!' marks a measurement taken while other processes used >25% of the CPU.")


if __name__ == "__main__":
    main()
