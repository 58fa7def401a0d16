"""End to end on the real offline pack: SmolLM2-135M (93 MB GGUF, its SHA-256 checked, dequantized once into
the shared test cache) prompted zero-shot on a small sentiment sample, through the CLI as a user runs it."""

from __future__ import annotations

import pytest
from test_e2e_tasks import cli

from engine.registry import MODELS

pytestmark = pytest.mark.slow


def test_smollm2_zero_shot_sentiment_is_measured_like_every_rung(tmp_path, shared_cache):
    (record,) = cli(tmp_path, shared_cache, "--task", "sentiment", "--models", "smollm2-135m",
                    "--techniques", "bf16", "--eval-size", "60")
    assert record["status"] == "ok", record["error"]
    assert record["model_family"] == "llm" and record["metric"] == "accuracy"
    assert 0.4 <= record["quality"] <= 0.85  # 135M parameters, no training: above chance, far below Qwen
    assert record["quality_ci_low"] <= record["quality"] <= record["quality_ci_high"]
    assert record["energy_wh_per_1k"] > 0 and record["latency_p95_ms"] >= record["latency_p50_ms"] > 0
    assert 130 <= record["params_m"] <= 140 and 250 <= record["model_size_mb"] <= 290  # bf16: 2 bytes each
    assert 40 <= record["prompt_tokens_per_query"] <= 200
    calibration = record["model_info"]["calibration"]
    assert calibration["validation_size"] == 200 and calibration["validation_after"] >= calibration["validation_before"]
    assert record["peak_rss_mb"] <= MODELS["smollm2-135m"].memory_mb  # the need (a first run dequantizes too)
