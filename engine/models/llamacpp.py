"""llama.cpp as a runtime for the causal LMs: the packaged GGUF file as it is (its own 4-bit blocks: Q4_1 for
SmolLM2, Q4_K_M for Qwen) on llama.cpp's CPU kernels, through llama-cpp-python. No dequantized copy and no
transformers: tokens, the chat template and the end-of-text token come from the file's own metadata, so a
llama.cpp rung needs nothing but the verified file. A file split across packages is joined once into the cache;
its SHA-256 is checked against the registry's pin on every first open in a process (about 1 s per GB).

The classifier and the generator are the transformers ones with the model calls swapped: the same prompts,
answer words, calibration, few-shot examples and generation settings, so the two runtimes compare like for like.
llama.cpp reads one sequence at a time (a batch of texts runs one after another), each query from an empty
cache: no prompt prefix is reused between queries, as in the transformers rungs.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import math
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine import cache_files
from engine.config import settings
from engine.models.generator import MAX_PASSAGE_TOKENS, Generator
from engine.models.gguf import check_sha256, gguf_parts, join_verified
from engine.models.llm_classifier import PromptClassifier
from engine.models.memory import require_memory
from engine.registry import ModelSpec

Progress = Callable[[float, str], None]
CONTEXT_TOKENS = 8192  # room for 16 worked examples of 256 tokens each, the prompt and the answer
INSTALL = "pip install llama-cpp-python==0.3.36 (compiles llama.cpp: ~4-5 min on 2 cores; ./scripts/setup.sh does it)"
FILE_TYPES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
              12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K",
              32: "BF16"}  # llama.cpp's llama_ftype numbers (general.file_type in the file's metadata)
_OPEN_LOCK = threading.Lock()


class LlamaCppMissing(RuntimeError):
    """llama-cpp-python is not installed: the message says how to install it."""


def llama_module() -> Any:
    try:
        import llama_cpp
    except ImportError as error:
        raise LlamaCppMissing(f"llama.cpp is not installed in this environment. Install it with: {INSTALL}") \
            from error
    return llama_cpp


def packaged_file(model: ModelSpec) -> Path:
    """The model's GGUF file as packaged, verified: the package's own file, or its parts joined once into the
    cache. A file that does not match the registry's SHA-256 is refused (and a joined one removed)."""
    parts = gguf_parts(model)  # NotInstalledError first
    if len(parts) == 1:
        return _verified(parts[0], model, tuple(parts))
    target = settings().cache_dir / "gguf" / f"{model.id}.gguf"
    if target.exists():
        with contextlib.suppress(ValueError):
            return _verified(target, model, tuple(parts))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    join_verified(parts, partial, model.weights.sha256, model.id)
    partial.replace(target)
    _verified.cache_clear()
    return _verified(target, model, tuple(parts))


@functools.lru_cache(maxsize=8)
def _verified(path: Path, model: ModelSpec, parts: tuple[Path, ...]) -> Path:
    check_sha256(cache_files.file_sha256(path), model.weights.sha256, model.id, path, parts)
    return path


# GGUF levels a `llamacpp:bits=N` rung requantizes the packaged file to: (llama.cpp's name, its llama_ftype).
# 4 is Q4_0, not the packaged Q4_K_M/Q4_1: the level llama.cpp repacks at load into its x86 GEMM layout.
LEVELS = {8: ("Q8_0", 7), 6: ("Q6_K", 18), 5: ("Q5_K_M", 17), 4: ("Q4_0", 2), 3: ("Q3_K_M", 12), 2: ("Q2_K", 10)}
REQUANTIZE_S_PER_GB = 40.0  # for the progress estimate only


