"""Where, when and how the figures were measured, and how far to trust them.

Pure: every function takes records and returns data (no store, no streamlit).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from engine.quality import metric_for, noun
from engine.record import TrialRecord
from engine.summary.variants import cpu_name, ok_records


@dataclass(frozen=True)
class Provenance:
    cpus: tuple[str, ...]
    threads: tuple[int, ...]
    first: str  # ISO date of the earliest trial
    last: str
    energy_methods: tuple[str, ...]
    regions: tuple[str, ...]  # "USA 369 g/kWh"
    eval_sizes: tuple[int, ...]
    n: int
    n_contended: int
    metric: str = "accuracy"  # the metric's noun, for the caption

    @property
    def caption(self) -> str:
        """One line saying where, when and how the figures were measured, and how far to trust them."""
        if not self.n:
            return "No measurements."
        threads = f" ({'/'.join(map(str, self.threads))} threads)" if self.threads else ""
        when = self.first if self.first == self.last else f"{self.first} to {self.last}"
        parts = [f"Measured on {', '.join(self.cpus)}{threads}, {when}"]
        if self.energy_methods:
            parts.append("energy " + "; ".join(self.energy_methods))
        if self.regions:
            parts.append("grid " + ", ".join(self.regions))
        if self.eval_sizes:
            parts.append(f"{self.metric} on {'/'.join(map(str, self.eval_sizes))} test items (95% CI)")
        if self.n_contended:
            parts.append(
                f"⚠ {self.n_contended} of {self.n} measurements ran while other programs used the CPU "
                "(figures less reliable)"
            )
        else:
            parts.append("no CPU contention detected")
        return " · ".join(parts)


def provenance(records: Iterable[TrialRecord]) -> Provenance:
    ok = ok_records(records)
    dates = sorted(r.started_at[:10] for r in ok if r.started_at)

    def uniq(values: Iterable) -> tuple:
        return tuple(v for v, _ in Counter(v for v in values if v not in ("", None, 0)).most_common())

    return Provenance(
        cpus=uniq(cpu_name(r) for r in ok),
        threads=tuple(sorted(uniq(r.threads for r in ok))),
        first=dates[0] if dates else "",
        last=dates[-1] if dates else "",
        energy_methods=uniq(r.energy_method for r in ok),
        regions=uniq(
            f"{r.region} {r.grid_g_per_kwh:.0f} g/kWh" if r.grid_g_per_kwh is not None else r.region for r in ok
        ),
        eval_sizes=tuple(sorted(uniq(r.eval_size for r in ok))),
        n=len(ok),
        n_contended=sum(1 for r in ok if r.contended),
        metric=noun(metric_for(ok)),
    )
