"""engine.views.charts: specs, the frontier layer, tooltips with provenance, one colour per model everywhere."""

import pytest

from engine.summary.payback import paybacks
from engine.summary.variants import model_order, relative_to_fp32
from engine.views import charts, technique_charts
from engine.views.colors import PALETTE, model_colors

LADDER = ("minilm-l3", "minilm-l6", "mpnet-base")
BUILDERS = [charts.quality_energy_chart, charts.co2e_chart, charts.latency_chart, charts.size_chart]


@pytest.fixture
def recs(records):
    return [records(m, t, job_id=1) for m in LADDER for t in ("fp32", "int8-dynamic")]


def layers(spec):
    return spec.get("layer", [spec])


def color_encodings(spec):
    return [layer["encoding"]["color"] for layer in layers(spec) if "color" in layer.get("encoding", {})]


def test_scatter_has_frontier_error_bars_and_provenance_tooltips(recs):
    spec = charts.quality_energy_chart(recs).to_dict()
    marks = [layer["mark"]["type"] for layer in layers(spec)]
    assert marks == ["line", "rule", "point"]
    frontier = layers(spec)[0]
    assert frontier["description"] == "pareto-frontier"
    tooltip_fields = {t["field"] for t in layers(spec)[2]["encoding"]["tooltip"]}
    for field in ("energy_method", "grid", "eval_size", "ci", "latency_n", "contention_pct", "cpu", "started_at"):
        assert field in tooltip_fields
    assert spec["layer"][2]["encoding"]["x"]["scale"]["type"] == "log"  # 0.02 .. 0.7 Wh is a 35x range


def test_linear_energy_axis_for_a_narrow_range(records):
    spec = charts.quality_energy_chart([records("minilm-l6", "fp32"), records("minilm-l6", "int8-dynamic")]).to_dict()
    assert "type" not in spec["layer"][2]["encoding"]["x"]["scale"]


def test_contended_points_are_hollow_and_noted(records):
    recs = [records("minilm-l6", "fp32"), records("mpnet-base", "fp32", contended=True, contention=0.5)]
    spec = charts.quality_energy_chart(recs).to_dict()
    assert any("Hollow" in line for line in spec["title"]["subtitle"])
    frame = charts.records_frame(recs)
    assert frame["contended"].tolist() == [False, True] and frame["contention_pct"].tolist() == [3.0, 50.0]


def test_same_colour_per_model_in_every_chart(recs):
    domain = model_order("sentiment", recs)
    expected = [model_colors(domain)[m] for m in domain]
    for build in BUILDERS:
        spec = build(recs, domain).to_dict()
        for color in color_encodings(spec):
            assert color["scale"]["domain"] == domain
            assert color["scale"]["range"] == expected


def test_colour_does_not_depend_on_which_models_are_shown(records):
    only_big = [records("mpnet-base", "fp32")]
    spec = charts.co2e_chart(only_big, model_order("sentiment", only_big)).to_dict()
    (color,) = color_encodings(spec)
    assert color["scale"]["range"][color["scale"]["domain"].index("mpnet-base")] == PALETTE[3]


def test_bars_in_ladder_order_and_latency_has_p50_ticks(recs):
    spec = charts.latency_chart(recs, model_order("sentiment", recs)).to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["bar", "tick", "text"]
    order = spec["layer"][0]["encoding"]["y"]["sort"]
    assert order[0] == "minilm-l3 · fp32" and order[-1] == "mpnet-base · int8-dynamic"


def test_same_variant_from_two_runs_gets_distinct_labels(records):
    recs = [records("minilm-l6", "fp32", job_id=1), records("minilm-l6", "fp32", job_id=2)]
    assert charts.records_frame(recs)["label"].tolist() == ["minilm-l6 · fp32 (#1)", "minilm-l6 · fp32 (#2)"]


@pytest.mark.parametrize("build", BUILDERS, ids=lambda b: b.__name__)
def test_no_ok_records_gives_a_placeholder(records, build):
    spec = build([records("minilm-l6", "fp32", status="failed", error="x")]).to_dict()
    assert spec["mark"]["type"] == "text"


PIPELINE = "layer-drop:keep=3+distill:teacher=mpnet-base,epochs=2+onnx-int8"


def test_long_pipeline_specs_are_short_in_labels_and_legends_full_in_tooltips(records):
    recs = [records("minilm-l6", "fp32"), records("minilm-l6", PIPELINE)]
    frame = charts.records_frame(recs)
    assert frame["technique"].tolist() == ["fp32", PIPELINE]
    assert frame["label"].tolist() == ["minilm-l6 · fp32", "minilm-l6 · layer-drop(3)+distill(…)+onnx-int8"]
    points = charts.quality_energy_chart(recs).to_dict()["layer"][2]["encoding"]
    assert points["shape"]["field"] == "short" and "technique" in {t["field"] for t in points["tooltip"]}


