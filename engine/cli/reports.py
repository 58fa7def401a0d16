"""`export`, `brief` and `snapshot`: stored trials as CSV/JSON, the one-page briefing, a reference snapshot.
"""

from __future__ import annotations

import argparse
import json
import sys

from engine.cli.measure import csv_list


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from engine.export import export
    from engine.registry import get_task
    from engine.store import Store

    task = get_task(args.task).id if args.task else None
    rows = Store().trial_rows(task, model=args.model or None, technique=args.technique or None,
                              machine=args.machine or None, since=args.since or None, until=args.until or None)
    text = export(rows, args.format)
    if args.out:
        try:
            Path(args.out).write_text(text)
        except OSError as error:  # a folder that does not exist, a read-only file: bad input
            raise ValueError(f"Cannot write --out {args.out}: {error.strerror or error}.") from None
        print(f"wrote {len(rows)} trial record{'s' * (len(rows) != 1)} to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


BRIEF_FORMATS = (".pdf", ".html", ".htm")


def _json_file(path: str, flag: str) -> object:
    """A JSON document given on the command line, or None if the flag was not used."""
    if not path:
        return None
    from pathlib import Path

    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{flag} {path}: not a readable JSON file ({error}).") from error


def cmd_brief(args: argparse.Namespace) -> int:
    """A one-page briefing of the task's latest comparison (or its reference snapshot), as PDF or HTML."""
    from pathlib import Path

    from engine.reference import latest_comparison, load_reference, reference_path
    from engine.registry import get_task
    from engine.store import Store
    from engine.views.brief import brief_html, brief_pdf
    from engine.views.brief_pdf import paper_size

    out = Path(args.out)
    if out.suffix.lower() not in BRIEF_FORMATS:
        raise ValueError(f"--out must end in .pdf or .html (got '{out.name}'): the suffix picks the format.")
    if out.suffix.lower() == ".pdf":
        paper_size(args.paper)
    task = get_task(args.task).id
    options = {"recommendation": _json_file(args.recommend, "--recommend"),
               "whatif": _json_file(args.whatif, "--whatif")}
    if args.reference:
        snapshot = load_reference(task)
        if snapshot is None:
            raise ValueError(f"No reference snapshot for '{task}' at {reference_path(task)}.")
        records, options["note"] = snapshot.records, snapshot.label
    else:
        records, _ = latest_comparison(Store(), task)
        if not records:
            raise ValueError(f"No results for '{task}' yet: run a comparison first (python -m engine run --task "
                             f"{task} --models ...), or pass --reference for the bundled reference results.")
    if out.suffix.lower() == ".pdf":
        data = brief_pdf(records, paper=args.paper, **options)
    else:
        data = brief_html(records, **options).encode("utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    print(out)
    return 0


def cmd_snapshot(args: argparse.Namespace) -> int:
    """Write the task's latest comparison as a reference snapshot (assets/reference/<task>.json)."""
    from engine.reference import command_of, latest_comparison, machine_from, reference_path, write_reference
    from engine.registry import get_task
    from engine.store import Store

    task = get_task(args.task).id
    store = Store()
    if args.jobs:  # several runs in one snapshot, e.g. a comparison and a distillation
        ids = [int(j) for j in csv_list(args.jobs) if j.isdigit()]
        jobs = {j.id: j for j in store.jobs(task=task, limit=10_000) if j.id in ids}
        missing = sorted(set(ids) - set(jobs)) or [j for j in csv_list(args.jobs) if not j.isdigit()]
        if missing:
            raise ValueError(f"--jobs: no run {', '.join(map(str, missing))} for task '{task}' "
                             "(python -m engine export --task ... lists runs by job_id).")
        records = store.trials(task=task, job_ids=ids)
        command = " && ".join(command_of(jobs[i].spec) for i in ids)
    else:
        records, command = latest_comparison(store, task)
    if not records:
        raise ValueError(f"No results for '{task}' to snapshot: run a comparison first "
                         f"(python -m engine run --task {task} --models ...).")
    busy = [r.variant for r in records if r.contended]
    if busy:  # a reference is meant to be clean: say so, the lead decides
        print(f"warning: measured under CPU contention: {', '.join(busy)}", file=sys.stderr)
    out = args.out or str(reference_path(task))
    snapshot = write_reference(out, records, command=args.command or command,
                               machine=machine_from(records, args.machine_name))
    print(f"{out}: {len(snapshot.records)} records. {snapshot.label}", file=sys.stderr)
    print(out)
    return 0
