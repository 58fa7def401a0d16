"""Trial records as CSV or JSON: every record field, plus the energy and emissions figures again under the
column names codecarbon writes in its emissions.csv (codecarbon.output_methods.emissions_data.EmissionsData),
so tools that read codecarbon output can read ours.

codecarbon's figures describe one tracked run; ours describe serving 1,000 queries at batch 32, so the
codecarbon-named columns are per 1,000 queries (column `codecarbon_basis` says so), converted to codecarbon's
units: energy in kWh, emissions in kg CO2e, duration in seconds, emissions_rate in kg/s. codecarbon's `region`
column is left out: the record's own `region` column (the grid code, e.g. FRA or USA-CA) has that name.

One row per record. In CSV, lists and dicts (steps, details, hardware, versions) are JSON text and a missing
figure is an empty cell; read_csv and read_json give back the records.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterable
from typing import Any

from engine.record import TrialRecord, record_fields
from engine.store import StoredTrial
from engine.summary.variants import cpu_name

FORMATS = ("csv", "json")
CODECARBON_BASIS = "per 1,000 queries served at batch 32"
PROJECT_NAME = "rightsize"
# codecarbon's emissions.csv names, in its order, that we can fill honestly
CODECARBON_COLUMNS = (
    "timestamp", "project_name", "duration", "emissions", "emissions_rate", "cpu_energy", "ram_energy",
    "energy_consumed", "country_name", "country_iso_code", "os", "codecarbon_version", "cpu_count", "cpu_model",
    "pue",
)
EXTRA_COLUMNS = ("trial_id", "codecarbon_basis")


class ExportError(ValueError):
    """An unknown format or an unreadable file."""


def _per_kwh(wh: float | None) -> float | None:
    return None if wh is None else wh / 1000.0


def codecarbon_columns(record: TrialRecord) -> dict[str, Any]:
    """The record's energy and emissions per 1,000 queries under codecarbon's names and units."""
    from engine.carbon import grid_intensity

    duration_s = 1000.0 / record.throughput_per_s if record.throughput_per_s else None  # 1,000 queries at b32
    emissions_kg = None if record.co2e_g_per_1k is None else record.co2e_g_per_1k / 1000.0
    hw = record.hardware or {}
    country_name = country_iso = None
    if record.region:
        country_iso = record.region.split("-", 1)[0]
        try:
            country_name = grid_intensity(country_iso).name
        except ValueError:  # a region code from an older codecarbon
            country_name = None
    return {
        "timestamp": record.started_at or None,
        "project_name": PROJECT_NAME,
        "duration": duration_s,
        "emissions": emissions_kg,
        "emissions_rate": emissions_kg / duration_s if emissions_kg is not None and duration_s else None,
        "cpu_energy": _per_kwh(record.energy_cpu_wh_per_1k),
        "ram_energy": _per_kwh(record.energy_ram_wh_per_1k),
        "energy_consumed": _per_kwh(record.energy_wh_per_1k),
        "country_name": country_name,
        "country_iso_code": country_iso,
        "os": hw.get("os"),
        "codecarbon_version": (record.versions or {}).get("codecarbon"),
        "cpu_count": hw.get("logical_cores"),
        "cpu_model": cpu_name(record) if hw else None,
        "pue": 1.0,  # the records are the machine's own energy; the what-if applies a data-centre PUE
    }


def rows(items: Iterable[TrialRecord | StoredTrial]) -> list[dict[str, Any]]:
    """One flat dict per record: trial_id (None without a store id), every record field, the codecarbon-named
    columns and codecarbon_basis."""
    out = []
    for item in items:
        trial_id, record = (item.id, item.record) if isinstance(item, StoredTrial) else (None, item)
        out.append({"trial_id": trial_id, **record.to_dict(), **codecarbon_columns(record),
                    "codecarbon_basis": CODECARBON_BASIS})
    return out


def columns() -> list[str]:
    return ["trial_id", *record_fields(), *CODECARBON_COLUMNS, "codecarbon_basis"]


def to_json(items: Iterable[TrialRecord | StoredTrial]) -> str:
    return json.dumps(rows(items), indent=2)


def to_csv(items: Iterable[TrialRecord | StoredTrial]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns(), lineterminator="\n")
    writer.writeheader()
    for row in rows(items):
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buffer.getvalue()


def export(items: Iterable[TrialRecord | StoredTrial], fmt: str) -> str:
    if fmt not in FORMATS:
        raise ExportError(f"Unknown export format '{fmt}'. Use one of: {', '.join(FORMATS)}.")
    return to_csv(items) if fmt == "csv" else to_json(items)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value  # csv writes floats with repr: they read back exactly


def read_json(text: str) -> list[TrialRecord]:
    """Records from to_json's output (extra columns are ignored)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ExportError(f"Not a JSON export: {error}.") from None
    if not isinstance(data, list):
        raise ExportError("Not a JSON export: expected a list of records.")
    return [TrialRecord.from_dict(row) for row in data]


def read_csv(text: str) -> list[TrialRecord]:
    """Records from to_csv's output: each cell converted back to its field's type."""
    types = {f.name: str(f.type) for f in dataclasses.fields(TrialRecord)}
    out = []
    for row in csv.DictReader(io.StringIO(text)):
        out.append(TrialRecord(**{name: _parse(row.get(name, ""), kind) for name, kind in types.items()
                                  if name in row}))
    return out


def _parse(cell: str, kind: str) -> Any:
    if cell == "":
        if "None" in kind:
            return None
        return {} if kind.startswith("dict") else [] if kind.startswith("list") else "" if kind == "str" else None
    if kind.startswith(("dict", "list")):
        return json.loads(cell)
    if kind == "bool":
        return cell == "True"
    if kind.startswith("int"):
        return int(cell)
    if kind.startswith("float"):
        return float(cell)
    return cell
