"""A queue built for a room: identical requests served once, round robin across sessions, a cap per session,
a visible queue with waits from measured durations, cancel by the owner, re-measuring a contended trial."""

from dataclasses import dataclass

import pytest

from engine import execute, runner
from engine.config import settings
from engine.fairness import run_order
from engine.measure.system import hardware, versions
from engine.queue import QueueFullError, queue_position, queue_view, submit_run
from engine.requests import RunRequest
from engine.reuse import find_reusable, reused_copy
from engine.store import NotFoundError, Store
from engine.trial import TrialSpec
from tests.conftest import make_record


@dataclass
class Waiting:
    id: int
    owner: str


def request(*techniques: str, models=("minilm-l3",), **kw) -> RunRequest:
    return RunRequest("sentiment", models, techniques or ("fp32",), eval_size=kw.pop("eval_size", 40), **kw)


# ------------------------------------------------------------------------------------------- fairness


def test_round_robin_gives_every_owner_a_turn_before_anyone_gets_a_second():
    jobs = [Waiting(1, "a"), Waiting(2, "a"), Waiting(3, "a"), Waiting(4, "b"), Waiting(5, "c"), Waiting(6, "b")]
    assert [j.id for j in run_order(jobs, {})] == [1, 4, 5, 2, 6, 3]


def test_round_robin_serves_first_whoever_was_served_longest_ago():
    jobs = [Waiting(7, "a"), Waiting(8, "b"), Waiting(9, "c")]
    last = {"a": "2026-12-02T10:05:00+00:00", "b": "2026-12-02T10:01:00+00:00"}  # c never ran
    assert [j.id for j in run_order(jobs, last)] == [9, 8, 7]


def test_the_worker_claims_jobs_in_round_robin_order(store):
    a1, a2, a3 = (submit_run(request(t), store, owner="a") for t in ("fp32", "int8-dynamic", "bf16"))
    b1 = submit_run(request("fp32", models=("minilm-l6",)), store, owner="b")
    claimed = []
    for _ in range(4):
        job = store.claim_next(worker_pid=1)
        claimed.append(job.id)
        store.finish(job.id)
    assert claimed == [a1, b1, a2, a3]


# ------------------------------------------------------------------------------------------- dedupe, cap


def test_a_double_click_or_a_second_person_joins_the_identical_queued_job(store):
    first = submit_run(request("fp32"), store, owner="a")
    assert submit_run(request("fp32"), store, owner="a") == first  # the second click
    assert submit_run(request("fp32"), store, owner="b") == first  # someone else, same request
    assert submit_run(request("int8-dynamic"), store, owner="b") != first
    assert len(store.jobs()) == 2
    assert submit_run(request("fp32", remeasure=True), store, owner="b") != first  # asked to re-measure


def test_a_finished_job_is_not_joined(store):
    first = submit_run(request("fp32"), store, owner="a")
    store.finish(first)
    assert submit_run(request("fp32"), store, owner="a") != first


def test_each_session_has_a_cap_on_queued_trials(store, monkeypatch):
    monkeypatch.setenv("RIGHTSIZE_MAX_QUEUED_TRIALS", "4")
    submit_run(request("fp32", "int8-dynamic", models=("minilm-l3", "minilm-l6")), store, owner="a")  # 4 trials
    with pytest.raises(QueueFullError, match="up to 4"):
        submit_run(request("bf16"), store, owner="a")
    assert submit_run(request("bf16"), store, owner="b")  # another session still gets in
    assert submit_run(request("onnx-int8"), store)  # the CLI and tests (no owner) are not capped
    assert len(store.jobs()) == 3


# ------------------------------------------------------------------------------------------- the visible queue


