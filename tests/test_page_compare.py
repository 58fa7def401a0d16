"""Compare page: four charts for the chosen run(s), provenance in tooltips, a different run changes the data;
speed-up vs accuracy per model; the payback of energy spent once to train."""

import json
from pathlib import Path

import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "compare.py")


def chart_models(at: AppTest) -> set[str]:
    """Models in the data behind the charts."""
    models = set()
    for el in at.get("vega_lite_chart"):
        for dataset in el.proto.datasets:
            frame = convert_arrow_bytes_to_pandas_df(dataset.data.data)
            if "model" in frame:
                models |= set(frame["model"])
    return models


def chart_spec(at: AppTest, description: str) -> dict:
    """The chart whose top-level description (set by engine.views.charts) matches."""
    for el in at.get("vega_lite_chart"):
        spec = json.loads(el.proto.spec)
        if spec.get("description") == description:
            return spec
    raise AssertionError(f"no chart '{description}'")


def chart_frame(at: AppTest, description: str):
    """The largest dataset behind the chart (the points; rules and labels carry smaller ones)."""
    for el in at.get("vega_lite_chart"):
        if json.loads(el.proto.spec).get("description") == description:
            frames = [convert_arrow_bytes_to_pandas_df(d.data.data) for d in el.proto.datasets]
            return max(frames, key=lambda f: f.shape[1])
    raise AssertionError(f"no chart '{description}'")


def test_four_charts_with_frontier_and_provenance_tooltips(seeded):
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception
    charts = at.get("vega_lite_chart")
    assert len(charts) == 5  # accuracy-energy, carbon, latency, size; speed-up vs accuracy (fp32 + int8 shown)
    scatter = json.loads(charts[0].proto.spec)
    assert any(layer.get("description") == "pareto-frontier" for layer in scatter["layer"])
    tooltips = {t["field"] for layer in scatter["layer"] for t in layer["encoding"].get("tooltip", [])}
    assert {"energy_method", "grid", "eval_size", "cpu", "started_at"} <= tooltips
    assert chart_models(at) == {"minilm-l3", "minilm-l6", "mpnet-base"}  # the latest run by default
    assert any("mpnet-base · bf16" in w.value for w in at.warning)  # the failed trial and its reason
    assert at.get("download_button")


def test_selecting_another_run_changes_the_data(seeded):
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    at.multiselect(key="compare_runs_sentiment").set_value([seeded["older"]]).run()
    assert not at.exception
    assert chart_models(at) == {"vader", "minilm-l3"}


def test_no_results_points_to_run(store):
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception
    assert any("No results" in i.value for i in at.info)
    assert not at.get("vega_lite_chart")


def test_speedup_vs_accuracy_change_per_model(seeded):
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception
    frame = chart_frame(at, "speedup-vs-drop")
    assert set(frame["model"]) == {"minilm-l3", "minilm-l6", "mpnet-base"} and set(frame["technique"]) == {"int8-dynamic"}
    mpnet = frame[frame["model"] == "mpnet-base"].iloc[0]
    assert mpnet["speedup"] == pytest.approx(164.0 / 64.5)  # throughput ratio at batch 32
    assert mpnet["change_pts"] == pytest.approx(-0.5)
    spec = chart_spec(at, "speedup-vs-drop")
    assert "batch 32" in json.dumps(spec)
    at.radio(key="compare_speedup_basis").set_value("p50").run()
    assert "median latency" in json.dumps(chart_spec(at, "speedup-vs-drop"))


def test_payback_panel_shows_the_break_even_against_the_teacher(store, trained):
    from conftest import seed_run

    job = seed_run(store, ("minilm-l6", "mpnet-base"), ("fp32",))
    pipeline = "layer-drop:keep=3+distill:teacher=mpnet-base,epochs=2+onnx-int8"
    store.add_trial(trained("minilm-l6", pipeline, 3.0, job_id=job))
    store.add_trial(trained("minilm-l6", "finetune:epochs=2", 2.0, job_id=job))  # no saving against its fp32
    store.add_trial(trained("minilm-l6", "distill:teacher=mpnet-base,epochs=1", 1.0, job_id=job, status="failed",
                            error="RuntimeError: teacher ran out of memory"))
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    # 3.0 Wh / ((0.700 - 0.014) Wh per 1,000 queries) = 4,373 queries, against mpnet-base · fp32 (the teacher)
    assert "pays back its up-front energy after 4,400 queries" in text
    assert "never pays back" in text
    table = next(d.value for d in at.dataframe if "Pays back after" in d.value)
    assert table["Compared with"].tolist() == ["mpnet-base · fp32", "minilm-l6 · fp32"]
    assert table["Pays back after"].tolist() == ["4,400 queries", "never"]
    chart = chart_frame(at, "payback")
    assert chart["queries"].max() == pytest.approx(2 * 3.0 / 0.000686)
    assert any("teacher ran out of memory" in w.value for w in at.warning)  # failed trials keep their reason


