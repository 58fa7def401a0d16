"""The accuracy-floor search ("find the leanest variant") of one model on one task.

It measures a bounded set of compressions of the model (each a full trial in its own process, one at a time
under the machine-wide measurement lock, exactly like a run) and returns the variant with the lowest energy per
query (or median latency, or size) whose accuracy stays within `max_drop_pts` points of the model's own fp32,
plus every candidate it measured. The best one found wins, not the first that passes.

The search, stage by stage (about 10-14 trials; every candidate's reason goes into the result's `tried`):
  1. single steps: fp32 (the baseline), int8-dynamic, onnx-fp32, onnx-int8, bf16 (only on CPUs with bfloat16
     instructions), prune-structured:keep=0.75 and keep=0.5, layer-drop to about half the layers;
  2. combinations built from what stage 1 showed: the strongest pruning that kept the floor (and a deeper cut
     when keep=0.5 held) and the half-depth model if it held, each finished with the best runtime step that kept
     the floor (usually onnx-int8); the half-depth model distilled from a bigger teacher (the expensive one);
  3. at most one more distillation: a deeper cut if the first kept the floor, a milder one if it did not.

Paired comparison: every candidate answers the same test sentences (same test set, seed and eval size). With
300 sentences one accuracy's 95% interval is about ±5 points, so a 1-point floor is judged on point estimates
of that shared sample: read "within the floor" as "no visible loss on these sentences", not as a guarantee.
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.config import settings
from engine.objectives import OBJECTIVES
from engine.record import TrialRecord
from engine.registry import MODELS, _choose, is_hub_id
from engine.requests import NO_TEACHER, OptimizeRequest
from engine.runner import Progress, measurement_lock, run_trial_process
from engine.summary.labels import fmt_queries
from engine.summary.payback import break_even_queries
from engine.techniques.spec import canonical
from engine.trial import TrialSpec

BASELINE = "fp32"
# Steps that change how the model runs, not its shape: the best one that keeps the floor finishes stage 2's combos.
FINISHERS = ("onnx-int8", "int8-dynamic", "onnx-fp32", "bf16")
PRUNE_KEEPS = (0.75, 0.5)  # milder first
PRUNE_DEEPER_KEEP = 0.35  # tried only when keep=0.5 kept the floor
DISTILL_EPOCHS = 2
BF16_FEATURES = ("avx512_bf16", "amx_bf16")  # without them bfloat16 is emulated and slower than fp32
LAYER_HINTS = {"minilm-l3": 3, "minilm-l6": 6, "mpnet-base": 12}  # when no config.json is on disk yet
EPSILON = 1e-9  # accuracies are fractions of the same n: equal means equal, up to float rounding

TrialRunner = Callable[..., TrialRecord]  # (TrialSpec, progress, curve) -> TrialRecord
CurveSink = Callable[[str, str, dict], None]


class BaselineFailed(RuntimeError):
    """The fp32 trial failed: without its accuracy there is no floor to hold."""


@dataclass(frozen=True)
class Candidate:
    spec: str
    why: str
    stage: int


# --------------------------------------------------------------------------------------------- the plan


def model_layers(model_id: str) -> int:
    """The encoder's layer count from its config.json (no torch, no weights), else a hint; 0 when unknown."""
    for folder in _config_folders(model_id):
        try:
            layers = json.loads((folder / "config.json").read_text()).get("num_hidden_layers")
        except (OSError, ValueError):
            continue
        if isinstance(layers, int) and layers > 0:
            return layers
    return LAYER_HINTS.get(model_id, 0)


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


