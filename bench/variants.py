"""Benchmark (not a test): technique variants of each encoder measured side by side, in one process.

    taskset -c 0 env RIGHTSIZE_THREADS=1 .venv/bin/python bench/variants.py \\
        [--models minilm-l3,minilm-l6,mpnet-base] [--techniques fp32,onnx-int8,...] \\
        [--repeats 3] [--timed 100] [--eval-size 1000] [--out bench-variants.json] [--build-threads 2]

Per model, every variant is built first (a pipeline reuses the variant built for its longest prefix, so
"layer-drop:keep=3+distill+onnx-int8" trains once with "layer-drop:keep=3+distill"); then each repeat times
every variant in turn (interleaved), so a burst of load from another process hits all of them rather than
one. Reported: medians over repeats of batch-1 latency (median over --timed sentences, one at a time) and
batch-32 throughput (the --timed sentences), as ratios to fp32 AND to onnx-int8 measured in the same run;
accuracy on --eval-size movie test sentences with a 95% bootstrap interval and the number of answers that
differ from fp32 (a paired view: two variants with the same accuracy may still disagree); size; parameters.
"others" is the median share of the machine other processes used while the variant was timed.

Targets of the compression-lab issue, checked and printed (never asserted): a variant within 1 accuracy point
of fp32 that is >= 4x fp32's batch-32 throughput and at least as fast as onnx-int8; distillation closing half
the gap between the same student trained on labels alone (finetune) and the teacher.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import defaultdict

import numpy as np
import torch

from engine.config import apply_offline_env, settings
from engine.datasets import movie_review_test
from engine.measure.contention import ContentionWatch
from engine.measure.stats import bootstrap_accuracy
from engine.tasks import load_model
from engine.techniques import TechniqueContext, compress
from engine.techniques.spec import split_techniques

# The issue's rows: fp32, int8-dynamic, onnx-int8, prune-structured, layer-drop+distill, pipelines.
PLAN = {
    "minilm-l3": ["fp32", "int8-dynamic", "onnx-int8", "prune-structured:keep=0.5",
                  "prune-structured:keep=0.75+onnx-int8", "prune-structured:keep=0.5+onnx-int8"],
    "minilm-l6": ["fp32", "int8-dynamic", "onnx-int8", "prune-structured:keep=0.5",
                  "prune-structured:keep=0.75+onnx-int8", "prune-structured:keep=0.5+onnx-int8",
                  "layer-drop:keep=3+finetune", "layer-drop:keep=3+distill", "layer-drop:keep=3+distill+onnx-int8"],
    "mpnet-base": ["fp32", "int8-dynamic", "onnx-int8", "prune-structured:keep=0.5",
                   "prune-structured:keep=0.75+onnx-int8", "prune-structured:keep=0.5+onnx-int8",
                   "layer-drop:keep=6+finetune", "layer-drop:keep=6+distill", "layer-drop:keep=6+distill+onnx-int8"],
}
TARGET_DROP_PTS, TARGET_SPEEDUP = 1.0, 4.0


def build_all(model: str, specs: list[str], texts: list[str], labels: np.ndarray) -> tuple[dict, dict]:
    base = load_model("sentiment", model)
    variants, rows = {}, {}
    for spec in specs:
        steps = spec.split("+")
        prefix = next(("+".join(steps[:k]) for k in range(len(steps) - 1, 0, -1) if "+".join(steps[:k]) in variants),
                      None)
        start, rest = (variants[prefix], "+".join(steps[len(prefix.split("+")):])) if prefix else (base, spec)
        started = time.perf_counter()
        ctx = TechniqueContext(task="sentiment")
        variant = start if rest == "fp32" else compress(start, rest, ctx)
        built_s = time.perf_counter() - started + (rows[prefix]["build_s"] if prefix else 0.0)
        predicted = np.array(variant.predict(texts))
        correct = predicted == labels
        interval = bootstrap_accuracy(correct)
        variants[spec] = variant
        rows[spec] = {"model": model, "technique": spec, "build_s": round(built_s, 1),
                      "accuracy": float(correct.mean()), "ci": [interval.ci_low, interval.ci_high], "mb": variant.size_bytes() / 1e6,
                      "params_m": variant.num_parameters() / 1e6, "predicted": predicted, "details": ctx.details}
        variant.predict(texts[:32])  # warm-up: first calls allocate and pick kernels
        print(f"  built {model} {spec}: acc {correct.mean():.3f} in {built_s:.0f} s", flush=True)
    return variants, rows


def time_all(variants: dict, timed: list[str], repeats: int) -> dict[str, dict[str, list[float]]]:
    samples: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for _ in range(repeats):
        for spec, variant in variants.items():
            with ContentionWatch() as watch:
                started = time.perf_counter()
                variant.predict(timed, batch_size=32)
                samples[spec]["b32_per_s"].append(len(timed) / (time.perf_counter() - started))
                one = []
                for text in timed:
                    started = time.perf_counter()
                    variant.predict([text], batch_size=1)
                    one.append(1000 * (time.perf_counter() - started))
                samples[spec]["b1_ms"].append(statistics.median(one))
            samples[spec]["others"].append(watch.reading.others_share)
    return samples


def report(model: str, rows: dict, samples: dict, versus: str = "onnx-int8") -> list[dict]:
    """Print and return every variant's figures; ratios to fp32 and to `versus` (a variant of the same run)."""
    med = {spec: {k: statistics.median(v) for k, v in s.items()} for spec, s in samples.items()}
    fp32, onnx = med.get("fp32"), med.get(versus)
    versus_key = "b32_vs_" + versus.replace("-", "_")
    ref = rows["fp32"]["predicted"] if "fp32" in rows else None
    print(f"\n{model}: {settings().threads} thread(s), load average {os.getloadavg()[0]:.2f}")
    print(f"{'technique':<38} {'acc':>6} {'95% CI':>13} {'flips':>5} {'MB':>6} {'M par':>6} {'b1 ms':>7} "
          f"{'b32 /s':>7} {'b1 x':>5} {'b32 x':>5} {'vs ref':>7} {'build s':>7} {'others':>6}   (ref: {versus})")
    out = []
    for spec, row in rows.items():
        m = med[spec]
        row = {k: v for k, v in row.items() if k != "predicted"} | {
            "flips_vs_fp32": int(np.sum(rows[spec]["predicted"] != ref)) if ref is not None else None,
            "b1_ms": m["b1_ms"], "b32_per_s": m["b32_per_s"], "others": m["others"],
            "b1_speedup": fp32["b1_ms"] / m["b1_ms"] if fp32 else None,
            "b32_speedup": m["b32_per_s"] / fp32["b32_per_s"] if fp32 else None,
            versus_key: m["b32_per_s"] / onnx["b32_per_s"] if onnx else None,
            "raw": {k: [round(x, 2) for x in v] for k, v in samples[spec].items()},
        }
        out.append(row)
        fmt = lambda v, spec_="5.2f": format(v, spec_) if v is not None else "-"  # noqa: E731
        print(f"{spec:<38} {row['accuracy']:>6.3f} [{row['ci'][0]:.3f},{row['ci'][1]:.3f}] "
              f"{fmt(row['flips_vs_fp32'], '5d'):>5} {row['mb']:>6.1f} {row['params_m']:>6.2f} {m['b1_ms']:>7.2f} "
              f"{m['b32_per_s']:>7.1f} {fmt(row['b1_speedup']):>5} {fmt(row['b32_speedup']):>5} "
              f"{fmt(row[versus_key], '7.2f'):>7} {row['build_s']:>7.0f} {m['others']:>6.0%}")
    return out


