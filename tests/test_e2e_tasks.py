"""End to end on the real offline pack, one new task at a time: the CLI measures the classic baseline and the
smallest encoder on a small test sample, and the quality lands in sane bounds for that task's metric."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def cli(home, cache, *args: str) -> list[dict]:
    env = {**os.environ, "RIGHTSIZE_HOME": str(home), "RIGHTSIZE_CACHE": str(cache), "RIGHTSIZE_THREADS": "2"}
    done = subprocess.run([sys.executable, "-m", "engine", "run", *args, "--region", "FRA", "--json"], env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize(("task", "metric", "bounds"), [
    ("spam", "f1", {"tfidf": (0.80, 1.0), "minilm-l3": (0.55, 1.0)}),  # a majority guess scores 0 here
    ("topic", "accuracy", {"tfidf": (0.65, 0.95), "minilm-l3": (0.55, 0.9)}),  # 6 classes: chance ~0.23
    ("search", "precision@10", {"tfidf": (0.25, 0.8), "minilm-l3": (0.3, 0.8)}),  # by chance ~0.2
])
def test_each_new_task_measures_its_metric(tmp_path, shared_cache, task, metric, bounds):
    records = cli(tmp_path, shared_cache, "--task", task, "--models", "tfidf,minilm-l3",
                  "--techniques", "fp32,int8-dynamic", "--eval-size", "200")
    by = {(r["model"], r["technique"]): r for r in records}
    for model, (low, high) in bounds.items():
        r = by[(model, "fp32")]
        assert r["status"] == "ok", r["error"]
        assert r["metric"] == metric and low <= r["quality"] <= high, (model, r["quality"])
        assert r["quality_ci_low"] <= r["quality"] <= r["quality_ci_high"]
        assert r["energy_wh_per_1k"] > 0 and r["latency_p50_ms"] > 0
    assert by[("tfidf", "int8-dynamic")]["status"] == "skipped"
    assert by[("minilm-l3", "int8-dynamic")]["status"] == "ok"
    if task == "search":
        agreement = by[("minilm-l3", "fp32")]["quality_extras"]["human_correlation"]
        assert 0.3 < agreement["r"] < 0.9 and agreement["pairs"] == 1225
    if task == "spam":
        extras = by[("tfidf", "fp32")]["quality_extras"]
        assert extras["flagged_class"] == "spam" and extras["majority_share"] > 0.8
