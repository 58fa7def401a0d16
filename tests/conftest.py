"""Shared TEST FIXTURES: a temporary store, and realistic trial records built without any model.

The figures below are made up but plausible for this project's CPUs (2 threads, seq 128, codecarbon's
estimated power): they only exist so charts, summaries and pages have something realistic to show.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.record import TrialRecord
from engine.requests import RunRequest
from engine.store import Store

ROOT = Path(__file__).resolve().parents[1]
# A contended trial is measured again once the machine is quiet (engine.runner): on a shared CI box that would
# make the suite's length depend on its neighbours. Tests of the repeat set it themselves.
os.environ.setdefault("RIGHTSIZE_CONTENDED_RETRIES", "0")
# The suite's trials share one lock of their own: a dashboard or benchmark measuring on the same machine would
# otherwise hold the suite up for its whole run (its figures then read as contended, as they should).
os.environ.setdefault("RIGHTSIZE_LOCK_DIR", tempfile.mkdtemp(prefix="rightsize-test-lock-"))

# (model, technique) -> accuracy, p50 ms, p95 ms, Wh per 1k queries, size MB, params M
FIGURES: dict[tuple[str, str], tuple[float, float, float, float, float, float]] = {
    ("vader", "fp32"): (0.690, 0.2, 0.4, 0.0009, 0.4, 0.0),
    ("minilm-l3", "fp32"): (0.790, 5.8, 7.1, 0.040, 69.6, 17.4),
    ("minilm-l3", "int8-dynamic"): (0.785, 3.9, 5.0, 0.020, 37.1, 17.4),
    ("minilm-l6", "fp32"): (0.845, 9.6, 11.8, 0.078, 90.9, 22.7),
    ("minilm-l6", "int8-dynamic"): (0.840, 4.5, 6.0, 0.035, 45.2, 22.7),
    ("minilm-l6", "bf16"): (0.844, 5.9, 7.4, 0.052, 45.5, 22.7),
    ("mpnet-base", "fp32"): (0.880, 164.0, 190.0, 0.700, 438.0, 109.5),
    ("mpnet-base", "int8-dynamic"): (0.875, 64.5, 80.0, 0.285, 181.0, 109.5),
    ("mpnet-base", "bf16"): (0.879, 85.0, 101.0, 0.380, 219.0, 109.5),
    # pipelines: a distilled student keeps most of the teacher's accuracy at a fraction of its energy
    ("minilm-l6", "prune-structured:keep=0.5+int8-dynamic"): (0.815, 3.0, 4.0, 0.022, 24.0, 15.6),
    ("minilm-l6", "onnx-int8"): (0.838, 3.6, 4.6, 0.028, 23.0, 22.7),
    ("minilm-l6", "layer-drop:keep=3+distill:teacher=mpnet-base,epochs=2"): (0.852, 5.0, 6.1, 0.040, 69.0, 17.4),
    ("minilm-l6", "layer-drop:keep=3+distill:teacher=mpnet-base,epochs=2+onnx-int8"): (0.846, 2.0, 2.7, 0.014, 18.0, 17.4),
    ("minilm-l6", "finetune:epochs=2"): (0.850, 9.6, 11.8, 0.078, 90.9, 22.7),
}
GRID_USA = 369.473
ENERGY_METHOD = "estimated: codecarbon 3.3.2, no RAPL: 4 W per thread x CPU load + 10 W RAM (process mode)"


def make_record(model: str, technique: str, *, job_id: int | None = None, status: str = "ok",
                error: str = "", **overrides) -> TrialRecord:
    """A realistic TrialRecord for tests. Unknown (model, technique) pairs get middling figures."""
    acc, p50, p95, wh, size, params = FIGURES.get((model, technique), (0.8, 10.0, 12.0, 0.1, 50.0, 20.0))
    eval_size = overrides.pop("eval_size", 300)
    half_ci = 1.96 * (acc * (1 - acc) / eval_size) ** 0.5
    record = TrialRecord(
        task="sentiment", model=model, technique=technique, status=status, error=error,
        model_family="rule-based" if model == "vader" else "encoder", test_set="movie-reviews",
        job_id=job_id, eval_size=eval_size, seed=0, threads=2,
        started_at=overrides.pop("started_at", "2025-06-02T10:15:00+00:00"),
    )
    if status == "ok":
        record.params_m = params
        record.model_size_mb = size
        record.quality, record.quality_ci_low, record.quality_ci_high = acc, acc - half_ci, min(1.0, acc + half_ci)
        record.latency_p50_ms, record.latency_p95_ms, record.latency_p99_ms = p50, p95, p95 * 1.2
        record.latency_n = 200
        record.throughput_per_s = 1000.0 / (p50 * 0.8)
        record.peak_rss_mb = 400.0 + size * 1.5
        record.energy_wh_per_1k = wh
        record.energy_cpu_wh_per_1k, record.energy_ram_wh_per_1k = wh * 0.45, wh * 0.55
        record.energy_method = ENERGY_METHOD
        record.region, record.grid_g_per_kwh = "USA", GRID_USA
        record.grid_source = "codecarbon 3.3.2 global energy mix (Our World in Data / Ember), year 2023"
        record.co2e_g_per_1k = wh / 1000 * GRID_USA
        record.contention, record.contended = 0.03, False
        record.hardware = {"cpu_model": "AMD EPYC 9R14 (test fixture)", "cores": 2, "ram_gb": 8}
        record.versions = {"torch": "2.13.0", "codecarbon": "3.3.2"}
        record.duration_s = 12.0
    record.steps = overrides.pop("steps", None) or _steps(technique)
    if overrides.get("upfront_energy_wh") is not None and "upfront_co2e_g" not in overrides:
        overrides["upfront_co2e_g"] = overrides["upfront_energy_wh"] / 1000 * GRID_USA
    for key, value in overrides.items():
        setattr(record, key, value)
    return record


def _steps(technique: str) -> list[dict]:
    """The pipeline's steps as a trial records them; [] for names that are not techniques (test doubles)."""
    from engine.techniques.spec import parse_spec

    try:
        return [step.to_dict() for step in parse_spec(technique)]
    except ValueError:
        return []


