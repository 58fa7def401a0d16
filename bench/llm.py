"""Per text task: each LLM rung against the best encoder and the student distilled from the LLM, measured in one
run through the CLI (each trial in a fresh process, one at a time), printed with ratios to the largest LLM.
Printed, never asserted: the machines are shared and noisy (contention is in every row).

    .venv/bin/python bench/llm.py --tasks sentiment --eval-size 300 --out bench-llm.json
    .venv/bin/python bench/llm.py --tasks spam --llm "qwen-1.5b:bf16" --encoders "mpnet-base:fp32"
    .venv/bin/python bench/llm.py --records bench-llm.json        # the tables again, from saved records

Rows: `--llm` (model:technique pairs), `--encoders` (the best encoder variant), `--students` (a student and its
pipeline, e.g. a minilm-l6 distilled from qwen-1.5b). The teacher's labelling of the training texts is paid
once (cached with its energy) and shown as the student's upfront energy; the break-even column says after how
many queries serving the student instead of the largest LLM has repaid it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.tasks import measure  # noqa: E402  (one engine run per (model, technique), as bench/tasks.py does)
from engine.registry import metric_of  # noqa: E402
from engine.summary.payback import break_even_queries  # noqa: E402

LLMS = "smollm2-135m:bf16,qwen-0.5b:bf16,qwen-1.5b:bf16"
ENCODERS = "mpnet-base:fp32,minilm-l6:fp32"
STUDENTS = "minilm-l6:distill:teacher=qwen-1.5b,epochs=2"


def pairs(text: str) -> list[tuple[str, str]]:
    """"model:technique,model:technique" where a technique may itself hold ':' and ','."""
    from engine.techniques.spec import split_techniques

    out = []
    for item in split_techniques(text):
        model, _, technique = item.partition(":")
        out.append((model, technique or "fp32"))
    return out


def table(task: str, records: list[dict]) -> list[str]:
    metric = metric_of(task)
    ok = [r for r in records if r["task"] == task and r["status"] == "ok"]
    failed = [r for r in records if r["task"] == task and r["status"] != "ok"]
    if not ok:
        return [f"{task}: no successful trials"] + [f"  {r['model']} · {r['technique']}: {r['error']}" for r in failed]
    llms = [r for r in ok if r["model_family"] == "llm"]
    base = max(llms, key=lambda r: r["params_m"] or 0) if llms else ok[0]
    lines = [f"## {task}: {metric.title}; ratios against {base['model']} · {base['technique']}",
             f"{'variant':50} {metric.id:>22} {'acc':>6} {'p50 ms':>8} {'p95 ms':>8} {'q/s b32':>8} {'Wh/1k':>8} "
             f"{'1/energy':>9} {'keeps':>6} {'tok/q':>6} {'peak MB':>8} {'upfront Wh':>10} {'break-even':>11} "
             f"{'contention':>10}"]
    for r in ok:
        ci = f"{r['quality']:.3f} [{r['quality_ci_low']:.3f}, {r['quality_ci_high']:.3f}]"
        accuracy = (r.get("quality_extras") or {}).get("accuracy", r["quality"])
        ratio = base["energy_wh_per_1k"] / r["energy_wh_per_1k"]
        keeps = r["quality"] / base["quality"] if base["quality"] else float("nan")
        upfront = r.get("upfront_energy_wh")
        queries = (break_even_queries(upfront, base["energy_wh_per_1k"] - r["energy_wh_per_1k"])
                   if upfront is not None else None)
        lines.append(
            f"{r['model'] + ' · ' + r['technique']:50.50} {ci:>22} {accuracy:6.3f} {r['latency_p50_ms']:8.1f} "
            f"{r['latency_p95_ms']:8.1f} {r['throughput_per_s']:8.2f} {r['energy_wh_per_1k']:8.4f} {ratio:9.1f} "
            f"{keeps:6.1%} {r.get('prompt_tokens_per_query') or 0:6.0f} {r['peak_rss_mb']:8.0f} "
            f"{'' if upfront is None else f'{upfront:.2f}':>10} {'' if queries is None else f'{queries:,.0f}':>11} "
            f"{r['contention']:10.0%}")
        calibration = (r.get("model_info") or {}).get("calibration")
        if calibration:
            lines.append(f"{'':50} calibrated on {calibration['validation_size']} validation texts: "
                         f"{calibration['validation_before']:.3f} -> {calibration['validation_after']:.3f}, "
                         f"bias {calibration['bias']}")
    lines += [f"  FAILED {r['model']} · {r['technique']}: {r['error']}" for r in failed]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default="sentiment")
    parser.add_argument("--llm", default=LLMS)
    parser.add_argument("--encoders", default=ENCODERS)
    parser.add_argument("--students", default=STUDENTS)
    parser.add_argument("--eval-size", type=int, default=300)
    parser.add_argument("--region", default="USA")
    parser.add_argument("--out", default="")
    parser.add_argument("--records", default="", help="comma-separated saved outputs to tabulate instead")
    args = parser.parse_args()
    if args.records:
        records = [r for path in args.records.split(",") for r in json.loads(Path(path).read_text())]
    else:
        records = []
        for task in args.tasks.split(","):
            for model, technique in pairs(args.llm) + pairs(args.encoders) + pairs(args.students):
                records += measure(task, model, technique, args.eval_size, args.region)
                if args.out:  # saved after every trial: a long run interrupted keeps what it measured
                    Path(args.out).write_text(json.dumps(records, indent=1))
    from engine.measure.system import hardware

    print(f"hardware: {hardware()}")
    for task in dict.fromkeys(r["task"] for r in records):
        print("\n".join(table(task, records)) + "\n")


if __name__ == "__main__":
    main()
