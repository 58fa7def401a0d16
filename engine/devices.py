"""Device budgets as data: what a target device can hold, and whether a measured variant fits it.

Each profile states its ceilings and where they come from. They are ASSUMPTIONS for a first check, not
vendor guarantees: firmware, the operating system and the app itself take part of every budget. A device
runs one inference thread at batch 1, so a variant's latency measured here at 1 thread, batch 1 is the
comparable figure (the device's own CPU is slower than this one: the latency here is a lower bound).

Fits = the weights fit the model-storage ceiling, and the memory that must be held at once fits the memory
ceiling: peak activations at batch 1 (the largest input + output of one layer, in the variant's precision),
plus the weights where the device loads them into memory (a microcontroller executes them from flash).
A record without a measured footprint (text tasks) never fits: an unmeasured figure satisfies no limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.record import TrialRecord


@dataclass(frozen=True)
class DeviceProfile:
    id: str
    title: str
    storage_kb: int  # ceiling for the model file (flash, app download)
    memory_kb: int  # ceiling for what inference holds in memory at once
    weights_in_memory: bool  # False: weights are read in place from flash (microcontrollers)
    threads: int
    source: str  # where the ceilings come from, and what is assumed


DEVICES: dict[str, DeviceProfile] = {
    d.id: d
    for d in (
        DeviceProfile(
            "microcontroller", "Microcontroller (MLPerf Tiny reference board)", 2048, 640, False, 1,
            "MLPerf Tiny's reference platform, ST Nucleo-L4R5ZI (Arm Cortex-M4 at 120 MHz): 2 MB flash, 640 KB "
            "SRAM (Banbury et al., MLPerf Tiny Benchmark, NeurIPS 2021; ST STM32L4R5 datasheet). The whole chip "
            "is taken as the budget: firmware and the inference runtime need part of it, so a real budget is "
            "smaller."),
        DeviceProfile(
            "phone", "Phone app", 200 * 1024, 512 * 1024, True, 1,
            "Assumption: 200 MB for the model, Google Play's limit on an app's compressed base download (Play "
            "Console Help, 'Optimize your app size'), and 512 MB of memory for inference, the large-heap class "
            "of many Android phones; a real app shares both with everything else it ships."),
        DeviceProfile(
            "raspberry-pi", "Raspberry Pi-class board", 1024 * 1024, 1024 * 1024, True, 1,
            "Assumption: a Raspberry Pi 4 Model B with 2 GB RAM (Raspberry Pi product brief), half of it left "
            "to the operating system; storage is a microSD card, so the model's size is bounded by memory "
            "(1 GB). One of its four Cortex-A72 cores runs inference here."),
    )
}


def get_device(device_id: str) -> DeviceProfile:
    from engine.registry import _choose

    return _choose("device", device_id, DEVICES)


def footprint_kb(record: TrialRecord) -> dict[str, float] | None:
    """{"weights_kb", "activations_kb"} as the trial measured them, or None when it did not."""
    facts: dict[str, Any] = (record.details or {}).get("footprint") or {}
    if "weights_bytes" not in facts or "peak_activation_bytes" not in facts:
        return None
    return {"weights_kb": facts["weights_bytes"] / 1024, "activations_kb": facts["peak_activation_bytes"] / 1024}


def memory_kb(record: TrialRecord, device: DeviceProfile) -> float | None:
    size = footprint_kb(record)
    if size is None:
        return None
    return size["activations_kb"] + (size["weights_kb"] if device.weights_in_memory else 0.0)


def misfit(record: TrialRecord, device: DeviceProfile) -> tuple[str, float]:
    """("" , 0) when the variant fits; else (why, shortfall as a fraction over the tighter ceiling)."""
    size = footprint_kb(record)
    if size is None:
        return f"its footprint on a device was not measured (needed for {device.title})", float("inf")
    needed = memory_kb(record, device) or 0.0
    problems, over = [], 0.0
    if size["weights_kb"] > device.storage_kb:
        problems.append(f"weights {_kb(size['weights_kb'])} exceed {_kb(device.storage_kb)} of model storage")
        over += size["weights_kb"] / device.storage_kb - 1
    if needed > device.memory_kb:
        problems.append(f"needs {_kb(needed)} of memory at once, over {_kb(device.memory_kb)}")
        over += needed / device.memory_kb - 1
    return (f"does not fit the {device.title}: " + " and ".join(problems)) if problems else "", over


def fits(record: TrialRecord, device: DeviceProfile) -> bool:
    return not misfit(record, device)[0]


def _kb(value: float) -> str:
    return f"{value / 1024:,.1f} MB" if value >= 1024 else f"{value:,.0f} KB"


def fit_rows(records: list[TrialRecord]) -> list[dict[str, Any]]:
    """One row per ok record with a measured footprint: its sizes and, per device, whether it fits."""
    rows = []
    for r in records:
        size = footprint_kb(r) if r.status == "ok" else None
        if size is None:
            continue
        row: dict[str, Any] = {"variant": r.variant, "weights_kb": round(size["weights_kb"], 1),
                               "peak_activations_kb": round(size["activations_kb"], 1),
                               "p50_ms_1_thread": r.latency_p50_ms if r.threads == 1 else None}
        row.update({f"fits {d.id}": fits(r, d) for d in DEVICES.values()})
        rows.append(row)
    return rows
