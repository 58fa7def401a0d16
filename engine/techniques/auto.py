"""auto (a final step): the fastest runtime and precision for THIS CPU, chosen by its instruction sets and a
short probe on the model itself, with the reason recorded in the trial's details.

1. The CPU's features (engine.measure.system) pick the candidates (auto_choice.plan: bf16 paths only where the
   CPU computes bfloat16; int8 paths everywhere; torch fp32 as the baseline).
2. Each candidate is built from the same fp32 model (calibrated ones on the task's training sentences).
3. The probe: PROBE_SENTENCES training sentences (never test data) in batches of 32, timed for every candidate
   in turn (interleaved, so a burst of load from another process hits all of them), for at most PROBE_BUDGET_S
   and MAX_ROUNDS rounds; the median sentences/s per candidate decides (auto_choice.choose).
Each candidate's agreement with fp32 on the probe (mean cosine of the output rows) is recorded beside it: the
trial itself measures the chosen variant's quality on the test set.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

from engine.models.text_model import TextModel
from engine.registry import get_technique, resolve
from engine.techniques.auto_choice import BASELINE, choose, plan
from engine.techniques.base import TechniqueContext

STEP = "auto"
PROBE_SENTENCES = 32  # one batch: a real model at fp32 on 1 thread takes ~1 s per pass
PROBE_BATCH = 32
PROBE_BUDGET_S = 3.0  # timing only; building the candidates comes on top
MIN_ROUNDS, MAX_ROUNDS = 2, 5


def auto(classifier: TextModel, ctx: TechniqueContext, cpu_features: list[str] | None = None) -> Any:
    from engine.measure.system import hardware
    from engine.models.heads import task_splits
    from engine.techniques.onnx import require_fp32

    require_fp32(classifier, STEP)
    features = list(hardware()["cpu_features"]) if cpu_features is None else cpu_features  # type: ignore[arg-type]
    chosen_plan = plan(features)
    built, facts, failed = {}, {}, {}
    for index, name in enumerate(chosen_plan.candidates):
        ctx.progress(0.8 * index / len(chosen_plan.candidates), f"Building candidate {name}")
        sub = TechniqueContext(task=ctx.task, seed=ctx.seed, region=ctx.region)
        started = time.perf_counter()
        try:
            built[name] = resolve(get_technique(name).handler)(classifier, sub)
        except Exception as error:  # one runtime failing on this model must not stop the others
            failed[name] = f"{type(error).__name__}: {error}"
            continue
        facts[name] = {"build_s": round(time.perf_counter() - started, 2), "details": sub.details.get(name, {})}
    ctx.progress(0.8, "Timing the candidates")
    probe_texts = list(task_splits(ctx.task).train.sample(PROBE_SENTENCES, ctx.seed).texts)
    rounds = probe(built, probe_texts)
    per_s = {name: statistics.median(samples) for name, samples in rounds.items()}
    reference = np.asarray(classifier.outputs(probe_texts, PROBE_BATCH), dtype=np.float32)
    for name, variant in built.items():
        facts[name].update(per_s=round(per_s[name], 2), rounds_per_s=[round(x, 2) for x in rounds[name]],
                           fidelity_cosine=round(mean_cosine(variant.outputs(probe_texts, PROBE_BATCH), reference), 5))
    choice, reason = choose(per_s, features)
    ctx.report(STEP, cpu_features=features, candidates=list(chosen_plan.candidates), skipped=chosen_plan.skipped,
               failed=failed, probe={"sentences": len(probe_texts), "batch_size": PROBE_BATCH, "split": "train",
                                     "rounds": len(rounds[choice]), "budget_s": PROBE_BUDGET_S},
               timings=facts, choice=choice, reason=reason)
    ctx.progress(1.0, f"auto chose {choice}")
    return built[choice] if choice != BASELINE else classifier


def probe(variants: dict[str, Any], texts: list[str]) -> dict[str, list[float]]:
    """Sentences per second of each variant on `texts`, one pass per variant per round, interleaved."""
    for variant in variants.values():
        variant.outputs(texts[:PROBE_BATCH], PROBE_BATCH)  # warm-up: first calls allocate and pick kernels
    samples: dict[str, list[float]] = {name: [] for name in variants}
    started = time.perf_counter()
    for round_index in range(MAX_ROUNDS):
        if round_index >= MIN_ROUNDS and time.perf_counter() - started >= PROBE_BUDGET_S:
            break
        for name, variant in variants.items():
            begun = time.perf_counter()
            variant.outputs(texts, PROBE_BATCH)
            samples[name].append(len(texts) / (time.perf_counter() - begun))
    return samples


def mean_cosine(outputs: Any, reference: np.ndarray) -> float:
    out = np.asarray(outputs, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1) * np.linalg.norm(reference, axis=1)
    return float(np.mean(np.sum(out * reference, axis=1) / np.maximum(norms, 1e-12)))
