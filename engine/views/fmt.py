"""Figures as people read them, with units: shared by the dashboard and the briefing (no streamlit here)."""

from __future__ import annotations

from engine.quality import is_share
from engine.registry import MetricSpec


def amount(value: float | None, unit: str = "", digits: int = 3) -> str:
    """3 significant figures, thousands separated: 0.00123, 4.56, 789, 12,300 (with a unit when given)."""
    if value is None:
        return "–"
    if value == 0:
        return f"0 {unit}".strip()
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.{digits}g}"
    return f"{text} {unit}".strip()


def fmt_wh(value: float | None) -> str:
    """Energy per 1,000 queries."""
    return amount(value, "Wh")


def fmt_g(value: float | None) -> str:
    """Grams of CO2e per 1,000 queries."""
    return amount(value, "g")


def fmt_ms(value: float | None) -> str:
    return amount(value, "ms")


def fmt_mb(value: float | None) -> str:
    return amount(value, "MB")


def fmt_score(value: float | None, low: float | None = None, high: float | None = None,
              metric: MetricSpec | None = None) -> str:
    """84.0% (81.2–86.5): a share (accuracy, F1, precision@10) with its 95% interval; a correlation as
    0.654 (0.611–0.700)."""
    if value is None:
        return "–"
    if metric is not None and not is_share(metric):
        text = f"{value:.3f}"
        return text + (f" ({low:.3f}–{high:.3f})" if low is not None and high is not None else "")
    text = f"{value:.1%}"
    if low is not None and high is not None:
        text += f" ({low * 100:.1f}–{high * 100:.1f})"
    return text


def speedup_text(speedup: float | None) -> str:
    if speedup is None:
        return "–"
    return f"{speedup:.1f}x faster" if speedup >= 1 else f"{1 / speedup:.1f}x slower"
