"""A run request measured on a Ray cluster: every trial is submitted at once as a task holding one unit of the
measurement resource, so each node measures one trial at a time and the sweep goes as wide as the cluster.
Records come back as they finish (in finishing order), trials already measured on the cluster's hosts are
served from the store (a resumed sweep measures only what is missing), a node lost mid-trial fails that trial
with a message while the others go on, and closing the iterator (a cancelled job) cancels what still runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import Any

from engine.cluster import RESOURCE
from engine.cluster.connect import Node, connected, measuring_nodes
from engine.record import TrialRecord
from engine.requests import RunRequest
from engine.runner import CurveSink, Progress, failed_record
from engine.store import Store
from engine.trial import TrialSpec

HEARTBEAT_S = 1.0  # progress (and so the cancel check) at least this often, even while nothing happens
NODES_CHECK_S = 5.0  # how often to ask whether any measuring node is left
log = logging.getLogger("rightsize.cluster")


@dataclass
class Trial:
    spec: TrialSpec
    label: str
    pinned: Node | None = None  # --every-node: this node only
    node: dict[str, Any] = field(default_factory=dict)  # where it runs, once the task has said
    fraction: float = 0.0
    records: int = 0

    def where(self) -> str:
        if not self.node:
            return "waiting for a free node"
        return f"on {self.node.get('hostname', '?')} (Ray node {self.node.get('ray_node_id', '?')[:8]})"


def plan(request: RunRequest, job_id: int | None, nodes: list[Node]) -> list[Trial]:
    """One trial per (model, technique), or one per node each with --every-node."""
    pairs = request.trials()
    targets: list[Node | None] = list(nodes) if request.every_node else [None]
    out = []
    for model, technique in pairs:
        spec = TrialSpec(request.task, model, technique, request.eval_size, request.region, request.test_set,
                         request.seed, job_id)
        out += [Trial(spec, f"{model} · {technique}" + (f" @ {node.host}" if node else ""), node)
                for node in targets]
    return out


def stored_measurement(store: Store, spec: TrialSpec, hosts: set[str]) -> TrialRecord | None:
    """A clean stored measurement of this trial, with this code, made on one of `hosts`."""
    from engine.reuse import find_reusable, reused_copy

    found = find_reusable(store, spec, lambda record: (record.hardware or {}).get("hostname") in hosts)
    return reused_copy(*found, spec) if found else None


def run_on_cluster(request: RunRequest, job_id: int | None, progress: Progress, curve: CurveSink,
                   store: Store | None) -> Iterator[TrialRecord]:
    """Yield a record per trial as each finishes; `store` (None: re-measure everything) serves trials already
    measured on the cluster's hosts."""
    with connected(request.cluster) as ray:
        nodes = measuring_nodes(ray)
        if not nodes:
            raise ValueError(f"No node of the Ray cluster at {request.cluster} offers the '{RESOURCE}' resource: "
                             f"start each measuring node with --resources='{{\"{RESOURCE}\": 1}}' (docs/cluster.md).")
        trials = plan(request, job_id, nodes)
        total = len(trials)
        progress(0.0, f"{total} trials on {len(nodes)} node{'s' * (len(nodes) != 1)} of {request.cluster}")
        done = 0
        pending: dict[Any, Trial] = {}
        remote = _remote(ray)
        try:
            for trial in trials:
                hosts = {trial.pinned.host} if trial.pinned else {n.host for n in nodes}
                stored = stored_measurement(store, trial.spec, hosts) if store is not None else None
                if stored is not None:
                    done += 1
                    progress(done / total, f"{trial.label}: already measured on {stored.hardware.get('hostname')} "
                                           f"(trial #{stored.reused_from}, {stored.started_at[:16]} UTC): reused")
                    yield stored
                    continue
                pending[_submit(ray, remote, trial)] = trial
            yield from _collect(ray, pending, done, total, progress, curve)
        finally:
            for task in pending:  # cancelled, or the caller stopped: nothing measures on for nobody
                try:
                    ray.cancel(task, force=True)
                except Exception as error:  # noqa: BLE001 - it may have just finished
                    log.debug("cancel: %s", error)


