from engine.record import TrialRecord
from engine.spawn import pid_alive
from engine.store import Store


def make_record(**overrides) -> TrialRecord:
    values = dict(task="sentiment", model="minilm-l3", technique="int8-dynamic", quality=0.71,
                  quality_ci_low=0.66, quality_ci_high=0.76, eval_size=300, latency_p50_ms=4.2,
                  hardware={"cpu_model": "test cpu", "logical_cores": 2}, versions={"torch": "2.13.0"},
                  started_at="2026-11-29T02:00:00+00:00")
    values.update(overrides)
    return TrialRecord(**values)


def test_trial_record_round_trip(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    job_id = store.submit("sentiment", {"models": ["minilm-l3"]})
    record = make_record(job_id=job_id)
    store.add_trial(record)
    store.add_trial(make_record(task="other"))
    assert store.trials(task="sentiment") == [record]
    assert store.trials(job_ids=[job_id]) == [record]
    assert store.trials(job_ids=[]) == []


def test_jobs_are_claimed_once_in_order(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    first = store.submit("sentiment", {"n": 1})
    second = store.submit("sentiment", {"n": 2})
    assert store.claim_next(worker_pid=123).id == first
    assert store.claim_next(worker_pid=123).id == second
    assert store.claim_next(worker_pid=123) is None
    store.update_progress(first, 0.5, "half")
    assert (store.job(first).progress, store.job(first).message) == (0.5, "half")
    store.finish(first)
    assert store.job(first).status == "done" and store.job(first).progress == 1.0


def test_jobs_of_dead_workers_fail_and_keep_their_results(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    job_id = store.submit("sentiment", {})
    store.claim_next(worker_pid=999_999_999)  # no such process
    store.add_trial(make_record(job_id=job_id))
    assert store.fail_orphans(pid_alive) == [job_id]
    job = store.job(job_id)
    assert job.status == "failed" and "died" in job.error
    assert len(store.trials(job_ids=[job_id])) == 1


def test_a_live_worker_keeps_its_job(tmp_path):
    import os

    store = Store(tmp_path / "db.sqlite")
    job_id = store.start_job("sentiment", {}, worker_pid=os.getpid())
    assert store.fail_orphans(pid_alive) == []
    assert store.job(job_id).status == "running"


def test_job_results_and_training_curves_round_trip(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    job_id = store.submit("sentiment", {"kind": "optimize"})
    assert store.job(job_id).result is None and store.job(job_id).kind == "optimize"
    store.set_result(job_id, {"best": 3, "tried": ["int8-dynamic"]})
    assert store.job(job_id).result == {"best": 3, "tried": ["int8-dynamic"]}
    store.add_curve_point(job_id, "minilm-l6", "distill", {"step": 1, "loss": 0.9})
    store.add_curve_point(job_id, "minilm-l6", "distill", {"step": 2, "loss": 0.7})
    assert store.curves(job_id) == {("minilm-l6", "distill"): [{"step": 1, "loss": 0.9}, {"step": 2, "loss": 0.7}]}


def test_an_older_database_gains_the_result_column(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, task TEXT NOT NULL, spec TEXT NOT NULL, "
                     "status TEXT NOT NULL, progress REAL NOT NULL DEFAULT 0, message TEXT NOT NULL DEFAULT '', "
                     "error TEXT NOT NULL DEFAULT '', worker_pid INTEGER, created_at TEXT NOT NULL, started_at TEXT, "
                     "finished_at TEXT)")
        conn.execute("INSERT INTO jobs(task, spec, status, created_at) VALUES ('sentiment', '{}', 'done', 'x')")
    store = Store(path)
    assert store.job(1).status == "done" and store.job(1).result is None
