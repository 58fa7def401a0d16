"""The leanest-variant search's plan: which compressions of a model to try, stage by stage, from its layer
count (the registry's, or its config.json) and the CPU's features. Pure: no trial runs here.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.config import settings
from engine.registry import MODELS, is_hub_id
from engine.requests import NO_TEACHER
from engine.techniques.auto_choice import bf16_is_fast
from engine.techniques.spec import canonical

BASELINE = "fp32"
# Steps that change how the model runs, not its shape: the best one that keeps the floor finishes stage 2's combos.
FINISHERS = ("onnx-int8", "onnx-int8-static", "ov-int8", "int8-dynamic", "onnx-fp32", "ov-bf16", "bf16")
PRUNE_KEEPS = (0.75, 0.5)  # milder first
PRUNE_DEEPER_KEEP = 0.35  # tried only when keep=0.5 kept the floor
DISTILL_EPOCHS = 2


@dataclass(frozen=True)
class Candidate:
    spec: str
    why: str
    stage: int



def model_layers(model_id: str) -> int:
    """The encoder's layer count from its config.json (no torch, no weights), else the registry's; 0 when unknown."""
    for folder in _config_folders(model_id):
        try:
            layers = json.loads((folder / "config.json").read_text()).get("num_hidden_layers")
        except (OSError, ValueError):
            continue
        if isinstance(layers, int) and layers > 0:
            return layers
    return MODELS[model_id].layers if model_id in MODELS else 0


def _config_folders(model_id: str) -> list[Path]:
    if is_hub_id(model_id):
        return [Path(model_id).expanduser()]
    folders = [settings().cache_dir / "models" / model_id]  # converted / reassembled pack models
    package = MODELS[model_id].package if model_id in MODELS else ""
    if package and "-" not in package:  # an importable package shipping the model folder (minilm-l6)
        found = importlib.util.find_spec(package)  # locates without importing
        if found and found.submodule_search_locations:
            folders.append(Path(next(iter(found.submodule_search_locations))) / "model")
    return folders


def half_layers(layers: int) -> int:
    return (layers + 1) // 2  # about half, rounding up: 3 -> 2, 6 -> 3, 12 -> 6


def _pipeline(*steps: str | None) -> str:
    return canonical("+".join(s for s in steps if s))


def _prune(keep: float) -> str:
    return f"prune-structured:keep={keep}"


def _drop(keep: int) -> str:
    return f"layer-drop:keep={keep}"


def _distill(teacher: str) -> str:
    return f"distill:teacher={teacher},epochs={DISTILL_EPOCHS}"


def stage_one(layers: int, cpu_features: Sequence[str]) -> tuple[list[Candidate], list[Candidate]]:
    """The single steps to measure, and the ones left out (with why)."""
    run = [
        Candidate(BASELINE, "the baseline: the model as published; its score sets the floor", 1),
        Candidate("int8-dynamic", "8-bit weights in PyTorch: about 4x smaller, usually faster on CPUs", 1),
        Candidate("onnx-fp32", "the same numbers in ONNX Runtime: what the leaner engine alone gains", 1),
        Candidate("onnx-int8", "ONNX Runtime with 8-bit weights: a fast CPU runtime on every CPU measured here", 1),
        Candidate("onnx-int8-static", "ONNX Runtime with 8-bit weights and activations calibrated on training "
                                      "sentences: less work per query than onnx-int8", 1),
        Candidate("ov-int8", "OpenVINO with 8-bit numbers calibrated on training sentences (NNCF): the fastest "
                             "runtime measured on CPUs with VNNI/AMX", 1),
    ]
    skipped = [
        Candidate("ov-fp32", "onnx-fp32 already shows what a leaner engine gains on the same numbers", 1),
        Candidate("auto", "the search measures auto's candidates itself, on the test set", 1),
    ]
    bf16 = [Candidate("bf16", "16-bit numbers: half the memory, fast on CPUs with bfloat16 instructions", 1),
            Candidate("ov-bf16", "OpenVINO computing in bfloat16: fast on CPUs with bfloat16 instructions", 1)]
    if bf16_is_fast(cpu_features):
        run += bf16
    else:
        skipped += [Candidate(c.spec, "this CPU lacks avx512_bf16/amx_bf16, so bfloat16 is emulated "
                                      "and slower than fp32", 1) for c in bf16]
    run += [
        Candidate(_prune(0.75), "removes a quarter of the attention heads and neurons: a mild, real shrink", 1),
        Candidate(_prune(0.5), "removes half of the heads and neurons: faster, at a larger quality risk", 1),
    ]
    if layers >= 2:
        keep = half_layers(layers)
        run.append(Candidate(_drop(keep), f"keeps {keep} of {layers} layers, evenly spaced: about {keep / layers:.0%} "
                                          "of the encoder's work, but it forgets what the dropped layers knew", 1))
    else:
        reason = "the model has a single layer" if layers == 1 else "the model's layer count is unknown"
        skipped.append(Candidate("layer-drop", reason, 1))
    return [_canonical(c) for c in run], skipped


def stage_two(held: Callable[[str], bool], finisher: str | None, layers: int, teacher: str | None,
              max_drop_pts: float | None = None) -> tuple[list[Candidate], list[Candidate]]:
    """Combinations built from stage 1: `held(spec)` says whether a single step kept the floor; `finisher` is the
    best runtime step that kept it (None: none did). With the search's `max_drop_pts`, an ov-int8 that missed
    the floor is retried with its most sensitive layers kept in float (ov-int8-aware)."""
    run, skipped = [], []
    if max_drop_pts is not None and not held("ov-int8"):
        run.append(Candidate(canonical(f"ov-int8-aware:max_drop={max_drop_pts}"),
                             "ov-int8 lost more than the floor: keep the layers that cost the most in float until "
                             f"within {max_drop_pts:g} points on validation sentences", 2))
    finish = f", finished with {finisher}, the best runtime step that kept the floor" if finisher else ""
    no_finisher = "not combined: no runtime step (int8, ONNX) kept the floor while beating fp32"
    kept = [k for k in PRUNE_KEEPS if held(_prune(k))]
    if kept:
        keep = min(kept)
        if finisher:
            run.append(Candidate(_pipeline(_prune(keep), finisher),
                                 f"the strongest pruning that kept the floor alone (keep={keep}){finish}", 2))
        else:
            skipped.append(Candidate(f"{_prune(keep)}+runtime step", no_finisher, 2))
        if keep == min(PRUNE_KEEPS):
            run.append(Candidate(_pipeline(_prune(PRUNE_DEEPER_KEEP), finisher),
                                 f"keep={keep} kept the floor, so cut deeper (keep={PRUNE_DEEPER_KEEP}){finish}", 2))
    else:
        skipped.append(Candidate("prune-structured+runtime step", "not combined: no pruning setting kept the floor "
                                 "alone, and a runtime step on top only loses more", 2))
    if layers >= 2:
        keep = half_layers(layers)
        if not held(_drop(keep)):
            skipped.append(Candidate(f"{_drop(keep)}+runtime step", "not combined as is: dropping layers lost more "
                                     "than the floor; distillation is what can win it back", 2))
        elif finisher:
            run.append(Candidate(_pipeline(_drop(keep), finisher), f"{keep} layers kept the floor alone{finish}", 2))
        else:
            skipped.append(Candidate(f"{_drop(keep)}+runtime step", no_finisher, 2))
        if teacher:
            run.append(Candidate(_pipeline(_drop(keep), _distill(teacher), finisher),
                                 f"retrains the {keep}-layer model to imitate {teacher}, to win back what dropping "
                                 f"layers lost{finish} (the expensive candidate: {DISTILL_EPOCHS} epochs of training)", 2))
    if not teacher:
        skipped.append(Candidate("distill", "no teacher: no bigger model is installed, or none was asked for", 2))
    elif layers < 2:
        skipped.append(Candidate("distill", "distillation retrains a cut-down model, and this one cannot be cut "
                                            "into fewer layers", 2))
    return run, skipped


def stage_three(first_held: bool, finisher: str | None, layers: int, teacher: str) -> list[Candidate]:
    """At most one more distillation: cut deeper if the first distilled model kept the floor, milder if not."""
    keep = half_layers(layers)
    if first_held:
        other, why = max(1, layers // 3), "the distilled {k}-layer model kept the floor: try cutting deeper"
    else:
        other, why = (keep + layers) // 2, "the distilled {k}-layer model missed the floor: keep more layers"
    if other == keep or not 1 <= other < layers:
        return []
    return [Candidate(_pipeline(_drop(other), _distill(teacher), finisher),
                      why.format(k=keep) + f" ({other} of {layers})", 3)]


def _canonical(candidate: Candidate) -> Candidate:
    return Candidate(canonical(candidate.spec), candidate.why, candidate.stage)


def candidate_specs(model_id: str, teacher: str | None, layers: int,
                    cpu_features: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """The plan as (spec, why), in stage order: stage 1 as it will run; stages 2 and 3 as they run when every
    step keeps the floor and onnx-int8 is the best finisher (run_optimize adapts them to what it measured)."""
    features = this_cpu_features() if cpu_features is None else cpu_features
    teacher = None if teacher in (None, "", NO_TEACHER) else teacher
    first, _ = stage_one(layers, features)
    second, _ = stage_two(lambda spec: True, "onnx-int8", layers, teacher)
    third = stage_three(True, "onnx-int8", layers, teacher) if teacher and layers >= 2 else []
    return [(c.spec, c.why) for c in first] + [(c.spec, f"planned: {c.why}") for c in second + third]


def this_cpu_features() -> list[str]:
    from engine.measure.system import hardware

    return list(hardware()["cpu_features"])  # type: ignore[arg-type]
