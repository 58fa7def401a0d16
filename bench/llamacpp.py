"""Benchmark (not a test): llama.cpp against transformers on the same GGUF files, in one process, interleaved
(issue 9: "if llama-cpp-python builds here, measure it side by side with transformers").

llama.cpp runs the packaged GGUF file as it is (its own 4-bit kernels: Q4_1 for SmolLM2, Q4_K_M for Qwen);
transformers dequantizes the same file and runs it in bf16 (the project's `bf16` rung on the generation task).
Both answer the generation task's fixed prompts greedily with exactly --new-tokens tokens; printed per model and
runtime: median time to first token, median tokens/s one response at a time, and the ratio. Hardware and threads
printed. llama-cpp-python is not a project dependency: PyPI has only its source, which compiles llama.cpp
(4 min 17 s on the 2-core dev VM), so install it first into the project's environment:

    .venv/bin/pip install llama-cpp-python==0.3.36
    env RIGHTSIZE_THREADS=2 .venv/bin/python bench/llamacpp.py [--models smollm2-135m,qwen-0.5b] [--prompts 8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.config import apply_offline_env, settings  # noqa: E402
from engine.measure.system import hardware  # noqa: E402


def gguf_file(model_id: str, folder: Path) -> Path:
    """The model's GGUF file as packaged (joined and checked against its pinned SHA-256 when split)."""
    from engine.models.gguf import gguf_parts, join_verified
    from engine.registry import MODELS

    spec = MODELS[model_id]
    parts = gguf_parts(spec)
    if len(parts) == 1:
        return parts[0]
    target = folder / f"{model_id}.gguf"
    join_verified(parts, target, spec.weights.sha256, model_id)
    return target


def time_llamacpp(path: Path, prompts: list[str], new_tokens: int, threads: int) -> dict[str, float]:
    from llama_cpp import Llama

    llm = Llama(model_path=str(path), n_threads=threads, n_threads_batch=threads, n_ctx=1024, verbose=False,
                seed=0)
    ttft, rates = [], []
    for prompt in prompts:
        began = time.perf_counter()
        llm(prompt, max_tokens=1, temperature=0.0)
        ttft.append(1000 * (time.perf_counter() - began))
        began = time.perf_counter()
        out = llm(prompt, max_tokens=new_tokens, temperature=0.0)
        rates.append(out["usage"]["completion_tokens"] / (time.perf_counter() - began))
    return {"ttft_ms": statistics.median(ttft), "tok_per_s": statistics.median(rates)}


def time_transformers(model_id: str, prompts: list[str], new_tokens: int) -> dict[str, float]:
    from engine.tasks import load_model
    from engine.techniques import TechniqueContext, compress

    generator = compress(load_model("generation", model_id), "bf16", TechniqueContext(task="generation"))
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
    parser.add_argument("--prompts", type=int, default=8, help="prompts of the generation task timed")
    parser.add_argument("--new-tokens", type=int, default=32)
    args = parser.parse_args()
    apply_offline_env()
    from engine.registry import get_task
    from engine.tasks.generation import resolve

    threads = settings().threads
    prompts = list(resolve(get_task("generation").extra["prompts"])().texts)[: args.prompts]
    h = hardware()
    print(f"hardware: {h['cpu_model']}, {h['logical_cores']} logical cores, features {','.join(h['cpu_features'])}; "
          f"{threads} thread(s); {len(prompts)} prompts, {args.new_tokens} new tokens, greedy")
    print(f"{'model':14s} {'runtime':32s} {'TTFT ms':>9s} {'tok/s':>7s} {'x bf16':>7s}")
    with tempfile.TemporaryDirectory() as folder:
        for model_id in args.models.split(","):
            path = gguf_file(model_id, Path(folder))
            rows = {}
            for _ in range(2):  # interleaved: the second round's figures are kept (first-call warm-up)
                rows["transformers bf16 (dequantized)"] = time_transformers(model_id, prompts, args.new_tokens)
                rows[f"llama.cpp ({path.suffix} as packaged)"] = time_llamacpp(path, prompts, args.new_tokens,
                                                                                threads)
            base = rows["transformers bf16 (dequantized)"]["tok_per_s"]
            for runtime, r in rows.items():
                print(f"{model_id:14s} {runtime:32s} {r['ttft_ms']:9.1f} {r['tok_per_s']:7.1f} "
                      f"{r['tok_per_s'] / base:7.2f}", flush=True)


if __name__ == "__main__":
    main()
