"""Reference results: one comparison measured on a known, quiet machine and shipped with the app as
`<reference dir>/<task>.json`, so Home shows real figures on a fresh install before anything runs here.

The records are kept exactly as measured; the snapshot around them says on which machine, when and with which
command, so every place that shows them can say "not this machine". They never enter the store.

File format (written by `python -m engine snapshot`):
{"task": "sentiment", "machine": {"name": ..., "cpu": ..., "cores": ..., ...}, "produced_at": ISO 8601,
 "command": "python -m engine run ...", "records": [TrialRecord dicts]}
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shlex
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.record import TrialRecord
from engine.stored_runs import latest_run_with_results, run_records
from engine.summary.variants import cpu_name, ok_records

if typing.TYPE_CHECKING:
    from engine.store import Store

MIN_OK = 2  # a verdict compares two variants


class SnapshotError(ValueError):
    """A reference file that cannot be used: what is wrong, and where."""


@dataclass(frozen=True)
class ReferenceSnapshot:
    task: str
    machine: dict[str, Any]
    produced_at: str  # ISO 8601
    command: str
    records: list[TrialRecord]
    source: str = ""  # the file it came from

    @property
    def machine_name(self) -> str:
        return str(self.machine.get("name") or self.machine.get("cpu") or "an unnamed machine")

    @property
    def date(self) -> str:
        return self.produced_at[:10]

    @property
    def label(self) -> str:
        """The line shown wherever these figures appear."""
        return f"Reference results measured on {self.machine_name} on {self.date} — not this machine"


# --------------------------------------------------------------------------------------------- reading


def reference_dir(directory: str | Path | None = None) -> Path:
    from engine.config import settings

    return Path(directory) if directory is not None else settings().reference_dir


def reference_path(task: str, directory: str | Path | None = None) -> Path:
    return reference_dir(directory) / f"{task}.json"


def load_reference(task: str, directory: str | Path | None = None) -> ReferenceSnapshot | None:
    """The task's reference snapshot; None if there is no file; SnapshotError if the file is unusable."""
    path = reference_path(task, directory)
    try:
        stat = path.stat()
    except OSError:
        return None
    if not path.is_file():
        return None
    key = (str(path), task, stat.st_mtime_ns, stat.st_size)
    if key in _PARSED:  # pages read the snapshots on every rerun: parse each file version once per process
        return _PARSED[key]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SnapshotError(f"{path}: not readable JSON ({error}).") from error
    snapshot = parse_reference(data, task, source=str(path))
    if len(_PARSED) > 64:
        _PARSED.clear()
    _PARSED[key] = snapshot  # shared, like engine.stored_runs.stored_trials: callers never mutate records
    return snapshot


_PARSED: dict[tuple, ReferenceSnapshot] = {}


def find_reference(tasks: Iterable[str], directory: str | Path | None = None
                   ) -> tuple[ReferenceSnapshot | None, list[str]]:
    """The first task (in order) with a usable snapshot, and why any earlier ones were unusable."""
    errors = []
    for task in tasks:
        try:
            snapshot = load_reference(task, directory)
        except SnapshotError as error:
            errors.append(str(error))
            continue
        if snapshot is not None:
            return snapshot, errors
    return None, errors


def parse_reference(data: Any, task: str | None = None, source: str = "") -> ReferenceSnapshot:
    """Check a snapshot document field by field and build it; SnapshotError names the first problem."""
    where = source or "reference snapshot"

    def fail(problem: str) -> typing.NoReturn:
        raise SnapshotError(f"{where}: {problem}")

    if not isinstance(data, dict):
        fail("expected a JSON object with machine, produced_at, command and records.")
    machine = data.get("machine")
    if not isinstance(machine, dict) or not str(machine.get("name") or "").strip():
        fail("'machine' must be an object with a non-empty 'name'.")
    produced_at = data.get("produced_at")
    if not isinstance(produced_at, str) or not _is_iso(produced_at):
        fail(f"'produced_at' must be an ISO 8601 date (got {produced_at!r}).")
    command = data.get("command")
    if not isinstance(command, str):
        fail("'command' must be a string (how the figures were produced).")
    raw = data.get("records")
    if not isinstance(raw, list) or not raw:
        fail("'records' must be a non-empty list of trial records.")
    records = []
    for i, item in enumerate(raw):
        problem = record_problem(item)
        if problem:
            fail(f"record {i}: {problem}")
        records.append(TrialRecord.from_dict(item))
    tasks = {r.task for r in records}
    expected = task or data.get("task") or records[0].task
    if tasks != {expected}:
        fail(f"every record must belong to task '{expected}' (found {', '.join(sorted(tasks))}).")
    if len(ok_records(records, "quality")) < MIN_OK:
        fail(f"needs at least {MIN_OK} successful records with a measured quality to compare.")
    return ReferenceSnapshot(expected, machine, produced_at, command, records, source)


