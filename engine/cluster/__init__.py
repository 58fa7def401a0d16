"""Sweeps on a Ray cluster: each trial is a Ray task on a node that offers the RESOURCE (one unit per node, so
a node measures one trial at a time: two at once corrupt each other's latency and energy). The node measures
with its own offline pack, cache and Rightsize code, in a fresh child process as a local run does
(engine.runner.measure), and the records stream back into the local store. See docs/cluster.md.

Ray is an optional extra (requirements-cluster.txt): nothing in the engine imports it unless a request names a
cluster, and this module itself never does.
"""

from __future__ import annotations

import importlib.util
import os

RESOURCE = "rightsize_measure"  # start nodes with --resources='{"rightsize_measure": 1}'
INSTALL = "pip install -r requirements-cluster.txt"


def cluster_address(given: str | None = None) -> str:
    """The cluster a CLI run uses: --cluster, else RAY_ADDRESS, else "" (measure on this machine)."""
    return (given if given is not None else os.environ.get("RAY_ADDRESS", "")).strip()


def configured_clusters() -> list[str]:
    """The clusters the Run page offers: RIGHTSIZE_CLUSTERS (comma-separated addresses) and RAY_ADDRESS. Only
    what the operator configured: a page visitor never types an address the worker would connect to."""
    named = os.environ.get("RIGHTSIZE_CLUSTERS", "").split(",") + [os.environ.get("RAY_ADDRESS", "")]
    return list(dict.fromkeys(a.strip() for a in named if a.strip()))


def require_ray() -> None:
    """A ValueError naming the fix when Ray is not installed (checked without importing it)."""
    if importlib.util.find_spec("ray") is None:
        raise ValueError(f"Running on a cluster needs Ray, which is not installed here: {INSTALL}")
