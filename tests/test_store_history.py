"""Store history: trial ids, filters, deleting a trial or a whole job (never a running one)."""

import os
from datetime import UTC, date, datetime

import pytest
from conftest import make_record, seed_run

from engine.store import JobBusyError, NotFoundError, machine_name


def test_trial_rows_carry_ids_and_the_same_records_as_trials(store, seeded):
    rows = store.trial_rows("sentiment")
    assert [r.record for r in rows] == store.trials("sentiment")
    assert [r.id for r in rows] == sorted({r.id for r in rows})  # distinct, oldest first
    assert len(rows) == 2 + 6 + 1


def test_delete_a_trial(store, seeded):
    rows = store.trial_rows(job_ids=[seeded["latest"]])
    gone = store.delete_trial(rows[0].id)
    assert gone == rows[0].record
    assert [r.id for r in store.trial_rows(job_ids=[seeded["latest"]])] == [r.id for r in rows[1:]]
    with pytest.raises(NotFoundError, match=f"No trial #{rows[0].id}"):
        store.delete_trial(rows[0].id)


def test_delete_a_job_with_its_trials_and_curves(store, seeded):
    job = seeded["latest"]
    store.add_curve_point(job, "minilm-l6", "distill", {"step": 1, "loss": 0.5})
    assert store.delete_job(job) == 7  # 3 models x 2 techniques + the failed bf16
    assert store.job(job) is None
    assert store.trials(job_ids=[job]) == [] and store.curves(job) == {}
    assert len(store.trials()) == 2  # the older run is untouched
    with pytest.raises(NotFoundError, match=f"No job #{job}"):
        store.delete_job(job)


def test_a_running_job_is_refused_and_a_queued_one_is_removed(store):
    running = seed_run(store, ("minilm-l3",), ("fp32",), status="running")
    with pytest.raises(JobBusyError, match=rf"Job #{running} is still running \(worker pid {os.getpid()}\)"):
        store.delete_job(running)
    assert store.job(running).status == "running" and len(store.trials(job_ids=[running])) == 1
    queued = seed_run(store, ("minilm-l3",), ("fp32",), status="queued")
    assert store.delete_job(queued) == 1
    assert store.job(queued) is None


def test_filters_by_model_technique_machine_and_dates(store):
    store.add_trial(make_record("minilm-l6", "fp32", started_at="2025-03-01T23:59:00+00:00"))
    store.add_trial(make_record("minilm-l6", "int8-dynamic", started_at="2025-03-02T00:00:00+00:00"))
    other_cpu = make_record("mpnet-base", "fp32", started_at="2025-04-10T08:00:00+00:00")
    other_cpu.hardware = {"cpu_model": "Intel Xeon Platinum 8488C", "hostname": "bench-7"}
    store.add_trial(other_cpu)

    def models(**filters):
        return [(r.model, r.technique) for r in store.trials(**filters)]

    assert models(model="minilm-l6") == [("minilm-l6", "fp32"), ("minilm-l6", "int8-dynamic")]
    assert models(technique="fp32") == [("minilm-l6", "fp32"), ("mpnet-base", "fp32")]
    assert models(machine="xeon") == [("mpnet-base", "fp32")]
    assert models(machine="BENCH-7") == [("mpnet-base", "fp32")]  # the host name, any case
    assert models(machine="epyc") == [("minilm-l6", "fp32"), ("minilm-l6", "int8-dynamic")]
    assert models(since="2025-03-02") == [("minilm-l6", "int8-dynamic"), ("mpnet-base", "fp32")]
    assert models(until=date(2025, 3, 1)) == [("minilm-l6", "fp32")]  # until is inclusive
    assert models(since="2025-03-02", until="2025-03-02") == [("minilm-l6", "int8-dynamic")]
    assert models(since=datetime(2025, 4, 10, 1, tzinfo=UTC), task="sentiment") == [("mpnet-base", "fp32")]
    assert models(model="minilm-l6", machine="xeon") == []
    assert store.machines() == ["AMD EPYC 9R14 (test fixture)", "Intel Xeon Platinum 8488C (bench-7)"]
    assert machine_name(other_cpu) == "Intel Xeon Platinum 8488C (bench-7)"


def test_bad_dates_are_refused(store):
    with pytest.raises(ValueError, match="since must be a date as YYYY-MM-DD"):
        store.trials(since="last tuesday")
    with pytest.raises(ValueError, match="The date range is empty"):
        store.trials(since="2025-05-02", until="2025-05-01")