def bf16_is_fast(cpu_features: Sequence[str]) -> bool:
    return any(f in cpu_features for f in BF16_FEATURES)


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
        Candidate(BASELINE, "the baseline: the model as published; its accuracy sets the floor", 1),
        Candidate("int8-dynamic", "8-bit weights in PyTorch: about 4x smaller, usually faster on CPUs", 1),
        Candidate("onnx-fp32", "the same numbers in ONNX Runtime: what the leaner engine alone gains", 1),
        Candidate("onnx-int8", "ONNX Runtime with 8-bit weights: the fastest CPU runtime measured here", 1),
    ]
    skipped = []
    bf16 = Candidate("bf16", "16-bit numbers: half the memory, fast on CPUs with bfloat16 instructions", 1)
    if bf16_is_fast(cpu_features):
        run.append(bf16)
    else:
        skipped.append(Candidate("bf16", "this CPU lacks avx512_bf16/amx_bf16, so bfloat16 is emulated "
                                         "and slower than fp32", 1))
    run += [
        Candidate(_prune(0.75), "removes a quarter of the attention heads and neurons: a mild, real shrink", 1),
        Candidate(_prune(0.5), "removes half of the heads and neurons: faster, at a larger accuracy risk", 1),
    ]
    if layers >= 2:
        keep = half_layers(layers)
        run.append(Candidate(_drop(keep), f"keeps {keep} of {layers} layers, evenly spaced: about {keep / layers:.0%} "
                                          "of the encoder's work, but it forgets what the dropped layers knew", 1))
    else:
        reason = "the model has a single layer" if layers == 1 else "the model's layer count is unknown"
        skipped.append(Candidate("layer-drop", reason, 1))
    return [_canonical(c) for c in run], skipped


def stage_two(held: Callable[[str], bool], finisher: str | None, layers: int,
              teacher: str | None) -> tuple[list[Candidate], list[Candidate]]:
    """Combinations built from stage 1: `held(spec)` says whether a single step kept the floor; `finisher` is the
    best runtime step that kept it (None: none did)."""
    run, skipped = [], []
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
    features = _cpu_features() if cpu_features is None else cpu_features
    teacher = None if teacher in (None, "", NO_TEACHER) else teacher
    first, _ = stage_one(layers, features)
    second, _ = stage_two(lambda spec: True, "onnx-int8", layers, teacher)
    third = stage_three(True, "onnx-int8", layers, teacher) if teacher and layers >= 2 else []
    return [(c.spec, c.why) for c in first] + [(c.spec, f"planned: {c.why}") for c in second + third]


def _cpu_features() -> list[str]:
    from engine.measure.system import hardware

    return list(hardware()["cpu_features"])  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------- the choice


def _value(record: TrialRecord, field: str) -> float | None:
    return getattr(record, field)


def _usable(record: TrialRecord, field: str) -> bool:
    return record.status == "ok" and record.accuracy is not None and _value(record, field) is not None


def _steps(record: TrialRecord) -> int:
    return len(record.steps) or record.technique.count("+") + 1


def floor_accuracy(baseline: TrialRecord, max_drop_pts: float) -> float:
    return float(baseline.accuracy) - max_drop_pts / 100  # type: ignore[arg-type]


def choose(baseline: TrialRecord, candidates: Sequence[TrialRecord], objective: str,
           max_drop_pts: float) -> tuple[TrialRecord | None, TrialRecord | None]:
    """(best, nearest miss). Only ok candidates strictly better than the baseline on the objective count: a
    "leaner" variant that is not leaner is no answer. Best: the lowest objective among those with accuracy >=
    the floor (ties: higher accuracy, then fewer steps). Nearest miss: among those below the floor and leaner
    than the best (or than the baseline when nothing kept the floor), the most accurate one."""
    field = _choose("objective", objective, OBJECTIVES).field
    if not _usable(baseline, field):
        raise BaselineFailed(f"The baseline {baseline.variant} has no accuracy/{field} to compare against.")
    floor, reference = floor_accuracy(baseline, max_drop_pts), _value(baseline, field)
    pool = [r for r in candidates if r is not baseline and r.technique != baseline.technique
            and _usable(r, field) and _value(r, field) < reference]
    kept = [r for r in pool if r.accuracy >= floor - EPSILON]
    best = min(kept, key=lambda r: (_value(r, field), -r.accuracy, _steps(r)), default=None)
    bar = _value(best, field) if best else reference
    misses = [r for r in pool if r.accuracy < floor - EPSILON and _value(r, field) < bar]
    nearest = min(misses, key=lambda r: (-r.accuracy, _value(r, field), _steps(r)), default=None)
    return best, nearest


