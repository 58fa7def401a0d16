"""Methodology page: renders docs/methodology.md (one text for docs and dashboard) and is in the navigation."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from app.ui import PAGES
from engine.views.methodology import METHODOLOGY_PATH

ROOT = Path(__file__).resolve().parents[1]


def test_renders_the_shared_text(store):
    at = AppTest.from_file(str(ROOT / "pages" / "methodology.py"), default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "How Rightsize obtains each figure"
    text = " ".join(m.value for m in at.markdown)
    for word in ("bootstrap", "codecarbon", "PUE", "estimated", "contention", "EPA"):
        assert word in text
    assert text.strip() in METHODOLOGY_PATH.read_text()  # shown as written, nothing added or lost


def test_registered_in_the_navigation(store):
    assert PAGES["methodology"][0] == "methodology.py"
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=30).run()
    at.switch_page(str(ROOT / "pages" / "methodology.py")).run()
    assert not at.exception and at.title[0].value == "How Rightsize obtains each figure"
