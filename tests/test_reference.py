"""engine.reference: snapshots round-trip unchanged, bad files fail with a message naming the problem."""

import json

import pytest
from conftest import REFERENCE_MACHINE, make_record, write_snapshot

from engine.reference import (
    SnapshotError,
    command_of,
    find_reference,
    load_reference,
    machine_from,
    parse_reference,
    write_reference,
)


def test_round_trip_keeps_the_records_and_labels_them(tmp_path):
    records = [make_record(m, t, job_id=3) for m in ("minilm-l3", "minilm-l6") for t in ("fp32", "int8-dynamic")]
    records.append(make_record("mpnet-base", "bf16", job_id=3, status="failed", error="no bf16 kernels"))
    write_reference(tmp_path / "sentiment.json", records, command="python -m engine run ...",
                    machine=REFERENCE_MACHINE, produced_at="2025-06-02")
    snapshot = load_reference("sentiment", tmp_path)
    assert snapshot.records == records  # every field, failed trials included
    assert snapshot.command == "python -m engine run ..." and snapshot.machine == REFERENCE_MACHINE
    assert snapshot.label == ("Reference results measured on a quiet 8-core test workstation on 2025-06-02 "
                              "— not this machine")


def test_the_reference_dir_comes_from_the_environment(tmp_path, monkeypatch):
    assert load_reference("sentiment") is None  # conftest points the app at an empty folder
    write_snapshot(tmp_path)
    monkeypatch.setenv("RIGHTSIZE_REFERENCE_DIR", str(tmp_path))
    assert load_reference("sentiment").date == "2025-05-20"  # the measurement date by default


def valid() -> dict:
    records = [make_record("minilm-l6", "fp32").to_dict(), make_record("mpnet-base", "fp32").to_dict()]
    return {"machine": {"name": "box"}, "produced_at": "2025-06-02", "command": "x", "records": records}


def broken(change):
    data = valid()
    change(data)
    return data


@pytest.mark.parametrize(("data", "message"), [
    ([], "expected a JSON object"),
    (broken(lambda d: d.pop("machine")), "'machine' must be an object with a non-empty 'name'"),
    (broken(lambda d: d.update(produced_at="last tuesday")), "'produced_at' must be an ISO 8601 date"),
    (broken(lambda d: d.update(command=None)), "'command' must be a string"),
    (broken(lambda d: d.update(records=[])), "'records' must be a non-empty list"),
    (broken(lambda d: d["records"][1].update(quality="high")), "record 1: 'quality' has the wrong type (str)"),
    (broken(lambda d: d["records"][0].pop("model")), "record 0: 'model' must be a non-empty string"),
    (broken(lambda d: d["records"][1].update(task="translation")), "every record must belong to task"),
    (broken(lambda d: d["records"].pop()), "needs at least 2 successful records"),
])
def test_malformed_snapshots_name_the_problem(data, message):
    with pytest.raises(SnapshotError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_reference(data, "sentiment")


def test_unreadable_file_is_a_snapshot_error_and_the_next_task_is_tried(tmp_path):
    (tmp_path / "sentiment.json").write_text("{not json")
    with pytest.raises(SnapshotError, match="not readable JSON"):
        load_reference("sentiment", tmp_path)
    write_snapshot(tmp_path, "other")
    snapshot, problems = find_reference(["missing", "sentiment", "other"], tmp_path)
    assert snapshot.task == "other" and len(problems) == 1 and "sentiment.json" in problems[0]


def test_unknown_keys_are_ignored_for_newer_writers(tmp_path):
    data = valid()
    data["records"][0]["a_future_field"] = 1
    (tmp_path / "sentiment.json").write_text(json.dumps(data))
    assert len(load_reference("sentiment", tmp_path).records) == 2


def test_machine_defaults_to_cpu_and_cores_never_the_host_name():
    machine = machine_from([make_record("minilm-l6", "fp32", hardware={"cpu_model": "Xeon", "physical_cores": 4})])
    assert machine["name"] == "Xeon (4 cores)" and "host" not in json.dumps(machine).lower()
    assert machine_from([make_record("minilm-l6", "fp32")], "the lab laptop")["name"] == "the lab laptop"


def test_command_of_a_stored_run_spec():
    spec = {"task": "sentiment", "models": ["minilm-l6"], "techniques": ["fp32", "prune-structured:keep=0.5"],
            "eval_size": 300, "region": "FRA", "test_set": "movie-reviews", "seed": 0}
    assert command_of(spec) == ("python -m engine run --task sentiment --models minilm-l6 --techniques "
                                "fp32,prune-structured:keep=0.5 --eval-size 300 --region FRA --test-set "
                                "movie-reviews --seed 0")


@pytest.mark.parametrize("task", ["sentiment", "spam", "topic", "search"])
def test_every_shipped_snapshot_is_valid_clean_and_gives_a_verdict_in_its_metric(task):
    """assets/reference/<task>.json: produced by the engine (a run + snapshot), read as Home reads it."""
    from pathlib import Path

    from engine.registry import get_task
    from engine.summary.headline import headline

    snapshot = load_reference(task, Path(__file__).resolve().parents[1] / "assets" / "reference")
    assert snapshot is not None and "not this machine" in snapshot.label
    ok = [r for r in snapshot.records if r.status == "ok"]
    assert {r.model for r in ok} >= {"minilm-l3", "minilm-l6", "mpnet-base"} and len(ok) >= 6
    assert not any(r.contended for r in ok)  # a reference must be measured on a quiet machine
    assert all(r.energy_method.startswith(("estimated", "measured", "partly")) and r.hardware for r in ok)
    assert all(r.metric == get_task(task).metric for r in ok)
    result = headline(snapshot.records)
    assert result is not None and result.metric.id == get_task(task).metric
    assert snapshot.command.startswith(f"python -m engine run --task {task}")