def distilled(model: str, technique: str, upfront_wh: float, **overrides) -> TrialRecord:
    """A record of a variant trained once (distillation, retraining): its up-front energy and the step's report."""
    from engine.summary.payback import teacher_of

    record = make_record(model, technique, upfront_energy_wh=upfront_wh, upfront_s=upfront_wh * 900, **overrides)
    step = "distill" if "distill" in technique else "finetune"
    record.details = {step: {"teacher": teacher_of(record), "upfront_energy_wh": upfront_wh,
                             "curve": [{"step": 0, "epoch": 0, "loss": 0.9, "val_accuracy": 0.78}]}}
    return record


def seed_search(store: Store, model: str = "minilm-l6", techniques: tuple[str, ...] = (), *,
                best: str | None = None, nearest_miss: str | None = None, status: str = "done",
                max_drop_pts: float = 1.0, objective: str = "energy", verdict: str = "") -> int:
    """A finished leanest-variant search (job kind "optimize"): fp32 plus `techniques`, each stored as a trial,
    and the job result the worker writes. Returns the job id."""
    spec = {"kind": "optimize", "task": "sentiment", "model": model, "max_drop_pts": max_drop_pts,
            "objective": objective, "eval_size": 300, "region": "USA", "test_set": "movie-reviews", "seed": 0,
            "teacher": "mpnet-base"}
    job_id = store.submit("sentiment", spec)
    store.claim_next(worker_pid=os.getpid())
    for technique in ("fp32", *techniques):
        store.add_trial(make_record(model, technique, job_id=job_id))
    baseline = FIGURES[(model, "fp32")][0]
    store.set_result(job_id, {
        "objective": objective, "max_drop_pts": max_drop_pts, "floor_accuracy": baseline - max_drop_pts / 100,
        "baseline": [model, "fp32"], "best": [model, best] if best else None,
        "nearest_miss": [model, nearest_miss] if nearest_miss else None,
        "tried": [[t, f"why {t}"] for t in ("fp32", *techniques)], "verdict": verdict,
    })
    if status in ("done", "failed"):
        store.finish(job_id)
    return job_id


def seed_run(store: Store, models: tuple[str, ...], techniques: tuple[str, ...], *, status: str = "done",
             error: str = "", failed: dict[tuple[str, str], str] | None = None,
             started_at: str = "2025-06-02T10:15:00+00:00") -> int:
    """A job with one record per (model, technique); `failed` maps pairs to their error. Returns the job id."""
    request = RunRequest("sentiment", models, techniques, 300, "USA", "movie-reviews")
    job_id = store.submit("sentiment", request.to_dict())
    if status != "queued":
        store.claim_next(worker_pid=os.getpid())
    for model in models:
        for technique in techniques:
            reason = (failed or {}).get((model, technique))
            store.add_trial(make_record(model, technique, job_id=job_id, status="failed" if reason else "ok",
                                        error=reason or "", started_at=started_at))
    if status in ("done", "failed"):
        store.finish(job_id, error=error if status == "failed" else "")
    return job_id


@pytest.fixture
def store(tmp_path, monkeypatch) -> Store:
    """An empty store in a temp folder; the pages find it through the environment. No worker is started."""
    monkeypatch.setenv("RIGHTSIZE_HOME", str(tmp_path))
    monkeypatch.setenv("RIGHTSIZE_DB", str(tmp_path / "test.sqlite"))
    monkeypatch.setenv("RIGHTSIZE_NO_WORKER", "1")
    monkeypatch.setenv("RIGHTSIZE_REGION", "USA")
    return Store()


