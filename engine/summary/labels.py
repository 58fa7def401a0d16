"""Labels and numbers for people: percentages, query counts, pipeline specs shortened for charts.

Pure: every function takes records and returns data (no store, no streamlit).
"""

from __future__ import annotations


def fmt_pct(value: float) -> str:
    """A percentage for people: 96%, 4.3%, 0.42%; never rounds 99.6 up to a misleading 100%."""
    if value >= 10:
        text = f"{value:.0f}"
        if text == "100" and value < 100:
            text = f"{value:.1f}"
        return text + "%"
    if value >= 1:
        return f"{value:.1f}%"
    return f"{value:.2g}%"


def fmt_queries(n: float | None) -> str:
    """'never', '640 queries', '12,000 queries', '3.4 million queries'."""
    if n is None:
        return "never"
    if n >= 1e9:
        return f"{n / 1e9:.2g} billion queries"
    if n >= 1e6:
        return f"{n / 1e6:.2g} million queries"
    if n >= 100:
        n = float(f"{n:.2g}")  # two significant digits: the energy figures are estimates
    return f"{n:,.0f} quer{'y' if round(n) == 1 else 'ies'}"


def short_technique(spec: str, max_chars: int = 34) -> str:
    """A pipeline spec for chart labels: parameter names dropped, steps joined with "+". When still long, the
    longest parameter lists become "…" (step names matter most), then go, then the middle is cut.
    "layer-drop:keep=3+distill:teacher=mpnet-base,epochs=2+onnx-int8" ->
    "layer-drop(3)+distill(mpnet-base,2)+onnx-int8", or "layer-drop(3)+distill(…)+onnx-int8" in 34 characters.
    The full spec goes in tooltips."""
    steps = []
    for part in spec.split("+"):
        name, _, raw = part.partition(":")
        steps.append([name, ",".join(item.partition("=")[2] or item for item in raw.split(",") if item)])

    def text() -> str:
        return "+".join(f"{name}({args})" if args else name for name, args in steps)

    for step in sorted(steps, key=lambda s: -len(s[1])):
        if len(text()) <= max_chars or not step[1]:
            break
        step[1] = "…"
    out = text() if len(text()) <= max_chars else "+".join(name for name, _ in steps)
    if len(out) <= max_chars:
        return out
    head = (max_chars - 1) // 2
    return f"{out[:head]}…{out[len(out) - (max_chars - 1 - head):]}"
