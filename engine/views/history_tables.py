"""What the History page shows, as plain data: stored trials and jobs under filters, the choices each filter
offers, and one variant's figures on each machine it ran on. No streamlit here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from statistics import median
from typing import Any

from engine.quality import metric_for
from engine.record import TrialRecord
from engine.store import Job, Store, StoredTrial, _day, machine_name
from engine.summary.variants import cpu_name, model_order

ANY = ""  # a filter left open


@dataclass(frozen=True)
class Filters:
    """Every field optional; set ones combine with AND (the store's own trial_rows rules)."""

    task: str = ANY
    model: str = ANY
    technique: str = ANY
    machine: str = ANY  # the full machine name, as store.machines lists it
    since: date | None = None  # UTC days, both inclusive
    until: date | None = None

    @property
    def narrows_trials(self) -> bool:
        """Whether a filter picks trials inside a job (then only jobs with a matching trial are listed)."""
        return bool(self.model or self.technique or self.machine)

    def pick(self, rows: Iterable[StoredTrial]) -> list[StoredTrial]:
        """The same trials as `trials`, from rows already read (every stored trial, oldest first)."""
        first, last = _day(self.since, "since"), _day(self.until, "until")
        if first and last and first > last:
            raise ValueError(f"The date range is empty: since {first} is after until {last}.")
        return [row for row in rows
                if (not self.task or row.record.task == self.task)
                and (not self.model or row.record.model == self.model)
                and (not self.technique or row.record.technique == self.technique)
                and (not first or row.record.started_at[:10] >= first)
                and (not last or row.record.started_at[:10] <= last)
                and (not self.machine or machine_name(row.record) == self.machine)]

    def trials(self, store: Store) -> list[StoredTrial]:
        # the machine filter matches names exactly here: the store matches parts, and one CPU name can be a
        # part of another machine's "CPU (host)" name
        rows = store.trial_rows(self.task or None, model=self.model or None, technique=self.technique or None,
                                machine=self.machine or None, since=self.since, until=self.until)
        return [row for row in rows if not self.machine or machine_name(row.record) == self.machine]


def choices(rows: Sequence[StoredTrial], task: str = ANY) -> tuple[list[str], list[str]]:
    """The models (the task's ladder order, smallest first) and techniques (first seen) among the rows."""
    records = [r.record for r in rows]
    seen = {r.model for r in records}
    models = [m for m in model_order(task or None, records) if m in seen]
    return models, list(dict.fromkeys(r.technique for r in records))


def trial_table(rows: Iterable[StoredTrial]) -> list[dict[str, Any]]:
    """One row per trial with the key figures (units in the names); a failed trial keeps its reason."""
    out = []
    metric_titles: dict[str, str] = {}
    for row in rows:
        r, ok = row.record, row.record.status == "ok"
        if r.task not in metric_titles:
            metric_titles[r.task] = metric_for([r]).title
        out.append({
            "trial_id": row.id, "job_id": r.job_id, "started_at": r.started_at.replace("T", " ")[:16],
            "task": r.task, "model": r.model, "technique": r.technique,
            "status": r.status if ok else f"{r.status}: {r.error or 'no reason recorded'}",
            "metric": metric_titles[r.task], "quality": r.quality if ok else None,
            "latency_p95_ms": r.latency_p95_ms if ok else None,
            "energy_wh_per_1k": r.energy_wh_per_1k if ok else None,
            "co2e_g_per_1k": r.co2e_g_per_1k if ok else None,
            "region": r.region, "machine": machine_name(r),
            "node": str((r.hardware or {}).get("ray_node_id") or "")[:8], "contended": bool(r.contended),
        })
    return out


def job_table(jobs: Iterable[Job], all_rows: Iterable[StoredTrial], matching: Iterable[StoredTrial],
              filters: Filters) -> list[dict[str, Any]]:
    """Runs of the filtered task, newest first, with their trial counts: those holding a trial that matches
    the filters, and (unless a model, technique or machine is picked) those created in the date range, so a
    run still queued or one whose trials all failed to store is listed too."""
    per_job = Counter(r.record.job_id for r in all_rows)
    hits = {r.record.job_id for r in matching}
    out = []
    for job in jobs:
        if filters.task and job.task != filters.task:
            continue
        day = date.fromisoformat(job.created_at[:10]) if len(job.created_at) >= 10 else None
        in_range = day is None or not ((filters.since and day < filters.since)
                                       or (filters.until and day > filters.until))
        if job.id not in hits and (filters.narrows_trials or not in_range):
            continue
        spec = job.spec or {}
        what = (f"search on {spec.get('model', '?')}" if job.kind == "optimize"
                else f"{len(spec.get('models', []))} models x {len(spec.get('techniques', []))} techniques")
        out.append({
            "job_id": job.id, "kind": "search" if job.kind == "optimize" else "run", "task": job.task,
            "status": job.status, "created_at": job.created_at.replace("T", " ")[:16],
            "finished_at": (job.finished_at or "").replace("T", " ")[:16], "what": what,
            "trials": per_job.get(job.id, 0), "region": spec.get("region", ""), "error": job.error,
        })
    return sorted(out, key=lambda row: row["job_id"], reverse=True)


# --------------------------------------------------------------------------------------------- per machine


def node_name(record: TrialRecord) -> str:
    """The machine and, for a trial measured on a Ray cluster, the node (engine.cluster): two nodes can share a
    host, and a restarted node is a new one."""
    node = (record.hardware or {}).get("ray_node_id")
    return f"{machine_name(record)} · Ray node {node[:8]}" if node else machine_name(record)


# How History groups one variant's trials: by machine (CPU and host), machine type (CPU) or cluster node
GROUPINGS: dict[str, Callable[[TrialRecord], str]] = {"machine": machine_name, "machine type": cpu_name,
                                                      "node": node_name}


def variants_by_machines(rows: Iterable[StoredTrial], key: Callable[[TrialRecord], str] = machine_name
                         ) -> list[tuple[str, str, int]]:
    """(model, technique, machines it ran on) for every variant with an ok trial: most machines first."""
    machines: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        if row.record.status == "ok":
            machines.setdefault((row.record.model, row.record.technique), set()).add(key(row.record))
    return sorted(((m, t, len(s)) for (m, t), s in machines.items()), key=lambda x: (-x[2], x[0], x[1]))


def per_machine(rows: Iterable[StoredTrial], model: str, technique: str,
                key: Callable[[TrialRecord], str] = machine_name) -> list[dict[str, Any]]:
    """One variant's ok trials grouped by machine (or by `key`: GROUPINGS): how many, the latest score, and the
    medians of energy per 1,000 queries, p95 latency and throughput (medians: one noisy repeat does not swing
    them)."""
    groups: dict[str, list] = {}
    for row in rows:
        r = row.record
        if r.status == "ok" and r.model == model and r.technique == technique:
            groups.setdefault(key(r), []).append(r)
    out = []
    for machine, records in sorted(groups.items()):
        latest = max(records, key=lambda r: r.started_at)
        out.append({
            "machine": machine, "trials": len(records), "quality": latest.quality,
            "energy_wh_per_1k": _median(r.energy_wh_per_1k for r in records),
            "latency_p95_ms": _median(r.latency_p95_ms for r in records),
            "throughput_per_s": _median(r.throughput_per_s for r in records),
            "last_measured": latest.started_at.replace("T", " ")[:16],
        })
    return out


def _median(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return median(known) if known else None


# --------------------------------------------------------------------------------------------- column titles

TRIAL_TITLES = {
    "trial_id": "Trial", "job_id": "Run", "started_at": "Started (UTC)", "task": "Task", "model": "Model",
    "technique": "Technique", "status": "Status", "metric": "Metric", "quality": "Score",
    "latency_p95_ms": "p95 latency (ms)",
    "energy_wh_per_1k": "Energy (Wh / 1k queries)", "co2e_g_per_1k": "CO2e (g / 1k queries)", "region": "Grid",
    "machine": "Machine", "node": "Ray node", "contended": "CPU busy with other work",
}
JOB_TITLES = {
    "job_id": "Run", "kind": "Kind", "task": "Task", "status": "Status", "created_at": "Created (UTC)",
    "finished_at": "Finished (UTC)", "what": "What", "trials": "Trials", "region": "Grid", "error": "Error",
}
MACHINE_TITLES = {
    "machine": "Machine", "trials": "Trials", "quality": "Score (latest)",
    "energy_wh_per_1k": "Energy (Wh / 1k queries, median)", "latency_p95_ms": "p95 latency (ms, median)",
    "throughput_per_s": "Throughput (queries/s, median)", "last_measured": "Last measured (UTC)",
}


def titled(rows: Iterable[dict[str, Any]], titles: dict[str, str]) -> list[dict[str, Any]]:
    """Rows with the keys people read as column titles, in the titles' order."""
    return [{title: row[key] for key, title in titles.items()} for row in rows]
