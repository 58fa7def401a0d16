"""Tables for the LLM rungs (pure: records in, DataFrames out): how each was prompted and calibrated, and for
a generation task, its speed and energy per generated token beside the samples it wrote."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from engine.record import TrialRecord


def prompting_frame(records: Sequence[TrialRecord]) -> pd.DataFrame:
    """One row per prompted variant: shots, prompt tokens per query, precision, validation before/after the bias."""
    rows = []
    for r in records:
        info = r.model_info or {}
        if r.status != "ok" or "prompt" not in info:
            continue
        calibration = info.get("calibration") or {}
        rows.append({"variant": r.variant, "worked examples in the prompt": info["prompt"].get("shots", 0),
                     "prompt tokens per query": r.prompt_tokens_per_query, "precision": info.get("dtype"),
                     "runtime": info.get("runtime", "transformers"),
                     "validation, raw answers": calibration.get("validation_before"),
                     "validation, calibrated": calibration.get("validation_after"),
                     "calibration texts": calibration.get("validation_size"),
                     "bias per class": ", ".join(f"{b:+.2f}" for b in calibration.get("bias", []))})
    return pd.DataFrame(rows)


def generation_frame(records: Sequence[TrialRecord]) -> pd.DataFrame:
    """Speed and energy of writing: a query is one response of `tokens_per_response` tokens."""
    rows = []
    for r in records:
        extras = r.quality_extras or {}
        if r.status != "ok" or "tokens_per_response" not in extras or r.energy_wh_per_1k is None:
            continue
        tokens = extras["tokens_per_response"] or 1
        rows.append({"variant": r.variant, "bits per byte": r.quality, "perplexity": extras.get("perplexity"),
                     "first token, ms (p50)": extras.get("time_to_first_token_ms_p50"),
                     "response, ms (p50)": r.latency_p50_ms,
                     "tokens/s, one at a time": round(tokens / (r.latency_p50_ms / 1000), 2) if r.latency_p50_ms else None,
                     "tokens/s, batched": extras.get("tokens_per_s_batched"),
                     "energy per response, mWh": round(r.energy_wh_per_1k, 4),  # Wh per 1,000 = mWh per one
                     "energy per token, mWh": round(r.energy_wh_per_1k / tokens, 5),
                     "peak memory, MB": r.peak_rss_mb})
    return pd.DataFrame(rows)


def samples(records: Sequence[TrialRecord]) -> dict[str, list[dict[str, str]]]:
    return {r.variant: r.quality_extras["samples"] for r in records
            if r.status == "ok" and (r.quality_extras or {}).get("samples")}
