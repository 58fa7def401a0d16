"""History page: filters narrow the trials, a trial or a finished run can be deleted (a running one is refused
with a message), the exports hold exactly the trials shown, one variant compared across machines."""

import json
from datetime import date
from pathlib import Path

from conftest import make_record, seed_run
from streamlit.testing.v1 import AppTest

from engine.export import export

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "history.py")
OTHER_MACHINE = {"cpu_model": "Intel Xeon 8375C", "hostname": "box2", "cores": 2}


def open_page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=60).run()


def trial_ids(at: AppTest) -> list[int]:
    return next(d.value for d in at.dataframe if "Trial" in d.value)["Trial"].tolist()


def test_filters_narrow_the_trials(store, seeded):
    store.add_trial(make_record("minilm-l3", "int8-dynamic", hardware=OTHER_MACHINE,
                                started_at="2025-06-03T08:00:00+00:00"))
    at = open_page()
    assert not at.exception
    assert len(trial_ids(at)) == 10
    at.selectbox(key="history_model").set_value("minilm-l3").run()
    assert len(trial_ids(at)) == 4  # older fp32, latest fp32 and int8, the other machine's int8
    at.selectbox(key="history_technique").set_value("int8-dynamic").run()
    assert len(trial_ids(at)) == 2
    at.selectbox(key="history_machine").set_value("Intel Xeon 8375C (box2)").run()
    assert len(trial_ids(at)) == 1
    at.selectbox(key="history_machine").set_value("").run()
    at.date_input(key="history_dates").set_value((date(2025, 6, 2), date(2025, 6, 2))).run()
    assert len(trial_ids(at)) == 1 and at.subheader[0].value == "Trials: 1 of 10"
    runs = next(d.value for d in at.dataframe if "Kind" in d.value)
    assert runs["Run"].tolist() == [seeded["latest"]]  # only the run holding a matching trial


def test_delete_a_trial_after_confirming(store, seeded):
    victim = store.trial_rows(job_ids=[seeded["older"]])[0]
    at = open_page()
    at.selectbox(key="history_delete_trial").set_value(victim.id).run()
    assert at.button(key="history_delete_trial_go").disabled  # not before the confirmation
    at.checkbox(key=f"history_sure_trial_{victim.id}").check().run()
    at.button(key="history_delete_trial_go").click().run()
    assert not at.exception
    assert victim.id not in [r.id for r in store.trial_rows()]
    assert victim.id not in trial_ids(at)
    assert f"Deleted trial #{victim.id} ({victim.record.variant})" in at.success[0].value


def test_a_running_run_is_not_deleted(store):
    running = seed_run(store, ("minilm-l3",), ("fp32",), status="running")
    at = open_page()
    at.selectbox(key="history_delete_job").set_value(running).run()
    at.checkbox(key=f"history_sure_job_{running}").check().run()
    at.button(key="history_delete_job_go").click().run()
    assert not at.exception
    assert f"Job #{running} is still running" in at.error[0].value
    assert store.job(running) is not None and len(store.trials(job_ids=[running])) == 1


def test_delete_a_finished_run(store, seeded):
    at = open_page()
    at.selectbox(key="history_delete_job").set_value(seeded["older"]).run()
    at.checkbox(key=f"history_sure_job_{seeded['older']}").check().run()
    at.button(key="history_delete_job_go").click().run()
    assert store.job(seeded["older"]) is None and "and its 2 trials" in at.success[0].value


def test_exports_hold_the_filtered_trials(store, seeded, downloads):
    at = open_page()
    at.selectbox(key="history_model").set_value("mpnet-base").run()
    shown = store.trial_rows(model="mpnet-base")
    assert len(shown) == 3  # fp32, int8 and the failed bf16
    csv_data, csv_name = downloads["Export these trials (CSV)"]
    json_data, _ = downloads["Export these trials (JSON)"]
    assert csv_data.decode() == export(shown, "csv") and csv_name == "rightsize-trials.csv"
    assert [row["trial_id"] for row in json.loads(json_data)] == [r.id for r in shown]
    assert len(at.get("download_button")) == 2


def test_one_variant_across_machines(store, seeded):
    store.add_trial(make_record("minilm-l6", "int8-dynamic", hardware=OTHER_MACHINE, energy_wh_per_1k=0.05))
    at = open_page()
    assert not at.exception
    assert at.selectbox(key="history_variant").value == "minilm-l6|int8-dynamic"  # most machines first
    table = next(d.value for d in at.dataframe if "Machine" in d.value and "Trials" in d.value)
    assert table["Machine"].tolist() == ["AMD EPYC 9R14 (test fixture)", "Intel Xeon 8375C (box2)"]
    assert table["Energy (Wh / 1k queries, median)"].tolist() == [0.035, 0.05]
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert [s["description"] for s in specs] == ["per-machine-energy", "per-machine-latency"]


def test_an_empty_store_points_to_run(store):
    at = open_page()
    assert not at.exception and any("Nothing stored yet" in i.value for i in at.info)
