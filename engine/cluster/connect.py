"""Connecting to a Ray cluster (never starting one) and finding the nodes that measure."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType

from engine.cluster import RESOURCE, require_ray


@dataclass(frozen=True)
class Node:
    node_id: str  # Ray's hex node id: new each time the node starts
    host: str  # the node's host name: what stays the same across restarts
    ip: str
    is_head: bool


@contextmanager
def connected(address: str) -> Iterator[ModuleType]:
    """`ray`, connected to the cluster at `address` for the duration (and disconnected after, unless this
    process was already connected). Usage statistics stay off unless the operator turned them on; token
    authentication follows RAY_AUTH_MODE / RAY_AUTH_TOKEN(_PATH) as Ray reads them (docs/cluster.md)."""
    if not address or address == "local":
        raise ValueError("Give the address of a running Ray cluster (host:port, ray://host:port or auto): "
                         "Rightsize does not start one.")
    require_ray()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    mine = not ray.is_initialized()
    if mine:
        try:
            # log_to_driver off: the nodes' output must not mix into `run --json` on stdout
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        except ConnectionError as error:
            raise ValueError(f"Could not connect to the Ray cluster at {address}: {error}") from error
    try:
        yield ray
    finally:
        if mine:
            ray.shutdown()


def measuring_nodes(ray: ModuleType) -> list[Node]:
    """The live nodes that offer the measurement resource."""
    return [Node(n["NodeID"], n.get("NodeManagerHostname", ""), n.get("NodeManagerAddress", ""),
                 "node:__internal_head__" in n.get("Resources", {}))
            for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get(RESOURCE, 0) >= 1]
