"""The methodology text, read from docs/methodology.md: the dashboard page shows exactly what the docs say."""

from __future__ import annotations

from pathlib import Path

from engine.config import REPO_ROOT

METHODOLOGY_PATH = REPO_ROOT / "docs" / "methodology.md"


def methodology_markdown(path: Path = METHODOLOGY_PATH) -> tuple[str, str]:
    """(title, body): the document's first-level heading and the Markdown after it."""
    text = path.read_text(encoding="utf-8")
    first, _, rest = text.partition("\n")
    if first.startswith("# "):
        return first[2:].strip(), rest.lstrip("\n")
    return "Methodology", text
