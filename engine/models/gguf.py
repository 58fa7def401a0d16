"""Causal language models (family "llm") from GGUF files in the offline pack, as transformers models.

A GGUF file ships either whole in one package (SmolLM2) or split into plain parts across many (the Qwen models:
data/part01.bin ... in one package each). The parts are joined in order while their SHA-256 is computed, and a
joined file that differs from the one pinned in the registry is refused before anything reads it. transformers
then dequantizes it (`from_pretrained(dir, gguf_file=...)`, which needs the gguf and accelerate packages) to
fp32 — the exact values of the 4-bit blocks — and the result is cached once as a safetensors folder with its
manifest (engine.cache_files): later loads read safetensors only, directly in the dtype asked for, and never
run remote code. Building takes a minute for the 1.5B model, so loads report progress while they work.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from engine import cache_files
from engine.config import apply_offline_env, settings
from engine.models.encoders import _distribution_file, _prepared, _quiet_transformers, _rebuild_fix
from engine.models.memory import require_memory
from engine.registry import ModelSpec

Progress = Callable[[float, str], None]
JOINED_NAME = "model.gguf"
CHUNK_BYTES = 16 << 20
LOAD_S_PER_GB = 40.0  # dequantizing a Q4 GGUF here: ~45 s for the 1.12 GB file; for the progress estimate


class WeightsMismatchError(ValueError):
    """A weights file whose SHA-256 is not the one pinned in the registry: refused, never loaded."""


def gguf_parts(model: ModelSpec) -> list[Path]:
    """The model's GGUF file, or its parts in order (one file ending in weights.path per package)."""
    return [_distribution_file(dist, model.weights.path, model.id) for dist in model.weights.packages]


def join_verified(parts: Sequence[Path], target: Path, sha256: str, name: str) -> None:
    """Concatenate `parts` into `target`, refusing (and removing) the result unless its SHA-256 is `sha256`."""
    digest = hashlib.sha256()
    with open(target, "wb") as out:
        for part in parts:
            with open(part, "rb") as src:
                while block := src.read(CHUNK_BYTES):
                    digest.update(block)
                    out.write(block)
    check_sha256(digest.hexdigest(), sha256, name, target, parts)


def check_sha256(actual: str, pinned: str, name: str, path: Path, parts: Sequence[Path]) -> None:
    if not pinned:
        raise WeightsMismatchError(f"{name}: the registry pins no SHA-256 for its weights, so they are not loaded.")
    if actual != pinned:
        with contextlib.suppress(OSError):
            if path.name == JOINED_NAME:
                path.unlink()
        raise WeightsMismatchError(
            f"{name}: the weights file joined from {len(parts)} part(s) has SHA-256 {actual[:16]}…, not the "
            f"pinned {pinned[:16]}…: a damaged or different package. It was not loaded. Reinstall it with "
            f"--force-reinstall (first part: {parts[0] if parts else '?'})."
        )


