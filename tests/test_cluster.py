"""Sweeps on a real Ray cluster started here: `ray start --head` on loopback plus a second node process, each
offering one measurement slot. The trials are VADER's on the real offline pack (fp32 is measured in ~4 s; the
other techniques are skipped by the node in ~2 s, each through the whole path: task, child process, record).
Needs Ray (requirements-cluster.txt); the cluster is always torn down."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import sys
import threading
import time
from pathlib import Path

import pytest
from ray_cluster import LocalCluster

from engine.cluster import RESOURCE
from engine.cluster.connect import connected, measuring_nodes
from engine.execute import run_job
from engine.requests import RunRequest
from engine.store import Store

# Ray is not imported here: it reads its token settings once per process, after the fixture has set them
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300),
              pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="needs requirements-cluster.txt")]
ROOT = Path(__file__).resolve().parents[1]
TECHNIQUES = ("fp32", "int8-dynamic", "bf16", "onnx-fp32")


def wait_for_nodes(address: str, count: int, timeout_s: float = 30.0) -> list:
    deadline = time.monotonic() + timeout_s
    with connected(address) as ray:
        while True:
            nodes = measuring_nodes(ray)
            if len(nodes) >= count or time.monotonic() > deadline:
                return nodes
            time.sleep(0.3)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    # the nodes and this driver: one home and lock dir (the two nodes share a CPU: their trials take turns)
    env = LocalCluster.environment(ROOT, RIGHTSIZE_HOME=str(home), RIGHTSIZE_LOCK_DIR=str(home),
                                   RIGHTSIZE_CONTENDED_RETRIES="0")
    saved = dict(os.environ)
    os.environ.update(env)
    if "ray" in sys.modules:  # imported before the token was set: make it read the settings again
        from ray._private.authentication_test_utils import reset_auth_token_state

        reset_auth_token_state()
    local = LocalCluster(env)
    try:
        local.start("head", head=True)
        local.start("second")
        assert len(wait_for_nodes(local.address, 2)) == 2
        yield local
    finally:
        local.stop()
        os.environ.clear()
        os.environ.update(saved)


def sweep(cluster: LocalCluster, on_progress=lambda store, job, f, m: None, **options):
    request = RunRequest("sentiment", ("vader",), options.pop("techniques", TECHNIQUES), options.pop("eval_size", 20),
                         "FRA", cluster=cluster.address, **options).validated()
    store = Store()
    job = store.start_job(request.task, request.to_dict(), os.getpid())
    messages: list[str] = []

    def progress(fraction: float, message: str) -> None:
        messages.append(message)
        store.update_progress(job, fraction, message)
        on_progress(store, job, fraction, message)

    outcome = run_job(store, job, request, progress)
    return store, job, outcome, messages


def by_technique(records):
    return {r.technique: r for r in records}


def as_if_quiet(store: Store, job: int) -> dict[str, int]:
    """Trial ids of the job's ok measurements by technique; one flagged as contended is stored again unflagged.
    The machine is shared: a resumed sweep rightly measures a contended figure again, and these tests check
    that a clean one is not."""
    out = {}
    for row in store.trial_rows(job_ids=[job]):
        if row.record.status == "ok":
            clean = dataclasses.replace(row.record, contended=False, contention=0.0)
            out[row.record.technique] = store.add_trial(clean) if row.record.contended else row.id
    return out


def test_a_sweep_spreads_over_both_nodes_and_streams_its_records_home(cluster):
    stored_when_first_finished: list[int] = []

    def watch(store, job, fraction, message):
        if "finished" in message and not stored_when_first_finished:
            stored_when_first_finished.append(len(store.trials(job_ids=[job])))

    store, job, outcome, messages = sweep(cluster, watch)
    assert store.job(job).status == "done"
    records = by_technique(store.trials(job_ids=[job]))
    assert set(records) == set(TECHNIQUES)
    assert records["fp32"].status == "ok" and records["fp32"].quality is not None, records["fp32"].error
    assert records["fp32"].region == "FRA" and records["fp32"].energy_wh_per_1k > 0
    assert all(records[t].status == "skipped" for t in TECHNIQUES[1:])
    nodes = {r.hardware["ray_node_id"] for r in records.values()}
    assert len(nodes) == 2  # both nodes measured
    assert all(r.hardware["hostname"] and r.hardware["cpu_model"] for r in records.values())
    # measured in a fresh child on the node, under the node's machine-wide lock
    assert all(r.measurement_lock["path"].startswith(os.environ["RIGHTSIZE_LOCK_DIR"]) for r in records.values())
    assert stored_when_first_finished and stored_when_first_finished[0] >= 1  # in the store before the job ended
    assert any("Ray node" in m for m in messages)


def test_a_resumed_sweep_skips_what_the_cluster_already_measured(cluster):
    store, first, _, _ = sweep(cluster, techniques=("fp32",), eval_size=22)
    measured = as_if_quiet(store, first)
    store, job, outcome, messages = sweep(cluster, techniques=("fp32", "bf16"), eval_size=22)
    records = by_technique(outcome.records)
    assert records["fp32"].reused_from == measured["fp32"]  # served from the store: not measured again
    assert records["bf16"].reused_from is None and records["bf16"].status == "skipped"
    assert any("already measured on" in m for m in messages)
    again = by_technique(sweep(cluster, techniques=("fp32",), eval_size=22, remeasure=True)[2].records)
    assert again["fp32"].reused_from is None and again["fp32"].status == "ok"


def test_every_node_measures_each_trial_on_each_node(cluster):
    records = sweep(cluster, techniques=("bf16",), every_node=True)[2].records
    assert len(records) == 2 and len({r.hardware["ray_node_id"] for r in records}) == 2


def test_cancel_stops_the_tasks_and_frees_the_nodes(cluster):
    asked: list[str] = []

    def cancel_once_started(store, job, fraction, message):
        if "starting on" in message and not asked:
            asked.append(message)
            store.cancel(job, None)

    started = time.monotonic()
    store, job, outcome, _ = sweep(cluster, cancel_once_started, eval_size=23)
    assert store.job(job).status == "cancelled"
    assert time.monotonic() - started < 30
    with connected(cluster.address) as ray:  # the slots are free again: nothing measures on for nobody
        deadline = time.monotonic() + 20
        while ray.available_resources().get(RESOURCE, 0) < 2 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert ray.available_resources().get(RESOURCE, 0) == 2


def test_a_node_killed_mid_sweep_fails_its_trial_and_a_restarted_cluster_resumes(cluster):
    head = next(n for n in wait_for_nodes(cluster.address, 2) if n.is_head)
    killed: list[str] = []

    def kill_second_node_once_it_measures(store, job, fraction, message):
        if not killed and "starting on" in message and head.node_id[:8] not in message:
            killed.append(message)
            threading.Thread(target=cluster.kill, args=("second",)).start()

    # fp32 on every node: the second node's trial measures for seconds, so the kill lands mid-measurement (a
    # technique that does not apply to vader is "skipped" in under a second and could finish before the kill)
    store, job, outcome, messages = sweep(cluster, kill_second_node_once_it_measures, techniques=("fp32",),
                                          every_node=True, eval_size=24)
    assert killed, "the second node never got a trial"
    assert store.job(job).status == "done"  # the sweep went on
    records = store.trials(job_ids=[job])
    failed = [r for r in records if r.status == "failed"]
    assert len(records) == 2 and len(failed) == 1, [(r.technique, r.status, r.error) for r in records]
    assert "was lost while measuring" in failed[0].error and failed[0].hardware["ray_node_id"]
    assert failed[0].hardware["ray_node_id"] != head.node_id
    assert {r.hardware["ray_node_id"] for r in records if r.status != "failed"} == {head.node_id}

    measured = as_if_quiet(store, job)

    cluster.stop()  # a restart: a new cluster (new node ids) on the same host
    cluster.start("head", head=True)
    assert wait_for_nodes(cluster.address, 1)
    resumed = by_technique(sweep(cluster, eval_size=24)[2].records)
    assert set(resumed) == set(TECHNIQUES) and all(r.status != "failed" for r in resumed.values())
    for technique, record in resumed.items():  # what was measured is served from the store, the rest measured
        assert record.reused_from == measured.get(technique), technique
    assert measured["fp32"] and resumed["int8-dynamic"].hardware["ray_node_id"] != head.node_id  # a new cluster
