"""The headline: "the small model keeps 96% of the accuracy at 12% of the energy", and the rule that picks
the reference (the big model) and the candidate (the cheapest variant keeping the accuracy).

Pure: every function takes records and returns data (no store, no streamlit).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.record import TrialRecord
from engine.summary.labels import fmt_pct
from engine.summary.variants import ok_records, params_m, ratio

KEEP_ACCURACY = 0.95  # a candidate "keeps the accuracy" when it reaches 95% of the reference's accuracy


@dataclass(frozen=True)
class Headline:
    reference: TrialRecord  # the largest model at full precision
    candidate: TrialRecord  # the cheapest variant that keeps the accuracy
    accuracy_kept_pct: float  # candidate accuracy as % of the reference's
    energy_pct: float | None  # candidate energy per query as % of the reference's
    speedup: float | None  # reference p50 latency / candidate p50 latency (x times faster)
    co2e_pct: float | None  # candidate CO2e per query as % of the reference's
    keeps_accuracy: bool  # candidate reaches KEEP_ACCURACY of the reference
    sentence: str


def pick_reference(records: Sequence[TrialRecord]) -> TrialRecord | None:
    """The largest model's fp32 variant (by params_m); if sizes are unknown or it has no fp32 variant,
    the most accurate fp32 variant, else the most accurate variant."""
    ok = ok_records(records, "accuracy")
    if not ok:
        return None
    fp32 = [r for r in ok if r.technique == "fp32"]
    sized = [r for r in ok if params_m(r)]
    if sized:
        largest = max(sized, key=lambda r: params_m(r) or 0.0).model
        mine = [r for r in fp32 if r.model == largest]
        if mine:
            return max(mine, key=lambda r: r.accuracy or 0.0)
    return max(fp32 or ok, key=lambda r: r.accuracy or 0.0)


def pick_candidate(records: Sequence[TrialRecord], reference: TrialRecord) -> TrialRecord | None:
    """The lowest-energy other variant keeping >= 95% of the reference's accuracy, else the most accurate."""
    others = [r for r in ok_records(records, "accuracy") if r is not reference]
    if not others:
        return None
    floor = KEEP_ACCURACY * (reference.accuracy or 0.0)
    keeping = [r for r in others if (r.accuracy or 0.0) >= floor and r.energy_wh_per_1k is not None]
    if keeping:
        return min(keeping, key=lambda r: (r.energy_wh_per_1k, -(r.accuracy or 0.0)))
    return max(others, key=lambda r: r.accuracy or 0.0)


def headline(records: Iterable[TrialRecord]) -> Headline | None:
    """What the smaller variant costs and saves compared with the big model. None if < 2 ok records."""
    records = list(records)
    if len(ok_records(records, "accuracy")) < 2:
        return None
    reference = pick_reference(records)
    candidate = pick_candidate(records, reference) if reference else None
    if reference is None or candidate is None:
        return None
    kept = 100.0 * (ratio(candidate.accuracy, reference.accuracy) or 0.0)
    energy = ratio(candidate.energy_wh_per_1k, reference.energy_wh_per_1k)
    co2e = ratio(candidate.co2e_g_per_1k, reference.co2e_g_per_1k)
    speedup = ratio(reference.latency_p50_ms, candidate.latency_p50_ms)
    energy_pct = None if energy is None else 100.0 * energy
    sentence = f"{candidate.variant} keeps {fmt_pct(kept)} of {reference.model}'s accuracy"
    if energy_pct is None:
        sentence += "."
    elif energy_pct <= 100:
        sentence += f" at {fmt_pct(energy_pct)} of its energy per query."
    else:
        sentence += f" but uses {energy_pct / 100:.1f}x its energy per query."
    return Headline(
        reference=reference,
        candidate=candidate,
        accuracy_kept_pct=kept,
        energy_pct=energy_pct,
        speedup=speedup,
        co2e_pct=None if co2e is None else 100.0 * co2e,
        keeps_accuracy=(candidate.accuracy or 0.0) >= KEEP_ACCURACY * (reference.accuracy or 0.0),
        sentence=sentence,
    )
