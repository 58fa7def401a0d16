"""Who runs next when a room shares one worker: round robin across owners (dashboard sessions, the CLI).

Pure: it orders jobs and nothing else, so the worker's choice (Store.claim_next) and the queue the Run page
shows (engine.queue.queue_view) are the same order by construction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar


class Queued(Protocol):
    id: int
    owner: str


J = TypeVar("J", bound=Queued)


def run_order(queued: Sequence[J], last_started: Mapping[str, str]) -> list[J]:
    """The order in which `queued` jobs will start. Each turn goes to the owner served longest ago (never
    served first; ties to the oldest waiting job), who runs their oldest queued job, then goes to the back.

    `last_started`: owner -> ISO time their latest job started (jobs still running count)."""
    waiting: dict[str, list[J]] = {}
    for job in sorted(queued, key=lambda j: j.id):
        waiting.setdefault(job.owner, []).append(job)
    served = {owner: (last_started.get(owner) or "", 0) for owner in waiting}  # (time, turns taken here)
    order: list[J] = []
    turn = 0
    while waiting:
        owner = min(waiting, key=lambda o: (served[o][1], served[o][0], waiting[o][0].id))
        order.append(waiting[owner].pop(0))
        turn += 1
        served[owner] = (served[owner][0], turn)
        if not waiting[owner]:
            del waiting[owner]
    return order
