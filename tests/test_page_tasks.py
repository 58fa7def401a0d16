"""Run and Compare for every kind of task: the Run page names each task's metric and queues its ladder; an
uploaded dataset is a task too; Compare charts each task in its own metric."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine.datasets.own import parse_csv
from engine.datasets.own import store as store_upload
from engine.requests import RunRequest

ROOT = Path(__file__).resolve().parents[1]
RUN, COMPARE = str(ROOT / "pages" / "run.py"), str(ROOT / "pages" / "compare.py")


def page(path: str, **state) -> AppTest:
    at = AppTest.from_file(path, default_timeout=30)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


@pytest.mark.parametrize(("task", "metric"), [("spam", "Spam F1"), ("topic", "Accuracy"),
                                                ("search", "Precision@10")])
def test_run_names_the_metric_and_queues_the_tasks_ladder(store, task, metric):
    at = page(RUN)
    at.selectbox(key="run_task").set_value(task).run()
    assert not at.exception
    assert any(metric in c.value for c in at.caption)
    assert at.multiselect(key=f"run_models_{task}").value[0] == "tfidf"  # the classic baseline leads the ladder
    at.multiselect(key=f"run_models_{task}").set_value(["tfidf", "minilm-l3"])
    at.multiselect(key="run_techniques").set_value(["fp32"])
    at.button(key="run_submit").click().run()
    assert not at.exception and not at.error
    (job,) = store.jobs()
    assert RunRequest.from_dict(job.spec).task == task and job.spec["models"] == ["tfidf", "minilm-l3"]


def csv_bytes() -> bytes:
    rows = ["text,label"] + [f"order {i} arrived broken,complaint" for i in range(15)] + \
           [f"thanks for the quick delivery {i},praise" for i in range(15)] + \
           [f"where is my parcel number {i},question" for i in range(15)]
    return "\n".join(rows).encode()


def test_a_stored_upload_is_a_task_on_the_run_page(store):
    dataset_id = store_upload(parse_csv(csv_bytes()), "shop messages")
    at = page(RUN)
    options = at.selectbox(key="run_task").options
    assert "Your data: shop messages" in options and "Your own data: upload a labelled CSV" in options
    at.selectbox(key="run_task").set_value(dataset_id).run()
    assert not at.exception
    assert any("Macro F1" in c.value for c in at.caption)
    at.multiselect(key="run_techniques").set_value(["fp32"])
    at.button(key="run_submit").click().run()
    (job,) = store.jobs()
    assert job.task == dataset_id


def test_the_upload_entry_shows_the_uploader(store):
    at = page(RUN)
    at.selectbox(key="run_task").set_value("__upload__").run()
    assert not at.exception
    assert any("header row" in m.value for m in at.markdown)
    assert not at.button  # nothing to submit before a file is checked


@pytest.mark.parametrize(("task", "metric"), [("spam", "Spam F1"), ("search", "Precision@10")])
def test_compare_charts_each_task_in_its_own_metric(store, records, task, metric):
    job = store.submit(task, {"models": ["tfidf", "mpnet-base"], "techniques": ["fp32"]})
    for model, quality in (("tfidf", 0.93), ("minilm-l6", 0.9), ("mpnet-base", 0.95)):
        store.add_trial(records(model, "fp32", job_id=job, task=task, metric=get_metric(task), quality=quality,
                                test_set="x"))
    store.finish(job)
    at = page(COMPARE, compare_task_id=task)
    assert not at.exception
    spec = next(json.loads(c.proto.spec) for c in at.get("vega_lite_chart"))
    assert spec["title"]["text"].startswith(f"{metric} vs energy")
    assert any(metric in c.value for c in at.caption)
    assert f"of mpnet-base's {metric[0].lower() + metric[1:] if metric[1].islower() else metric}" in at.markdown[0].value


def get_metric(task: str) -> str:
    from engine.registry import get_task

    return get_task(task).metric


HOME = str(ROOT / "pages" / "home.py")


@pytest.mark.parametrize(("task", "card"), [("spam", "Spam F1 kept"), ("search", "Precision@10 kept")])
def test_home_shows_each_tasks_shipped_reference_in_its_metric(store, monkeypatch, task, card):
    monkeypatch.setenv("RIGHTSIZE_REFERENCE_DIR", str(ROOT / "assets" / "reference"))
    at = page(HOME, home_reference_task=task)
    assert not at.exception
    assert card in [m.label for m in at.metric]
    assert "not this machine" in at.warning[0].value


def test_compare_shows_the_kind_specific_extras_as_charts(store, monkeypatch):
    """Per-class F1 for a classification task, agreement with people for search: from the shipped snapshots."""
    from engine.reference import load_reference

    for task, description in (("topic", "per-class-f1"), ("search", "human-agreement")):
        snapshot = load_reference(task, ROOT / "assets" / "reference")
        job = store.submit(task, {"models": [], "techniques": []})
        for record in snapshot.records:
            record.job_id = job
            store.add_trial(record)
        store.finish(job)
        at = page(COMPARE, compare_task_id=task)
        assert not at.exception
        specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
        assert any(spec.get("description") == description for spec in specs), task
