"""Home page: the latest comparison's headline, or a pointer to Run when there are no results."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "home.py")


def test_headline_names_the_models_and_a_percentage(seeded):
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception
    (sentence,) = [s.value for s in at.subheader]
    assert "minilm-l6 · int8-dynamic" in sentence and "mpnet-base" in sentence and "%" in sentence
    metrics = {m.label: m for m in at.metric}
    assert metrics["Accuracy kept"].value == "95%"
    assert metrics["Energy per 1,000 queries"].value == "0.035 Wh"
    assert "faster" in metrics["Speed-up (median response)"].value
    assert any("Measured on AMD EPYC" in c.value and "estimated" in c.value for c in at.caption)


def test_empty_store_says_no_results_yet(store):
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception
    assert any("No results yet" in i.value for i in at.info)
    assert not at.metric


def test_entry_point_opens_home_with_working_links(seeded):
    """app/main.py (st.navigation) runs the home page by default; page links resolve to registered pages."""
    at = AppTest.from_file(str(Path(PAGE).parents[1] / "app" / "main.py"), default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value.startswith("Rightsize")
    links = at.get("page_link")
    assert links and links[0].proto.page_script_hash  # a real link, not the "open it from the menu" fallback
