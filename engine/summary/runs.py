"""Stored runs that have results, one RunSummary per job, from records and jobs (the store reads them:
engine.stored_runs).

Pure: every function takes records and returns data (no store, no streamlit).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.record import TrialRecord
from engine.store import ACTIVE


@dataclass(frozen=True)
class RunSummary:
    """One stored run (a job, or key 0 for trials written without a job) that has trial records."""

    key: int  # the job id; 0 for trials stored without a job
    task: str
    started_at: str  # ISO 8601 UTC: the job's creation time, else its first trial's
    status: str  # the job's status; "done" for trials without a job
    n_ok: int
    n_not_ok: int
    models: tuple[str, ...]
    techniques: tuple[str, ...]
    region: str
    kind: str = "run"  # "run" | "optimize" (a leanest-variant search)

    @property
    def job_id(self) -> int | None:
        return self.key or None

    @property
    def label(self) -> str:
        when = self.started_at[:16].replace("T", " ")
        name = f"{'Search' if self.kind == 'optimize' else 'Run'} #{self.key}" if self.key else "Command-line trials"
        size = f"{len(self.models)} model{'s' * (len(self.models) != 1)} x {len(self.techniques)} technique" + (
            "s" if len(self.techniques) != 1 else ""
        )
        tail = f" · {self.n_not_ok} failed/skipped" if self.n_not_ok else ""
        busy = " · still running" if self.status in ACTIVE else ""
        return f"{name} · {when} UTC · {size} · {self.region} · {self.n_ok} ok{tail}{busy}"


def runs_from(records: Iterable[TrialRecord], jobs: Iterable = ()) -> list[RunSummary]:
    """Group records by job into RunSummary rows (newest first); runs without any ok record are left out."""
    by_job = {j.id: j for j in jobs}
    groups: dict[int, list[TrialRecord]] = {}
    for r in records:
        groups.setdefault(r.job_id or 0, []).append(r)
    out = []
    for key, recs in groups.items():
        ok = [r for r in recs if r.status == "ok"]
        if not ok:
            continue
        job = by_job.get(key)
        starts = sorted(r.started_at for r in recs if r.started_at)
        out.append(
            RunSummary(
                key=key,
                task=recs[0].task,
                started_at=(job.created_at if job else "") or (starts[0] if starts else ""),
                status=job.status if job else "done",
                n_ok=len(ok),
                n_not_ok=len(recs) - len(ok),
                models=tuple(dict.fromkeys(r.model for r in recs)),
                techniques=tuple(dict.fromkeys(r.technique for r in recs)),
                region=(job.spec.get("region") if job else "") or recs[0].region,
                kind=job.kind if job else "run",
            )
        )
    return sorted(out, key=lambda s: (s.started_at, s.key), reverse=True)
