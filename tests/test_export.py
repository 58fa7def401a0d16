"""engine.export: CSV and JSON with every record field and codecarbon's emissions.csv column names."""

import csv
import dataclasses
import io
import json

import pandas as pd
import pytest
from codecarbon.output_methods.emissions_data import EmissionsData

from engine.export import CODECARBON_BASIS, CODECARBON_COLUMNS, ExportError, export, read_csv, read_json, rows
from engine.record import record_fields


@pytest.fixture
def sample(records, trained):
    distilled = trained("minilm-l6", "layer-drop:keep=3+distill:teacher=mpnet-base,epochs=2", 120.0)
    failed = records("mpnet-base", "bf16", status="failed", error='RuntimeError: "bf16", unavailable')
    state = records("minilm-l3", "int8-dynamic", region="USA-CA", contended=True, contention=0.4)
    return [records("minilm-l6", "int8-dynamic", job_id=3), distilled, failed, state]


def test_codecarbon_names_are_exactly_codecarbons():
    codecarbon = {f.name for f in dataclasses.fields(EmissionsData)}
    assert set(CODECARBON_COLUMNS) <= codecarbon
    assert not set(CODECARBON_COLUMNS) & set(record_fields())  # no name means two things


def test_codecarbon_columns_are_converted_per_1000_queries(records):
    row = rows([records("minilm-l6", "int8-dynamic")])[0]
    # 0.035 Wh per 1,000 queries = 3.5e-5 kWh; co2e 0.035 / 1000 x 369.473 g = 0.01293 g = 1.293e-5 kg
    assert row["energy_consumed"] == pytest.approx(3.5e-5)
    assert row["cpu_energy"] == pytest.approx(0.45 * 3.5e-5) and row["ram_energy"] == pytest.approx(0.55 * 3.5e-5)
    assert row["emissions"] == pytest.approx(0.035 / 1000 * 369.473 / 1000)
    duration = 1000 / (1000 / (4.5 * 0.8))  # 1,000 queries at 277.8 per second = 3.6 s
    assert row["duration"] == pytest.approx(duration)
    assert row["emissions_rate"] == pytest.approx(row["emissions"] / duration)
    assert (row["country_iso_code"], row["country_name"]) == ("USA", "United States")
    assert row["cpu_model"] == "AMD EPYC 9R14 (test fixture)" and row["codecarbon_version"] == "3.3.2"
    assert row["codecarbon_basis"] == CODECARBON_BASIS == "per 1,000 queries served at batch 32"


def test_json_round_trip(sample):
    text = export(sample, "json")
    assert read_json(text) == sample
    data = json.loads(text)
    assert data[0]["energy_consumed"] == pytest.approx(3.5e-5) and data[0]["energy_wh_per_1k"] == 0.035


def test_csv_parses_with_pandas_and_csv_and_round_trips(sample):
    text = export(sample, "csv")
    frame = pd.read_csv(io.StringIO(text))
    assert len(frame) == 4
    for name in ("emissions", "energy_consumed", "cpu_energy", "ram_energy", "duration", "country_iso_code",
                 "emissions_rate", "codecarbon_basis", *record_fields()):
        assert name in frame.columns
    assert frame.loc[0, "energy_consumed"] == pytest.approx(3.5e-5)
    assert frame.loc[3, "region"] == "USA-CA" and frame.loc[3, "country_iso_code"] == "USA"
    assert pd.isna(frame.loc[2, "energy_consumed"])  # a failed trial: empty, not 0
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert json.loads(parsed[1]["details"])["distill"]["upfront_energy_wh"] == 120.0
    assert parsed[2]["error"] == 'RuntimeError: "bf16", unavailable'
    assert read_csv(text) == sample


def test_stored_trials_export_their_ids(store, seeded):
    data = json.loads(export(store.trial_rows(job_ids=[seeded["older"]]), "json"))
    assert [d["trial_id"] for d in data] == [1, 2]
    assert [d["model"] for d in data] == ["vader", "minilm-l3"]


def test_an_unknown_format_is_refused(sample):
    with pytest.raises(ExportError, match="Use one of: csv, json"):
        export(sample, "xlsx")
