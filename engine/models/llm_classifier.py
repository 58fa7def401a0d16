"""An instruction-tuned LLM as a classifier, by prompting: one servable rung on any text-classification task.

Each text becomes a chat prompt (the task's template from engine.registry.prompts, after k solved training
examples for few-shot); one forward pass reads the next-token distribution where the answer starts, and each
class scores the log-likelihood of its answer word (its first token, with and without a leading space or a
capital: "positive", " positive", "Positive"). A per-class bias fitted on validation texts (engine.models.
calibration) is added before argmax; the outputs are those calibrated log-likelihoods, so a distillation
student learns the same distribution the trial scores.

The weights load lazily, fresh and in the dtype a technique asks for (engine.models.causal), so bf16 never
sits beside an fp32 copy; the tokenizer is there from the start.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from engine import cache_files
from engine.config import settings
from engine.models.calibration import Calibration, Score, fit_bias
from engine.models.causal import Source, open_source
from engine.models.lazy_lm import LazyLM
from engine.registry import ModelSpec, TaskSpec
from engine.registry.prompts import PromptSpec, lettered_prompt, prompt_for

Progress = Callable[[float, str], None]
CALIBRATION_SIZE = 200  # validation texts the bias is fitted on (seed 0): the same for every variant
MAX_TEXT_TOKENS = 256  # a longer text is cut here, never the prompt's end (where the answer starts)
CALIBRATION_FORMAT = "1"  # bump when scoring changes, so cached calibrations are refitted
Shot = tuple[str, int]  # a solved training example: (text, class)


class AnswerCollision(ValueError):
    """Two classes' answer words start with the same token: the first token cannot tell them apart."""


def answer_token_ids(tokenizer: Any, answers: Sequence[str]) -> list[list[int]]:
    """Per class, the first tokens of its answer word's spellings; a token two classes share is dropped."""
    spellings = [{w, f" {w}", w.capitalize(), f" {w.capitalize()}", w.lower(), f" {w.lower()}"} for w in answers]
    firsts = [{ids[0] for s in forms if (ids := tokenizer.encode(s, add_special_tokens=False))}
              for forms in spellings]
    shared = {t for i, a in enumerate(firsts) for b in firsts[i + 1:] for t in a & b}
    out = [sorted(ids - shared) for ids in firsts]
    if any(not ids for ids in out):
        raise AnswerCollision(f"The answers {', '.join(answers)} share their first tokens.")
    return out


