"""Text generation: a causal LM reads held-out text and writes responses (task "generation").

Quality is bits per byte on held-out news text (the cross-entropy of each next token, summed, over the UTF-8
bytes it covers: tokenizer-independent, lower is better), with a bootstrap interval over the documents, and
beside it bits per token and perplexity. The measured work is writing: greedy responses of exactly
MAX_NEW_TOKENS tokens to a fixed prompt set, so a "query" is one response; energy per 1,000 queries is per
1,000 responses, and per token divides it by the response length. Time to first token and tokens per second
(decoding, batch 1 and batched) come beside it, and four responses are kept as samples for the page.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.registry import ModelSpec, TaskSpec, resolve, test_data
from engine.tasks.base import Progress, Servable, TrainingSignal, Workload
from engine.tasks.scoring import Quality, bootstrap

TTFT_PROMPTS = 5  # prompts timed for their first token at batch 1
SAMPLES = 4
LATENCY_RESPONSES = 16  # one per prompt: a response of 32 tokens takes seconds on 2 cores, not milliseconds


class Generation:
    id = "generation"
    output_name = "tokens"
    not_applicable: dict[str, str] = {
        "few-shot": "a generation task has no labelled examples to show; the model continues the text itself.",
    }

    def load(self, task: TaskSpec, model: ModelSpec, progress: Progress | None = None) -> Servable:
        if model.family != "llm":
            raise ValueError(f"'{model.id}' is a {model.family} model: it cannot write text. Use a language model.")
        from engine.models.generator import load_generator

        return load_generator(task, model, progress)

    def workload(self, task: TaskSpec, test_set: str, eval_size: int, seed: int = 0) -> Workload:
        passages = test_data(task, test_set, seed).sample(eval_size, seed=seed)
        prompts = resolve(task.extra["prompts"])()

        def evaluate(model: Any, outputs: np.ndarray) -> Quality:
            bits = model.passage_bits(list(passages.texts))
            rows = np.arange(len(bits))
            value = float(bits[:, 0].sum() / bits[:, 1].sum())
            low, high = bootstrap(lambda i: float(bits[i, 0].sum() / bits[i, 1].sum()), len(rows), seed)
            ttft = [model.time_to_first_token_ms(p) for p in list(prompts.texts)[:TTFT_PROMPTS]]
            new_tokens = float(np.mean(outputs[:, 1]))
            batch_s = float(np.unique(outputs[:, 2]).sum())  # each batch's seconds, once
            extras = {
                "bits_per_token": round(float(bits[:, 0].sum() / bits[:, 2].sum()), 4),
                "perplexity": round(float(2 ** (bits[:, 0].sum() / bits[:, 2].sum())), 3),
                "tokens_scored": int(bits[:, 2].sum()), "bytes_scored": int(bits[:, 1].sum()),
                "tokens_per_response": new_tokens,
                "prompt_tokens_per_response": round(float(np.mean(outputs[:, 0])), 1),
                "time_to_first_token_ms_p50": round(float(np.median(ttft)), 1),
                "tokens_per_s_batched": round(float(outputs[:, 1].sum() / batch_s), 2) if batch_s else None,
                "prompts": len(prompts), "samples": model.samples[:SAMPLES], "prompt_source": prompts.source,
            }
            return Quality(task.metric, value, low, high, len(bits), extras=extras)

        def unscored(outputs: Any) -> Quality:
            raise ValueError("Generation quality is read from the model itself (Workload.evaluate).")

        return Workload(list(prompts.texts), unscored, lambda model, text, _: model.generate([text]),
                        passages.source, evaluate=evaluate, latency_queries=LATENCY_RESPONSES)

    def signal(self, task: TaskSpec, seed: int = 0) -> TrainingSignal:
        raise ValueError("Nothing trains on a generation task here: its text is held out.")


KIND = Generation()