def _is_iso(text: str) -> bool:
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


_HINTS = typing.get_type_hints(TrialRecord)
REQUIRED = ("task", "model", "technique")


def record_problem(item: Any) -> str:
    """What is wrong with one record dict ('' if nothing): required names present, every known field of the
    type TrialRecord declares. Unknown keys are ignored (a newer writer may add fields)."""
    if not isinstance(item, dict):
        return "not an object."
    for name in REQUIRED:
        if not isinstance(item.get(name), str) or not item[name]:
            return f"'{name}' must be a non-empty string."
    for name, value in item.items():
        hint = _HINTS.get(name)
        if hint is not None and not _matches(value, hint):
            return f"'{name}' has the wrong type ({type(value).__name__})."
    return ""


def _matches(value: Any, hint: Any) -> bool:
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for option in options:
        kind = typing.get_origin(option) or option
        if option is type(None):
            if value is None:
                return True
        elif isinstance(value, bool):
            if kind is bool:
                return True
        elif kind is float:
            if isinstance(value, int | float):
                return True
        elif isinstance(kind, type) and isinstance(value, kind):
            return True
    return False


# --------------------------------------------------------------------------------------------- writing


def latest_comparison(store: Store, task: str) -> tuple[list[TrialRecord], str]:
    """All records of the task's newest run with at least two ok trials (what Home shows), and the command
    that reproduces that run; ([], "") if there is none."""
    run = latest_run_with_results(store, task, min_ok=MIN_OK)
    if run is None:
        return [], ""
    job = store.job(run.key)
    return run_records(store, task, [run.key]), command_of(job.spec) if job else ""


def command_of(spec: dict[str, Any]) -> str:
    """The CLI command equivalent to a stored job's spec (a run or a leanest-variant search)."""
    def opt(flag: str, key: str) -> list[str]:
        value = spec.get(key)
        return [flag, shlex.quote(str(value))] if value not in (None, "") else []

    if spec.get("kind") == "optimize":
        words = ["python -m engine optimize", *opt("--task", "task"), *opt("--model", "model"),
                 *opt("--max-drop", "max_drop_pts"), *opt("--objective", "objective"), *opt("--teacher", "teacher")]
    else:
        words = ["python -m engine run", *opt("--task", "task"),
                 "--models", shlex.quote(",".join(spec.get("models") or [])),
                 "--techniques", shlex.quote(",".join(spec.get("techniques") or []))]
    words += [*opt("--eval-size", "eval_size"), *opt("--region", "region"), *opt("--test-set", "test_set"),
              *opt("--seed", "seed")]
    return " ".join(words)


def machine_from(records: Sequence[TrialRecord], name: str = "") -> dict[str, Any]:
    """What the records say about the machine; `name` (e.g. "a 2-core cloud VM") defaults to CPU and cores.
    The host name is never recorded."""
    ok = ok_records(records) or list(records)
    hw = dict(ok[0].hardware) if ok else {}
    cores = hw.get("physical_cores") or hw.get("cores")
    cpu = cpu_name(ok[0]) if ok else "unknown CPU"
    return {
        "name": name or (f"{cpu} ({cores} cores)" if cores else cpu),
        "cpu": cpu,
        "cores": cores,
        "logical_cores": hw.get("logical_cores"),
        "memory_gb": hw.get("memory_gb") or hw.get("ram_gb"),
        "os": hw.get("os"),
        "threads": sorted({r.threads for r in ok if r.threads}),
        "energy_method": ok[0].energy_method if ok else "",
    }


def snapshot_document(records: Sequence[TrialRecord], *, command: str, machine: dict[str, Any] | None = None,
                      produced_at: str | None = None) -> dict[str, Any]:
    """The JSON document for a snapshot; checked with parse_reference so a bad one is never written."""
    records = list(records)
    if not records:
        raise SnapshotError("no records to snapshot: run a comparison first.")
    stamps = sorted(r.started_at for r in records if r.started_at)
    document = {
        "task": records[0].task,
        "machine": machine or machine_from(records),
        "produced_at": produced_at or (stamps[-1] if stamps else dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
        "command": command,
        "records": [dataclasses.asdict(r) for r in records],
    }
    parse_reference(document)
    return document


def write_reference(path: str | Path, records: Sequence[TrialRecord], *, command: str,
                    machine: dict[str, Any] | None = None, produced_at: str | None = None) -> ReferenceSnapshot:
    """Write a snapshot file (pretty JSON, stable key order, so a new snapshot diffs readably)."""
    document = snapshot_document(records, command=command, machine=machine, produced_at=produced_at)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return parse_reference(document, source=str(path))
