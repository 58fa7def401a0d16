"""Run page: submitting a run queues a job (no worker: RIGHTSIZE_NO_WORKER=1); finished jobs show results;
pipelines built from steps picked in order; live training curves; the leanest-variant search."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine.requests import RunRequest

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
    at.button(key="run_submit").click().run()
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
    at.button(key="run_submit").click().run()
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
    at.button(key="run_submit").click().run()
    job_id = at.session_state["active_job_id"]
    assert at.get("progress") and not at.success
    store.claim_next(worker_pid=1)
    store.update_progress(job_id, 0.5, "minilm-l6 · int8-dynamic: measuring latency")
    at.run()
    assert any("measuring latency" in p.proto.text for p in at.get("progress"))
    store.finish(job_id)
    at.run()
    assert "finished" in at.success[0].value and not at.get("progress")


PIPELINE = "layer-drop:keep=2+distill:teacher=mpnet-base,epochs=1+onnx-int8"


def test_single_technique_parameters_go_into_its_spec(store):
    at = run_page()
    at.multiselect(key="run_techniques").set_value(["fp32", "prune-structured"]).run()
    at.number_input(key="run_param_prune-structured_keep").set_value(0.75).run()
    at.button(key="run_submit").click().run()
    assert not at.exception and not at.error
    (job,) = store.jobs()
    assert job.spec["techniques"] == ["fp32", "prune-structured:keep=0.75"]


def test_pipeline_from_steps_picked_in_order_is_queued_as_its_canonical_spec(store):
    at = run_page()
    at.multiselect(key="pipeline_steps").set_value(["layer-drop", "distill", "onnx-int8"]).run()
    at.number_input(key="pipe_param_layer-drop_keep").set_value(2).run()
    at.selectbox(key="pipe_param_distill_teacher").set_value("mpnet-base")
    at.number_input(key="pipe_param_distill_epochs").set_value(1).run()
    assert not at.error
    assert [c.value for c in at.code] == [PIPELINE]  # the live preview
    at.button(key="add_pipeline").click().run()
    assert at.session_state["run_pipelines"] == [PIPELINE]
    at.multiselect(key="run_models_sentiment").set_value(["minilm-l6"])
    at.multiselect(key="run_techniques").set_value(["fp32"]).run()
    assert any("2 trials" in m.value for m in at.markdown)
    at.button(key="run_submit").click().run()
    assert not at.exception and not at.error
    (job,) = store.jobs()
    assert RunRequest.from_dict(job.spec).techniques == ("fp32", PIPELINE)


def test_a_pipeline_can_be_removed(store):
    at = run_page(run_pipelines=[PIPELINE, "int8-dynamic"])
    assert sum("Pipeline in this run" in m.value for m in at.markdown) == 2
    at.button(key="remove_pipeline_0").click().run()
    assert at.session_state["run_pipelines"] == ["int8-dynamic"]


def test_bad_pipeline_shows_an_error_and_queues_nothing(store):
    at = run_page()
    at.multiselect(key="pipeline_steps").set_value(["onnx-int8", "int8-dynamic"]).run()
    assert any("onnx-int8 must be the last step" in e.value for e in at.error)
    assert at.button(key="add_pipeline").disabled
    assert at.session_state["run_pipelines"] == []
    at.multiselect(key="run_techniques").set_value([]).run()
    at.button(key="run_submit").click().run()
    assert not at.exception
    assert any("Pick at least one technique" in e.value for e in at.error)
    assert store.jobs() == []


def test_distillation_curve_renders_a_line_chart_while_the_job_runs(store):
    request = RunRequest("sentiment", ("minilm-l6",), ("fp32", PIPELINE), 300, "USA")
    job_id = store.submit("sentiment", request.to_dict())
    store.claim_next(worker_pid=1)
    store.update_progress(job_id, 0.4, "Distilling from mpnet-base: epoch 1/1, step 20/63, loss 0.41")
    for step, loss, val in ((0, 0.9, 0.71), (10, 0.6, None), (20, 0.41, 0.80)):
        store.add_curve_point(job_id, "minilm-l6", PIPELINE, {"step": step, "epoch": 0, "loss": loss,
                                                               "val_accuracy": val})
    at = run_page(active_job_id=job_id)
    assert not at.exception
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert [s["description"] for s in specs] == ["training-loss", "training-val_accuracy"]
    assert all(s["mark"]["type"] == "line" for s in specs)
    assert any("Distilling" in p.proto.text for p in at.get("progress"))


def test_leanest_variant_form_queues_a_search(store):
    pytest.importorskip("engine.optimize", reason="the accuracy-floor search is not in this engine yet")
    at = run_page()
    at.selectbox(key="lean_model_sentiment").set_value("minilm-l6")
    at.number_input(key="lean_max_drop").set_value(2.0)
    at.radio(key="lean_objective").set_value("latency")
    at.selectbox(key="lean_teacher_sentiment").set_value("mpnet-base")
    at.button(key="lean_submit").click().run()
    assert not at.exception and not at.error
    (job,) = store.jobs()
    assert job.kind == "optimize" and at.session_state["active_job_id"] == job.id
    assert (job.spec["model"], job.spec["max_drop_pts"], job.spec["objective"], job.spec["teacher"]) == (
        "minilm-l6", 2.0, "latency", "mpnet-base")
    assert any("Search #" in p.proto.text for p in at.get("progress"))


def test_finished_search_shows_its_verdict_best_and_candidates(store, search):
    verdict = ("minilm-l6 · int8-dynamic uses 2.2x less energy per query than minilm-l6 · fp32 and stays "
               "within 1.0 point of its accuracy (0.840 vs 0.845).")
    job_id = search("minilm-l6", ("int8-dynamic", "prune-structured:keep=0.5+int8-dynamic"),
                    best="int8-dynamic", verdict=verdict)
    at = run_page(active_job_id=job_id)
    assert not at.exception
    assert any(verdict in m.value for m in at.markdown)
    assert any("minilm-l6 · int8-dynamic" in s.value for s in at.success)
    table = next(d.value for d in at.dataframe if "Within the floor" in d.value)
    assert table[""].tolist()[:2] == ["best", "baseline (fp32)"]
    assert table["Within the floor"].tolist() == ["yes", "yes", "no"]
    assert at.session_state["compare_run_keys"] == [job_id]


def test_search_where_nothing_met_the_floor_names_the_nearest_miss(store, search):
    job_id = search("minilm-l6", ("prune-structured:keep=0.5+int8-dynamic",), max_drop_pts=0.5,
                    nearest_miss="prune-structured:keep=0.5+int8-dynamic", verdict="Nothing met the floor.")
    at = run_page(active_job_id=job_id)
    assert not at.exception
    (warning,) = [w.value for w in at.warning if "Nothing met the floor" in w.value]
    assert "84.0%" in warning and "prune-structured:keep=0.5+int8-dynamic" in warning