def test_the_queue_shows_what_runs_and_waits_from_measured_durations(store):
    store.add_trial(make_record("minilm-l3", "fp32", duration_s=30.0))
    store.add_trial(make_record("minilm-l3", "fp32", duration_s=50.0))  # median 40 s
    store.add_trial(make_record("minilm-l6", "fp32", duration_s=90.0))
    running = submit_run(request("fp32"), store, owner="a")
    store.claim_next(worker_pid=1)
    store.update_progress(running, 0.5, "halfway")
    mine = submit_run(request("fp32", models=("minilm-l6",)), store, owner="b")
    later = submit_run(request("int8-dynamic"), store, owner="a")  # unmeasured technique: the model's median
    rows = queue_view(store)
    assert [r.job.id for r in rows] == [running, mine, later]
    assert [r.position for r in rows] == [0, 1, 2]
    assert rows[0].remaining_s == pytest.approx(20.0)  # half of 40 s left
    assert rows[1].wait_s == pytest.approx(20.0) and rows[1].remaining_s == pytest.approx(110.0)
    assert rows[2].wait_s == pytest.approx(110.0)
    assert queue_position(store, mine) == 1 and queue_position(store, later) == 2


# ------------------------------------------------------------------------------------------- cancel


def test_only_the_owner_cancels_and_a_queued_job_stops_at_once(store):
    job = submit_run(request("fp32"), store, owner="a")
    with pytest.raises(PermissionError, match="another session"):
        store.cancel(job, "b")
    assert store.cancel(job, "a") == "cancelled"
    assert store.job(job).status == "cancelled"
    assert store.claim_next(worker_pid=1) is None
    with pytest.raises(ValueError, match="already ended"):
        store.cancel(job, "a")
    with pytest.raises(NotFoundError):
        store.cancel(999, None)


def test_a_running_job_stops_at_its_next_progress_and_keeps_what_was_measured(store, monkeypatch):
    job = submit_run(request("fp32", "int8-dynamic"), store, owner="a")
    store.claim_next(worker_pid=1)

    def fake_run_request(req, job_id, progress, curve, reuse=None):
        yield make_record("minilm-l3", "fp32", job_id=job_id)
        store.cancel(job_id, "a")  # the owner clicks Cancel while the second trial runs
        monkeypatch.setattr(execute, "CANCEL_POLL_S", 0.0)
        progress(0.6, "measuring")  # the trial's next progress line: the child would be killed here
        yield make_record("minilm-l3", "int8-dynamic", job_id=job_id)

    monkeypatch.setattr(execute, "run_request", fake_run_request)
    outcome = execute.run_job(store, job, RunRequest.from_dict(store.job(job).spec))
    stored = store.job(job)
    assert stored.status == "cancelled" and stored.message == "cancelled by its owner"
    assert [r.technique for r in store.trials(job_ids=[job])] == ["fp32"] == [r.technique for r in outcome.records]


# ------------------------------------------------------------------------------------------- reuse


def measured_here(**overrides):
    here = {"eval_size": 40, "hardware": hardware(), "versions": versions(), "threads": settings().threads}
    return make_record("minilm-l3", "fp32", **{**here, **overrides})


def spec(**kw) -> TrialSpec:
    return TrialSpec("sentiment", "minilm-l3", "fp32", kw.pop("eval_size", 40), kw.pop("region", "USA"),
                     "movie-reviews", job_id=kw.pop("job_id", 7))


def test_a_clean_measurement_on_this_machine_and_code_is_reused_with_its_carbon_for_the_new_grid(store):
    trial_id = store.add_trial(measured_here())
    found = find_reusable(store, spec())
    assert found is not None and found[0] == trial_id
    copy = reused_copy(*found, spec(region="FRA"))
    assert copy.reused_from == trial_id and copy.job_id == 7 and copy.region == "FRA"
    assert copy.latency_p50_ms == found[1].latency_p50_ms and copy.energy_wh_per_1k == found[1].energy_wh_per_1k
    assert copy.co2e_g_per_1k == pytest.approx(copy.energy_wh_per_1k * copy.grid_g_per_kwh / 1000)
    assert copy.grid_g_per_kwh < found[1].grid_g_per_kwh  # France's grid is cleaner than the US average


@pytest.mark.parametrize("different", [
    {"contended": True}, {"eval_size": 80}, {"threads": 99}, {"versions": {"torch": "0.0"}},
    {"hardware": {"cpu_model": "another CPU"}}, {"status": "failed"}, {"reused_from": 3},
])
def test_nothing_else_is_reused(store, different):
    store.add_trial(measured_here(**different))
    assert find_reusable(store, spec()) is None


