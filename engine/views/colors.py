"""One colour per model, the same in every chart, page and briefing (no streamlit: the CLI draws charts too)."""

from __future__ import annotations

from collections.abc import Sequence

# A fixed, colour-blind-aware categorical palette (Tableau 10, reordered so the usual ladder of four
# models gets four clearly different hues on a projector). Model i of the task's ladder gets colour i.
PALETTE = (
    "#59a14f",  # green
    "#f28e2b",  # orange
    "#4e79a7",  # blue
    "#e15759",  # red
    "#b07aa1",  # purple
    "#76b7b2",  # teal
    "#edc948",  # yellow
    "#9c755f",  # brown
    "#ff9da7",  # pink
    "#bab0ac",  # grey
)


def model_colors(domain: Sequence[str]) -> dict[str, str]:
    """Colour for each model, by its position in `domain` (the task's ladder first: see model_order)."""
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(domain)}
