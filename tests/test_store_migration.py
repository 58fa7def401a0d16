"""A database written by the schema before generic quality (tests/data/schema-v1.sqlite, made with that
code) opens, is migrated in place, and shows the same figures."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from engine.record import TrialRecord
from engine.store import SCHEMA_VERSION, Store

OLD = Path(__file__).parent / "data" / "schema-v1.sqlite"


def test_an_old_database_is_migrated_and_keeps_its_figures(tmp_path):
    path = tmp_path / "old.sqlite"
    shutil.copy(OLD, path)
    raw = [json.loads(r) for (r,) in sqlite3.connect(path).execute("SELECT record FROM trials ORDER BY id")]
    assert "accuracy" in raw[0] and "quality" not in raw[0]  # really the old schema

    records = Store(path).trials()

    assert [r.quality for r in records] == [r.get("accuracy") for r in raw]
    assert [r.quality_ci_low for r in records] == [r.get("accuracy_ci_low") for r in raw]
    assert all(r.metric == "accuracy" for r in records)
    assert [r.energy_wh_per_1k for r in records] == [r.get("energy_wh_per_1k") for r in raw]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    stored = json.loads(conn.execute("SELECT record FROM trials ORDER BY id").fetchone()[0])
    assert "accuracy" not in stored and stored["quality"] == raw[0]["accuracy"]
    assert len(Store(path).trials()) == len(raw)  # a second open changes nothing


def test_an_old_record_dict_reads_as_the_quality_of_accuracy():
    record = TrialRecord.from_dict({"task": "sentiment", "model": "m", "technique": "fp32", "accuracy": 0.8,
                                    "accuracy_ci_low": 0.7, "accuracy_ci_high": 0.9})
    assert (record.metric, record.quality, record.quality_ci_low, record.quality_ci_high) == ("accuracy", 0.8, 0.7, 0.9)
