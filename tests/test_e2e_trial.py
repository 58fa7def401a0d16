"""End to end on the real offline pack: the CLI measures minilm-l3 and stores what it prints."""

import json
import os
import subprocess
import sys

import pytest

from engine.carbon import grid_intensity
from engine.store import Store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory, shared_cache):
    home = tmp_path_factory.mktemp("home")
    env = {**os.environ, "RIGHTSIZE_HOME": str(home), "RIGHTSIZE_CACHE": str(shared_cache)}
    command = [sys.executable, "-m", "engine", "run", "--task", "sentiment", "--models", "minilm-l3,vader",
               "--techniques", "fp32,int8-dynamic", "--eval-size", "120", "--region", "FRA", "--json"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout), home


def by_variant(records):
    return {(r["model"], r["technique"]): r for r in records}


def test_every_record_has_the_documented_fields(cli_run):
    required = ("task model technique status params_m model_size_mb metric quality quality_ci_low quality_ci_high "
                "eval_size latency_p50_ms latency_p95_ms latency_p99_ms throughput_per_s peak_rss_mb "
                "energy_wh_per_1k energy_method co2e_g_per_1k region grid_g_per_kwh contention hardware versions "
                "started_at").split()
    for record in cli_run[0]:
        assert set(required) <= set(record)


def test_measurements_are_sane_and_consistent(cli_run):
    variants = by_variant(cli_run[0])
    fp32, int8 = variants[("minilm-l3", "fp32")], variants[("minilm-l3", "int8-dynamic")]
    grid = grid_intensity("FRA").g_per_kwh
    for r in (fp32, int8):
        assert r["status"] == "ok", r["error"]
        assert r["metric"] == "accuracy" and 0.6 < r["quality"] <= 1.0
        assert r["quality_ci_low"] <= r["quality"] <= r["quality_ci_high"]
        assert r["latency_p50_ms"] <= r["latency_p95_ms"] <= r["latency_p99_ms"]
        assert r["throughput_per_s"] > 0 and r["peak_rss_mb"] > 50
        assert r["energy_wh_per_1k"] > 0
        assert r["energy_method"].startswith(("estimated:", "measured:"))
        assert r["co2e_g_per_1k"] == pytest.approx(r["energy_wh_per_1k"] / 1000 * grid)
        assert 0 <= r["contention"] <= 1
        assert r["eval_size"] == 120 and r["region"] == "FRA"
        assert r["hardware"]["logical_cores"] >= 1 and r["versions"]["torch"]
    assert int8["model_size_mb"] < fp32["model_size_mb"] / 3  # int8 Linear layers and vocabulary
    assert 14 < fp32["params_m"] < 20  # paraphrase-MiniLM-L3-v2 has 17.4M parameters


def test_rule_based_baseline_runs_and_skips_compression(cli_run):
    variants = by_variant(cli_run[0])
    assert variants[("vader", "fp32")]["status"] == "ok"
    assert variants[("vader", "fp32")]["params_m"] == 0
    assert variants[("vader", "int8-dynamic")]["status"] == "skipped"


def test_what_was_printed_was_stored(cli_run):
    printed, home = cli_run
    stored = Store(home / "rightsize.sqlite").trials(task="sentiment")
    assert [r.to_dict() for r in stored] == printed
    job = Store(home / "rightsize.sqlite").jobs()[0]
    assert job.status == "done" and job.progress == 1.0