def accuracy_ci_pts(baseline: TrialRecord) -> float:
    """Half-width of the baseline's 95% accuracy interval, in points."""
    if baseline.accuracy_ci_low is not None and baseline.accuracy_ci_high is not None:
        return (baseline.accuracy_ci_high - baseline.accuracy_ci_low) / 2 * 100
    p, n = float(baseline.accuracy or 0.0), max(1, baseline.eval_size)
    return 1.96 * (p * (1 - p) / n) ** 0.5 * 100


def _times(reference: float, value: float) -> str:
    ratio = reference / value if value > 0 else float("inf")
    return f"{ratio:.1f}x" if ratio >= 1.095 else f"{(1 - value / reference) * 100:.0f}%"


def _gain(objective: str, record: TrialRecord, baseline: TrialRecord) -> str:
    """e.g. 'uses 4.1x less energy per query than minilm-l6 · fp32'."""
    ref, value = _value(baseline, OBJECTIVES[objective].field), _value(record, OBJECTIVES[objective].field)
    times = _times(ref, value)
    if objective == "energy":
        return f"uses {times} less energy per query than {baseline.variant}"
    if objective == "latency":
        return f"answers {times} faster than {baseline.variant} ({value:.1f} ms vs {ref:.1f} ms median)"
    return f"is {times} smaller than {baseline.variant} ({value:.1f} MB vs {ref:.1f} MB)"


def _payback(record: TrialRecord, baseline: TrialRecord) -> str:
    """The energy spent once to create the variant (distillation), and when its per-query saving repays it."""
    if not record.upfront_energy_wh:
        return ""
    saving = (None if baseline.energy_wh_per_1k is None or record.energy_wh_per_1k is None
              else baseline.energy_wh_per_1k - record.energy_wh_per_1k)
    queries = break_even_queries(record.upfront_energy_wh, saving)
    repaid = f"repaid after about {fmt_queries(queries)}" if queries is not None else "never repaid per query"
    return f" Creating it took {record.upfront_energy_wh:.2g} Wh once (training), {repaid}."


LEANER = {"energy": "uses less energy per query than", "latency": "answers faster than", "size": "is smaller than"}


def verdict(baseline: TrialRecord, best: TrialRecord | None, nearest: TrialRecord | None, objective: str,
            max_drop_pts: float, measured: int = 0) -> str:
    """One plain-language sentence for an executive, plus the honest caveat about the sample."""
    points = f"{max_drop_pts:.1f} point{'' if max_drop_pts == 1 else 's'}"
    base_acc = f"{baseline.accuracy:.3f}"
    if best is not None:
        keeps = ("is at least as accurate" if best.accuracy >= baseline.accuracy
                 else f"stays within {points} of its accuracy")
        head = (f"{best.variant} {_gain(objective, best, baseline)} and {keeps} ({best.accuracy:.3f} vs {base_acc})."
                + _payback(best, baseline))
    elif nearest is not None:
        drop = (baseline.accuracy - nearest.accuracy) * 100
        head = (f"No variant tried stays within {points} of {baseline.variant}'s accuracy ({base_acc}) while being "
                f"leaner; the nearest miss, {nearest.variant}, {_gain(objective, nearest, baseline)} but scores "
                f"{nearest.accuracy:.3f} ({drop:.1f} points lower). Keep fp32 or accept a larger drop.")
    elif measured == 0:
        head = f"No compressed variant was measured successfully, so nothing can replace {baseline.variant} yet."
    else:
        head = f"No variant tried {LEANER[objective]} {baseline.variant}: keep it as it is."
    contended = any(r is not None and r.contended for r in (baseline, best, nearest))
    noisy = (" Other programs used much of the CPU during some measurements (flagged contended): re-run on a "
             "quiet machine before quoting the speed and energy ratios." if contended else "")
    return (f"{head} Every variant answered the same {baseline.eval_size} test sentences; at that size one "
            f"accuracy is uncertain by about ±{accuracy_ci_pts(baseline):.0f} points, so the floor compares point "
            f"estimates on that shared sample.{noisy}")


