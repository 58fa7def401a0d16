"""Command line: `python -m engine tasks | regions | run | optimize | whatif | recommend | export | brief |
snapshot | worker`. Results on stdout, logs on stderr.

Exit status: 0 success, 1 every trial failed (for `optimize`: its fp32 baseline failed; for `whatif` and
`recommend`: no stored successful trial of the task), 2 bad input (unknown name, out-of-range number, model not
installed, hub id while offline) with a message naming the valid choices. `recommend` exits 0 when nothing
meets the constraints: that is an answer (recommended is null, binding_constraint says why).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys


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
    from engine.requests import RunRequest
    from engine.techniques.spec import split_techniques

    request = RunRequest(args.task, _csv(args.models), split_techniques(args.techniques), args.eval_size,
                         args.region or RunRequest.__dataclass_fields__["region"].default_factory(),
                         args.test_set, args.seed).validated()
    outcome = _run_here(request)
    if args.json:
        print(json.dumps([r.to_dict() for r in outcome.records], indent=2))
    else:
        _print_table(outcome.records)
    return 1 if outcome.error else 0


def _run_here(request, max_candidates: int | None = None):
    """Run a validated request in this process as a stored job (engine.execute.run_job, as the worker does),
    progress to the store and to stderr."""
    from engine.execute import run_job, store_sinks
    from engine.store import Store

    store = Store()
    job_id = store.start_job(request.task, request.to_dict(), os.getpid())
    to_store, curve = store_sinks(store, job_id)

    def progress(fraction: float, message: str) -> None:
        to_store(fraction, message)
        print(f"[{fraction:6.1%}] {message}", file=sys.stderr, flush=True)

    return run_job(store, job_id, request, progress, curve, max_candidates=max_candidates)


def cmd_optimize(args: argparse.Namespace) -> int:
    from engine.requests import OptimizeRequest

    request = OptimizeRequest(args.task, args.model, args.max_drop, args.objective, args.eval_size,
                              args.region or OptimizeRequest.__dataclass_fields__["region"].default_factory(),
                              args.test_set, args.seed, args.teacher).validated()
    if args.max_candidates is not None and args.max_candidates < 1:
        raise ValueError(f"--max-candidates must be at least 1 (got {args.max_candidates}).")
    outcome = _run_here(request, args.max_candidates)
    if outcome.result is None:  # the fp32 baseline failed
        print(f"error: {outcome.error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(outcome.result, indent=2))
        return 0
    _print_search(outcome.result)
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


def _scenario(args: argparse.Namespace):
    """A Scenario from the what-if flags; a flag left out takes the documented default."""
    from engine.whatif import Scenario, parse_variants

    given = {name: getattr(args, name) for name in ("queries_per_day", "growth_pct", "years", "region", "pue",
                                                    "price_kwh", "compute_usd_per_hour")}
    values = {k: v for k, v in given.items() if v is not None and v != ""}
    if getattr(args, "variants", ""):
        values["variants"] = parse_variants(args.variants)
    return Scenario(**values).validated()


def _task_records(task_id: str) -> list:
    from engine.registry import get_task
    from engine.store import Store

    return Store().trials(task=get_task(task_id).id)


def cmd_whatif(args: argparse.Namespace) -> int:
    from datetime import date

    from engine.whatif import NoResultsError, project

    scenario = _scenario(args)
    start = None
    if args.start:
        try:
            start = date.fromisoformat(args.start)
        except ValueError:
            raise ValueError(f"--start must be a date as YYYY-MM-DD (got '{args.start}').") from None
    try:
        result = project(_task_records(args.task), scenario, task=args.task, start=start)
    except NoResultsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    _print_whatif(result)
    return 0


def _print_whatif(result) -> None:
    s = result.scenario
    print(f"{s.queries_per_day:,.0f} queries/day, {s.growth_pct:+g}%/year, {s.years} year{'s' * (s.years != 1)}, "
          f"grid {result.grid.label}, PUE {s.pue:g}, ${s.price_kwh:g}/kWh, machine ${s.compute_usd_per_hour:g}/h; "
          f"baseline {result.baseline.record.variant if result.baseline else 'none'}\n")
    print(f"{'model':<12} {'technique':<28} {'kWh/yr':>10} {'tCO2e/yr':>9} {'USD/yr':>10} {'kWh total':>10} "
          f"{'tCO2e tot':>9} {'USD total':>10} {'saved kWh':>10}  payback")
    for v in result.variants:
        fy, tot = v.first_year, v.total
        saved = v.savings.total.energy_kwh if v.savings else None
        print(f"{v.record.model:<12} {v.record.technique[:28]:<28} {fy.energy_kwh:>10.4g} {fy.co2e_t:>9.3g} "
              f"{_num(fy.cost_usd):>10} {tot.energy_kwh:>10.4g} {tot.co2e_t:>9.3g} {_num(tot.cost_usd):>10} "
              f"{_num(saved):>10}  {v.payback.sentence if v.payback else ''}")
    for variant, why in result.skipped:
        print(f"skipped {variant}: {why}")
    print("\nAssumptions:")
    for a in result.assumptions:
        value = f"{a.value:,.6g}" if isinstance(a.value, float | int) else str(a.value)
        unit = f" {a.unit}" if a.unit else ""
        year = f", {a.year}" if a.year else ""
        print(f"  {a.label}: {value}{unit}{year} ({a.source})")
    for note in result.notes:
        print(f"  - {note}")


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def cmd_recommend(args: argparse.Namespace) -> int:
    from engine.recommend import Constraints, recommend

    scenario = _scenario(args) if args.max_annual_usd is not None else None
    constraints = Constraints(args.min_accuracy, args.min_accuracy_pct, args.max_p95_ms, args.max_annual_usd,
                              scenario).validated()
    records = _task_records(args.task)
    if not any(r.status == "ok" for r in records):
        print(f"error: no successful trials for task '{args.task}' to recommend from: run some first "
              "(python -m engine run ...).", file=sys.stderr)
        return 1
    result = recommend(records, constraints, task=args.task)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    if result.recommended:
        print(f"Recommended: {result.reason}")
        if result.runner_up:
            print(f"Runner-up:   {result.runner_up_reason}")
    else:
        print(result.reason)
        if result.nearest_miss:
            print(f"Nearest miss: {result.nearest_miss_reason}")
    for variant, why in result.unranked:
        print(f"not ranked: {variant} ({why})")
    return 0


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
        ids = [int(j) for j in _csv(args.jobs) if j.isdigit()]
        jobs = {j.id: j for j in store.jobs(task=task, limit=10_000) if j.id in ids}
        missing = sorted(set(ids) - set(jobs)) or [j for j in _csv(args.jobs) if not j.isdigit()]
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
    p.add_argument("--region", default="", help="grid region: ISO 3166 alpha-3 or USA-<state> (default RIGHTSIZE_REGION or USA)")
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
    _scenario_flags(p)
    p.add_argument("--variants", default="", help="only these, as 'model|technique' joined with ';' (default all)")
    p.add_argument("--start", default="", help="first day of the scenario, YYYY-MM-DD (default today), for "
                                               "break-even dates")
    p.add_argument("--json", action="store_true", help="print assumptions and variants as JSON")
    p.set_defaults(func=cmd_whatif)
    p = sub.add_parser("recommend", help="the leanest stored variant meeting accuracy, latency and cost limits")
    p.add_argument("--task", required=True)
    p.add_argument("--min-accuracy", type=float, default=None, help="absolute accuracy floor, 0..1")
    p.add_argument("--min-accuracy-pct", type=float, default=None,
                   help="floor as a percentage of the best variant's accuracy, 0..100")
    p.add_argument("--max-p95-ms", type=float, default=None, help="p95 single-query latency limit in ms")
    p.add_argument("--max-annual-usd", type=float, default=None,
                   help="first-year cost limit in USD under the scenario flags below")
    _scenario_flags(p)
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
    p = sub.add_parser("trial", help=argparse.SUPPRESS)
    p.add_argument("spec")
    p.set_defaults(func=cmd_trial)
    p = sub.add_parser("worker", help="process queued dashboard jobs until idle")
    p.set_defaults(func=cmd_worker)
    return top


def _scenario_flags(p: argparse.ArgumentParser) -> None:
    """The what-if scenario; each flag left out takes the default listed by engine.whatif.DEFAULTS."""
    from engine.whatif import DEFAULTS

    def flag(name: str, kind: type, what: str) -> None:
        d = DEFAULTS[name]
        p.add_argument("--" + name.replace("_", "-"), type=kind, default=None,
                       help=f"{what} (default {d.value}{' ' + d.unit if d.unit else ''})")

    flag("queries_per_day", float, "queries per day in the first year")
    flag("growth_pct", float, "annual growth of the volume, percent")
    flag("years", int, "horizon, 1..20 years")
    p.add_argument("--region", default="", help="grid region: ISO 3166 alpha-3 or USA-<state> (default "
                                                "RIGHTSIZE_REGION or USA)")
    flag("pue", float, "data-centre power usage effectiveness, 1..3")
    flag("price_kwh", float, "electricity price, USD per kWh")
    flag("compute_usd_per_hour", float, "hourly price of the serving machine, USD")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # the PDF's font subsetting logs every glyph
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as error:  # bad input (engine.registry's errors are ValueErrors): a message, not a trace
        print(f"error: {error}", file=sys.stderr)
        return 2
