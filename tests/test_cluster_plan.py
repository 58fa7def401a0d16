"""Cluster sweeps without a cluster: the local default never imports Ray, a missing Ray is a clear message, and
the sweep's pure parts (its plan, resume matching, the record of a lost trial). The live cluster is in
tests/test_cluster.py."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cluster import INSTALL, cluster_address, configured_clusters
from engine.cluster.connect import Node
from engine.cluster.sweep import Trial, _failed, plan, stored_measurement
from engine.measure.system import versions
from engine.requests import RunRequest
from engine.trial import TrialSpec

ROOT = Path(__file__).resolve().parents[1]
NODES = [Node("a" * 56, "host-a", "10.0.0.1", True), Node("b" * 56, "host-b", "10.0.0.2", False)]
BLOCK_RAY = """
import sys
class NoRay:
    def find_spec(self, name, path=None, target=None):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("this test forbids importing ray")
sys.meta_path.insert(0, NoRay())
from engine.cli import main
code = main(["run", "--task", "sentiment", "--models", "vader", "--techniques", "int8-dynamic", "--eval-size", "20",
             "--json"])
print("ray imported" if "ray" in sys.modules else "no ray", code)
"""


def test_a_local_run_never_imports_ray(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(RIGHTSIZE_HOME=str(tmp_path), RIGHTSIZE_LOCK_DIR=str(tmp_path), PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", BLOCK_RAY], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "no ray 0"  # the trial ran (skipped: VADER has no int8)


def test_a_cluster_run_without_ray_says_how_to_install_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    with pytest.raises(ValueError, match=INSTALL.replace(".", r"\.")):
        RunRequest("sentiment", ("vader",), ("fp32",), cluster="10.0.0.1:6379").validated()


def test_every_node_needs_a_cluster():
    with pytest.raises(ValueError, match="needs a cluster"):
        RunRequest("sentiment", ("vader",), ("fp32",), every_node=True).validated()


def test_the_address_comes_from_the_flag_then_ray_address(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.9:6379")
    assert cluster_address(None) == "10.0.0.9:6379" and cluster_address(" head:6379 ") == "head:6379"
    monkeypatch.delenv("RAY_ADDRESS")
    assert cluster_address(None) == ""
    monkeypatch.setenv("RIGHTSIZE_CLUSTERS", "a:1, b:2,,a:1")
    assert configured_clusters() == ["a:1", "b:2"]


def test_a_sweep_plans_each_trial_once_or_once_per_node():
    request = RunRequest("sentiment", ("minilm-l3", "minilm-l6"), ("fp32", "onnx-int8"), cluster="c:1")
    once = plan(request, 7, NODES)
    assert [t.label for t in once] == ["minilm-l3 · fp32", "minilm-l3 · onnx-int8", "minilm-l6 · fp32",
                                       "minilm-l6 · onnx-int8"]
    assert all(t.pinned is None and t.spec.job_id == 7 for t in once)
    each = plan(RunRequest(**{**request.to_dict(), "every_node": True}), 7, NODES)
    assert len(each) == 8 and {t.pinned.host for t in each} == {"host-a", "host-b"}
    assert each[1].label == "minilm-l3 · fp32 @ host-b"


def test_resume_serves_a_clean_measurement_made_on_one_of_the_cluster_hosts(store, records):
    spec = TrialSpec("sentiment", "minilm-l3", "fp32", 300, "FRA", "movie-reviews")
    measured = records("minilm-l3", "fp32", versions=versions(),
                       hardware={"hostname": "host-b", "cpu_model": "x", "ray_node_id": "b" * 56})
    trial_id = store.add_trial(measured)
    found = stored_measurement(store, spec, {"host-a", "host-b"})
    assert found is not None and found.reused_from == trial_id and found.region == "FRA"
    assert stored_measurement(store, spec, {"host-a"}) is None  # measured elsewhere: measure it here
    store.add_trial(records("minilm-l3", "fp32", versions={**versions(), "rightsize_code": "other"},
                            hardware={"hostname": "host-a"}))
    assert stored_measurement(store, spec, {"host-a"}) is None  # other code: not the same measurement


def test_a_trial_whose_node_was_lost_is_a_failed_record_naming_the_node():
    trial = Trial(TrialSpec("sentiment", "vader", "fp32", 20, "USA", "movie-reviews", job_id=3), "vader · fp32",
                  node={"hostname": "host-b", "ray_node_id": "b" * 56, "ray_node_ip": "10.0.0.2"})
    record = _failed(trial, {"lost": RuntimeError("The node with node id bbbb has been marked dead")})
    assert record.status == "failed" and record.job_id == 3
    assert f"Ray node {'b' * 56} on host-b was lost while measuring" in record.error
    assert "marked dead" in record.error and record.hardware["ray_node_id"] == "b" * 56
    assert _failed(Trial(trial.spec, trial.label), {"lost": RuntimeError("x")}).error.startswith(
        "The cluster lost this trial before a node started it")
    trial.records = 1
    assert _failed(trial, {"end": True}) is None  # it ended after its record: nothing failed
    assert "broke: ValueError" in _failed(trial, {"error": "ValueError: bad"}).error