# --------------------------------------------------------------------------------------------- the search


class _Search:
    """Measures candidates one at a time, in the plan's order, and keeps the record of every one."""

    def __init__(self, request: OptimizeRequest, job_id: int | None, progress: Progress, curve: CurveSink,
                 on_record: Callable[[TrialRecord], None], run_trial: TrialRunner, limit: int | None,
                 planned: int) -> None:
        self.request, self.job_id, self.progress, self.curve = request, job_id, progress, curve
        self.on_record, self.run_trial, self.limit = on_record, run_trial, limit
        self.planned = max(1, min(planned, limit or planned))
        self.records: dict[str, TrialRecord] = {}
        self.tried: list[dict[str, Any]] = []
        self.floor: float | None = None

    def held(self, spec: str) -> bool:
        record = self.records.get(canonical(spec))
        return (record is not None and record.status == "ok" and record.accuracy is not None
                and self.floor is not None and record.accuracy >= self.floor - EPSILON)

    def note(self, candidate: Candidate, status: str) -> None:
        self.tried.append({"spec": candidate.spec, "why": candidate.why, "stage": candidate.stage,
                           "status": status, "accuracy": None, "objective_value": None, "kept_floor": None})

    def measure(self, candidate: Candidate) -> TrialRecord | None:
        if candidate.spec in self.records:
            return None  # a combination that came out identical to a step already measured
        if self.limit is not None and len(self.records) >= self.limit:
            self.note(candidate, f"not run: the search was limited to {self.limit} candidates")
            return None
        r = self.request
        spec = TrialSpec(r.task, r.model, candidate.spec, r.eval_size, r.region, r.test_set, r.seed, self.job_id)
        index = len(self.records)
        label = f"[{index + 1}/{max(self.planned, index + 1)}] {r.model} · {candidate.spec}"

        def report(fraction: float, message: str) -> None:
            self.progress(min(0.99, (index + fraction) / max(self.planned, index + 1)), f"{label}: {message}")

        with measurement_lock(on_wait=lambda: report(0.0, "waiting for another measurement to finish")):
            record = self.run_trial(spec, report, self.curve)
        self.records[candidate.spec] = record
        self.on_record(record)
        value = _value(record, OBJECTIVES[r.objective].field) if record.status == "ok" else None
        self.tried.append({"spec": candidate.spec, "why": candidate.why, "stage": candidate.stage,
                           "status": record.status, "error": record.error, "accuracy": record.accuracy,
                           "objective_value": value, "kept_floor": None})
        if self.floor is not None and record.status == "ok":
            self.tried[-1]["kept_floor"] = self.held(candidate.spec)
        return record

    def finisher(self, baseline: TrialRecord) -> str | None:
        """The runtime step that kept the floor and is leanest on the objective, if any."""
        field = OBJECTIVES[self.request.objective].field
        ok = [self.records[s] for s in FINISHERS if s in self.records and self.held(s)
              and _usable(self.records[s], field) and _value(self.records[s], field) < _value(baseline, field)]
        return min(ok, key=lambda rec: _value(rec, field)).technique if ok else None


def _ignore_curve(model: str, technique: str, point: dict) -> None:
    return None


