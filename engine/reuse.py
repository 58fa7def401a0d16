"""Serve a trial from the store when it was already measured here: same machine (host and CPU), same code and
packages, same settings, and measured on a quiet machine. In a workshop thirty people ask for the same
variants; measuring each once keeps the queue short and the figures comparable. Ask to re-measure to bypass it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from engine.carbon import co2e_g, grid_intensity
from engine.config import settings
from engine.measure.system import hardware, versions
from engine.record import TrialRecord
from engine.store import Store
from engine.trial import TrialSpec


def find_reusable(store: Store, spec: TrialSpec,
                  measured_where: Callable[[TrialRecord], bool] | None = None) -> tuple[int, TrialRecord] | None:
    """The newest clean stored measurement of exactly this trial with this code, with its id: on this machine
    with this thread count, or where `measured_where` accepts (a cluster's nodes, engine.cluster.resume)."""
    code = versions()
    if measured_where is None:
        here = hardware()

        def measured_where(record: TrialRecord) -> bool:
            return record.threads == settings().threads and _same_machine(record.hardware, here)

    matches = [
        row for row in store.trial_rows(spec.task, model=spec.model, technique=spec.technique)
        if row.record.status == "ok" and not row.record.contended and row.record.reused_from is None
        and (row.record.test_set, row.record.eval_size, row.record.seed) == (spec.test_set, spec.eval_size, spec.seed)
        and measured_where(row.record) and row.record.versions == code
    ]
    return (matches[-1].id, matches[-1].record) if matches else None


def _same_machine(stored: dict, here: dict) -> bool:
    keys = ("hostname", "cpu_model", "logical_cores", "cpu_features")
    return all(stored.get(k) == here.get(k) for k in keys)


def reused_copy(trial_id: int, record: TrialRecord, spec: TrialSpec) -> TrialRecord:
    """The stored record for a new job: its measurement unchanged, its carbon recomputed for the job's grid."""
    grid = grid_intensity(spec.region)
    copy = dataclasses.replace(record, job_id=spec.job_id, reused_from=trial_id, region=grid.region,
                               grid_g_per_kwh=grid.g_per_kwh, grid_source=grid.source)
    if copy.energy_wh_per_1k is not None:
        copy.co2e_g_per_1k = co2e_g(copy.energy_wh_per_1k, grid.g_per_kwh)
    if copy.upfront_energy_wh is not None:
        copy.upfront_co2e_g = co2e_g(copy.upfront_energy_wh, grid.g_per_kwh)
    return copy