def level_file(model: ModelSpec, bits: int, progress: Progress = lambda f, m: None) -> Path:
    """The file at `bits` (0: as packaged). Another level is requantized once from the packaged file with
    llama.cpp's own quantizer and cached with its checksums (engine.cache_files). The pack ships each model at
    one 4-bit level only, so a higher level cannot restore what those 4 bits lost; lower ones show what less costs."""
    source = packaged_file(model)
    if not bits:
        return source
    if bits not in LEVELS:
        raise ValueError(f"llamacpp:bits={bits} is not a GGUF level here: use 0 (the file as packaged) or one of "
                         f"{', '.join(str(b) for b in LEVELS)}.")
    name, ftype = LEVELS[bits]
    llama_cpp = llama_module()
    from engine.models.encoders import _prepared, _rebuild_fix
    from engine.models.gguf import ticking

    def build(folder: Path) -> None:
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype, params.allow_requantize, params.nthread = ftype, True, settings().threads
        expected_s = REQUANTIZE_S_PER_GB * source.stat().st_size / 1e9
        with ticking(progress, f"Requantizing {model.id} to {name} (once on this machine)", expected_s):
            failed = llama_cpp.llama_model_quantize(str(source).encode(), str(folder / "model.gguf").encode(),
                                                    ctypes.byref(params))
        if failed:
            raise RuntimeError(f"llama.cpp could not requantize {source.name} to {name} (code {failed})")

    final = settings().cache_dir / "gguf" / f"{model.id}-{name.lower()}"
    return _prepared(final, build, lambda folder: folder / "model.gguf", _rebuild_fix(model.id, final))


class LlamaCppTokenizer:
    """The file's own tokenizer and chat template behind the few calls the prompted models make (the same
    names as a transformers tokenizer's, so PromptClassifier and Generator build prompts unchanged)."""

    def __init__(self, llama: Any) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self._llama = llama
        self.eos_token_id = self.pad_token_id = int(llama.token_eos())
        template = llama.metadata.get("tokenizer.chat_template")
        if not template:
            raise ValueError("This GGUF file has no chat template (tokenizer.chat_template): it cannot be prompted.")
        piece = lambda token: llama.detokenize([token], special=True).decode("utf-8", "replace")  # noqa: E731
        self._chat = Jinja2ChatFormatter(template, eos_token=piece(self.eos_token_id),
                                         bos_token=piece(int(llama.token_bos())), add_generation_prompt=True)

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True) if text else []

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        return self._llama.detokenize(list(ids), special=not skip_special_tokens).decode("utf-8", "replace")

    def batch_decode(self, rows: Sequence[Sequence[int]], skip_special_tokens: bool = False) -> list[str]:
        return [self.decode(row, skip_special_tokens) for row in rows]

    def apply_chat_template(self, messages: list[dict[str, str]], tokenize: bool = False,
                            add_generation_prompt: bool = True) -> str:
        return self._chat(messages=messages).prompt

    def __call__(self, texts: Sequence[str], add_special_tokens: bool = False) -> dict[str, list[list[int]]]:
        return {"input_ids": [self.encode(text) for text in texts]}


