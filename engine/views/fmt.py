"""Figures as people read them, with units: shared by the dashboard and the briefing (no streamlit here)."""

from __future__ import annotations


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


def fmt_accuracy(acc: float | None, low: float | None = None, high: float | None = None) -> str:
    """84.0% (81.2–86.5): accuracy with its 95% interval."""
    if acc is None:
        return "–"
    text = f"{acc:.1%}"
    if low is not None and high is not None:
        text += f" ({low * 100:.1f}–{high * 100:.1f})"
    return text


def speedup_text(speedup: float | None) -> str:
    if speedup is None:
        return "–"
    return f"{speedup:.1f}x faster" if speedup >= 1 else f"{1 / speedup:.1f}x slower"
