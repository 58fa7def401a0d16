"""`run` and `optimize` (a stored job run in this process by engine.execute.run_job, as the worker does),
the internal `trial` child and `worker`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def csv_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def cmd_run(args: argparse.Namespace) -> int:
    from engine.cluster import cluster_address
    from engine.requests import RunRequest
    from engine.techniques.spec import split_techniques

    task = args.task or store_csv(args.data, args.text_column, args.label_column)
    request = RunRequest(task, csv_list(args.models), split_techniques(args.techniques), args.eval_size,
                         args.region or RunRequest.__dataclass_fields__["region"].default_factory(),
                         args.test_set, args.seed, args.remeasure, cluster_address(args.cluster),
                         args.every_node).validated()
    outcome = _run_here(request)
    if args.json:
        print(json.dumps([r.to_dict() for r in outcome.records], indent=2))
    else:
        _print_table(outcome.records)
    return 1 if outcome.error else 0


def store_csv(path: str, text_column: str | None, label_column: str | None) -> str:
    """Check and store a labelled CSV (engine.datasets.own); its dataset id is the task id. A bad file is a
    ValueError naming the problem and the fix (exit 2), and nothing is stored."""
    from pathlib import Path

    from engine.datasets.own import MAX_BYTES, parse_csv, store

    file = Path(path)
    if not file.is_file():
        raise ValueError(f"--data {path}: no such file. Give the path of a labelled CSV.")
    if file.stat().st_size > MAX_BYTES:
        raise ValueError(f"--data {path} is {file.stat().st_size / 2**20:.1f} MB; at most {MAX_BYTES // 2**20} MB "
                         "is accepted. Upload a sample of the rows.")
    data = parse_csv(file.read_bytes(), text_column, label_column)
    dataset_id = store(data, file.stem)
    counts = data.counts
    print(f"{path}: {len(data):,} rows in {len(data.label_names)} classes (text '{data.text_column}', label "
          f"'{data.label_column}'; dropped {counts['empty_dropped']} empty, {counts['duplicates_dropped']} "
          f"duplicate, {counts['conflicting_dropped']} conflicting) stored as task {dataset_id}", file=sys.stderr)
    return dataset_id


def _run_here(request, max_candidates: int | None = None):
    """Run a validated request in this process as a stored job (engine.execute.run_job, as the worker does),
    progress to the store and to stderr."""
    from engine.execute import run_job, store_sinks
    from engine.store import Store

    store = Store()
    job_id = store.start_job(request.task, request.to_dict(), os.getpid())
    to_store, curve = store_sinks(store, job_id)

    printed = [""]

    def progress(fraction: float, message: str) -> None:
        to_store(fraction, message)
        line = f"[{fraction:6.1%}] {message}"
        if line != printed[0]:  # a cluster sweep repeats its state every second while nothing changes
            printed[0] = line
            print(line, file=sys.stderr, flush=True)

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
    """Each candidate in the order tried: stage, outcome, score, change in points, objective, and why."""
    from engine.quality import gain_pts
    from engine.registry import METRICS

    field, base = result["objective_field"], result["baseline"]
    drop = result["max_drop_pts"]
    metric = METRICS.get(result.get("metric", "accuracy"), METRICS["accuracy"])
    name = metric.id
    print(f"{result['model']} on {result['task']}: leanest by {result['objective']} ({field}) with {name} within "
          f"{drop:.1f} point{'' if drop == 1 else 's'} of fp32 ({base['quality']:.3f}; floor "
          f"{result['floor_quality']:.3f}); {len(result['candidates'])} trials in {result['search_s']:.0f} s\n")
    print(f"{'stage':<6}{'outcome':<13}{name[:12]:>12}{'Δ pts':>8}{field:>18}{'vs fp32':>9}  variant")
    chosen = {(r or {}).get("technique"): label for r, label in
              ((result["best"], "BEST"), (result["nearest_miss"], "nearest miss"))}
    for item in result["tried"]:
        outcome = chosen.get(item["spec"]) or {True: "kept floor", False: "below floor"}.get(
            item.get("kept_floor"), item["status"])
        if item["spec"] == base["technique"]:
            outcome = "baseline"
        figures = " " * 47
        if item.get("quality") is not None and item.get("objective_value") is not None:
            ratio = base[field] / item["objective_value"] if item["objective_value"] else float("inf")
            figures = (f"{item['quality']:>12.3f}{gain_pts(item['quality'], base['quality'], metric):>+8.1f}"
                       f"{item['objective_value']:>18.4g}{ratio:>8.1f}x")
        print(f"{item['stage']:<6}{outcome[:12]:<13}{figures}  {item['spec']}")
        print(f"{'':<19}{item.get('error') or item['why']}")
    print(f"\n{result['verdict']}")


def _print_table(records: list) -> None:
    print(f"{'model':<12} {'technique':<14} {'quality (95% CI)':<22} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'q/s b32':>8} {'Wh/1k':>8} {'gCO2e/1k':>9} {'MB':>7}")
    for r in records:
        if r.status != "ok":
            print(f"{r.model:<12} {r.technique:<14} {r.status.upper()}: {r.error}")
            continue
        ci = f"{r.quality:.3f} ({r.quality_ci_low:.3f}-{r.quality_ci_high:.3f})"
        print(f"{r.model:<12} {r.technique:<14} {ci:<22} {r.latency_p50_ms:>8.1f} {r.latency_p95_ms:>8.1f} "
              f"{r.throughput_per_s:>8.1f} {r.energy_wh_per_1k:>8.4f} {r.co2e_g_per_1k:>9.4f} "
              f"{r.model_size_mb:>7.1f}" + ("  CONTENDED" if r.contended else "")
              + (f"  reused trial #{r.reused_from} (--remeasure to measure again)" if r.reused_from else ""))
    if records:
        print(f"energy: {records[0].energy_method}")


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
