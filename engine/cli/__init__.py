"""Command line: `python -m engine tasks | regions | run | optimize | whatif | recommend | export | brief |
snapshot | queue | cancel | doctor | worker`. Results on stdout, logs on stderr.

Exit status: 0 success, 1 every trial failed (for `optimize`: its fp32 baseline failed; for `whatif` and
`recommend`: no stored successful trial of the task), 2 bad input (unknown name, out-of-range number, model not
installed, hub id while offline) or a store that cannot do it (read-only, damaged, disk full), with a message
naming the valid choices or the fix; `doctor` exits 1 when the database has problems. `recommend` exits 0 when nothing
meets the constraints: that is an answer (recommended is null, binding_constraint says why).
"""

from __future__ import annotations

import argparse
import logging
import sys

from engine.cli.doctor import cmd_doctor
from engine.cli.info import cmd_regions, cmd_tasks
from engine.cli.jobs import cmd_cancel, cmd_queue
from engine.cli.measure import cmd_optimize, cmd_run, cmd_trial, cmd_worker
from engine.cli.reports import cmd_brief, cmd_export, cmd_snapshot
from engine.cli.scenario import cmd_recommend, cmd_whatif, scenario_flags


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m engine", description="Rightsize engine: measure smaller models.")
    sub = top.add_subparsers(dest="command", required=True)
    p = sub.add_parser("tasks", help="tasks, their models, and whether each is installed")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tasks)
    p = sub.add_parser("regions", help="grid regions with carbon intensity (codecarbon data)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_regions)
    p = sub.add_parser("run", help="measure models x techniques on a task and store the records")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--task", help="a task id (see `tasks`), or csv-<hash> for data stored from a CSV")
    what.add_argument("--data", help="your own labelled CSV (a text and a label column, UTF-8): checked, stored "
                                     "by content hash, and run as task csv-<hash>")
    p.add_argument("--text-column", default=None, help="the CSV's text column (default: detected)")
    p.add_argument("--label-column", default=None, help="the CSV's label column (default: detected)")
    p.add_argument("--models", required=True, help="comma-separated model ids (see `tasks`)")
    p.add_argument("--techniques", default="fp32", help="comma-separated techniques (default fp32)")
    p.add_argument("--eval-size", type=int, default=300)
    p.add_argument("--region", default="", help="grid region: ISO 3166 alpha-3 or USA-<state> (default RIGHTSIZE_REGION or USA)")
    p.add_argument("--test-set", default="")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--remeasure", action="store_true", help="measure every trial again, even one already "
                   "measured on this machine with the same code and settings (default: reuse it)")
    p.add_argument("--cluster", default=None, metavar="ADDRESS",
                   help="measure on the Ray cluster at ADDRESS (host:port, ray://host:port or auto; default "
                        "RAY_ADDRESS, else this machine): docs/cluster.md")
    p.add_argument("--every-node", action="store_true",
                   help="on a cluster: measure each trial on every measuring node (to compare machines)")
    p.add_argument("--json", action="store_true", help="print the trial records as a JSON array")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("optimize", help="find the leanest variant of a model within a floor of the task's metric")
    p.add_argument("--task", required=True)
    p.add_argument("--model", required=True, help="the model to compress (see `tasks`)")
    p.add_argument("--max-drop", type=float, default=1.0,
                   help="points of the task's metric the variant may lose (0.01 = 1 point; default 1.0)")
    p.add_argument("--objective", default="energy", help="energy | latency | size (default energy)")
    p.add_argument("--eval-size", type=int, default=300)
    p.add_argument("--region", default="", help="grid region: ISO 3166 alpha-3 or USA-<state> (default RIGHTSIZE_REGION or USA)")
    p.add_argument("--test-set", default="")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--teacher", default="", help="model to distill from (default: the largest installed bigger "
                                                 "model; 'none' skips distillation)")
    p.add_argument("--max-candidates", type=int, default=None, help="stop after this many trials (baseline included)")
    p.add_argument("--json", action="store_true", help="print the whole result as JSON")
    p.set_defaults(func=cmd_optimize)
    p = sub.add_parser("whatif", help="project stored variants onto a serving scenario: energy, CO2e, cost")
    p.add_argument("--task", required=True)
    scenario_flags(p)
    p.add_argument("--variants", default="", help="only these, as 'model|technique' joined with ';' (default all)")
    p.add_argument("--start", default="", help="first day of the scenario, YYYY-MM-DD (default today), for "
                                               "break-even dates")
    p.add_argument("--json", action="store_true", help="print assumptions and variants as JSON")
    p.set_defaults(func=cmd_whatif)
    p = sub.add_parser("recommend", help="the leanest stored variant meeting quality, latency and cost limits")
    p.add_argument("--task", required=True)
    p.add_argument("--min-quality", "--min-accuracy", dest="min_quality", type=float, default=None,
                   help="absolute floor in the task's metric, 0..1 (accuracy, F1, precision@10)")
    p.add_argument("--min-quality-pct", "--min-accuracy-pct", dest="min_quality_pct", type=float, default=None,
                   help="floor as a percentage of the best variant's score, 0..100")
    p.add_argument("--max-p95-ms", type=float, default=None, help="p95 single-query latency limit in ms")
    p.add_argument("--max-annual-usd", type=float, default=None,
                   help="first-year cost limit in USD under the scenario flags below")
    p.add_argument("--device", default=None, help="the variant must fit this device's budget: microcontroller, "
                                                  "phone or raspberry-pi (engine/devices.py)")
    scenario_flags(p)
    p.add_argument("--json", action="store_true", help="print the recommendation as JSON")
    p.set_defaults(func=cmd_recommend)
    p = sub.add_parser("export", help="trial records as CSV or JSON (codecarbon column names included)")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--task", default="")
    p.add_argument("--model", default="")
    p.add_argument("--technique", default="")
    p.add_argument("--machine", default="", help="part of the CPU (or host) name")
    p.add_argument("--since", default="", help="first UTC day, YYYY-MM-DD")
    p.add_argument("--until", default="", help="last UTC day, YYYY-MM-DD")
    p.add_argument("--out", default="", help="file to write (default stdout)")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("brief", help="a one-page executive briefing of the latest comparison (.pdf or .html)")
    p.add_argument("--task", required=True)
    p.add_argument("--out", required=True, help="file to write; its suffix (.pdf or .html) picks the format")
    p.add_argument("--whatif", default="", help="a what-if result as JSON (assumptions and yearly figures per variant)")
    p.add_argument("--recommend", default="", help="a recommendation as JSON (recommended, runner_up, reason, "
                                                   "binding_constraint)")
    p.add_argument("--reference", action="store_true", help="brief the bundled reference snapshot instead")
    p.add_argument("--paper", default="A4", help="PDF paper size: A4 or Letter (default A4)")
    p.set_defaults(func=cmd_brief)
    p = sub.add_parser("snapshot", help="write the latest comparison as a reference snapshot for fresh installs")
    p.add_argument("--task", required=True)
    p.add_argument("--out", default="", help="file to write (default: the reference dir's <task>.json)")
    p.add_argument("--machine-name", default="", help="how to name the machine (default: CPU model and cores)")
    p.add_argument("--command", default="", help="the command that produced the figures (default: from the run)")
    p.add_argument("--jobs", default="", help="comma-separated run ids to include (default: the latest comparison)")
    p.set_defaults(func=cmd_snapshot)
    p = sub.add_parser("queue", help="the dashboard's queue: what runs, what waits, estimated waits")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_queue)
    p = sub.add_parser("cancel", help="cancel a queued job, or stop a running one (measured trials are kept)")
    p.add_argument("job", type=int)
    p.set_defaults(func=cmd_cancel)
    p = sub.add_parser("doctor", help="check the results database; --salvage saves what is readable into a new file")
    p.add_argument("--db", default="", help="the database to check (default RIGHTSIZE_DB)")
    p.add_argument("--salvage", nargs="?", const="", default=None, metavar="OUT",
                   help="copy every readable row into the new file OUT (default: <db>.salvaged.sqlite beside it)")
    p.add_argument("--json", action="store_true", help="print the diagnosis (and salvage) as JSON")
    p.set_defaults(func=cmd_doctor)
    p = sub.add_parser("trial", help=argparse.SUPPRESS)
    p.add_argument("spec")
    p.set_defaults(func=cmd_trial)
    p = sub.add_parser("worker", help="process queued dashboard jobs until idle")
    p.set_defaults(func=cmd_worker)
    return top


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # the PDF's font subsetting logs every glyph
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as error:  # bad input (engine.registry's errors are ValueErrors): a message, not a trace
        print(f"error: {error}", file=sys.stderr)
        return 2
