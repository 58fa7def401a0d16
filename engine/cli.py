"""Command line: `python -m engine tasks | regions | run | optimize | brief | snapshot | worker`. Results on stdout,
logs on stderr.

Exit status: 0 success, 1 every trial failed (for `optimize`: its fp32 baseline failed), 2 bad input (unknown
name, out-of-range number, model not installed, hub id while offline) with a message naming the valid choices.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.runner import CurveSink, Progress
    from engine.store import Store


def _csv(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def cmd_tasks(args: argparse.Namespace) -> int:
    from engine.registry import MODELS, TASKS, TECHNIQUES, is_installed

    rows = []
    for task in TASKS.values():
        models = [
            {"id": m, "family": MODELS[m].family, "params_m": MODELS[m].params_m,
             "installed": is_installed(MODELS[m]), "install": MODELS[m].install, "source": MODELS[m].source}
            for m in task.models
        ]
        rows.append({"id": task.id, "title": task.title, "test_sets": [s.id for s in task.test_sets],
                     "models": models, "techniques": list(TECHNIQUES)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(f"{row['id']}: {row['title']}   test sets: {', '.join(row['test_sets'])}")
        for m in row["models"]:
            state = "installed" if m["installed"] else f"NOT installed -> {m['install']}"
            print(f"  {m['id']:<12} {m['family']:<11} {m['params_m']:>7.1f}M  {state}")
        print(f"  techniques: {', '.join(row['techniques'])}")
    return 0


def cmd_regions(args: argparse.Namespace) -> int:
    from engine.carbon import regions

    rows = regions()
    if args.json:
        print(json.dumps([r.__dict__ for r in rows], indent=2))
    else:
        for r in rows:
            print(f"{r.region}  {r.g_per_kwh:8.1f} g/kWh  {r.year}  {r.name}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from engine.jobs import RunRequest
    from engine.runner import run_request
    from engine.store import Store
    from engine.techniques.spec import split_techniques

    request = RunRequest(args.task, _csv(args.models), split_techniques(args.techniques), args.eval_size,
                         args.region or RunRequest.__dataclass_fields__["region"].default_factory(),
                         args.test_set, args.seed).validated()
    store = Store()
    job_id = store.start_job(request.task, request.to_dict(), os.getpid())
    records = []

    progress, curve = _job_sinks(store, job_id)
    try:
        for record in run_request(request, job_id, progress, curve):
            store.add_trial(record)
            records.append(record)
    except BaseException as error:  # Ctrl-C or a crash: the job must not stay "running"
        store.finish(job_id, f"Interrupted: {type(error).__name__}: {error}")
        raise
    failed = [r for r in records if r.status == "failed"]
    store.finish(job_id, "Every trial failed." if failed and len(failed) == len(records) else "")
    if args.json:
        print(json.dumps([r.to_dict() for r in records], indent=2))
    else:
        _print_table(records)
    return 1 if failed and len(failed) == len(records) else 0


def _job_sinks(store: Store, job_id: int) -> tuple[Progress, CurveSink]:
    """Progress to the store and to stderr; live training curves to the store."""

    def progress(fraction: float, message: str) -> None:
        store.update_progress(job_id, fraction, message)
        print(f"[{fraction:6.1%}] {message}", file=sys.stderr, flush=True)

    return progress, lambda model, technique, point: store.add_curve_point(job_id, model, technique, point)


def cmd_optimize(args: argparse.Namespace) -> int:
    from engine.jobs import OptimizeRequest
    from engine.optimize import BaselineFailed, job_summary, run_optimize
    from engine.store import Store

    request = OptimizeRequest(args.task, args.model, args.max_drop, args.objective, args.eval_size,
                              args.region or OptimizeRequest.__dataclass_fields__["region"].default_factory(),
                              args.test_set, args.seed, args.teacher).validated()
    if args.max_candidates is not None and args.max_candidates < 1:
        raise ValueError(f"--max-candidates must be at least 1 (got {args.max_candidates}).")
    store = Store()
    job_id = store.start_job(request.task, request.to_dict(), os.getpid())
    progress, curve = _job_sinks(store, job_id)
    try:
        result = run_optimize(request, job_id, progress, curve, on_record=store.add_trial,
                              max_candidates=args.max_candidates)
    except BaselineFailed as error:
        store.finish(job_id, str(error))
        print(f"error: {error}", file=sys.stderr)
        return 1
    except BaseException as error:  # Ctrl-C or a crash: the job must not stay "running"
        store.finish(job_id, f"Interrupted: {type(error).__name__}: {error}")
        raise
    store.set_result(job_id, job_summary(result))
    store.finish(job_id)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    _print_search(result)
    return 0


def _print_search(result: dict) -> None:
    """Each candidate in the order tried: stage, outcome, accuracy, change in points, objective, and why."""
    field, base = result["objective_field"], result["baseline"]
    drop = result["max_drop_pts"]
    print(f"{result['model']} on {result['task']}: leanest by {result['objective']} ({field}) with accuracy >= "
          f"{result['floor_accuracy']:.3f} (fp32 {base['accuracy']:.3f} minus {drop:.1f} point{'' if drop == 1 else 's'}); "
          f"{len(result['candidates'])} trials in {result['search_s']:.0f} s\n")
    print(f"{'stage':<6}{'outcome':<13}{'accuracy':>9}{'Δ pts':>8}{field:>18}{'vs fp32':>9}  variant")
    chosen = {(r or {}).get("technique"): label for r, label in
              ((result["best"], "BEST"), (result["nearest_miss"], "nearest miss"))}
    for item in result["tried"]:
        outcome = chosen.get(item["spec"]) or {True: "kept floor", False: "below floor"}.get(
            item.get("kept_floor"), item["status"])
        if item["spec"] == base["technique"]:
            outcome = "baseline"
        figures = " " * 44
        if item.get("accuracy") is not None and item.get("objective_value") is not None:
            ratio = base[field] / item["objective_value"] if item["objective_value"] else float("inf")
            figures = (f"{item['accuracy']:>9.3f}{(item['accuracy'] - base['accuracy']) * 100:>+8.1f}"
                       f"{item['objective_value']:>18.4g}{ratio:>8.1f}x")
        print(f"{item['stage']:<6}{outcome[:12]:<13}{figures}  {item['spec']}")
        print(f"{'':<19}{item.get('error') or item['why']}")
    print(f"\n{result['verdict']}")


def _print_table(records: list) -> None:
    print(f"{'model':<12} {'technique':<14} {'accuracy (95% CI)':<22} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'q/s b32':>8} {'Wh/1k':>8} {'gCO2e/1k':>9} {'MB':>7}")
    for r in records:
        if r.status != "ok":
            print(f"{r.model:<12} {r.technique:<14} {r.status.upper()}: {r.error}")
            continue
        ci = f"{r.accuracy:.3f} ({r.accuracy_ci_low:.3f}-{r.accuracy_ci_high:.3f})"
        print(f"{r.model:<12} {r.technique:<14} {ci:<22} {r.latency_p50_ms:>8.1f} {r.latency_p95_ms:>8.1f} "
              f"{r.throughput_per_s:>8.1f} {r.energy_wh_per_1k:>8.4f} {r.co2e_g_per_1k:>9.4f} "
              f"{r.model_size_mb:>7.1f}" + ("  CONTENDED" if r.contended else ""))
    if records:
        print(f"energy: {records[0].energy_method}")


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
    from engine.report.brief import brief_html, brief_pdf
    from engine.report.brief_pdf import paper_size
    from engine.store import Store

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
    from engine.reference import latest_comparison, machine_from, reference_path, write_reference
    from engine.registry import get_task
    from engine.store import Store

    task = get_task(args.task).id
    records, command = latest_comparison(Store(), task)
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


def cmd_trial(args: argparse.Namespace) -> int:
    """Internal: one trial in this process, JSON lines on stdout (see engine.runner)."""
    from engine.trial import TrialSpec, run_trial

    _die_with_parent()
    spec = TrialSpec(**json.loads(args.spec))

    def progress(fraction: float, message: str) -> None:
        print(json.dumps({"progress": fraction, "message": message}), flush=True)

    def curve(point: dict) -> None:
        print(json.dumps({"curve": point}), flush=True)

    record = run_trial(spec, progress, curve)
    print(json.dumps({"record": record.to_dict()}), flush=True)
    return 0


def _die_with_parent() -> None:
    """If the worker is killed (even with -9), its trial child must not measure on as an orphan."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def cmd_worker(args: argparse.Namespace) -> int:
    from engine.worker import serve

    serve()
    return 0


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
    p.add_argument("--task", required=True)
    p.add_argument("--models", required=True, help="comma-separated model ids (see `tasks`)")
    p.add_argument("--techniques", default="fp32", help="comma-separated techniques (default fp32)")
    p.add_argument("--eval-size", type=int, default=300)
    p.add_argument("--region", default="", help="ISO 3166 alpha-3 grid region (default RIGHTSIZE_REGION or USA)")
    p.add_argument("--test-set", default="")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print the trial records as a JSON array")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("optimize", help="find the leanest variant of a model within an accuracy floor")
    p.add_argument("--task", required=True)
    p.add_argument("--model", required=True, help="the model to compress (see `tasks`)")
    p.add_argument("--max-drop", type=float, default=1.0, help="accuracy points the variant may lose (default 1.0)")
    p.add_argument("--objective", default="energy", help="energy | latency | size (default energy)")
    p.add_argument("--eval-size", type=int, default=300)
    p.add_argument("--region", default="", help="ISO 3166 alpha-3 grid region (default RIGHTSIZE_REGION or USA)")
    p.add_argument("--test-set", default="")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--teacher", default="", help="model to distill from (default: the largest installed bigger "
                                                 "model; 'none' skips distillation)")
    p.add_argument("--max-candidates", type=int, default=None, help="stop after this many trials (baseline included)")
    p.add_argument("--json", action="store_true", help="print the whole result as JSON")
    p.set_defaults(func=cmd_optimize)
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
    p.set_defaults(func=cmd_snapshot)
    p = sub.add_parser("trial", help=argparse.SUPPRESS)
    p.add_argument("spec")
    p.set_defaults(func=cmd_trial)
    p = sub.add_parser("worker", help="process queued dashboard jobs until idle")
    p.set_defaults(func=cmd_worker)
    return top


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as error:  # bad input (engine.registry's errors are ValueErrors): a message, not a trace
        print(f"error: {error}", file=sys.stderr)
        return 2
