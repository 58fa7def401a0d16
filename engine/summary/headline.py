"""The headline: "the small model keeps 96% of the big one's accuracy at 12% of its energy" (in the task's own
metric), and the rule that picks the reference (the big model) and the candidate (the cheapest variant keeping
the quality). Every comparison reads the metric's direction (engine.quality).

Pure: every function takes records and returns data (no store, no streamlit).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.quality import kept_pct, metric_for, noun
from engine.record import TrialRecord
from engine.registry import METRICS, MODELS, MetricSpec
from engine.summary.labels import fmt_pct
from engine.summary.variants import ok_records, params_m, ratio

KEEP_QUALITY = 0.95  # a candidate "keeps the quality" when it keeps 95% of the reference's score
FRACTION_BELOW_PCT = 2.0  # below 2% of the reference's energy, say "1/M of its energy"


@dataclass(frozen=True)
class Headline:
    reference: TrialRecord  # the largest model at full precision
    candidate: TrialRecord  # the cheapest variant that keeps the quality
    quality_kept_pct: float  # candidate score as % of the reference's, in the task's metric
    energy_pct: float | None  # candidate energy per query as % of the reference's
    speedup: float | None  # reference p50 latency / candidate p50 latency (x times faster)
    co2e_pct: float | None  # candidate CO2e per query as % of the reference's
    keeps_quality: bool  # candidate reaches KEEP_QUALITY of the reference
    sentence: str
    metric: MetricSpec = METRICS["accuracy"]  # the task's metric the headline speaks in


def variant_name(record: TrialRecord) -> str:
    """"minilm-l6 distilled from qwen-1.5b" for a plain distillation; the variant's id otherwise."""
    from engine.summary.payback import teacher_of

    teacher = teacher_of(record)
    steps = [s.get("name") for s in record.steps or []]
    return f"{record.model} distilled from {teacher}" if teacher and steps == ["distill"] else record.variant


def score_key(metric: MetricSpec):
    """Sort key: larger is better, whatever the metric's direction."""
    sign = 1.0 if metric.higher_is_better else -1.0
    return lambda r: sign * (r.quality or 0.0)


def keeps(record: TrialRecord, reference: TrialRecord, metric: MetricSpec) -> bool:
    """Keeps at least KEEP_QUALITY of the reference's score."""
    return kept_pct(record.quality or 0.0, reference.quality or 0.0, metric) >= 100.0 * KEEP_QUALITY - 1e-9


def pick_reference(records: Sequence[TrialRecord]) -> TrialRecord | None:
    """The largest model's fp32 variant (by params_m); if sizes are unknown or it has no fp32 variant,
    the best-scoring fp32 variant, else the best-scoring variant."""
    ok = ok_records(records, "quality")
    if not ok:
        return None
    best = score_key(metric_for(ok))
    fp32 = [r for r in ok if r.technique == "fp32"]
    sized = [r for r in ok if params_m(r)]
    if sized:
        largest = max(sized, key=lambda r: params_m(r) or 0.0).model
        mine = [r for r in fp32 if r.model == largest]
        if mine:
            return max(mine, key=best)
        if MODELS.get(largest) and MODELS[largest].family == "llm":  # an LLM is served in bf16, rarely fp32
            return max((r for r in ok if r.model == largest), key=best)
    return max(fp32 or ok, key=best)


def pick_candidate(records: Sequence[TrialRecord], reference: TrialRecord) -> TrialRecord | None:
    """The lowest-energy other variant keeping >= 95% of the reference's score, else the best-scoring one."""
    others = [r for r in ok_records(records, "quality") if r is not reference]
    if not others:
        return None
    metric = metric_for(others)
    best = score_key(metric)
    keeping = [r for r in others if keeps(r, reference, metric) and r.energy_wh_per_1k is not None]
    if keeping:
        return min(keeping, key=lambda r: (r.energy_wh_per_1k, -best(r)))
    return max(others, key=best)


def headline(records: Iterable[TrialRecord]) -> Headline | None:
    """What the smaller variant costs and saves compared with the big model. None if < 2 ok records."""
    records = list(records)
    if len(ok_records(records, "quality")) < 2:
        return None
    reference = pick_reference(records)
    candidate = pick_candidate(records, reference) if reference else None
    if reference is None or candidate is None:
        return None
    metric = metric_for([reference], reference.task)
    kept = kept_pct(candidate.quality or 0.0, reference.quality or 0.0, metric)
    energy = ratio(candidate.energy_wh_per_1k, reference.energy_wh_per_1k)
    co2e = ratio(candidate.co2e_g_per_1k, reference.co2e_g_per_1k)
    speedup = ratio(reference.latency_p50_ms, candidate.latency_p50_ms)
    energy_pct = None if energy is None else 100.0 * energy
    sentence = f"{variant_name(candidate)} keeps {fmt_pct(kept)} of {reference.model}'s {noun(metric)}"
    if energy_pct is None:
        sentence += "."
    elif 0 < energy_pct < FRACTION_BELOW_PCT:  # "at 1/120 of its energy": a percentage would read 0.83%
        sentence += f" at 1/{100 / energy_pct:,.0f} of its energy per query."
    elif energy_pct <= 100:
        sentence += f" at {fmt_pct(energy_pct)} of its energy per query."
    else:
        sentence += f" but uses {energy_pct / 100:.1f}x its energy per query."
    return Headline(
        reference=reference,
        candidate=candidate,
        quality_kept_pct=kept,
        energy_pct=energy_pct,
        speedup=speedup,
        co2e_pct=None if co2e is None else 100.0 * co2e,
        keeps_quality=keeps(candidate, reference, metric),
        sentence=sentence,
        metric=metric,
    )
