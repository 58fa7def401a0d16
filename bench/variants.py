"""Benchmark (not a test): technique variants of one model measured side by side, in one process.

    RIGHTSIZE_CACHE=... .venv/bin/python bench/variants.py --model minilm-l6 \\
        --techniques fp32,onnx-fp32,onnx-int8 [--repeats 3] [--timed 200] [--eval-size 500]

Every variant is built first; then each repeat times every variant in turn (interleaved), so a burst of
load from another process hits all of them rather than one. Reports medians over repeats of: batch-1
latency (median over --timed sentences, one at a time) and batch-32 throughput (the --timed sentences),
plus accuracy on --eval-size movie test sentences (the timed ones are a subset), size and parameters.
The contention column is the median share of the machine other processes used while that variant ran.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import defaultdict

import numpy as np
import torch

from engine.config import apply_offline_env, settings
from engine.datasets import movie_review_test
from engine.measure.contention import ContentionWatch
from engine.models.classifier import load_classifier
from engine.techniques import TechniqueContext, compress


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="minilm-l6")
    parser.add_argument("--techniques", default="fp32,onnx-fp32,onnx-int8", help="comma-separated specs")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timed", type=int, default=200, help="sentences timed per repeat")
    parser.add_argument("--eval-size", type=int, default=500)
    args = parser.parse_args()

    apply_offline_env()
    torch.set_num_threads(settings().threads)
    base = load_classifier("sentiment", args.model)
    data = movie_review_test().sample(args.eval_size)
    texts, labels = list(data.texts), np.array(data.labels)
    timed = texts[: args.timed]
    variants, rows = {}, {}
    for spec in args.techniques.split(","):
        ctx = TechniqueContext(task="sentiment")
        started = time.perf_counter()
        variants[spec] = variant = compress(base, spec, ctx)
        predicted = np.array(variant.predict(texts))
        rows[spec] = {"build_s": time.perf_counter() - started, "acc": float(np.mean(predicted == labels)),
                      "mb": variant.size_bytes() / 1e6, "params_m": variant.num_parameters() / 1e6,
                      "predicted": predicted}
        variant.predict(timed[:32])  # warm-up: first calls allocate and pick kernels

    b1_ms, b32_per_s, contention = defaultdict(list), defaultdict(list), defaultdict(list)
    for _ in range(args.repeats):
        for spec, variant in variants.items():
            with ContentionWatch() as watch:
                started = time.perf_counter()
                variant.predict(timed, batch_size=32)
                b32_per_s[spec].append(len(timed) / (time.perf_counter() - started))
                samples = []
                for text in timed:
                    started = time.perf_counter()
                    variant.predict([text], batch_size=1)
                    samples.append(1000 * (time.perf_counter() - started))
                b1_ms[spec].append(statistics.median(samples))
            contention[spec].append(watch.reading.others_share)

    reference = next(iter(rows.values()))["predicted"]
    print(f"{args.model}, {settings().threads} threads, load average {os.getloadavg()}")
    print(f"{'technique':<34} {'acc':>6} {'flips':>5} {'MB':>7} {'params M':>8} {'b1 ms':>7} {'b32 /s':>7} "
          f"{'b1 x':>5} {'b32 x':>5} {'build s':>7} {'others':>6}")
    first = next(iter(variants))
    for spec, row in rows.items():
        b1, b32 = statistics.median(b1_ms[spec]), statistics.median(b32_per_s[spec])
        flips = int(np.sum(row["predicted"] != reference))
        print(f"{spec:<34} {row['acc']:>6.3f} {flips:>5} {row['mb']:>7.1f} {row['params_m']:>8.2f} {b1:>7.2f} "
              f"{b32:>7.1f} {statistics.median(b1_ms[first]) / b1:>5.2f} "
              f"{b32 / statistics.median(b32_per_s[first]):>5.2f} {row['build_s']:>7.1f} "
              f"{statistics.median(contention[spec]):>6.0%}")
    print("raw b1 ms:", {k: [round(v, 1) for v in vs] for k, vs in b1_ms.items()})
    print("raw b32 /s:", {k: [round(v, 1) for v in vs] for k, vs in b32_per_s.items()})


if __name__ == "__main__":
    main()
