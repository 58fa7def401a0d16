"""Benchmark (not a test): the `llamacpp` runtime against transformers on the same GGUF files, in one process,
interleaved (issue 9: "measure it side by side with transformers").

llama.cpp runs the packaged GGUF file as it is (its own 4-bit kernels: Q4_1 for SmolLM2, Q4_K_M for Qwen), or a
copy requantized to another level (`llamacpp:bits=8`); transformers dequantizes the same file and runs it in bf16
(the project's `bf16` rung). Both are the product's own generation rungs, answering the generation task's fixed
prompts greedily with exactly --new-tokens tokens; printed per model and runtime: median time to first token,
median tokens/s one response at a time, and the ratio to transformers bf16. Hardware and threads printed.

    env RIGHTSIZE_THREADS=2 .venv/bin/python bench/llamacpp.py [--models smollm2-135m,qwen-0.5b] [--prompts 8] \\
        [--techniques bf16,llamacpp,llamacpp:bits=8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.config import apply_offline_env, settings  # noqa: E402
from engine.measure.system import hardware  # noqa: E402


def load_rung(model_id: str, technique: str):
    from engine.tasks import load_model
    from engine.techniques import TechniqueContext, compress

    return compress(load_model("generation", model_id), technique, TechniqueContext(task="generation"))


def time_rung(generator, prompts: list[str], new_tokens: int) -> dict[str, float]:
    ttft, rates = [], []
    for prompt in prompts:
        ttft.append(generator.time_to_first_token_ms(prompt))
        began = time.perf_counter()
        counts, _ = generator.generate([prompt], max_new_tokens=new_tokens)
        rates.append(float(counts[0, 1]) / (time.perf_counter() - began))
    return {"ttft_ms": statistics.median(ttft), "tok_per_s": statistics.median(rates)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="smollm2-135m,qwen-0.5b")
    parser.add_argument("--techniques", default="bf16,llamacpp", help="the first is the baseline of the ratio")
    parser.add_argument("--prompts", type=int, default=8, help="prompts of the generation task timed")
    parser.add_argument("--new-tokens", type=int, default=32)
    args = parser.parse_args()
    apply_offline_env()
    from engine.registry import get_task
    from engine.tasks.generation import resolve

    prompts = list(resolve(get_task("generation").extra["prompts"])().texts)[: args.prompts]
    techniques = args.techniques.split(",")
    h = hardware()
    print(f"hardware: {h['cpu_model']}, {h['logical_cores']} logical cores, features {','.join(h['cpu_features'])}; "
          f"{settings().threads} thread(s); {len(prompts)} prompts, {args.new_tokens} new tokens, greedy")
    print(f"{'model':14s} {'technique':18s} {'runtime / level':44s} {'TTFT ms':>9s} {'tok/s':>7s} {'x ' + techniques[0]:>8s}")
    for model_id in args.models.split(","):
        rungs = {t: load_rung(model_id, t) for t in techniques}
        rows = {}
        for _ in range(2):  # interleaved: the second round's figures are kept (first-call warm-up)
            for technique, rung in rungs.items():
                rows[technique] = time_rung(rung, prompts, args.new_tokens)
        base = rows[techniques[0]]["tok_per_s"]
        for technique, r in rows.items():
            source = getattr(rungs[technique], "source", None)
            runtime = (f"llama.cpp, {source.level}" if hasattr(source, "level")
                       else f"transformers, {str(rungs[technique].dtype).removeprefix('torch.')} (dequantized)")
            print(f"{model_id:14s} {technique:18s} {runtime:44s} {r['ttft_ms']:9.1f} {r['tok_per_s']:7.1f} "
                  f"{r['tok_per_s'] / base:8.2f}", flush=True)
        del rungs


if __name__ == "__main__":
    main()
