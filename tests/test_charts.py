"""app.charts: specs, the frontier layer, tooltips with provenance, one colour per model everywhere."""

import pytest

from app import charts
from app.ui import PALETTE, model_colors
from engine.summary import model_order

LADDER = ("minilm-l3", "minilm-l6", "mpnet-base")
BUILDERS = [charts.accuracy_energy_chart, charts.co2e_chart, charts.latency_chart, charts.size_chart]


@pytest.fixture
def recs(records):
    return [records(m, t, job_id=1) for m in LADDER for t in ("fp32", "int8-dynamic")]


def layers(spec):
    return spec.get("layer", [spec])


def color_encodings(spec):
    return [layer["encoding"]["color"] for layer in layers(spec) if "color" in layer.get("encoding", {})]


def test_scatter_has_frontier_error_bars_and_provenance_tooltips(recs):
    spec = charts.accuracy_energy_chart(recs).to_dict()
    marks = [layer["mark"]["type"] for layer in layers(spec)]
    assert marks == ["line", "rule", "point"]
    frontier = layers(spec)[0]
    assert frontier["description"] == "pareto-frontier"
    tooltip_fields = {t["field"] for t in layers(spec)[2]["encoding"]["tooltip"]}
    for field in ("energy_method", "grid", "eval_size", "ci", "latency_n", "contention_pct", "cpu", "started_at"):
        assert field in tooltip_fields
    assert spec["layer"][2]["encoding"]["x"]["scale"]["type"] == "log"  # 0.02 .. 0.7 Wh is a 35x range


def test_linear_energy_axis_for_a_narrow_range(records):
    spec = charts.accuracy_energy_chart([records("minilm-l6", "fp32"), records("minilm-l6", "int8-dynamic")]).to_dict()
    assert "type" not in spec["layer"][2]["encoding"]["x"]["scale"]


def test_contended_points_are_hollow_and_noted(records):
    recs = [records("minilm-l6", "fp32"), records("mpnet-base", "fp32", contended=True, contention=0.5)]
    spec = charts.accuracy_energy_chart(recs).to_dict()
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
