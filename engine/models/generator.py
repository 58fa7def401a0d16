"""A causal LM as a text generator, the rung of a generation task: it reads held-out text (quality: bits per
byte, which does not depend on the tokenizer, so models with different vocabularies compare) and writes
responses greedily, a fixed number of new tokens each, so speed and energy per token compare too.

outputs(prompts) is the measured work: one response per prompt (batched, left-padded), one row per prompt
[prompt tokens, new tokens, seconds of its batch]. The last responses are kept as samples for the page.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from engine.models.causal import Source, open_source
from engine.models.lazy_lm import LazyLM
from engine.registry import ModelSpec, TaskSpec

Progress = Callable[[float, str], None]
MAX_NEW_TOKENS = 32  # every response is exactly this long (end-of-text is suppressed until then)
MAX_PASSAGE_TOKENS = 512


class Generator(LazyLM):
    def __init__(self, name: str, source: Source, dtype: torch.dtype = torch.float32,
                 module: torch.nn.Module | None = None, info: dict[str, Any] | None = None,
                 progress: Progress = lambda f, m: None, max_new_tokens: int = MAX_NEW_TOKENS) -> None:
        super().__init__(name, source, dtype, module, info, progress)
        self.max_length = MAX_PASSAGE_TOKENS
        self.max_new_tokens = max_new_tokens
        self.samples: list[dict[str, str]] = []

    def _copy(self, **changes: Any) -> Generator:
        fields = {"dtype": self.dtype, "module": self._module, "info": self.info, "progress": self.progress,
                  "max_new_tokens": self.max_new_tokens, **changes}
        return Generator(self.name, self.source, **fields)

    def generate(self, prompts: Sequence[str], max_new_tokens: int | None = None) -> tuple[np.ndarray, list[str]]:
        """Greedy responses of exactly `max_new_tokens` tokens (default: the task's): ([prompt tokens, new
        tokens], their texts)."""
        max_new_tokens = max_new_tokens or self.max_new_tokens
        tokenizer = self.tokenizer
        tokenizer.padding_side = "left"  # new tokens follow each prompt's own last token
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        batch = tokenizer(list(prompts), return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            out = self.module.generate(**batch, max_new_tokens=max_new_tokens, min_new_tokens=max_new_tokens,
                                       do_sample=False, pad_token_id=pad, num_beams=1)
        new = out[:, batch["input_ids"].shape[1]:]
        rows = np.stack([batch["attention_mask"].sum(dim=1).numpy(), np.full(len(prompts), new.shape[1])], axis=1)
        return rows.astype(np.float32), tokenizer.batch_decode(new, skip_special_tokens=True)

    def outputs(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        rows = []
        for start in range(0, len(texts), batch_size):
            chunk = list(texts[start:start + batch_size])
            began = time.perf_counter()
            counts, responses = self.generate(chunk)
            seconds = time.perf_counter() - began
            rows.append(np.concatenate([counts, np.full((len(chunk), 1), seconds, dtype=np.float32)], axis=1))
            self.samples = [{"prompt": p, "response": r} for p, r in zip(chunk, responses, strict=True)]
        return np.concatenate(rows) if rows else np.empty((0, 3), dtype=np.float32)

    def time_to_first_token_ms(self, prompt: str) -> float:
        began = time.perf_counter()
        self.generate([prompt], max_new_tokens=1)
        return 1000 * (time.perf_counter() - began)

    def passage_bits(self, texts: Sequence[str]) -> np.ndarray:
        """Per passage [bits to encode its tokens after the first, UTF-8 bytes of that text, tokens scored]."""
        rows = []
        module = self.module
        with torch.inference_mode():
            for text in texts:
                ids = self.tokenizer(text, add_special_tokens=False, truncation=True, max_length=MAX_PASSAGE_TOKENS,
                                     return_tensors="pt")["input_ids"]
                logits = module(input_ids=ids).logits[0, :-1].float()
                nats = torch.nn.functional.cross_entropy(logits, ids[0, 1:], reduction="sum").item()
                scored = self.tokenizer.decode(ids[0, 1:])  # the bytes those tokens spell
                rows.append([nats / math.log(2), len(scored.encode("utf-8")), ids.shape[1] - 1])
        return np.asarray(rows, dtype=np.float64)


def load_generator(task: TaskSpec, model: ModelSpec, progress: Progress | None = None) -> Generator:
    report = progress or (lambda fraction, message: None)
    report(0.0, f"Opening {model.id}")
    source = open_source(model, report)
    report(1.0, f"{model.id} ready (weights load when first used)")
    return Generator(model.id, source, progress=report,
                     max_new_tokens=int(task.extra.get("max_new_tokens", MAX_NEW_TOKENS)))