def test_a_run_reuses_a_stored_trial_unless_asked_to_remeasure(store, monkeypatch):
    store.add_trial(measured_here())
    measured = []

    def fake_trial(trial_spec, progress, curve):
        measured.append(trial_spec.technique)
        return make_record(trial_spec.model, trial_spec.technique, job_id=trial_spec.job_id)

    monkeypatch.setattr(runner, "run_trial_process", fake_trial)
    job = submit_run(request("fp32", "int8-dynamic"), store)
    outcome = execute.run_job(store, job, RunRequest.from_dict(store.job(job).spec))
    assert measured == ["int8-dynamic"]
    assert [r.reused_from is not None for r in outcome.records] == [True, False]
    again = submit_run(request("fp32", remeasure=True), store)
    execute.run_job(store, again, RunRequest.from_dict(store.job(again).spec))
    assert measured == ["int8-dynamic", "fp32"]


# ------------------------------------------------------------------------------------------- contention


def test_a_contended_trial_is_measured_again_once_the_machine_is_quiet_and_both_are_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("RIGHTSIZE_CONTENDED_RETRIES", "2")
    monkeypatch.setenv("RIGHTSIZE_LOCK_DIR", str(tmp_path))
    readings = iter([(0.6, True), (0.05, False)])

    def fake_trial(trial_spec, progress, curve):
        share, contended = next(readings)
        return make_record(trial_spec.model, trial_spec.technique, contention=share, contended=contended)

    waits = []
    monkeypatch.setattr(runner, "run_trial_process", fake_trial)
    monkeypatch.setattr(runner, "wait_until_quiet", lambda max_s: waits.append(max_s) or object())
    messages = []
    records = list(runner.run_request(request("fp32"), None, lambda f, m: messages.append(m)))
    assert [r.contended for r in records] == [True, False] and len(waits) == 1
    assert any("others used 60%" in m for m in messages)
    assert all(r.measurement_lock["path"].startswith(str(tmp_path)) for r in records)


def test_a_machine_that_stays_busy_keeps_the_flagged_figure_rather_than_hold_the_queue(monkeypatch, tmp_path):
    monkeypatch.setenv("RIGHTSIZE_CONTENDED_RETRIES", "3")
    monkeypatch.setenv("RIGHTSIZE_LOCK_DIR", str(tmp_path))
    monkeypatch.setattr(runner, "run_trial_process", lambda s, p, c: make_record(s.model, s.technique,
                                                                                 contention=0.7, contended=True))
    monkeypatch.setattr(runner, "wait_until_quiet", lambda max_s: None)
    records = list(runner.run_request(request("fp32"), None, lambda f, m: None))
    assert [r.contended for r in records] == [True]


def test_a_job_in_an_old_database_gets_the_new_columns(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, task TEXT NOT NULL, spec TEXT NOT NULL, "
                 "status TEXT NOT NULL, progress REAL NOT NULL DEFAULT 0, message TEXT NOT NULL DEFAULT '', "
                 "error TEXT NOT NULL DEFAULT '', worker_pid INTEGER, created_at TEXT NOT NULL, started_at TEXT, "
                 "finished_at TEXT)")
    conn.execute("INSERT INTO jobs(task, spec, status, created_at) VALUES ('sentiment', '{}', 'done', 'x')")
    conn.commit()
    conn.close()
    job = Store(path).job(1)
    assert job.owner == "" and job.cancel_requested == 0 and job.result is None


def test_the_cli_shows_the_queue_and_cancels_any_job(store, capsys):
    from engine.cli import main

    job = submit_run(request("fp32"), store, owner="a")
    assert main(["queue"]) == 0 and f"job {job:>4}  #1" in capsys.readouterr().out
    assert main(["cancel", str(job)]) == 0 and store.job(job).status == "cancelled"
    assert main(["cancel", "999"]) == 2 and "No job #999" in capsys.readouterr().err
    assert main(["queue"]) == 0 and "The queue is empty." in capsys.readouterr().out
