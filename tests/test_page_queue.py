"""Run page in a room: the CLI's checks before queueing, the job found again after a reload (page address),
the shared queue, Cancel for the owner only, and an identical request joined instead of queued twice."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app import access
from app.gate import ROLE_KEY
from engine.queue import submit_run
from engine.requests import EVAL_SIZE_RANGE, RunRequest

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "run.py")


def run_page(query: dict | None = None, **state) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def test_an_out_of_range_eval_size_is_refused_with_the_cli_message_not_replaced(store):
    at = run_page()
    at.number_input(key="run_eval_size").set_value(100_000).run()
    expected = f"Eval size must be between {EVAL_SIZE_RANGE[0]} and {EVAL_SIZE_RANGE[1]} items (got 100000)."
    assert not at.exception and at.error[0].value == expected
    try:
        RunRequest("sentiment", ("vader",), ("fp32",), 100_000).validated()
    except ValueError as err:
        assert str(err) == expected  # the same words as the CLI's
    assert at.button(key="run_submit").disabled
    assert at.number_input(key="run_eval_size").value == 100_000  # kept, not silently put back to 300
    assert store.jobs() == []


def test_a_reload_finds_the_followed_job_and_the_owner_can_cancel_it(store):
    at = run_page()
    at.multiselect(key="run_models_sentiment").set_value(["minilm-l3"])
    at.multiselect(key="run_techniques").set_value(["fp32"])
    at.button(key="run_submit").click().run()
    (job,) = store.jobs()
    assert at.query_params["job"] == str(job.id)
    token = at.query_params["session"]
    assert job.owner == token

    reloaded = run_page({"job": str(job.id), "session": token})  # a new browser session, same address
    assert not reloaded.exception
    assert any(f"#{job.id} is queued" in p.proto.text for p in reloaded.get("progress"))
    reloaded.button(key=f"cancel_{job.id}").click().run()
    assert store.job(job.id).status == "cancelled"
    assert any("cancelled" in w.value for w in reloaded.warning)


@pytest.fixture
def workshop(monkeypatch):
    monkeypatch.setenv(access.ACCESS_VAR, "k7mq-2xpa")
    monkeypatch.setenv(access.FACILITATOR_VAR, "fxm7-nb6z-yv42-5zx2")


def test_in_a_workshop_an_attendee_follows_someone_elses_job_without_cancel_and_sees_the_queue(store, workshop):
    theirs = submit_run(RunRequest("sentiment", ("minilm-l3",), ("fp32",), 40), store, owner="someoneelse")
    mine = submit_run(RunRequest("sentiment", ("minilm-l6",), ("fp32",), 40), store, owner="me")
    at = run_page({"job": str(theirs), "session": "me"}, **{ROLE_KEY: "attendee"})
    assert not at.exception
    assert not [b for b in at.button if b.key == f"cancel_{theirs}"]
    assert any("you follow theirs" in c.value for c in at.caption)
    (table,) = [d.value for d in at.dataframe]
    assert list(table["Job"]) == [theirs, mine] and list(table["Who"]) == ["another session", "you"]


def test_the_facilitator_may_cancel_anyones_job(store, workshop):
    theirs = submit_run(RunRequest("sentiment", ("minilm-l3",), ("fp32",), 40), store, owner="someoneelse")
    at = run_page({"job": str(theirs), "session": "me"}, **{ROLE_KEY: "facilitator"})
    at.button(key=f"cancel_{theirs}").click().run()
    assert store.job(theirs).status == "cancelled"


def test_asking_for_what_another_session_queued_joins_it(store):
    theirs = submit_run(RunRequest("sentiment", ("minilm-l3",), ("fp32",), 300), store, owner="someoneelse")
    at = run_page()
    at.multiselect(key="run_models_sentiment").set_value(["minilm-l3"])
    at.multiselect(key="run_techniques").set_value(["fp32"])
    at.button(key="run_submit").click().run()
    assert not at.exception and len(store.jobs()) == 1
    assert at.session_state["active_job_id"] == theirs
