"""The quality-floor search ("find the leanest variant") of one model on one task, in the task's metric.

It measures a bounded set of compressions of the model (each a full trial in its own process, one at a time
under the machine-wide measurement lock, exactly like a run) and returns the variant with the lowest energy per
query (or median latency, or size) whose score stays within `max_drop_pts` points of the model's own fp32,
plus every candidate it measured. The best one found wins, not the first that passes.

The search, stage by stage (about 12-16 trials; every candidate's reason goes into the result's `tried`):
  1. single steps: fp32 (the baseline), int8-dynamic, onnx-fp32, onnx-int8, onnx-int8-static, ov-int8, bf16 and
     ov-bf16 (only on CPUs with bfloat16 instructions), prune-structured:keep=0.75 and keep=0.5, layer-drop to
     about half the layers;
  2. combinations built from what stage 1 showed: the strongest pruning that kept the floor (and a deeper cut
     when keep=0.5 held) and the half-depth model if it held, each finished with the best runtime step that kept
     the floor (onnx-int8, onnx-int8-static or ov-int8, as measured); the half-depth model distilled from a
     bigger teacher (the expensive one); ov-int8 with its most sensitive layers kept in float when plain ov-int8
     missed the floor (ov-int8-aware);
  3. at most one more distillation: a deeper cut if the first kept the floor, a milder one if it did not.

Paired comparison: every candidate answers the same test items (same test set, seed and eval size). With
300 items one accuracy's 95% interval is about ±5 points, so a 1-point floor is judged on point estimates of
that shared sample: read "within the floor" as "no visible loss on these items", not as a guarantee. A point
is 0.01 of the task's metric; the metric's direction (engine.quality) decides what "within" means.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from engine.objectives import OBJECTIVES
from engine.optimize_choice import (
    EPSILON,
    BaselineFailed,
    choose,
    floor_quality,
    quality_ci_pts,
    usable,
    value_of,
    verdict,
)
from engine.optimize_plan import (
    FINISHERS,
    Candidate,
    candidate_specs,
    model_layers,
    stage_one,
    stage_three,
    stage_two,
    this_cpu_features,
)
from engine.record import TrialRecord
from engine.requests import NO_TEACHER, OptimizeRequest
from engine.runner import Progress, measurement_lock, run_trial_process
from engine.techniques.spec import canonical
from engine.trial import TrialSpec

TrialRunner = Callable[..., TrialRecord]  # (TrialSpec, progress, curve) -> TrialRecord
CurveSink = Callable[[str, str, dict], None]



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
        return (record is not None and record.status == "ok" and record.quality is not None
                and self.floor is not None and record.quality >= self.floor - EPSILON)

    def note(self, candidate: Candidate, status: str) -> None:
        self.tried.append({"spec": candidate.spec, "why": candidate.why, "stage": candidate.stage,
                           "status": status, "quality": None, "objective_value": None, "kept_floor": None})

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

        with measurement_lock(on_wait=lambda: report(0.0, "waiting for another measurement to finish")) as lock:
            record = self.run_trial(spec, report, self.curve)
        record.measurement_lock = lock
        self.records[candidate.spec] = record
        self.on_record(record)
        value = value_of(record, OBJECTIVES[r.objective].field) if record.status == "ok" else None
        self.tried.append({"spec": candidate.spec, "why": candidate.why, "stage": candidate.stage,
                           "status": record.status, "error": record.error, "quality": record.quality,
                           "objective_value": value, "kept_floor": None})
        if self.floor is not None and record.status == "ok":
            self.tried[-1]["kept_floor"] = self.held(candidate.spec)
        return record

    def finisher(self, baseline: TrialRecord) -> str | None:
        """The runtime step that kept the floor and is leanest on the objective, if any."""
        field = OBJECTIVES[self.request.objective].field
        ok = [self.records[s] for s in FINISHERS if s in self.records and self.held(s)
              and usable(self.records[s], field) and value_of(self.records[s], field) < value_of(baseline, field)]
        return min(ok, key=lambda rec: value_of(rec, field)).technique if ok else None


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
    features = this_cpu_features() if cpu_features is None else list(cpu_features)
    planned = len(candidate_specs(request.model, teacher, layers, features))
    search = _Search(request, job_id, progress, curve or _ignore_curve, on_record or (lambda record: None),
                     run_trial or run_trial_process, max_candidates, planned)

    first, skipped = stage_one(layers, features)
    baseline = search.measure(first[0])
    if baseline is None or not usable(baseline, OBJECTIVES[request.objective].field):
        error = baseline.error if baseline is not None else "not run"
        raise BaselineFailed(f"The fp32 baseline of {request.model} failed, so there is no score to hold: {error}")
    search.floor = floor_quality(baseline, request.max_drop_pts)
    search.tried[0]["kept_floor"] = True
    for candidate in skipped:
        search.note(candidate, "skipped")
    for candidate in first[1:]:
        search.measure(candidate)

    finisher = search.finisher(baseline)
    second, skipped = stage_two(search.held, finisher, layers, teacher, request.max_drop_pts)
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
        "metric": baseline.metric, "floor_quality": search.floor, "teacher": teacher, "layers": layers,
        "eval_size": request.eval_size,
        "test_set": request.test_set, "seed": request.seed, "region": request.region,
        "baseline": baseline.to_dict(), "best": best.to_dict() if best else None,
        "nearest_miss": nearest.to_dict() if nearest else None,
        "candidates": [rec.to_dict() for rec in search.records.values()],
        "tried": search.tried,
        "verdict": verdict(baseline, best, nearest, request.objective, request.max_drop_pts, ok_count),
        "quality_ci_pts": round(quality_ci_pts(baseline), 1),
        "search_s": round(time.perf_counter() - started, 2),
    }


def job_summary(result: dict[str, Any]) -> dict[str, Any]:
    """The small summary a job stores (store.set_result): records appear as [model, technique] pairs; the records
    themselves are the job's trials."""

    def pair(record: dict | None) -> list[str] | None:
        return [record["model"], record["technique"]] if record else None

    keys = ("objective", "objective_field", "max_drop_pts", "metric", "floor_quality", "teacher", "tried", "verdict",
            "quality_ci_pts", "search_s")
    return {**{k: result[k] for k in keys}, "baseline": pair(result["baseline"]), "best": pair(result["best"]),
            "nearest_miss": pair(result["nearest_miss"]), "candidates": [pair(r) for r in result["candidates"]]}