@pytest.fixture
def seeded(store) -> dict[str, int]:
    """Two finished runs: an older small one, and the latest (3 models x 2 techniques, plus 1 failed trial)."""
    older = seed_run(store, ("vader", "minilm-l3"), ("fp32",), started_at="2025-06-01T09:00:00+00:00")
    latest = seed_run(store, ("minilm-l3", "minilm-l6", "mpnet-base"), ("fp32", "int8-dynamic"))
    store.add_trial(make_record("mpnet-base", "bf16", job_id=latest, status="failed",
                                error="RuntimeError: bf16 kernels unavailable on this CPU"))
    return {"older": older, "latest": latest}


@pytest.fixture
def records() -> Callable[..., TrialRecord]:
    """The record factory, for tests that build records without a store: records("minilm-l6", "fp32")."""
    return make_record


@pytest.fixture
def one_thread(monkeypatch):
    """One thread for torch and every runtime (RIGHTSIZE_THREADS), as a trial would be given; restored after."""
    import torch

    monkeypatch.setenv("RIGHTSIZE_THREADS", "1")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch) -> None:
    """No test writes to the developer's .rightsize: each gets its own home (the store fixture may narrow it).
    No test sees the repository's reference snapshots either (the `reference` fixture provides one)."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("RIGHTSIZE_HOME", str(home))
    for var in ("RIGHTSIZE_ACCESS_CODE", "RIGHTSIZE_FACILITATOR_CODE"):  # a workshop's codes would gate pages
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RIGHTSIZE_REFERENCE_DIR", str(home / "no-reference"))


REFERENCE_MACHINE = {"name": "a quiet 8-core test workstation", "cpu": "AMD EPYC 9R14 (test fixture)", "cores": 8}


def write_snapshot(directory: Path, task: str = "sentiment") -> Path:
    """A small reference snapshot (<directory>/<task>.json) built from make_record."""
    from engine.reference import write_reference

    records = [make_record(m, t, job_id=7, started_at="2025-05-20T08:00:00+00:00", task=task)
               for m in ("minilm-l6", "mpnet-base") for t in ("fp32", "int8-dynamic")]
    path = directory / f"{task}.json"
    write_reference(path, records, command="python -m engine run --task sentiment --models minilm-l6,mpnet-base "
                    "--techniques fp32,int8-dynamic", machine=REFERENCE_MACHINE)
    return path


@pytest.fixture
def reference(tmp_path, monkeypatch) -> Path:
    """A reference snapshot in a temp folder that the app reads (RIGHTSIZE_REFERENCE_DIR); returns its path."""
    directory = tmp_path / "reference"
    monkeypatch.setenv("RIGHTSIZE_REFERENCE_DIR", str(directory))
    return write_snapshot(directory)


@pytest.fixture
def downloads(monkeypatch) -> dict[str, tuple[bytes, str]]:
    """label -> (data, file name) of every download button a page draws in AppTest (the buttons still render):
    AppTest itself keeps no file contents."""
    from streamlit.delta_generator import DeltaGenerator

    seen: dict[str, tuple[bytes, str]] = {}
    original = DeltaGenerator.download_button

    def record(self, label, data, file_name=None, *args, **kwargs):
        seen[label] = (data() if callable(data) else data, file_name)  # a callable: what a click would build
        return original(self, label, data, file_name, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", record)
    return seen


@pytest.fixture(scope="session")
def shared_cache() -> Path:
    """Converted models and trained heads, shared by the slow tests and kept between local runs (git-ignored):
    the conversion is deterministic, and redoing it in every test would cost minutes."""
    path = Path(os.environ.get("RIGHTSIZE_TEST_CACHE", ROOT / ".rightsize" / "test-cache"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def trained() -> Callable[..., TrialRecord]:
    """The factory of trained variants: trained("minilm-l6", "layer-drop:keep=3+distill:...", upfront_wh)."""
    return distilled


@pytest.fixture
def search(store) -> Callable[..., int]:
    """Seeds a finished leanest-variant search in the test store: search("minilm-l6", (...), best=...)."""
    return lambda *args, **kwargs: seed_search(store, *args, **kwargs)


@pytest.fixture
def tiny_tasks(monkeypatch) -> dict:
    """Register the tiny task of each kind and its tiny models (tests/tiny_tasks.py); their data is the real
    loader path, so nothing else needs patching."""
    import tiny_tasks as tiny

    from engine import registry

    for model in tiny.MODELS.values():
        monkeypatch.setitem(registry.MODELS, model.id, model)
    for task in tiny.TASKS.values():
        monkeypatch.setitem(registry.TASKS, task.id, task)
    return tiny.TASKS
