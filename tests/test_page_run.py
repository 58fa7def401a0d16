"""Run page: submitting a run queues a job (no worker: RIGHTSIZE_NO_WORKER=1); finished jobs show results."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from engine.jobs import RunRequest

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "run.py")


def run_page(**state) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def test_run_button_queues_a_job_with_the_chosen_settings(store):
    at = run_page()
    assert not at.exception
    at.multiselect(key="run_models_sentiment").set_value(["minilm-l3", "minilm-l6"])
    at.multiselect(key="run_techniques").set_value(["fp32", "bf16"])
    at.selectbox(key="run_region").set_value("FRA")
    at.selectbox(key="run_test_set_sentiment").set_value("rotten-tomatoes")
    at.number_input(key="run_eval_size").set_value(120)
    at.button[0].click().run()
    assert not at.exception and not at.error
    (job,) = store.jobs()
    assert job.status == "queued" and at.session_state["active_job_id"] == job.id
    assert RunRequest.from_dict(job.spec) == RunRequest(
        "sentiment", ("minilm-l3", "minilm-l6"), ("fp32", "bf16"), 120, "FRA", "rotten-tomatoes", 0
    )
    assert any("queued" in p.proto.text for p in at.get("progress"))


def test_no_model_selected_shows_an_error_and_queues_nothing(store):
    at = run_page()
    at.multiselect(key="run_models_sentiment").set_value([])
    at.button[0].click().run()
    assert not at.exception
    assert "Pick at least one model" in at.error[0].value
    assert store.jobs() == []
    assert "active_job_id" not in at.session_state


def test_failed_job_shows_its_error_and_partial_results(store, seeded):
    job_id = store.submit("sentiment", RunRequest("sentiment", ("minilm-l6",), ("fp32",), 300, "USA").to_dict())
    store.claim_next(worker_pid=1)
    store.finish(job_id, error="Worker crashed: out of memory")
    at = run_page(active_job_id=job_id)
    assert not at.exception
    assert any("out of memory" in e.value for e in at.error)
    assert not at.get("progress")


def test_done_job_shows_its_results_and_a_link_to_compare(store, seeded):
    at = run_page(active_job_id=seeded["latest"])
    assert not at.exception
    assert "finished" in at.success[0].value
    (table,) = at.dataframe
    assert set(table.value["Model"]) == {"minilm-l3", "minilm-l6", "mpnet-base"}
    assert any("failed" in status for status in table.value["Status"])
    assert at.session_state["compare_run_keys"] == [seeded["latest"]]


def test_progress_area_follows_the_job_until_it_finishes(store):
    at = run_page()
    at.button[0].click().run()
    job_id = at.session_state["active_job_id"]
    assert at.get("progress") and not at.success
    store.claim_next(worker_pid=1)
    store.update_progress(job_id, 0.5, "minilm-l6 · int8-dynamic: measuring latency")
    at.run()
    assert any("measuring latency" in p.proto.text for p in at.get("progress"))
    store.finish(job_id)
    at.run()
    assert "finished" in at.success[0].value and not at.get("progress")