class PromptClassifier(LazyLM):
    """Servable (engine.tasks.base): texts in, one row of calibrated class log-likelihoods per text out."""

    def __init__(self, name: str, task: TaskSpec, source: Source, prompt: PromptSpec, score: Score,
                 dtype: torch.dtype = torch.float32, shots: Sequence[Shot] = (), module: torch.nn.Module | None = None,
                 calibration: Calibration | None = None, info: dict[str, Any] | None = None,
                 progress: Progress = lambda f, m: None) -> None:
        super().__init__(name, source, dtype, module, info, progress)
        self.task, self.score = task, score  # score: the task's metric on (true, predicted), for calibration
        self.prompt_spec = prompt  # the task's template; `prompt` is what is asked (lettered on a collision)
        self.shots = list(shots)
        self.calibration = calibration
        self.max_length = MAX_TEXT_TOKENS

    @functools.cached_property
    def _answers(self) -> tuple[PromptSpec, list[list[int]]]:
        """The prompt asked and each class's answer tokens, found when first needed (they need the tokenizer)."""
        try:
            return self.prompt_spec, answer_token_ids(self.tokenizer, self.prompt_spec.answers)
        except AnswerCollision:
            lettered = lettered_prompt(self.task.labels)
            return lettered, answer_token_ids(self.tokenizer, lettered.answers)

    @property
    def prompt(self) -> PromptSpec:
        return self._answers[0]

    @property
    def answer_ids(self) -> list[list[int]]:
        return self._answers[1]

    def _copy(self, **changes: Any) -> PromptClassifier:
        """Same model, other module / dtype / shots; calibration is refitted for the new variant."""
        fields = {"dtype": self.dtype, "shots": self.shots, "module": self._module, "info": self.info,
                  "progress": self.progress, **changes}
        return type(self)(self.name, self.task, self.source, self.prompt_spec, self.score, calibration=None,
                          **fields)

    def for_labelling(self) -> PromptClassifier:
        """The variant a teacher labels with: bf16 where the CPU computes it natively (same answers to
        within calibration, 2-5x faster), else this one."""
        from engine.measure.system import hardware

        native = {"avx512_bf16", "amx_bf16"} & set(hardware()["cpu_features"])
        return self.reloaded(torch.bfloat16) if native and self.dtype == torch.float32 else self

    def with_shots(self, shots: Sequence[Shot]) -> PromptClassifier:
        return self._copy(shots=list(shots))

    # --- prompting and scoring ---------------------------------------------------------------------------

    def _clip(self, text: str) -> str:
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        return text if len(ids) <= MAX_TEXT_TOKENS else self.tokenizer.decode(ids[:MAX_TEXT_TOKENS])

    def chat(self, text: str) -> list[dict[str, str]]:
        messages = [{"role": "system", "content": self.prompt.system}] if self.prompt.system else []
        for shot_text, label in self.shots:
            messages += [{"role": "user", "content": self.prompt.render(self._clip(shot_text))},
                         {"role": "assistant", "content": self.prompt.answers[label]}]
        return [*messages, {"role": "user", "content": self.prompt.render(self._clip(text))}]

    def prompt_ids(self, texts: Sequence[str]) -> list[list[int]]:
        rendered = [self.tokenizer.apply_chat_template(self.chat(t), tokenize=False, add_generation_prompt=True)
                    for t in texts]
        return self.tokenizer(rendered, add_special_tokens=False)["input_ids"]

    def raw_scores(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """(n, classes) log-likelihood of each class's answer, uncalibrated, in the order of `texts`."""
        out = np.empty((len(texts), len(self.answer_ids)), dtype=np.float32)
        if not texts:
            return out
        ids = self.prompt_ids(texts)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # tight batches: little padding
        module = self.module
        decoder, head = module.model, module.lm_head
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                chunk = order[start:start + batch_size]
                width = max(len(ids[i]) for i in chunk)
                input_ids = torch.full((len(chunk), width), pad, dtype=torch.long)
                mask = torch.zeros((len(chunk), width), dtype=torch.long)
                for row, i in enumerate(chunk):  # right padding: a causal model's real tokens never see it
                    input_ids[row, :len(ids[i])] = torch.tensor(ids[i])
                    mask[row, :len(ids[i])] = 1
                hidden = decoder(input_ids=input_ids, attention_mask=mask, use_cache=False).last_hidden_state
                last = hidden[torch.arange(len(chunk)), mask.sum(dim=1) - 1]  # where the answer starts
                logprobs = head(last).float().log_softmax(dim=-1)  # lm_head on one position per text only
                scores = torch.stack([logprobs[:, a].logsumexp(dim=-1) for a in self.answer_ids], dim=1)
                out[chunk] = scores.numpy()
        return out

    def outputs(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        if self.calibration is None:
            self.prepare()
        assert self.calibration is not None
        return self.raw_scores(texts, batch_size) + self.calibration.bias.astype(np.float32)

    def predict(self, texts: Sequence[str], batch_size: int = 32) -> list[int]:
        return self.outputs(texts, batch_size).argmax(axis=-1).tolist() if texts else []

    # --- calibration on validation texts ---------------------------------------------------------------

    def prepare(self, progress: Progress | None = None) -> None:
        """Fit (or read from the cache) the per-class bias of THIS variant on validation texts."""
        if self.calibration is not None:
            return
        from engine.models.heads import read_tensors, save_tensors, task_splits

        if progress is not None:
            self.progress = progress  # a lazy weight load below reports on the caller's bar
        report = self.progress
        validation = task_splits(self.task.id).validation
        pick = np.random.default_rng(0).permutation(len(validation))[:CALIBRATION_SIZE]
        texts, labels = [validation.texts[i] for i in pick], [int(validation.labels[i]) for i in pick]
        path = self._calibration_path(texts, labels)
        cached = cache_files.cached_file(path, read_tensors)
        if cached is not None:
            tensors, meta = cached
            self.calibration = Calibration(tensors["bias"].numpy().astype(np.float64), meta["before"],
                                           meta["after"], meta["n"])
            self.info["calibration"] = {**self.calibration.to_dict(), "seconds": meta["seconds"], "cached": True}
            return
        report(0.0, f"Calibrating {self.name} on {len(texts)} validation texts")
        started = time.perf_counter()
        scores = self.raw_scores(texts)
        self.calibration = fit_bias(scores, labels, self.score)
        seconds = round(time.perf_counter() - started, 2)
        self.info["calibration"] = {**self.calibration.to_dict(), "seconds": seconds, "cached": False}
        save_tensors(path, {"bias": torch.tensor(self.calibration.bias)},
                     {"before": self.calibration.before, "after": self.calibration.after, "n": len(texts),
                      "seconds": seconds, "metric": self.task.metric})
        report(1.0, f"Calibrated {self.name}: validation {self.calibration.before:.3f} -> {self.calibration.after:.3f}")

    def fingerprint(self) -> dict[str, Any]:
        """What decides this variant's scores: prompt, shots, dtype, layers, quantized layer types."""
        module = self.module
        kinds = sorted({f"{type(m).__module__}.{type(m).__name__}" for m in module.modules()
                        if "Int8" in type(m).__name__ or "quantized" in type(m).__module__})
        return {"model": self.name, "system": self.prompt.system, "instruction": self.prompt.instruction,
                "answers": list(self.prompt.answers), "shots": self.shots, "dtype": str(self.dtype),
                "layers": int(getattr(module.config, "num_hidden_layers", 0)), "quantized": kinds}

    def _calibration_path(self, texts: Sequence[str], labels: Sequence[int]) -> Any:
        key = json.dumps([CALIBRATION_FORMAT, self.fingerprint(), list(texts), list(labels)], sort_keys=True)
        digest = hashlib.sha256(key.encode()).hexdigest()[:20]
        return settings().cache_dir / "llm-calibration" / self.task.id / f"{self.name}-{digest}.safetensors"

    # --- what a trial records ---------------------------------------------------------------------------

    def describe(self, texts: Sequence[str]) -> dict[str, Any]:
        """Prompting facts for the trial record: template, shots, calibration, prompt tokens per query."""
        lengths = [len(ids) for ids in self.prompt_ids(texts)] if texts else [0]
        return {"prompt": {"instruction": self.prompt.instruction, "answers": list(self.prompt.answers),
                           "system": self.prompt.system or "(the model's default)", "shots": len(self.shots)},
                "dtype": str(self.dtype).removeprefix("torch."),
                "calibration": self.info.get("calibration"),
                "prompt_tokens_per_query": round(float(np.mean(lengths)), 1)}


def load_prompt_classifier(task: TaskSpec, model: ModelSpec, score: Score,
                           progress: Progress | None = None) -> PromptClassifier:
    """The task's zero-shot LLM rung: tokenizer now (the GGUF is verified and dequantized first, once).
    `score` is the task's metric on (true, predicted labels), which calibration maximises."""
    report = progress or (lambda fraction, message: None)
    report(0.0, f"Opening {model.id}")
    source = open_source(model, report)
    report(1.0, f"{model.id} ready (weights load when first used)")
    return PromptClassifier(model.id, task, source, prompt_for(task), score, progress=report)
