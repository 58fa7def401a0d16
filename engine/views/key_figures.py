"""The four key figures of a headline (quality kept in the task's metric, energy and CO2e per 1,000 queries, speed-up), each with
how it was obtained and on what: built once here, shown as the dashboard's metric cards (app.ui.show_headline)
and as the briefing's KPI boxes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.quality import gain_pts
from engine.record import TrialRecord
from engine.summary.headline import Headline
from engine.summary.labels import fmt_pct
from engine.summary.variants import cpu_name
from engine.views.fmt import fmt_g, fmt_ms, fmt_score, fmt_wh, speedup_text


@dataclass(frozen=True)
class Kpi:
    label: str
    value: str
    comparison: str  # against the reference model
    how: str  # "measured" | "estimated" | "partly measured" | "unknown"
    method: str  # how this figure was obtained, in words
    context: str  # hardware, date, CPU contention
    delta: str | None = None  # the change against the reference, short (a dashboard card's delta)
    delta_color: str = "off"  # "normal": up is good; "inverse": up is bad; "off": neither


def energy_how(method: str) -> str:
    """'estimated', 'measured' or 'partly measured', from a record's energy_method; 'unknown' if unlabelled."""
    kind = method.partition(":")[0].strip()
    return kind if kind in ("estimated", "measured", "partly measured") else "unknown"


ENERGY_WORDS = {
    "estimated": "estimated by codecarbon from CPU time x a power model (no hardware power counter here)",
    "measured": "measured by hardware power counters (codecarbon)",
    "partly measured": "partly measured by hardware counters, partly estimated (codecarbon)",
    "unknown": "energy method not recorded",
}


def _context(*records: TrialRecord) -> str:
    """Hardware, date(s) and CPU contention of the records behind one figure."""
    dates = sorted({r.started_at[:10] for r in records if r.started_at})
    cpus = list(dict.fromkeys(cpu_name(r) for r in records))
    shares = [r.contention for r in records if r.contention is not None]
    if any(r.contended for r in records):
        busy = f"WARNING: other programs used up to {max(shares, default=0):.0%} of the CPU (less reliable)"
    elif shares:
        busy = f"quiet CPU (others used at most {max(shares):.0%})"
    else:
        busy = "CPU contention not recorded"
    return " · ".join([", ".join(cpus), " / ".join(dates) or "date unknown", busy])


def _change(cand: float | None, ref: float | None) -> str:
    if cand is None or ref is None or ref == 0:
        return ""
    return f" ({100 * (cand / ref - 1):+.0f}%)"


def _pct_delta(pct: float | None, ref: TrialRecord) -> str | None:
    return f"{pct - 100:+.0f}% vs {ref.model}" if pct is not None else None


def kpis(result: Headline) -> tuple[Kpi, ...]:
    """Quality kept (in the task's metric), energy and CO2e per 1,000 queries, speed-up: each with how it was
    obtained."""
    ref, cand, metric = result.reference, result.candidate, result.metric
    both = _context(cand, ref)
    how = energy_how(cand.energy_method)
    grid = f"{cand.region} {cand.grid_g_per_kwh:.0f} g/kWh" if cand.grid_g_per_kwh is not None else cand.region
    year = match.group(1) if (match := re.search(r"year (\d{4})", cand.grid_source)) else ""
    # CO2e multiplies the energy by a yearly-average grid factor: never more than partly measured
    co2e_how = "estimated" if how in ("estimated", "unknown") else "partly measured"
    return (
        Kpi(f"{metric.title} kept", fmt_pct(result.quality_kept_pct),
            f"{fmt_score(cand.quality, metric=metric)} vs {fmt_score(ref.quality, metric=metric)} for {ref.variant}",
            "measured",
            f"measured: {metric.meaning}, on {cand.eval_size} test items; 95% interval "
            f"{fmt_score(cand.quality_ci_low, metric=metric)} to {fmt_score(cand.quality_ci_high, metric=metric)}",
            both, f"{gain_pts(cand.quality, ref.quality, metric):+.1f} points", "normal"),
        Kpi("Energy per 1,000 queries", fmt_wh(cand.energy_wh_per_1k),
            f"vs {fmt_wh(ref.energy_wh_per_1k)} for {ref.variant}{_change(cand.energy_wh_per_1k, ref.energy_wh_per_1k)}",
            how, ENERGY_WORDS[how], both, _pct_delta(result.energy_pct, ref), "inverse"),
        Kpi("CO2e per 1,000 queries", fmt_g(cand.co2e_g_per_1k),
            f"vs {fmt_g(ref.co2e_g_per_1k)} for {ref.variant}{_change(cand.co2e_g_per_1k, ref.co2e_g_per_1k)}",
            co2e_how, f"{co2e_how}: energy x the grid's yearly average carbon intensity "
            f"({grid}{', ' + year if year else ''})", both, _pct_delta(result.co2e_pct, ref), "inverse"),
        Kpi("Speed-up (median response)", speedup_text(result.speedup),
            f"{fmt_ms(cand.latency_p50_ms)} vs {fmt_ms(ref.latency_p50_ms)} per query", "measured",
            f"measured: median wall-clock time of {cand.latency_n} single queries after warm-up", both,
            f"{fmt_ms(cand.latency_p50_ms)} vs {fmt_ms(ref.latency_p50_ms)}"),
    )