def test_long_pipeline_specs_are_short_in_labels_and_full_in_tooltips(store, trained):
    from conftest import seed_run

    job = seed_run(store, ("minilm-l6", "mpnet-base"), ("fp32",))
    pipeline = "layer-drop:keep=3+distill:teacher=mpnet-base,epochs=2+onnx-int8"
    store.add_trial(trained("minilm-l6", pipeline, 3.0, job_id=job))
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    frame = chart_frame(at, "speedup-vs-drop")
    assert frame["technique"].tolist() == [pipeline] and len(frame["short"][0]) < len(pipeline)


def test_the_csv_keeps_steps_and_details_as_json(store, trained):
    from app.ui import full_table

    record = trained("minilm-l6", "layer-drop:keep=3+distill:teacher=mpnet-base,epochs=2+onnx-int8", 3.0)
    row = full_table([record]).iloc[0]
    assert json.loads(row["steps"])[1] == {"name": "distill", "params": {"teacher": "mpnet-base", "epochs": 2, "transfer": 0}}
    assert json.loads(row["details"])["distill"]["upfront_energy_wh"] == 3.0
    assert row["upfront_energy_wh"] == 3.0


def test_an_image_task_shows_sample_photos_with_each_variants_answers(store, tiny_tasks):
    """Image tasks keep predictions on sample test photos; Compare draws them as one picture."""
    import os

    import tiny_tasks as tiny
    from conftest import make_record

    from engine.requests import RunRequest
    from engine.views.image_grid import records_grid_png

    test = tiny.image_test()
    samples = {"test_index": list(range(16)), "true": list(test.labels[:16])}
    job = store.submit("tiny-photos", RunRequest("tiny-photos", ("tiny-cnn-s", "tiny-cnn-l"), ("fp32",), 16, "USA",
                                                 "tiny-test").to_dict())
    store.claim_next(worker_pid=os.getpid())
    records = []
    for model, predicted in (("tiny-cnn-s", [0] * 16), ("tiny-cnn-l", samples["true"])):
        record = make_record(model, "fp32", job_id=job, task="tiny-photos", test_set="tiny-test",
                             details={"footprint": {"weights_bytes": 9000, "peak_activation_bytes": 700_000}},
                             quality_extras={"samples": {**samples, "predicted": predicted},
                                             "f1_per_class": {"bar": 0.5, "column": 0.4, "square": 0.9},
                                             "confusion": {"labels": ["bar", "column", "square"],
                                                           "counts": [[5, 1, 0], [3, 2, 0], [0, 0, 5]]}})
        store.add_trial(record)
        records.append(record)
    store.finish(job)
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.session_state["compare_task_id"] = "tiny-photos"
    at.run()
    assert not at.exception
    assert any("Sample test photos" in h.value for h in at.subheader)
    assert at.get("image"), "no image drawn"
    mixups = at.selectbox(key="compare_confusion")
    assert mixups.options == ["tiny-cnn-s · fp32", "tiny-cnn-l · fp32"]
    mixups.set_value("tiny-cnn-l · fp32").run()
    assert not at.exception
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert any(s.get("description") == "confusion" and "tiny-cnn-l" in str(s.get("title")) for s in specs)
    fit = at.dataframe[-2].value if len(at.dataframe) > 1 else at.dataframe[0].value
    assert list(fit["fits microcontroller"]) == [False, False] and all(fit["fits phone"])  # 684 KB > 640 KB
    png = records_grid_png(records)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    from engine.views.images import png_size_px

    assert png_size_px(png)[0] == 6 * 240  # six tiles across, one per sample photo