class LlamaCppSource:
    """A verified GGUF file held by llama.cpp (memory-mapped): its tokenizer, next-token log-probabilities,
    greedy generation and per-token log-probabilities of a passage. `weights()` refuses: there is no PyTorch
    model behind it, so a PyTorch step after llama.cpp fails with a message instead of a silent copy."""

    def __init__(self, model: ModelSpec, progress: Progress = lambda f, m: None, bits: int = 0) -> None:
        llama_cpp = llama_module()
        require_memory(model, "gguf")
        self.spec, self.bits, self.path = model, bits, level_file(model, bits, progress)
        progress(0.0, f"Opening {model.id}'s GGUF file in llama.cpp")
        self.threads = settings().threads
        self.llama = self._open(CONTEXT_TOKENS)
        self.tokenizer = LlamaCppTokenizer(self.llama)
        self.version = llama_cpp.__version__
        self.level = FILE_TYPES.get(int(self.llama.metadata.get("general.file_type", -1)), "unknown")
        self.size_bytes = self.path.stat().st_size
        self.parameters = int(llama_cpp.llama_model_n_params(self.llama.model))
        progress(1.0, f"{model.id} ready in llama.cpp {self.version} ({self.level})")

    def _open(self, context: int) -> Any:
        from llama_cpp import Llama

        with _OPEN_LOCK:
            return Llama(model_path=str(self.path), n_ctx=context, n_batch=512, n_threads=self.threads,
                         n_threads_batch=self.threads, verbose=False, seed=0)

    def weights(self, dtype: torch.dtype, progress: Progress = lambda f, m: None) -> torch.nn.Module:
        raise ValueError(f"{self.spec.id} runs in llama.cpp from its GGUF file: there are no PyTorch weights to "
                         "change. Put PyTorch steps (layer-drop, int8) in pipelines without llamacpp.")

    def _check_length(self, ids: Sequence[int], room: int, context: int) -> None:
        if len(ids) + room > context:
            raise ValueError(f"A prompt of {len(ids)} tokens (+{room} to write) does not fit llama.cpp's context "
                             f"of {context} tokens for {self.spec.id}: use fewer worked examples.")

    def next_logprobs(self, ids: Sequence[int]) -> np.ndarray:
        """log P(next token | ids) over the vocabulary, from an empty cache."""
        llama_cpp = llama_module()
        self._check_length(ids, 0, self.llama.n_ctx())
        self.llama.reset()
        self.llama.eval(list(ids))
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self.llama.ctx, -1),
                                       shape=(self.llama.n_vocab(),))
        return _log_softmax(logits)

    def greedy(self, ids: Sequence[int], new_tokens: int) -> list[int]:
        """Exactly `new_tokens` tokens by argmax (end-of-text suppressed until then), as the transformers
        generator does with min_new_tokens."""
        llama_cpp = llama_module()
        self._check_length(ids, new_tokens, self.llama.n_ctx())
        vocab, eos = self.llama.n_vocab(), self.tokenizer.eos_token_id
        self.llama.reset()
        self.llama.eval(list(ids))
        out: list[int] = []
        for _ in range(new_tokens):
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self.llama.ctx, -1), shape=(vocab,))
            logits = logits.copy()
            logits[eos] = -np.inf
            token = int(logits.argmax())
            out.append(token)
            self.llama.eval([token])
        return out

    def token_logprobs(self, ids: Sequence[int]) -> np.ndarray:
        """log P(ids[i] | ids[:i]) for i >= 1, from an empty cache: llama.cpp decodes the text in batches asking
        for every position's logits (llama-cpp-python's own batch, as its eval does with logits_all), so no
        second context and no (context x vocabulary) buffer is held beside the model."""
        llama = self.llama
        self._check_length(ids, 0, llama.n_ctx())
        llama.reset()
        llama._ctx.kv_cache_seq_rm(-1, 0, -1)
        vocab, out = llama.n_vocab(), []
        for start in range(0, len(ids), llama.n_batch):
            batch = list(ids[start:start + llama.n_batch])
            llama._batch.set_batch(batch=batch, n_past=start, logits_all=True)
            llama._ctx.decode(llama._batch)
            logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(len(batch), vocab))
            for row in range(0, len(batch), 64):  # float32 chunks: 64 x 152k, not 512 x 152k in float64
                chunk = logits[row:row + 64]
                top = chunk.max(axis=1, keepdims=True)
                norm = np.log(np.exp(chunk - top).sum(axis=1, keepdims=True)) + top
                targets = np.asarray(ids[start + row + 1: start + row + 1 + len(chunk)])
                picked = chunk[np.arange(len(targets)), targets] - norm[: len(targets), 0]
                out.append(picked.astype(np.float64))
        llama.reset()
        return np.concatenate(out) if out else np.empty(0)

    def facts(self) -> dict[str, Any]:
        origin = "as packaged" if not self.bits else "requantized here from the packaged file"
        return {"runtime": f"llama.cpp (llama-cpp-python {self.version})", "gguf_level": self.level,
                "gguf_file": origin, "packaged_sha256": self.spec.weights.sha256, "threads": self.threads}


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - float(logits.max())
    return shifted - math.log(float(np.exp(shifted).sum()))


