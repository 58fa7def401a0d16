"""What runs on a cluster node: one trial, measured as a local run measures it (engine.runner.measure: a fresh
`python -m engine trial` child, so peak memory is the variant's own and not the Ray worker's, under the node's
machine-wide lock, with the contended repeat), its events yielded back to the sweep as they come."""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from engine.trial import TrialSpec

PROGRESS_EVERY_S = 0.25  # each event is an object in Ray's store: a trial's chatter is thinned to this


def measure_events(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A Ray streaming-generator task: {"node": ...} first, then {"progress", "message"}, {"curve"} and one or two
    {"record"} (a contended measurement and its repeat), or {"error"} if measuring itself broke."""
    import ray

    from engine.runner import measure

    node = {"ray_node_id": ray.get_runtime_context().get_node_id(), "hostname": socket.gethostname(),
            "ray_node_ip": ray.util.get_node_ip_address()}
    yield {"node": node}
    events: queue.Queue[dict[str, Any] | None] = queue.Queue()
    last = [0.0]

    def progress(fraction: float, message: str) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S or fraction >= 1.0:
            last[0] = now
            events.put({"progress": fraction, "message": message})

    def work() -> None:
        try:
            for record in measure(TrialSpec(**spec), progress, lambda m, t, point: events.put({"curve": point})):
                record.hardware.update(ray_node_id=node["ray_node_id"], ray_node_ip=node["ray_node_ip"])
                events.put({"record": record.to_dict()})
        except Exception as error:  # noqa: BLE001 - the sweep turns it into a failed trial
            events.put({"error": f"{type(error).__name__}: {error}"})
        finally:
            events.put(None)

    # The measuring thread owns the child process; if Ray kills this worker (cancel, node lost), the child
    # dies with it (PR_SET_PDEATHSIG in `engine trial`).
    threading.Thread(target=work, name="rightsize-trial", daemon=True).start()
    while (event := events.get()) is not None:
        yield event
