"""The objectives a leanest-variant search minimizes: one table for the search, the requests and the pages."""

from __future__ import annotations

from typing import NamedTuple


class Objective(NamedTuple):
    field: str  # the TrialRecord field minimized
    label: str  # what it is for people
    column: str  # a table column of its values, with the unit


OBJECTIVES = {
    "energy": Objective("energy_wh_per_1k", "Energy per query", "Energy (Wh / 1k queries)"),
    "latency": Objective("latency_p50_ms", "Response time", "Median latency (ms)"),
    "size": Objective("model_size_mb", "Size on disk", "Size (MB)"),
}