def check_targets(model: str, rows: list[dict], teacher_accuracy: float | None) -> dict:
    by = {r["technique"]: r for r in rows}
    fp32 = by.get("fp32")
    result: dict = {"model": model}
    if fp32:
        meets = [r for r in rows if r["technique"] != "fp32"
                 and (fp32["accuracy"] - r["accuracy"]) * 100 <= TARGET_DROP_PTS
                 and (r["b32_speedup"] or 0) >= TARGET_SPEEDUP and (r["b32_vs_onnx_int8"] or 0) >= 1.0]
        best = max(meets, key=lambda r: r["b32_speedup"], default=None)
        within = [r for r in rows if (fp32["accuracy"] - r["accuracy"]) * 100 <= TARGET_DROP_PTS]
        fastest = max(within, key=lambda r: r["b32_speedup"] or 0)
        result["speed_target"] = best["technique"] if best else None
        result["fastest_within_1pt"] = {"technique": fastest["technique"], "b32_speedup": fastest["b32_speedup"],
                                        "accuracy_drop_pts": (fp32["accuracy"] - fastest["accuracy"]) * 100}
        print(f"  target >= {TARGET_SPEEDUP:.0f}x at b32 within {TARGET_DROP_PTS:.0f} point and >= onnx-int8: "
              + (f"MET by {best['technique']} ({best['b32_speedup']:.2f}x)" if best else
                 f"MISSED; fastest within 1 point: {fastest['technique']} {fastest['b32_speedup']:.2f}x"))
    for spec, r in by.items():
        steps = spec.split("+")
        if len(steps) > 1 and steps[-1].startswith("distill") and teacher_accuracy is not None:
            twin = by.get("+".join(steps[:-1]) + "+finetune")  # the same student, trained on the labels alone
            if twin:
                gap = teacher_accuracy - twin["accuracy"]
                closed = (r["accuracy"] - twin["accuracy"]) / gap if gap > 0 else None
                result.setdefault("distillation", []).append(
                    {"student": spec, "teacher_accuracy": teacher_accuracy, "finetune": twin["accuracy"],
                     "distill": r["accuracy"], "gap_closed": closed})
                print(f"  distillation {spec}: teacher {teacher_accuracy:.3f}, labels alone {twin['accuracy']:.3f}, "
                      f"distilled {r['accuracy']:.3f} -> closes "
                      + (f"{closed:.0%} of the gap (target 50%)" if closed is not None else "no gap"))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(PLAN))
    parser.add_argument("--techniques", default="", help="comma-separated specs (default: the plan per model)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timed", type=int, default=100, help="sentences timed per repeat")
    parser.add_argument("--eval-size", type=int, default=1000)
    parser.add_argument("--teacher", default="mpnet-base")
    parser.add_argument("--out", default="", help="write every figure as JSON here")
    parser.add_argument("--build-threads", type=int, default=0,
                        help="torch threads while building (training); timing always uses RIGHTSIZE_THREADS")
    args = parser.parse_args()

    apply_offline_env()
    torch.set_num_threads(settings().threads)
    data = movie_review_test().sample(args.eval_size)
    texts, labels = list(data.texts), np.array(data.labels)
    timed = texts[: args.timed]
    started = time.perf_counter()
    results, checks, teacher_accuracy = [], [], None
    for model in args.models.split(","):
        specs = list(split_techniques(args.techniques)) if args.techniques else PLAN[model]
        torch.set_num_threads(args.build_threads or settings().threads)
        variants, rows = build_all(model, specs, texts, labels)
        torch.set_num_threads(settings().threads)
        rows_out = report(model, rows, time_all(variants, timed, args.repeats))
        if model == args.teacher and "fp32" in rows:
            teacher_accuracy = rows["fp32"]["accuracy"]
        elif teacher_accuracy is None and any("distill" in s for s in specs):
            teacher = load_model("sentiment", args.teacher)
            teacher_accuracy = float(np.mean(np.array(teacher.predict(texts)) == labels))
        results += rows_out
        checks.append(check_targets(model, rows_out, teacher_accuracy))
        del variants
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"threads": settings().threads, "eval_size": args.eval_size, "timed": args.timed,
                       "repeats": args.repeats, "rows": results, "targets": checks}, f, indent=1)


if __name__ == "__main__":
    main()
