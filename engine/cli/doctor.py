"""`doctor`: check the results database, and with --salvage save what is readable into a new file."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path


def cmd_doctor(args: argparse.Namespace) -> int:
    """0: healthy; 1: problems found (a salvage does not change that: the original is still damaged); 2: bad
    input (no such database, the salvage file exists already)."""
    from engine.config import settings
    from engine.doctor import default_out, diagnose, salvage

    path = Path(args.db) if args.db else settings().db_path
    try:
        report = diagnose(path)
    except FileNotFoundError:
        raise ValueError(f"No database at {path} (set RIGHTSIZE_DB or pass --db).") from None
    rescued = None
    if args.salvage is not None:
        out = Path(args.salvage) if args.salvage else default_out(path)
        try:
            rescued = salvage(path, out)
        except FileExistsError:
            raise ValueError(f"{out} exists already: pass another file to --salvage, or move it away.") from None
    if args.json:
        data = {"diagnosis": asdict(report) | {"healthy": report.healthy},
                "salvage": asdict(rescued) if rescued else None}
        print(json.dumps(data, default=str, indent=2))
    else:
        _print_diagnosis(report)
        if rescued:
            _print_salvage(rescued)
        elif not report.healthy:
            print(f"\nSave what is readable into a new file: python -m engine doctor --db {path} --salvage [OUT]")
    return 0 if report.healthy else 1


def _print_diagnosis(report) -> None:
    from engine import journal

    state = ", read-only" if report.read_only else ""
    print(f"Results database: {report.path} ({report.size_bytes / 1e6:.2f} MB{state})")
    if report.healthy:
        print("Integrity: ok")
        print("Stored: " + ", ".join(f"{n} {noun}" for noun, n in zip(("runs", "trials", "training-curve points"),
                                                                     report.counts.values(), strict=True)))
    for problem in report.problems:
        print(f"Problem: {problem}")
    if report.replayed:
        print(f"Added {report.replayed} result(s) a full disk had kept aside.")
    if report.pending:
        print(f"Waiting: {report.pending} result(s) in {journal.pending_dir(report.path)}, added once the store "
              "is sound and writable.")
    for job_id in report.failed_jobs:
        print(f"Run #{job_id} was still marked running but its process had died: now failed, its trials kept.")
    print("Verdict: " + ("healthy." if report.healthy else "damaged; the file was not changed."))


def _print_salvage(rescued) -> None:
    from engine.doctor import NOUNS, id_ranges

    print(f"\nSalvaged into {rescued.out} (its integrity check: {rescued.verified})")
    for note in rescued.notes:
        print(f"  note: {note}")
    for table in rescued.tables.values():
        line = f"  {NOUNS[table.table]}: kept {table.kept}"
        if table.unreadable:
            line += (f"; could not read ids {id_ranges(table.unreadable)} (those rows are lost, unless they had "
                     "been deleted)")
        if table.damaged:
            line += f"; damaged content, left out: {id_ranges(table.damaged)}"
        print(line)
    if rescued.orphan_trials:
        print(f"  {rescued.orphan_trials} kept trial(s) belong to runs that were lost.")
    src, out = rescued.source, rescued.out
    print("The original was not changed. To use the salvaged file, stop the dashboard and any worker, then:\n"
          f"  mv {src} {src}.damaged && for s in -wal -shm; do [ -e {src}$s ] && mv {src}$s {src}.damaged$s; done\n"
          f"  mv {out} {src}", file=sys.stdout)
