"""History across a cluster: one variant compared by machine, by machine type (CPU) and by Ray node, and the
trial table naming the node that measured each trial."""

from pathlib import Path

from conftest import make_record
from streamlit.testing.v1 import AppTest

from engine.store import StoredTrial
from engine.views.history_tables import GROUPINGS, per_machine, trial_table, variants_by_machines

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "history.py")
XEON = "Intel Xeon 8375C"


def node(host: str, node_id: str, cpu: str = XEON) -> dict:
    return {"cpu_model": cpu, "hostname": host, "ray_node_id": node_id * 56, "ray_node_ip": "10.0.0.1"}


def cluster_records():
    """One variant measured by two Ray nodes on host a, one on host b (same CPU) and once on an EPYC box."""
    return [make_record("minilm-l6", "int8-dynamic", hardware=hw, energy_wh_per_1k=wh) for hw, wh in (
        (node("a", "1"), 0.030), (node("a", "2"), 0.034), (node("b", "3"), 0.050),
        ({"cpu_model": "AMD EPYC 9R14", "hostname": "c"}, 0.040))]


def test_one_variant_by_machine_by_machine_type_and_by_node():
    rows = [StoredTrial(i, r) for i, r in enumerate(cluster_records())]
    counts = {name: variants_by_machines(rows, key)[0][2] for name, key in GROUPINGS.items()}
    assert counts == {"machine": 3, "machine type": 2, "node": 4}
    by_type = {r["machine"]: (r["trials"], r["energy_wh_per_1k"])
               for r in per_machine(rows, "minilm-l6", "int8-dynamic", GROUPINGS["machine type"])}
    assert by_type == {XEON: (3, 0.034), "AMD EPYC 9R14": (1, 0.040)}  # the median of the three Xeon trials
    by_node = [r["machine"] for r in per_machine(rows, "minilm-l6", "int8-dynamic", GROUPINGS["node"])]
    assert f"{XEON} (a) · Ray node 11111111" in by_node and "AMD EPYC 9R14 (c)" in by_node
    assert [r["node"] for r in trial_table(rows)] == ["11111111", "22222222", "33333333", ""]


def test_history_compares_the_variant_by_the_grouping_picked(store):
    for record in cluster_records():
        store.add_trial(record)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    label = at.selectbox(key="history_variant")
    assert label.format_func(label.value).endswith("(3 machines)")
    at.radio(key="history_grouping").set_value("node").run()
    label = at.selectbox(key="history_variant")
    assert label.format_func(label.value).endswith("(4 machines)")
    table = next(d.value for d in at.dataframe if "Trial" in d.value)
    assert sorted(table["Ray node"].tolist()) == ["", "11111111", "22222222", "33333333"]


RUN_PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "run.py")


def test_the_run_page_offers_only_the_configured_clusters(store, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RIGHTSIZE_CLUSTERS", raising=False)
    at = AppTest.from_file(RUN_PAGE, default_timeout=30).run()
    assert not at.exception and not [s for s in at.selectbox if s.key == "run_cluster"]  # none configured
    monkeypatch.setenv("RIGHTSIZE_CLUSTERS", "10.0.0.1:6379")
    at = AppTest.from_file(RUN_PAGE, default_timeout=30).run()
    assert at.selectbox(key="run_cluster").options == ["This machine", "Ray cluster at 10.0.0.1:6379"]
    at.multiselect(key="run_models_sentiment").set_value(["vader"])
    at.multiselect(key="run_techniques").set_value(["fp32"])
    at.selectbox(key="run_cluster").set_value("10.0.0.1:6379").run()
    at.checkbox(key="run_every_node").check()
    at.button(key="run_submit").click().run()
    assert not at.exception and not at.error
    (job,) = store.jobs()
    assert (job.spec["cluster"], job.spec["every_node"]) == ("10.0.0.1:6379", True)
