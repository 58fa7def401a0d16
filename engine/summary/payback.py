"""Energy spent once (distillation, retraining) against what a variant saves per query: break-even.

Pure: every function takes records and returns data (no store, no streamlit).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.record import TrialRecord
from engine.summary.labels import fmt_queries
from engine.summary.variants import fp32_reference, ok_records


def break_even_queries(upfront_wh: float, saving_wh_per_1k: float | None) -> float | None:
    """Queries after which the energy spent once (training) is paid back by the per-query saving:
    upfront / saving per query. None ("never") when there is no saving per query."""
    if saving_wh_per_1k is None or saving_wh_per_1k <= 0:
        return None
    return max(0.0, upfront_wh) / (saving_wh_per_1k / 1000.0)


def teacher_of(record: TrialRecord) -> str | None:
    """The teacher model of a distilled variant, from its steps, its details, or its spec string."""
    for step in record.steps or []:
        if step.get("name") == "distill" and step.get("params", {}).get("teacher"):
            return str(step["params"]["teacher"])
    teacher = (record.details or {}).get("distill", {}).get("teacher")
    if teacher:
        return str(teacher)
    for part in record.technique.split("+"):
        name, _, raw = part.partition(":")
        if name == "distill":
            args = dict(item.partition("=")[::2] for item in raw.split(",") if item)
            return args.get("teacher") or None
    return None


@dataclass(frozen=True)
class Payback:
    """Energy spent once to create a variant (distillation, retraining) against what it saves per query."""

    record: TrialRecord
    reference: TrialRecord | None  # the teacher's fp32 (else its leanest shown variant), else the model's own fp32
    upfront_wh: float
    upfront_co2e_g: float | None
    saving_wh_per_1k: float | None  # reference - variant; negative: the variant costs more per query
    saving_co2e_g_per_1k: float | None
    queries: float | None  # break-even; None: never (no saving, or nothing to compare with)

    @property
    def sentence(self) -> str:
        if self.reference is None:
            return (f"{self.record.variant}: no fp32 trial of {teacher_of(self.record) or self.record.model} "
                    "in the shown runs to compare with.")
        if self.queries is None:
            return (f"{self.record.variant} saves no energy per query against {self.reference.variant}: "
                    "its up-front energy never pays back.")
        return f"{self.record.variant} pays back its up-front energy after {fmt_queries(self.queries)}."


def served_teacher(teacher: str, records: Sequence[TrialRecord]) -> TrialRecord | None:
    """The teacher as it would be served when it has no fp32 trial (an LLM runs in bf16): its leanest variant."""
    served = [r for r in ok_records(records, "energy_wh_per_1k") if r.model == teacher and not r.upfront_energy_wh]
    return min(served, key=lambda r: r.energy_wh_per_1k) if served else None


def paybacks(records: Iterable[TrialRecord]) -> list[Payback]:
    """One Payback per ok record with an up-front energy, compared with the teacher's fp32 when it is among
    the records (the model it replaces), else with the variant's own model at fp32."""
    records = list(records)
    out = []
    for r in ok_records(records, "upfront_energy_wh"):
        teacher = teacher_of(r)
        ref = (fp32_reference(r, records, teacher) or served_teacher(teacher, records) if teacher else None) \
            or fp32_reference(r, records)
        if ref is r:
            continue  # a model trained from scratch (a CNN) at fp32: nothing smaller to pay back against
        saving = saving_g = None
        if ref is not None:
            saving = diff(ref.energy_wh_per_1k, r.energy_wh_per_1k)
            saving_g = diff(ref.co2e_g_per_1k, r.co2e_g_per_1k)
        out.append(Payback(
            record=r, reference=ref, upfront_wh=r.upfront_energy_wh, upfront_co2e_g=r.upfront_co2e_g,
            saving_wh_per_1k=saving, saving_co2e_g_per_1k=saving_g,
            queries=break_even_queries(r.upfront_energy_wh, saving),
        ))
    return out


def diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b
