"""`queue` (what runs and waits, in the worker's round-robin order) and `cancel JOB` for the machine's
operator: the CLI runs on the server, so it may cancel anyone's job."""

from __future__ import annotations

import argparse
import json


def cmd_queue(args: argparse.Namespace) -> int:
    from engine.queue import queue_view
    from engine.store import Store

    rows = queue_view(Store())
    if args.json:
        print(json.dumps([{"job": r.job.id, "position": r.position, "status": r.job.status, "owner": r.job.owner,
                           "task": r.job.task, "trials": r.trials, "wait_s": round(r.wait_s, 1),
                           "remaining_s": round(r.remaining_s, 1), "message": r.job.message} for r in rows], indent=2))
        return 0
    if not rows:
        print("The queue is empty.")
    for r in rows:
        where = "running" if r.running else f"#{r.position} (starts in ~{r.wait_s:.0f} s)"
        print(f"job {r.job.id:>4}  {where:<26} {r.job.task:<12} {r.trials:>3} trials  owner {r.job.owner or '-'}"
              f"  {r.job.message}")
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    from engine.store import Store

    state = Store().cancel(args.job, owner=None)
    print(f"job {args.job}: " + ("cancelled" if state == "cancelled" else
                                 "asked to stop; the worker ends the trial that runs now and keeps what was measured"))
    return 0