def run_optimize(request: OptimizeRequest, job_id: int | None, progress: Progress,
                 curve: CurveSink | None = None, on_record: Callable[[TrialRecord], None] | None = None, *,
                 run_trial: TrialRunner | None = None, max_candidates: int | None = None,
                 cpu_features: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the search; `on_record` gets each record as it is measured (callers store them as they come).
    Returns the result: baseline, best, nearest_miss, candidates (records as dicts), tried, verdict, ...
    `run_trial` defaults to engine.runner.run_trial_process (a child process per trial); `max_candidates`
    caps the number of trials, baseline included. Raises BaselineFailed when the fp32 trial fails."""
    if max_candidates is not None and max_candidates < 1:
        raise ValueError(f"max candidates must be at least 1 (got {max_candidates}).")
    started = time.perf_counter()
    request = request.validated()
    teacher = None if request.teacher == NO_TEACHER else request.teacher
    layers = model_layers(request.model)
    features = _cpu_features() if cpu_features is None else list(cpu_features)
    planned = len(candidate_specs(request.model, teacher, layers, features))
    search = _Search(request, job_id, progress, curve or _ignore_curve, on_record or (lambda record: None),
                     run_trial or run_trial_process, max_candidates, planned)

    first, skipped = stage_one(layers, features)
    baseline = search.measure(first[0])
    if baseline is None or not _usable(baseline, OBJECTIVES[request.objective].field):
        error = baseline.error if baseline is not None else "not run"
        raise BaselineFailed(f"The fp32 baseline of {request.model} failed, so there is no accuracy to hold: {error}")
    search.floor = floor_accuracy(baseline, request.max_drop_pts)
    search.tried[0]["kept_floor"] = True
    for candidate in skipped:
        search.note(candidate, "skipped")
    for candidate in first[1:]:
        search.measure(candidate)

    finisher = search.finisher(baseline)
    second, skipped = stage_two(search.held, finisher, layers, teacher)
    for candidate in skipped:
        search.note(candidate, "skipped")
    for candidate in second:
        record = search.measure(candidate)
        if teacher and "distill:" in candidate.spec and record is not None and record.status == "ok":
            for follow_up in stage_three(search.held(candidate.spec), finisher, layers, teacher):
                search.measure(follow_up)

    measured = [rec for rec in search.records.values() if rec is not baseline]
    best, nearest = choose(baseline, measured, request.objective, request.max_drop_pts)
    ok_count = sum(rec.status == "ok" for rec in measured)
    progress(1.0, "search finished")
    return {
        "task": request.task, "model": request.model, "objective": request.objective,
        "objective_field": OBJECTIVES[request.objective].field, "max_drop_pts": request.max_drop_pts,
        "floor_accuracy": search.floor, "teacher": teacher, "layers": layers, "eval_size": request.eval_size,
        "test_set": request.test_set, "seed": request.seed, "region": request.region,
        "baseline": baseline.to_dict(), "best": best.to_dict() if best else None,
        "nearest_miss": nearest.to_dict() if nearest else None,
        "candidates": [rec.to_dict() for rec in search.records.values()],
        "tried": search.tried,
        "verdict": verdict(baseline, best, nearest, request.objective, request.max_drop_pts, ok_count),
        "accuracy_ci_pts": round(accuracy_ci_pts(baseline), 1),
        "search_s": round(time.perf_counter() - started, 2),
    }


def job_summary(result: dict[str, Any]) -> dict[str, Any]:
    """The small summary a job stores (store.set_result): records appear as [model, technique] pairs; the records
    themselves are the job's trials."""

    def pair(record: dict | None) -> list[str] | None:
        return [record["model"], record["technique"]] if record else None

    keys = ("objective", "objective_field", "max_drop_pts", "floor_accuracy", "teacher", "tried", "verdict",
            "accuracy_ci_pts", "search_s")
    return {**{k: result[k] for k in keys}, "baseline": pair(result["baseline"]), "best": pair(result["best"]),
            "nearest_miss": pair(result["nearest_miss"]), "candidates": [pair(r) for r in result["candidates"]]}

