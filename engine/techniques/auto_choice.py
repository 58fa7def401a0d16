"""What `auto` weighs, as pure functions (no torch, no timing): which runtimes fit this CPU's instruction sets,
and which one a probe's timings pick. engine.techniques.auto builds and times them.

Why these rules: bfloat16 without avx512_bf16/AMX is emulated and was 3-8x SLOWER than fp32 on an AVX2-only
EPYC (../shared/notes/cpu-facts.md), so bf16 paths are only candidates where the CPU computes it. int8 paths are
candidates everywhere: VNNI/AMX make them fastest, and even plain AVX2 ran ONNX Runtime int8 2.7x torch fp32.
Which int8 or bf16 path wins differs by CPU and model, so the probe decides among the candidates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

BF16_FEATURES = ("amx_bf16", "avx512_bf16")  # without them bfloat16 is emulated and slower than fp32
INT8_FEATURES = ("amx_int8", "avx512_vnni", "avx_vnni")  # int8 dot products in one instruction
BASELINE = "fp32"  # the model as given, in PyTorch: auto keeps it when nothing beats it
BF16_PATHS = ("bf16", "ov-bf16")
INT8_PATHS = ("onnx-int8", "onnx-int8-static", "ov-int8")
FP32_RUNTIMES = ("onnx-fp32", "ov-fp32")


def bf16_is_fast(cpu_features: Sequence[str]) -> bool:
    return any(f in cpu_features for f in BF16_FEATURES)


def int8_is_fast(cpu_features: Sequence[str]) -> bool:
    return any(f in cpu_features for f in INT8_FEATURES)


@dataclass(frozen=True)
class Plan:
    candidates: tuple[str, ...]  # technique ids to build and time, the baseline first
    skipped: dict[str, str]  # technique id -> why it is not a candidate here


def plan(cpu_features: Sequence[str]) -> Plan:
    skipped = {name: "the same fp32 numbers as the baseline, which is timed itself; the int8 and bf16 paths do "
                     "less work per query" for name in FP32_RUNTIMES}
    candidates = [BASELINE]
    if bf16_is_fast(cpu_features):
        candidates += BF16_PATHS
    else:
        skipped |= {name: "this CPU lacks avx512_bf16/amx_bf16: bfloat16 would be emulated, slower than fp32"
                    for name in BF16_PATHS}
    candidates += INT8_PATHS
    return Plan(tuple(candidates), skipped)


def choose(per_s: Mapping[str, float], cpu_features: Sequence[str]) -> tuple[str, str]:
    """The fastest candidate by batch throughput (sentences per second; a failed build is absent) and why."""
    if not per_s:
        raise ValueError("auto: no candidate could be built and timed.")
    best = max(per_s, key=lambda name: (per_s[name], name == BASELINE))  # a tie keeps the model as it is
    base = per_s.get(BASELINE)
    int8 = "int8 dot products (" + ", ".join(f for f in INT8_FEATURES if f in cpu_features) + ")" \
        if int8_is_fast(cpu_features) else "no int8 dot-product instructions (VNNI/AMX)"
    bf16 = "native bfloat16" if bf16_is_fast(cpu_features) else "no native bfloat16"
    versus = f", {per_s[best] / base:.2f}x the PyTorch fp32 baseline" if base and best != BASELINE else ""
    runner_up = sorted((v, k) for k, v in per_s.items() if k != best)
    second = f"; next: {runner_up[-1][1]} at {runner_up[-1][0]:.1f}/s" if runner_up else ""
    return best, (f"CPU with {int8} and {bf16}; fastest of {len(per_s)} timed: {best} at {per_s[best]:.1f} "
                  f"sentences/s{versus}{second}")
