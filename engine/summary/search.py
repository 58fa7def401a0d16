"""A leanest-variant search's stored result as rows and lines for the pages.

Pure: every function takes records and returns data (no store, no streamlit).
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.objectives import OBJECTIVES
from engine.quality import at_least, gain_pts, metric_for
from engine.record import TrialRecord
from engine.summary.variants import ratio


def pair(value: object) -> tuple[str, str] | None:
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


def search_floor(result: dict) -> float | None:
    """The floor a search held, from its result (written as floor_accuracy before quality was generic)."""
    floor = result.get("floor_quality", result.get("floor_accuracy"))
    return float(floor) if isinstance(floor, int | float) else None


def search_rows(records: Iterable[TrialRecord], result: dict) -> list[dict]:
    """One row per candidate of a leanest-variant search: its role, score change (points, + is better) against the baseline,
    whether it met the floor, and the objective against the baseline (x times lower)."""
    field = OBJECTIVES.get(result.get("objective", "energy"), OBJECTIVES["energy"]).field
    roles = {pair(result.get(k)): label for k, label in
             (("nearest_miss", "nearest miss"), ("best", "best"), ("baseline", "baseline (fp32)"))}
    records = list(records)
    base_pair = pair(result.get("baseline"))
    base = next((r for r in records if (r.model, r.technique) == base_pair and r.status == "ok"), None)
    floor = search_floor(result)
    metric = metric_for(records)
    rows = []
    for r in records:
        ok = r.status == "ok" and r.quality is not None
        value = getattr(r, field) if ok else None
        base_value = getattr(base, field) if base else None
        rows.append({
            "role": roles.get((r.model, r.technique), ""),
            "model": r.model,
            "technique": r.technique,
            "quality": r.quality if ok else None,
            "change_pts": gain_pts(r.quality, base.quality, metric) if ok and base and base.quality is not None else None,
            "meets_floor": at_least(r.quality, floor, metric) if ok and floor is not None else None,
            "objective": value,
            "times_lower": ratio(base_value, value),
            "status": "ok" if r.status == "ok" else f"{r.status}: {r.error}",
        })
    order = {"best": 0, "baseline (fp32)": 1, "nearest miss": 2}
    return sorted(rows, key=lambda row: (order.get(row["role"], 3), row["objective"] is None, row["objective"] or 0))
