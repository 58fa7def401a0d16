"""Will a model fit? A model whose measured memory need (registry: memory_mb, memory_mb_bf16) exceeds what
this machine has free right now is refused before loading, with a message, instead of crashing the trial (or
the machine) out of memory halfway through a 45-second load."""

from __future__ import annotations

import psutil

from engine.registry import ModelSpec

HEADROOM_MB = 300  # left free for the measurement itself and the rest of the system


class NotEnoughMemoryError(MemoryError):
    """Raised before loading: the message says how much the model needs, how much is free and what to do."""


def need_mb(model: ModelSpec, dtype: object = "float32") -> int:
    """Peak memory of a trial of `model` in `dtype` (torch dtype or its name), as measured (registry)."""
    name = str(dtype).removeprefix("torch.")
    if name in ("bfloat16", "bf16") and model.memory_mb_bf16:
        return model.memory_mb_bf16
    if name == "gguf" and model.memory_mb_gguf:
        return model.memory_mb_gguf
    return model.memory_mb


def free_mb() -> int:
    return int(psutil.virtual_memory().available / 1e6)


def fits(model: ModelSpec, dtype: object = "float32", available_mb: int | None = None) -> bool:
    available = free_mb() if available_mb is None else available_mb
    return need_mb(model, dtype) + HEADROOM_MB <= available


def refusal(model: ModelSpec, dtype: object = "float32", why: str = "", available_mb: int | None = None) -> str:
    """"" when the model fits in free memory now; else the message a user sees."""
    available = free_mb() if available_mb is None else available_mb
    need = need_mb(model, dtype)
    if need + HEADROOM_MB <= available:
        return ""
    name = str(dtype).removeprefix("torch.")
    lighter = (f" In bf16 it needs about {model.memory_mb_bf16:,} MB."
               if model.memory_mb_bf16 and name not in ("bfloat16", "bf16") and model.memory_mb_bf16 < need else "")
    shown = "llama.cpp (its GGUF file)" if name == "gguf" else name
    return (f"{model.id} needs about {need:,} MB of memory in {shown}{' ' + why if why else ''}, but this machine "
            f"has {available:,} MB free now (plus {HEADROOM_MB} MB kept in reserve), so it was not loaded.{lighter} "
            "Close other programs or pick a smaller model.")


def require_memory(model: ModelSpec, dtype: object = "float32", why: str = "") -> None:
    message = refusal(model, dtype, why)
    if message:
        raise NotEnoughMemoryError(message)


def technique_dtype(technique: str) -> str:
    """The precision a pipeline loads an LLM in: the GGUF file itself in llama.cpp, bf16 when a bf16 step is
    in it, else fp32."""
    steps = [step.split(":")[0] for step in technique.split("+")]
    return "gguf" if "llamacpp" in steps else "bfloat16" if "bf16" in steps else "float32"


def request_refusals(models: list[ModelSpec], techniques: list[str], available_mb: int | None = None) -> list[str]:
    """One message per (LLM, precision) of a planned run that would not fit in free memory now."""
    available = free_mb() if available_mb is None else available_mb
    out = []
    for model in models:
        if model.family != "llm":
            continue
        for dtype in dict.fromkeys(technique_dtype(t) for t in techniques):
            message = refusal(model, dtype, available_mb=available)
            if message:
                out.append(message)
    return out
