"""One trial: load a model, compress a copy, measure it on the task's test set. Returns a TrialRecord.

Runs in a fresh process per trial (see engine.runner) so that peak memory is the variant's own and one
trial's crash cannot take the worker down. Order of work: prepare (load, compress, warm up), then the
measurement window (quality in the task's metric + throughput + energy over batch-32 passes, then batch-1 latency), with a
contention watch around the whole window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from engine.record import TrialRecord

Progress = Callable[[float, str], None]

MIN_ENERGY_WINDOW_S = 2.0  # repeat batch-32 passes until the energy window is at least this long
MAX_PASSES = 5
LATENCY_QUERIES = 100  # batch-1 queries timed after warm-up
WARMUP_QUERIES = 5
BATCH_SIZE = 32


@dataclass(frozen=True)
class TrialSpec:
    task: str
    model: str
    technique: str
    eval_size: int
    region: str
    test_set: str
    seed: int = 0
    job_id: int | None = None


def _ignore(point: dict) -> None:
    return None


def run_trial(spec: TrialSpec, progress: Progress = lambda f, m: None,
              curve: Callable[[dict], None] = _ignore) -> TrialRecord:
    from engine.config import settings
    from engine.measure.system import hardware, peak_rss_mb, utc_now_iso, versions

    record = TrialRecord(
        task=spec.task, model=spec.model, technique=spec.technique, test_set=spec.test_set,
        eval_size=spec.eval_size, region=spec.region, seed=spec.seed, job_id=spec.job_id,
        started_at=utc_now_iso(), threads=settings().threads,
    )
    started = time.perf_counter()
    try:
        _measure(spec, record, progress, curve)
    except Exception as error:  # a failing trial is recorded, never raised: the sweep goes on
        record.status = "failed"
        record.error = f"{type(error).__name__}: {error}"
    record.hardware = hardware()
    record.versions = versions()
    record.peak_rss_mb = round(peak_rss_mb(), 1)
    record.duration_s = round(time.perf_counter() - started, 2)
    return record


def _measure(spec: TrialSpec, record: TrialRecord, progress: Progress, curve: Callable[[dict], None]) -> None:
    import torch

    from engine.carbon import co2e_g, grid_intensity
    from engine.config import apply_offline_env, settings
    from engine.measure.contention import ContentionWatch
    from engine.measure.energy import EnergyMeter
    from engine.measure.stats import latency_summary, time_calls
    from engine.quality import noun
    from engine.registry import get_model, get_task, metric_of
    from engine.tasks import does_not_apply, kind_of, load_model
    from engine.techniques import TechniqueContext, compress, parse_spec

    apply_offline_env()
    torch.set_num_threads(settings().threads)
    task = get_task(spec.task)
    model_spec = get_model(spec.model, task)
    record.model_family = model_spec.family
    record.metric = task.metric
    kind = kind_of(task)
    steps = parse_spec(spec.technique)
    record.steps = [step.to_dict() for step in steps]
    reason = does_not_apply(task, model_spec.family, spec.technique, [step.name for step in steps])
    if reason:
        record.status = "skipped"
        record.error = reason
        return
    grid = grid_intensity(spec.region)
    record.grid_g_per_kwh, record.grid_source = grid.g_per_kwh, grid.source

    progress(0.0, f"Preparing {spec.model}")
    base = load_model(spec.task, spec.model, progress=lambda f, m: progress(0.2 * f, m))
    ctx = TechniqueContext(task=spec.task, seed=spec.seed, region=spec.region,
                           progress=lambda f, m: progress(0.2 + 0.4 * f, m), curve=curve)
    if base.info.get("upfront_energy_wh") is not None:  # a model trained here (a CNN): its training is upfront
        ctx.report("train", **{k: base.info[k] for k in ("upfront_energy_wh", "upfront_s", "upfront_note")})
    variant = compress(base, spec.technique, ctx)
    if hasattr(variant, "footprint"):  # what a device must hold (image models)
        ctx.report("footprint", **variant.footprint())
    record.details = ctx.details
    upfront = [d["upfront_energy_wh"] for d in ctx.details.values() if d.get("upfront_energy_wh") is not None]
    if upfront:
        record.upfront_energy_wh = sum(upfront)
        record.upfront_co2e_g = co2e_g(record.upfront_energy_wh, grid.g_per_kwh)
        record.upfront_s = sum(d.get("upfront_s", 0.0) for d in ctx.details.values())
    record.params_m = round(variant.num_parameters() / 1e6, 2)
    record.model_size_mb = variant.size_bytes() / 1e6

    work = kind.workload(task, spec.test_set, spec.eval_size, spec.seed)
    texts = work.texts
    prepare = getattr(variant, "prepare", None)  # e.g. an LLM fits its decision bias on validation texts
    if prepare is not None:
        prepare(lambda f, m: progress(0.6, m))
    variant.outputs(texts[:BATCH_SIZE], batch_size=BATCH_SIZE)  # warm-up: first calls allocate and pick kernels

    progress(0.6, f"Measuring {noun(metric_of(task.id))}, throughput and energy of {record.variant}")
    with ContentionWatch() as watch:
        with EnergyMeter(region=spec.region) as meter:
            passes, window_start = 0, time.perf_counter()
            while passes < MAX_PASSES:
                outputs = variant.outputs(texts, batch_size=BATCH_SIZE)
                passes += 1
                if passes == 1:
                    first_outputs = outputs
                if time.perf_counter() - window_start >= MIN_ENERGY_WINDOW_S:
                    break
            window_s = time.perf_counter() - window_start
        progress(0.85, f"Measuring batch-1 latency of {record.variant}")
        asked = work.queries or texts
        timed = work.latency_queries or LATENCY_QUERIES
        queries = iter(asked * (timed // max(1, len(asked)) + 1 + WARMUP_QUERIES))
        samples_ms = time_calls(lambda: work.query(variant, next(queries), first_outputs),
                                n=timed, warmup=WARMUP_QUERIES)

    quality = work.evaluate(variant, first_outputs) if work.evaluate else work.score(first_outputs)
    record.metric = quality.metric
    record.quality, record.quality_ci_low, record.quality_ci_high = quality.value, quality.ci_low, quality.ci_high
    record.quality_extras = quality.extras
    record.eval_size = quality.n
    served = passes * len(texts)
    record.throughput_per_s = served / window_s
    energy = meter.result
    record.energy_wh_per_1k = energy.energy_wh / served * 1000
    record.energy_cpu_wh_per_1k = energy.cpu_wh / served * 1000
    record.energy_ram_wh_per_1k = energy.ram_wh / served * 1000
    record.energy_method = energy.method
    record.co2e_g_per_1k = co2e_g(record.energy_wh_per_1k, grid.g_per_kwh)
    latency = latency_summary(samples_ms)
    record.latency_p50_ms, record.latency_p95_ms, record.latency_p99_ms = latency.p50_ms, latency.p95_ms, latency.p99_ms
    record.latency_n = latency.n
    describe = getattr(variant, "describe", None)  # how a prompted model was asked (LLMs)
    if describe is not None:
        record.model_info = describe(texts)
        record.prompt_tokens_per_query = record.model_info.get("prompt_tokens_per_query")
    reading = watch.reading
    record.contention, record.contended = reading.others_share, reading.contended
    progress(1.0, f"Measured {record.variant}")
