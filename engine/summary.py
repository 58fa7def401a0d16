"""Plain-Python summaries of trial records for the dashboard and reports: the Pareto frontier, the headline
("the small model keeps 96% of the accuracy at 12% of the energy"), runs that have results, provenance.

No streamlit here: every function takes records (or a Store) and returns data, so it is tested directly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.objectives import OBJECTIVES
from engine.record import TrialRecord
from engine.registry import MODELS, TASKS
from engine.store import ACTIVE, Store

KEEP_ACCURACY = 0.95  # a candidate "keeps the accuracy" when it reaches 95% of the reference's accuracy

# --------------------------------------------------------------------------------------------- records


def ok_records(records: Iterable[TrialRecord], *fields: str) -> list[TrialRecord]:
    """Records with status "ok" whose given fields are all measured (not None)."""
    return [r for r in records if r.status == "ok" and all(getattr(r, f) is not None for f in fields)]


def latest_variants(records: Iterable[TrialRecord], task: str | None = None,
                    mixed_tasks: type[ValueError] = ValueError) -> list[TrialRecord]:
    """The newest ok record of each (model, technique) — of `task` if given — in the task's model order
    (smallest to largest), techniques in the order first seen. What-if projections and recommendations use
    these: one current figure per variant, not every repeat. Without `task` the ok records must be of one task
    (else `mixed_tasks`, the caller's ValueError)."""
    ok = ok_records(records)
    tasks = sorted({r.task for r in ok})
    if task is None and len(tasks) > 1:
        raise mixed_tasks(f"The records hold several tasks ({', '.join(tasks)}); pick one.")
    latest: dict[tuple[str, str], TrialRecord] = {}
    for r in ok:
        if task and r.task != task:
            continue
        key = (r.model, r.technique)
        if key not in latest or (r.started_at, r.job_id or 0) >= (latest[key].started_at, latest[key].job_id or 0):
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
    ladder = list(TASKS[task_id].models) if task_id in TASKS else []
    extra = sorted({r.model for r in records} - set(ladder))
    return ladder + extra


# --------------------------------------------------------------------------------------------- frontier


def pareto_frontier(
    records: Iterable[TrialRecord], x: str = "energy_wh_per_1k", y: str = "accuracy"
) -> list[TrialRecord]:
    """The ok records no other record dominates (lower x is better, higher y is better), sorted by x.

    A record is dominated when another has x <= and y >= with at least one strictly better. Exact
    duplicates (same x and y) do not dominate each other, so both stay."""
    points = sorted(ok_records(records, x, y), key=lambda r: (getattr(r, x), -getattr(r, y)))
    frontier: list[TrialRecord] = []
    best_y = float("-inf")
    for r in points:
        rx, ry = getattr(r, x), getattr(r, y)
        if ry > best_y:
            frontier.append(r)
            best_y = ry
        elif frontier and ry == best_y and rx == getattr(frontier[-1], x):
            frontier.append(r)  # an exact duplicate of the last frontier point
    return frontier


# --------------------------------------------------------------------------------------------- headline


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


def fmt_pct(value: float) -> str:
    """A percentage for people: 96%, 4.3%, 0.42%; never rounds 99.6 up to a misleading 100%."""
    if value >= 10:
        text = f"{value:.0f}"
        if text == "100" and value < 100:
            text = f"{value:.1f}"
        return text + "%"
    if value >= 1:
        return f"{value:.1f}%"
    return f"{value:.2g}%"


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den == 0:
        return None
    return num / den


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
    kept = 100.0 * (_ratio(candidate.accuracy, reference.accuracy) or 0.0)
    energy = _ratio(candidate.energy_wh_per_1k, reference.energy_wh_per_1k)
    co2e = _ratio(candidate.co2e_g_per_1k, reference.co2e_g_per_1k)
    speedup = _ratio(reference.latency_p50_ms, candidate.latency_p50_ms)
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


# --------------------------------------------------------------------------------------------- runs


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


def runs_with_results(store: Store, task: str | None = None) -> list[RunSummary]:
    """Stored runs of a task (all tasks if None) with at least one ok trial, newest first."""
    return runs_from(store.trials(task=task), store.jobs(task=task, limit=10_000))


def latest_run_with_results(store: Store, task: str | None = None, min_ok: int = 1) -> RunSummary | None:
    """The newest run with at least `min_ok` ok trials (2 for a comparison), or None."""
    return next((r for r in runs_with_results(store, task) if r.n_ok >= min_ok), None)


def run_records(store: Store, task: str | None, keys: Iterable[int]) -> list[TrialRecord]:
    """All records (ok, failed, skipped) of the chosen runs; key 0 = trials stored without a job."""
    wanted = set(keys)
    return [r for r in store.trials(task=task) if (r.job_id or 0) in wanted]


# --------------------------------------------------------------------------------------------- provenance


@dataclass(frozen=True)
class Provenance:
    cpus: tuple[str, ...]
    threads: tuple[int, ...]
    first: str  # ISO date of the earliest trial
    last: str
    energy_methods: tuple[str, ...]
    regions: tuple[str, ...]  # "USA 369 g/kWh"
    eval_sizes: tuple[int, ...]
    n: int
    n_contended: int

    @property
    def caption(self) -> str:
        """One line saying where, when and how the figures were measured, and how far to trust them."""
        if not self.n:
            return "No measurements."
        threads = f" ({'/'.join(map(str, self.threads))} threads)" if self.threads else ""
        when = self.first if self.first == self.last else f"{self.first} to {self.last}"
        parts = [f"Measured on {', '.join(self.cpus)}{threads}, {when}"]
        if self.energy_methods:
            parts.append("energy " + "; ".join(self.energy_methods))
        if self.regions:
            parts.append("grid " + ", ".join(self.regions))
        if self.eval_sizes:
            parts.append(f"accuracy on {'/'.join(map(str, self.eval_sizes))} test items (95% CI)")
        if self.n_contended:
            parts.append(
                f"⚠ {self.n_contended} of {self.n} measurements ran while other programs used the CPU "
                "(figures less reliable)"
            )
        else:
            parts.append("no CPU contention detected")
        return " · ".join(parts)


def provenance(records: Iterable[TrialRecord]) -> Provenance:
    ok = ok_records(records)
    dates = sorted(r.started_at[:10] for r in ok if r.started_at)

    def uniq(values: Iterable) -> tuple:
        return tuple(v for v, _ in Counter(v for v in values if v not in ("", None, 0)).most_common())

    return Provenance(
        cpus=uniq(cpu_name(r) for r in ok),
        threads=tuple(sorted(uniq(r.threads for r in ok))),
        first=dates[0] if dates else "",
        last=dates[-1] if dates else "",
        energy_methods=uniq(r.energy_method for r in ok),
        regions=uniq(
            f"{r.region} {r.grid_g_per_kwh:.0f} g/kWh" if r.grid_g_per_kwh is not None else r.region for r in ok
        ),
        eval_sizes=tuple(sorted(uniq(r.eval_size for r in ok))),
        n=len(ok),
        n_contended=sum(1 for r in ok if r.contended),
    )


# --------------------------------------------------------------------------------------------- labels


def short_technique(spec: str, max_chars: int = 34) -> str:
    """A pipeline spec for chart labels: parameter names dropped, steps joined with "+". When still long, the
    longest parameter lists become "…" (step names matter most), then go, then the middle is cut.
    "layer-drop:keep=3+distill:teacher=mpnet-base,epochs=2+onnx-int8" ->
    "layer-drop(3)+distill(mpnet-base,2)+onnx-int8", or "layer-drop(3)+distill(…)+onnx-int8" in 34 characters.
    The full spec goes in tooltips."""
    steps = []
    for part in spec.split("+"):
        name, _, raw = part.partition(":")
        steps.append([name, ",".join(item.partition("=")[2] or item for item in raw.split(",") if item)])

    def text() -> str:
        return "+".join(f"{name}({args})" if args else name for name, args in steps)

    for step in sorted(steps, key=lambda s: -len(s[1])):
        if len(text()) <= max_chars or not step[1]:
            break
        step[1] = "…"
    out = text() if len(text()) <= max_chars else "+".join(name for name, _ in steps)
    if len(out) <= max_chars:
        return out
    head = (max_chars - 1) // 2
    return f"{out[:head]}…{out[len(out) - (max_chars - 1 - head):]}"


# --------------------------------------------------------------------------------------------- vs fp32


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
    """A variant against its own model's fp32: how much faster and how many accuracy points it gains or loses."""

    record: TrialRecord
    reference: TrialRecord
    throughput_ratio: float | None  # queries per second at batch 32, variant / fp32 (> 1: faster)
    p50_ratio: float | None  # fp32 median single-query latency / variant's (> 1: faster)
    accuracy_change_pts: float  # (variant - fp32) accuracy, in percentage points


def relative_to_fp32(records: Iterable[TrialRecord]) -> list[Relative]:
    """Every ok non-fp32 variant with accuracy, paired with its model's fp32 in the shown runs."""
    records = list(records)
    out = []
    for r in ok_records(records, "accuracy"):
        if r.technique == "fp32":
            continue
        ref = fp32_reference(r, records)
        if ref is None or ref.accuracy is None:
            continue
        out.append(Relative(
            record=r, reference=ref,
            throughput_ratio=_ratio(r.throughput_per_s, ref.throughput_per_s),
            p50_ratio=_ratio(ref.latency_p50_ms, r.latency_p50_ms),
            accuracy_change_pts=100.0 * (r.accuracy - ref.accuracy),
        ))
    return out


# --------------------------------------------------------------------------------------------- payback


def break_even_queries(upfront_wh: float, saving_wh_per_1k: float | None) -> float | None:
    """Queries after which the energy spent once (training) is paid back by the per-query saving:
    upfront / saving per query. None ("never") when there is no saving per query."""
    if saving_wh_per_1k is None or saving_wh_per_1k <= 0:
        return None
    return max(0.0, upfront_wh) / (saving_wh_per_1k / 1000.0)


def fmt_queries(n: float | None) -> str:
    """'never', '640 queries', '12,000 queries', '3.4 million queries'."""
    if n is None:
        return "never"
    if n >= 1e9:
        return f"{n / 1e9:.2g} billion queries"
    if n >= 1e6:
        return f"{n / 1e6:.2g} million queries"
    if n >= 100:
        n = float(f"{n:.2g}")  # two significant digits: the energy figures are estimates
    return f"{n:,.0f} quer{'y' if round(n) == 1 else 'ies'}"


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
    reference: TrialRecord | None  # the teacher's fp32 if shown, else the model's own fp32, else None
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


def paybacks(records: Iterable[TrialRecord]) -> list[Payback]:
    """One Payback per ok record with an up-front energy, compared with the teacher's fp32 when it is among
    the records (the model it replaces), else with the variant's own model at fp32."""
    records = list(records)
    out = []
    for r in ok_records(records, "upfront_energy_wh"):
        teacher = teacher_of(r)
        ref = (fp32_reference(r, records, teacher) if teacher else None) or fp32_reference(r, records)
        saving = saving_g = None
        if ref is not None:
            saving = _diff(ref.energy_wh_per_1k, r.energy_wh_per_1k)
            saving_g = _diff(ref.co2e_g_per_1k, r.co2e_g_per_1k)
        out.append(Payback(
            record=r, reference=ref, upfront_wh=r.upfront_energy_wh, upfront_co2e_g=r.upfront_co2e_g,
            saving_wh_per_1k=saving, saving_co2e_g_per_1k=saving_g,
            queries=break_even_queries(r.upfront_energy_wh, saving),
        ))
    return out


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


# --------------------------------------------------------------------------------------------- leanest variant

def _pair(value: object) -> tuple[str, str] | None:
    """[model, technique] as stored in a job result (a list after JSON), or None."""
    if isinstance(value, dict):
        value = (value.get("model"), value.get("technique"))
    if isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return value[0], value[1]
    return None


def tried_lines(result: dict) -> list[tuple[str, str]]:
    """The search's `tried` list as (spec, why), whether stored as pairs, dicts or bare spec strings."""
    out = []
    for item in result.get("tried") or []:
        if isinstance(item, dict):
            out.append((str(item.get("spec") or item.get("technique") or ""), str(item.get("why") or "")))
        elif isinstance(item, list | tuple) and item:
            out.append((str(item[0]), str(item[1]) if len(item) > 1 else ""))
        else:
            out.append((str(item), ""))
    return out


def search_rows(records: Iterable[TrialRecord], result: dict) -> list[dict]:
    """One row per candidate of a leanest-variant search: its role, accuracy change against the baseline,
    whether it met the floor, and the objective against the baseline (x times lower)."""
    field = OBJECTIVES.get(result.get("objective", "energy"), OBJECTIVES["energy"]).field
    roles = {_pair(result.get(k)): label for k, label in
             (("nearest_miss", "nearest miss"), ("best", "best"), ("baseline", "baseline (fp32)"))}
    records = list(records)
    base_pair = _pair(result.get("baseline"))
    base = next((r for r in records if (r.model, r.technique) == base_pair and r.status == "ok"), None)
    floor = result.get("floor_accuracy")
    rows = []
    for r in records:
        ok = r.status == "ok" and r.accuracy is not None
        value = getattr(r, field) if ok else None
        base_value = getattr(base, field) if base else None
        rows.append({
            "role": roles.get((r.model, r.technique), ""),
            "model": r.model,
            "technique": r.technique,
            "accuracy": r.accuracy if ok else None,
            "change_pts": 100.0 * (r.accuracy - base.accuracy) if ok and base and base.accuracy is not None else None,
            "meets_floor": (r.accuracy >= floor - 1e-12) if ok and floor is not None else None,
            "objective": value,
            "times_lower": _ratio(base_value, value),
            "status": "ok" if r.status == "ok" else f"{r.status}: {r.error}",
        })
    order = {"best": 0, "baseline (fp32)": 1, "nearest miss": 2}
    return sorted(rows, key=lambda row: (order.get(row["role"], 3), row["objective"] is None, row["objective"] or 0))
