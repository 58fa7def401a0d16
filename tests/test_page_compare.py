"""Compare page: four charts for the chosen run(s), provenance in tooltips, a different run changes the data."""

import json
from pathlib import Path

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


def test_four_charts_with_frontier_and_provenance_tooltips(seeded):
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception
    charts = at.get("vega_lite_chart")
    assert len(charts) == 4
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