@contextlib.contextmanager
def ticking(progress: Progress, message: str, expected_s: float, every_s: float = 2.0) -> Iterator[None]:
    """Report progress every few seconds while a call that cannot report by itself (a model load) runs."""
    stop = threading.Event()
    started = time.perf_counter()

    def tick() -> None:
        while not stop.wait(every_s):
            elapsed = time.perf_counter() - started
            progress(min(0.95, elapsed / max(expected_s, 1e-9)), f"{message}: {elapsed:.0f} s of about {expected_s:.0f} s")

    progress(0.0, f"{message} (about {expected_s:.0f} s)")
    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _dequantize(target: Path, model: ModelSpec, progress: Progress) -> None:
    """Verify and dequantize the GGUF into `target` (a temporary folder): fp32 safetensors + tokenizer."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    parts = gguf_parts(model)
    if len(parts) == 1:  # a whole file in its package: check it where it lies, no copy
        source = parts[0]
        check_sha256(cache_files.file_sha256(source), model.weights.sha256, model.id, source, parts)
    else:
        source = target / JOINED_NAME
        progress(0.0, f"Joining {len(parts)} parts of {model.id} and checking their SHA-256")
        join_verified(parts, source, model.weights.sha256, model.id)
    gigabytes = source.stat().st_size / 1e9
    with ticking(progress, f"Dequantizing {model.id} from GGUF (once on this machine)", LOAD_S_PER_GB * gigabytes), \
            _quiet_transformers():
        kwargs = {"gguf_file": source.name, "trust_remote_code": False}
        lm = AutoModelForCausalLM.from_pretrained(str(source.parent), dtype=torch.float32, **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(str(source.parent), **kwargs)
    if source.parent == target:
        source.unlink()  # only the dequantized folder is kept
    # save_pretrained refuses a model marked "quantized with gguf"; its weights are plain fp32 now, so write
    # them and a config without that mark. Shards of 1 GB: one 6 GB file is serialized in memory whole
    # (12.2 GB peak measured for qwen-1.5b); tied embeddings are written once.
    from huggingface_hub import save_torch_state_dict

    with contextlib.suppress(AttributeError):
        del lm.config.quantization_config
    save_torch_state_dict(lm.state_dict(), str(target), max_shard_size="1GB", metadata={"format": "pt"})
    with _quiet_transformers():
        lm.config.save_pretrained(str(target))
        if lm.generation_config is not None:
            lm.generation_config.save_pretrained(str(target))
        tokenizer.save_pretrained(str(target))


def cached_folder(model: ModelSpec) -> Path:
    return settings().cache_dir / "models" / model.id


def _tokenizer(folder: Path) -> Any:
    from transformers import AutoTokenizer

    with _quiet_transformers():
        return AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False)


class GgufSource:
    """The model's verified, dequantized folder: its tokenizer now, its weights when asked, in the dtype asked."""

    def __init__(self, model: ModelSpec, progress: Progress = lambda f, m: None) -> None:
        apply_offline_env()
        parts = gguf_parts(model)  # NotInstalledError first
        self.spec, self.folder, self.progress = model, cached_folder(model), progress
        self.expected_load_s = 3.0 + 4.0 * sum(p.stat().st_size for p in parts) / 1e9  # for progress only

    @functools.cached_property
    def tokenizer(self) -> Any:
        """Built with the dequantized folder, the first time anything needs it (llama.cpp rungs never do)."""
        if not self.folder.exists():
            require_memory(self.spec, torch.float32, "to dequantize it once")
        return _prepared(self.folder, lambda tmp: _dequantize(tmp, self.spec, self.progress), _tokenizer,
                         _rebuild_fix(self.spec.id, self.folder))

    def weights(self, dtype: torch.dtype, progress: Progress = lambda f, m: None) -> torch.nn.Module:
        _ = self.tokenizer  # the dequantized folder exists from here on
        require_memory(self.spec, dtype)
        name = str(dtype).removeprefix("torch.")
        with ticking(progress, f"Loading {self.spec.id} ({name})", self.expected_load_s):
            return _prepared(self._folder(dtype), lambda tmp: self._cast(tmp, dtype), lambda f: _weights(f, dtype, self.spec.id),
                             _rebuild_fix(self.spec.id, self.folder))

    def _folder(self, dtype: torch.dtype) -> Path:
        """fp32: the dequantized folder itself. Another dtype gets its own copy, cast once: loading bf16 from the
        fp32 files kept all 7 GB of them mapped in memory beside the 3.5 GB model (11.2 GB peak, qwen-1.5b)."""
        return self.folder if dtype == torch.float32 else self.folder.with_name(f"{self.folder.name}-{str(dtype)[6:]}")

    def _cast(self, target: Path, dtype: torch.dtype) -> None:
        from huggingface_hub import save_torch_state_dict

        require_memory(self.spec, torch.float32, f"to write its {str(dtype)[6:]} copy once")
        lm = _weights(self.folder, dtype, self.spec.id)
        save_torch_state_dict(lm.state_dict(), str(target), max_shard_size="1GB", metadata={"format": "pt"})
        with _quiet_transformers():
            lm.config.save_pretrained(str(target))
            self.tokenizer.save_pretrained(str(target))


def _weights(folder: Path, dtype: torch.dtype, name: str) -> torch.nn.Module:
    from transformers import AutoModelForCausalLM

    with _quiet_transformers():
        lm, info = AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype, use_safetensors=True,
                                                        trust_remote_code=False, output_loading_info=True)
    if info["missing_keys"] or info["mismatched_keys"]:
        raise RuntimeError(f"{name}: weights in {folder} do not fit the model (missing "
                           f"{sorted(info['missing_keys'])[:5]}, mismatched {sorted(info['mismatched_keys'])[:5]})")
    return lm.eval()
