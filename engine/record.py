"""The trial record: one (model, technique) measurement. It flows unchanged from engine to store to charts."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

CONTENTION_FLAG = 0.25  # other processes used over a quarter of all CPU time while we measured


@dataclass
class TrialRecord:
    task: str
    model: str
    technique: str
    status: str = "ok"  # "ok" | "failed" | "skipped"
    error: str = ""
    model_family: str = ""
    test_set: str = ""
    # size
    params_m: float | None = None  # parameters actually counted, millions
    model_size_mb: float | None = None  # serialized weights (state dict) in MB (10^6 bytes)
    # quality: the task's metric (registry METRICS) on `eval_size` test items, 95% bootstrap percentile interval
    metric: str = "accuracy"
    quality: float | None = None
    quality_ci_low: float | None = None
    quality_ci_high: float | None = None
    quality_extras: dict[str, Any] = field(default_factory=dict)  # per-class F1, confusion matrix, accuracy, ...
    eval_size: int = 0
    # speed: batch-1 latency percentiles over `latency_n` single queries after warm-up
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_p99_ms: float | None = None
    latency_n: int = 0
    throughput_per_s: float | None = None  # queries per second at batch 32, length-sorted batches
    peak_rss_mb: float | None = None  # peak resident memory of the process that loaded and ran the variant
    # energy and carbon, per 1,000 queries served at batch 32
    energy_wh_per_1k: float | None = None
    energy_method: str = ""  # "estimated: ..." or "measured: RAPL/NVML"
    energy_cpu_wh_per_1k: float | None = None
    energy_ram_wh_per_1k: float | None = None
    co2e_g_per_1k: float | None = None  # energy x grid intensity
    region: str = ""
    grid_g_per_kwh: float | None = None
    grid_source: str = ""
    # how a prompted model (an LLM) was asked: template, shots, dtype, its calibration on validation texts
    model_info: dict[str, Any] = field(default_factory=dict)
    prompt_tokens_per_query: float | None = None  # mean tokens an LLM reads per test query (prompt included)
    # what was done to the model: the pipeline's steps with every parameter, and what each step reported
    steps: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)  # per step: achieved sparsity, zipped size, curve, ...
    # the energy spent once to create the variant (distillation, retraining): it pays back over queries
    upfront_energy_wh: float | None = None
    upfront_co2e_g: float | None = None
    upfront_s: float | None = None
    # trust
    contention: float | None = None  # share of all CPU time used by other processes while measuring, 0..1
    contended: bool = False
    # the machine-wide measurement lock held while measuring ({"path", "waited_s"}; {} = measured without it,
    # as records from before 2026-12 were): another Rightsize measurement cannot have overlapped this one
    measurement_lock: dict[str, Any] = field(default_factory=dict)
    reused_from: int | None = None  # the stored trial whose measurement this is (same machine, code, settings)
    hardware: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    started_at: str = ""  # ISO 8601, UTC
    duration_s: float | None = None  # wall time of the whole trial
    seed: int = 0
    threads: int = 0
    job_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialRecord:
        """A record from its dict, including one written before quality was generic (schema 1: `accuracy`)."""
        data = upgraded(data)
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @property
    def variant(self) -> str:
        return f"{self.model} · {self.technique}"


# Schema 1 (until 2026-12) scored every task by accuracy in these fields.
SCHEMA_1_FIELDS = {"accuracy": "quality", "accuracy_ci_low": "quality_ci_low", "accuracy_ci_high": "quality_ci_high"}


def upgraded(data: dict[str, Any]) -> dict[str, Any]:
    """A record dict in today's field names: schema-1 accuracy fields become the quality of metric "accuracy"."""
    if not any(old in data for old in SCHEMA_1_FIELDS):
        return data
    data = dict(data)
    for old, new in SCHEMA_1_FIELDS.items():
        value = data.pop(old, None)
        data.setdefault(new, value)
    data.setdefault("metric", "accuracy")
    return data


def record_fields() -> list[str]:
    return [f.name for f in dataclasses.fields(TrialRecord)]