def _logsumexp(values: np.ndarray) -> float:
    top = float(values.max())
    return top + math.log(float(np.exp(values - top).sum()))


class _PackagedFile:
    """What a llama.cpp rung reports about its weights: the GGUF file's, not a PyTorch module's."""

    source: LlamaCppSource

    def layer_count(self) -> int:
        return self.source.spec.layers

    def num_parameters(self) -> int:
        return self.source.parameters

    def size_bytes(self) -> int:
        return self.source.size_bytes


class LlamaCppClassifier(_PackagedFile, PromptClassifier):
    """The prompted classifier with llama.cpp answering: the same prompt, answer words, worked examples and
    validation-fitted bias as the transformers rung; texts are read one at a time."""

    def for_labelling(self) -> LlamaCppClassifier:
        return self

    def raw_scores(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        out = np.empty((len(texts), len(self.answer_ids)), dtype=np.float32)
        for row, ids in enumerate(self.prompt_ids(texts) if texts else []):
            logprobs = self.source.next_logprobs(ids)
            out[row] = [_logsumexp(logprobs[answer]) for answer in self.answer_ids]
        return out

    def fingerprint(self) -> dict[str, Any]:
        facts = {k: v for k, v in self.source.facts().items() if k != "threads"}
        return {"model": self.name, "system": self.prompt.system, "instruction": self.prompt.instruction,
                "answers": list(self.prompt.answers), "shots": self.shots, **facts}

    def describe(self, texts: Sequence[str]) -> dict[str, Any]:
        return {**super().describe(texts), "dtype": self.source.level, **self.source.facts()}


class LlamaCppGenerator(_PackagedFile, Generator):
    """The text generator with llama.cpp writing and reading: greedy, exactly max_new_tokens per response."""

    def generate(self, prompts: Sequence[str], max_new_tokens: int | None = None) -> tuple[np.ndarray, list[str]]:
        new_tokens = max_new_tokens or self.max_new_tokens
        rows, responses = [], []
        for prompt in prompts:
            ids = self.tokenizer.encode(prompt)
            written = self.source.greedy(ids, new_tokens)
            rows.append([len(ids), len(written)])
            responses.append(self.tokenizer.decode(written, skip_special_tokens=True))
        return np.asarray(rows, dtype=np.float32).reshape(-1, 2), responses

    def passage_bits(self, texts: Sequence[str]) -> np.ndarray:
        rows = []
        for text in texts:
            ids = self.tokenizer.encode(text)[:MAX_PASSAGE_TOKENS]
            nats = -float(self.source.token_logprobs(ids).sum())
            scored = self.tokenizer.decode(ids[1:])
            rows.append([nats / math.log(2), len(scored.encode("utf-8")), len(ids) - 1])
        return np.asarray(rows, dtype=np.float64)

    def describe(self, texts: Sequence[str]) -> dict[str, Any]:
        return {"dtype": self.source.level, **self.source.facts()}


def on_llamacpp(model: PromptClassifier | Generator, progress: Progress,
                bits: int = 0) -> LlamaCppClassifier | LlamaCppGenerator:
    """The same rung (prompt, worked examples, generation settings) with llama.cpp running the packaged file
    (or its requantized copy at `bits`)."""
    source = LlamaCppSource(model.source.spec, progress, bits)
    if isinstance(model, PromptClassifier):
        return LlamaCppClassifier(model.name, model.task, source, model.prompt_spec, model.score,  # type: ignore[arg-type]
                                  shots=model.shots, info=model.info, progress=model.progress)
    return LlamaCppGenerator(model.name, source, info=model.info, progress=model.progress,  # type: ignore[arg-type]
                             max_new_tokens=model.max_new_tokens)