def _remote(ray: ModuleType) -> Any:
    """The node's task: one unit of the resource (so one per node at a time), no CPUs reserved (the trial uses
    the whole node, and the resource alone serializes), never retried by Ray (a lost trial is failed: the
    next sweep measures it), its events streamed."""
    from engine.cluster.node import measure_events

    return ray.remote(num_cpus=0, resources={RESOURCE: 1}, max_retries=0, num_returns="streaming")(measure_events)


def _submit(ray: ModuleType, remote: Any, trial: Trial) -> Any:
    if trial.pinned:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        remote = remote.options(scheduling_strategy=NodeAffinitySchedulingStrategy(trial.pinned.node_id, soft=False))
    return remote.remote(asdict(trial.spec))


def _collect(ray: ModuleType, pending: dict[Any, Trial], done: int, total: int, progress: Progress,
             curve: CurveSink) -> Iterator[TrialRecord]:
    from engine.measure.system import versions

    code = versions().get("rightsize_code")
    nodes_checked = time.monotonic()
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=HEARTBEAT_S)
        for task in ready:
            trial = pending[task]
            try:
                event = ray.get(next(task))
            except StopIteration:
                event = {"end": True}
            except ray.exceptions.RayError as error:
                event = {"lost": error}
            if "node" in event:
                trial.node = event["node"]
                progress(_fraction(done, pending, total), f"{trial.label}: starting {trial.where()}")
            elif "progress" in event:
                trial.fraction = float(event["progress"])
                progress(_fraction(done, pending, total), f"{trial.label} {trial.where()}: {event['message']}")
            elif "curve" in event:
                curve(trial.spec.model, trial.spec.technique, event["curve"])
            elif "record" in event:
                record = TrialRecord.from_dict(event["record"])
                trial.records += 1
                if record.versions.get("rightsize_code") != code:
                    log.warning("%s was measured by different Rightsize code (%s) than this one's (%s)",
                                trial.label, record.versions.get("rightsize_code"), code)
                yield record
            else:  # the task ended, broke, or its node or worker was lost
                del pending[task]
                done += 1
                record = _failed(trial, event)
                if record is not None:
                    yield record
                progress(_fraction(done, pending, total), f"{trial.label}: finished {trial.where()} "
                                                          f"({done}/{total})")
        if not ready:
            running = sum(1 for t in pending.values() if t.node)
            progress(_fraction(done, pending, total), f"{done}/{total} trials done, {running} measuring, "
                                                      f"{len(pending) - running} waiting for a free node")
        if pending and time.monotonic() - nodes_checked >= NODES_CHECK_S:
            nodes_checked = time.monotonic()
            if not measuring_nodes(ray):  # tasks would wait forever for a resource nobody offers
                for task, trial in list(pending.items()):
                    del pending[task]
                    ray.cancel(task, force=True)
                    yield _failed(trial, {"error": f"no node of the cluster offers '{RESOURCE}' any more"})


def _fraction(done: int, pending: dict[Any, Trial], total: int) -> float:
    return (done + sum(t.fraction for t in pending.values())) / total


def _failed(trial: Trial, event: dict[str, Any]) -> TrialRecord | None:
    """The record of a trial that ended without one: its node or worker lost, or measuring broke."""
    if "lost" in event:
        error = event["lost"]
        first = (str(error).strip().splitlines() or [""])[0][:300]
        what = (f"Ray node {trial.node['ray_node_id']} on {trial.node.get('hostname')} was lost while measuring"
                if trial.node else "The cluster lost this trial before a node started it")
        message = f"{what} ({type(error).__name__}: {first}). Run the sweep again to measure it: trials already " \
                  "measured are reused."
    elif "error" in event:
        message = f"Measuring on the node broke: {event['error']}"
    elif trial.records:
        return None
    else:
        message = "The node's task ended without a record."
    record = failed_record(trial.spec, message)
    record.hardware = {k: v for k, v in trial.node.items() if k in ("hostname", "ray_node_id", "ray_node_ip")}
    return record
