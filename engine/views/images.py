"""Altair charts as PNG images for the briefing (vl-convert: Vega-Lite rendered in-process, no browser).

Offline by construction: altair inlines the data, the charts name no web fonts, and `allowed_base_urls=[]`
makes vl-convert refuse any URL a spec might still contain instead of fetching it.
"""

from __future__ import annotations

import re
from typing import Any

import altair as alt

DEFAULT_WIDTH_PX = 520
DEFAULT_SCALE = 2.0  # twice the pixels: sharp in a printed PDF and on high-density screens
HOVER_HINT = re.compile(r"\s*\(?Hover[^.]*\.?\)?")  # "Hover a point for ..." means nothing on paper


def static_spec(chart: alt.TopLevelMixin, width_px: int = DEFAULT_WIDTH_PX,
                height_px: int | None = None) -> dict[str, Any]:
    """The chart's Vega-Lite spec fixed for paper: a set width (the dashboard's fit-to-column has no column
    here), an optional plot height, and no hints about hovering."""
    spec = chart.to_dict()
    spec["width"] = width_px
    if height_px is not None:
        spec["height"] = height_px
    title = spec.get("title")
    if isinstance(title, dict) and isinstance(title.get("subtitle"), list):
        lines = [HOVER_HINT.sub("", line).rstrip() for line in title["subtitle"]]
        title["subtitle"] = [line for line in lines if line]
    return spec


def chart_png(chart: alt.TopLevelMixin, width_px: int = DEFAULT_WIDTH_PX, height_px: int | None = None,
              scale: float = DEFAULT_SCALE) -> bytes:
    """PNG bytes of an altair chart, `width_px` x `scale` pixels wide."""
    import vl_convert

    return vl_convert.vegalite_to_png(static_spec(chart, width_px, height_px), scale=scale, allowed_base_urls=[])


def png_size_px(png: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's header: the briefing sizes images by their aspect ratio."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG image")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
