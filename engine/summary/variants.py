"""The variants among trial records: ok ones, the newest per (model, technique), the model order, the
Pareto frontier, and each variant against its own model's fp32.

Pure: every function takes records and returns data (no store, no streamlit).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.quality import gain_pts, metric_for
from engine.record import TrialRecord
from engine.registry import METRICS, MODELS, MetricSpec, get_task


def ok_records(records: Iterable[TrialRecord], *fields: str) -> list[TrialRecord]:
    """Records with status "ok" whose given fields are all measured (not None)."""
    return [r for r in records if r.status == "ok" and all(getattr(r, f) is not None for f in fields)]


def latest_variants(records: Iterable[TrialRecord], task: str | None = None,
                    mixed_tasks: type[ValueError] = ValueError) -> list[TrialRecord]:
    """The current figure of each (model, technique) — of `task` if given — in the task's model order
    (smallest to largest), techniques in the order first seen: its newest ok record measured on a quiet CPU, else
    (only contended measurements exist) its newest ok record, whose `contended` flag the views then show. A
    contended repeat never replaces a clean figure: under a workshop's load p50 went 2.4 -> 543 ms. What-if
    projections and recommendations use these: one current figure per variant, not every repeat. Without `task`
    the ok records must be of one task (else `mixed_tasks`, the caller's ValueError)."""
    ok = ok_records(records)
    tasks = sorted({r.task for r in ok})
    if task is None and len(tasks) > 1:
        raise mixed_tasks(f"The records hold several tasks ({', '.join(tasks)}); pick one.")
    latest: dict[tuple[str, str], TrialRecord] = {}
    for r in ok:
        if task and r.task != task:
            continue
        key = (r.model, r.technique)
        rank = (not r.contended, r.started_at, r.job_id or 0)  # clean first, then newest
        if key not in latest or rank >= (not latest[key].contended, latest[key].started_at, latest[key].job_id or 0):
            latest[key] = r
    order = {m: i for i, m in enumerate(model_order(task, latest.values()))}
    first_seen = {key: i for i, key in enumerate(latest)}
    return sorted(latest.values(), key=lambda r: (order.get(r.model, len(order)), first_seen[(r.model, r.technique)]))


def params_m(record: TrialRecord) -> float | None:
    """Parameters in millions as counted by the trial, else the registry's nominal size."""
    if record.params_m is not None:
        return record.params_m
    spec = MODELS.get(record.model)
    return spec.params_m if spec else None


def cpu_name(record: TrialRecord) -> str:
    """The CPU a record was measured on, whichever key the hardware probe used."""
    hw = record.hardware or {}
    for key in ("cpu_model", "cpu", "processor", "brand_raw", "cpu_brand"):
        if hw.get(key):
            return str(hw[key])
    return "unknown CPU"


def model_order(task_id: str | None, records: Iterable[TrialRecord] = ()) -> list[str]:
    """Models in a fixed order: the task's ladder (smallest to largest), then any others seen in records.

    Charts use this as the colour domain so a model keeps its colour whatever subset is shown."""
    try:
        ladder = list(get_task(task_id).models) if task_id else []
    except ValueError:  # a task this install no longer knows (a deleted upload)
        ladder = []
    extra = sorted({r.model for r in records} - set(ladder))
    return ladder + extra


def pareto_frontier(
    records: Iterable[TrialRecord], x: str = "energy_wh_per_1k", y: str = "quality"
) -> list[TrialRecord]:
    """The ok records no other record dominates (lower x is better, a better y is better: for y="quality" the
    metric's direction decides), sorted by x.

    A record is dominated when another has x <= and y >= with at least one strictly better. Exact
    duplicates (same x and y) do not dominate each other, so both stay."""
    ok = ok_records(records, x, y)
    sign = -1.0 if y == "quality" and not metric_for(ok).higher_is_better else 1.0
    points = sorted(ok, key=lambda r: (getattr(r, x), -sign * getattr(r, y)))
    frontier: list[TrialRecord] = []
    best_y = float("-inf")
    for r in points:
        rx, ry = getattr(r, x), sign * getattr(r, y)
        if ry > best_y:
            frontier.append(r)
            best_y = ry
        elif frontier and ry == best_y and rx == getattr(frontier[-1], x):
            frontier.append(r)  # an exact duplicate of the last frontier point
    return frontier


def ratio(num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den == 0:
        return None
    return num / den


def fp32_reference(record: TrialRecord, records: Sequence[TrialRecord], model: str | None = None) -> TrialRecord | None:
    """The ok fp32 trial of `model` (default: the record's own) among `records`, preferring the record's own
    run (same job: same test sample and machine state), else the latest one."""
    model = model or record.model
    fp32 = [r for r in ok_records(records) if r.model == model and r.technique == "fp32" and r is not record]
    same_run = [r for r in fp32 if r.job_id == record.job_id]
    pool = same_run or fp32
    return max(pool, key=lambda r: (r.started_at, r.job_id or 0)) if pool else None


@dataclass(frozen=True)
class Relative:
    """A variant against its own model's fp32: how much faster and how many points of the task's metric it gains
    (positive) or loses."""

    record: TrialRecord
    reference: TrialRecord
    throughput_ratio: float | None  # queries per second at batch 32, variant / fp32 (> 1: faster)
    p50_ratio: float | None  # fp32 median single-query latency / variant's (> 1: faster)
    quality_change_pts: float  # variant vs fp32 in points of the metric, positive = better (engine.quality)
    metric: MetricSpec = METRICS["accuracy"]


def relative_to_fp32(records: Iterable[TrialRecord]) -> list[Relative]:
    """Every ok non-fp32 variant with a score, paired with its model's fp32 in the shown runs."""
    records = list(records)
    metric = metric_for(records)
    out = []
    for r in ok_records(records, "quality"):
        if r.technique == "fp32":
            continue
        ref = fp32_reference(r, records)
        if ref is None or ref.quality is None:
            continue
        out.append(Relative(
            record=r, reference=ref,
            throughput_ratio=ratio(r.throughput_per_s, ref.throughput_per_s),
            p50_ratio=ratio(ref.latency_p50_ms, r.latency_p50_ms),
            quality_change_pts=gain_pts(r.quality, ref.quality, metric),
            metric=metric,
        ))
    return out