def test_speedup_chart_is_log_x_with_a_zero_line_and_full_spec_tooltips(records):
    recs = [records(m, t, job_id=1) for m in LADDER for t in ("fp32", "int8-dynamic")]
    spec = technique_charts.speedup_chart(relative_to_fp32(recs), model_order("sentiment", recs)).to_dict()
    assert spec["description"] == "speedup-vs-drop"
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["rule", "rule", "rule", "point", "text"]
    points = spec["layer"][3]["encoding"]
    assert points["x"]["scale"]["type"] == "log" and "batch 32" in points["x"]["title"]
    assert {"technique", "ci", "reference", "change_pts"} <= {t["field"] for t in points["tooltip"]}
    assert points["color"]["scale"]["domain"] == model_order("sentiment", recs)
    p50 = technique_charts.speedup_chart(relative_to_fp32(recs), model_order("sentiment", recs), "p50").to_dict()
    assert "median latency" in p50["layer"][3]["encoding"]["x"]["title"]


def test_speedup_frame_values(records):
    recs = [records("mpnet-base", "fp32"), records("mpnet-base", "int8-dynamic")]
    frame = technique_charts.relative_frame(relative_to_fp32(recs))
    assert frame["speedup"].tolist() == pytest.approx([164.0 / 64.5])
    assert frame["change_pts"].tolist() == pytest.approx([-0.5])
    half_ci = 100 * 1.96 * (0.875 * 0.125 / 300) ** 0.5
    assert frame["ci_low_pts"].tolist() == pytest.approx([-0.5 - half_ci])


def test_payback_chart_lines_cross_at_the_break_even(records, trained):
    teacher = records("mpnet-base", "fp32")
    items = paybacks([teacher, trained("minilm-l6", PIPELINE, 3.0)])
    frame = technique_charts.payback_frame(items)
    q = items[0].queries
    variant = frame[frame["kind"] == technique_charts.VARIANT_LINE]
    replaced = frame[frame["kind"] == technique_charts.REPLACED_LINE]
    assert variant["wh"].iloc[0] == pytest.approx(3.0) and replaced["wh"].iloc[0] == 0
    at_q = lambda line: line["wh"].iloc[0] + q * (line["wh"].iloc[1] - line["wh"].iloc[0]) / line["queries"].iloc[1]  # noqa: E731
    assert at_q(variant) == pytest.approx(at_q(replaced))
    spec = technique_charts.payback_chart(items, model_order("sentiment")).to_dict()
    assert spec["description"] == "payback" and [layer["mark"]["type"] for layer in spec["layer"]] == [
        "line", "point", "text"]
    two = paybacks([teacher, trained("minilm-l6", PIPELINE, 3.0), trained("minilm-l3", "distill:teacher=mpnet-base", 2.0)])
    frame = technique_charts.payback_frame(two)
    assert frame.groupby("kind")["line"].nunique().to_dict() == {technique_charts.VARIANT_LINE: 2, technique_charts.REPLACED_LINE: 1}
    spec = technique_charts.payback_chart(two, model_order("sentiment")).to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line", "point"]  # no colliding labels


def test_spread_labels_moves_colliding_labels_apart():
    assert technique_charts.spread_labels([1.0, 4.0], [0.0, 5.0], ["a", "b"]) == [0.0, 0.0]
    offsets = technique_charts.spread_labels([2.0, 2.01, 2.02], [0.0, 0.05, -0.05], ["int8-dynamic", "onnx-int8", "bf16"],
                                   y_range=(-10.0, 5.0), x_range=(1.0, 4.0))
    assert len(set(offsets)) == 3


def test_payback_chart_without_a_saving_is_a_placeholder(records, trained):
    items = paybacks([records("minilm-l6", "fp32"), trained("minilm-l6", "finetune:epochs=2", 2.0)])
    assert technique_charts.payback_chart(items, model_order("sentiment")).to_dict()["mark"]["type"] == "text"


def test_training_chart_per_variant(records):
    curves = {("minilm-l6", PIPELINE): [{"step": 0, "epoch": 0, "loss": 0.9, "val_accuracy": 0.7},
                                        {"step": 10, "epoch": 0, "loss": 0.5, "val_accuracy": None}],
              ("minilm-l3", "finetune:epochs=2"): [{"step": 0, "epoch": 0, "loss": 0.8, "val_accuracy": 0.6}]}
    loss = technique_charts.training_chart(curves, "loss").to_dict()
    assert loss["mark"]["type"] == "line" and loss["encoding"]["color"]["field"] == "variant"
    acc = technique_charts.training_chart(curves, "val_accuracy").to_dict()
    assert acc["encoding"]["y"]["axis"]["format"] == "%"
    frame = technique_charts.curve_frame(curves)
    assert len(frame) == 3 and frame["val_accuracy"].isna().sum() == 1
    assert technique_charts.training_chart({}, "loss").to_dict()["mark"]["type"] == "text"


def test_the_confusion_rows_are_shares_of_each_class_and_the_counts_are_written_in():
    from conftest import make_record

    from engine.views.detail_charts import confusion_chart, confusion_frame

    record = make_record("minilm-l6", "fp32", quality_extras={
        "confusion": {"labels": ["ham", "spam"], "counts": [[90, 10], [5, 15]]}})
    frame = confusion_frame(record)
    assert frame.groupby("true")["share"].sum().round(9).tolist() == [1.0, 1.0]
    assert frame.set_index(["true", "predicted"]).loc[("spam", "ham"), "share"] == 0.25
    spec = confusion_chart(record).to_dict()
    assert spec["description"] == "confusion" and "120 test items" in str(spec["title"])
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["rect", "text"]
    assert confusion_frame(make_record("minilm-l6", "fp32")).empty  # no confusion stored: a placeholder chart
