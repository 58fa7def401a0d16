"""Per task: the quality (with its 95% CI) and speed of every rung of the ladder, and of compressed variants,
measured in one run through the CLI (each trial in a fresh process, one at a time), printed side by side with
ratios to the largest model at fp32. Printed, never asserted: these machines are shared and noisy.

    .venv/bin/python bench/tasks.py --tasks spam,topic,search --eval-size 500 --out bench-tasks.json
    .venv/bin/python bench/tasks.py --tasks spam --techniques fp32,onnx-int8 --models tfidf,minilm-l6
    .venv/bin/python bench/tasks.py --records spam-ladder.json,spam-pruned.json   # tables from `run --json` output

Records are stored in the store as any run's are, so `python -m engine snapshot --task T` can turn the same
measurements into a reference snapshot.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.registry import get_task, metric_of  # noqa: E402

DEFAULT_TECHNIQUES = "fp32,onnx-int8,prune-structured:keep=0.5+onnx-int8"


def measure(task: str, models: str, techniques: str, eval_size: int, region: str) -> list[dict]:
    command = [sys.executable, "-m", "engine", "run", "--task", task, "--models", models, "--techniques",
               techniques, "--eval-size", str(eval_size), "--region", region, "--json"]
    print("$", " ".join(command), file=sys.stderr, flush=True)
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"engine run exited {done.returncode}")
    return json.loads(done.stdout or "[]")


def table(task: str, records: list[dict]) -> list[str]:
    metric = metric_of(task)
    ok = [r for r in records if r["status"] == "ok"]
    if not ok:
        return [f"{task}: no successful trials"]
    largest = get_task(task).models[-1]
    base = next((r for r in ok if r["model"] == largest and r["technique"] == "fp32"), ok[-1])
    lines = [f"## {task} — {get_task(task).title}; metric: {metric.title} ({metric.id}); "
             f"baseline {base['model']} · {base['technique']}",
             f"{'variant':58} {metric.id:>22} {'p50 ms':>8} {'b32 q/s':>8} {'x b32':>6} {'Wh/1k':>8} "
             f"{'x energy':>8} {'MB':>7} {'contended':>9}"]
    for r in ok:
        ci = f"{r['quality']:.3f} [{r['quality_ci_low']:.3f}, {r['quality_ci_high']:.3f}]"
        speed = r["throughput_per_s"] / base["throughput_per_s"]
        energy = base["energy_wh_per_1k"] / r["energy_wh_per_1k"]
        lines.append(f"{r['model'] + ' · ' + r['technique']:58.58} {ci:>22} {r['latency_p50_ms']:8.2f} "
                     f"{r['throughput_per_s']:8.1f} {speed:6.2f} {r['energy_wh_per_1k']:8.4f} {energy:8.2f} "
                     f"{r['model_size_mb']:7.1f} {r['contention']:9.0%}")
    for points in (1, 5):
        floor = base["quality"] - points / 100 if metric.higher_is_better else base["quality"] + points / 100
        within = [r for r in ok if r is not base and
                  (r["quality"] >= floor if metric.higher_is_better else r["quality"] <= floor)]
        if not within:
            lines.append(f"within {points} point{'s' * (points > 1)} of the baseline: nothing else")
            continue
        best = min(within, key=lambda r: r["energy_wh_per_1k"])
        lines.append(f"leanest within {points} point{'s' * (points > 1)} of the baseline: {best['model']} · "
                     f"{best['technique']} ({best['quality']:.3f}), "
                     f"{base['energy_wh_per_1k'] / best['energy_wh_per_1k']:.1f}x less energy per query, "
                     f"{best['throughput_per_s'] / base['throughput_per_s']:.1f}x the b32 throughput")
    skipped = [f"{r['model']} · {r['technique']}: {r['error']}" for r in records if r["status"] != "ok"]
    lines += [f"not measured: {s}" for s in skipped]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default="spam,topic,search")
    parser.add_argument("--models", default="", help="default: each task's ladder")
    parser.add_argument("--techniques", default=DEFAULT_TECHNIQUES)
    parser.add_argument("--eval-size", type=int, default=500)
    parser.add_argument("--region", default="USA")
    parser.add_argument("--out", default="")
    parser.add_argument("--records", default="", help="comma-separated `engine run --json` outputs to tabulate "
                                                      "instead of measuring")
    args = parser.parse_args()
    results: dict[str, list[dict]] = {}
    if args.records:
        for path in args.records.split(","):
            for record in json.loads(Path(path).read_text()):
                results.setdefault(record["task"], []).append(record)
    else:
        for task in args.tasks.split(","):
            models = args.models or ",".join(get_task(task).models)
            results[task] = measure(task, models, args.techniques, args.eval_size, args.region)
    hardware = next((r["hardware"] for rs in results.values() for r in rs if r.get("hardware")), {})
    print(f"hardware: {json.dumps(hardware)}")
    for task, records in results.items():
        print("\n".join(table(task, records)), end="\n\n")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
