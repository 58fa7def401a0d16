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


def download_labels(at) -> list[str]:
    return [button.proto.label for button in at.get("download_button")]


def test_live_results_offer_the_briefing_as_pdf_and_html(seeded, reference):
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception
    assert not any("Reference results" in w.value for w in at.warning)  # live results take over
    assert download_labels(at) == ["Download briefing (PDF)", "Download briefing (HTML)"]


def test_reference_snapshot_stands_in_on_a_fresh_install(store, reference):
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception
    (label,) = [w.value for w in at.warning if "Reference results" in w.value]
    assert ("Reference results measured on a quiet 8-core test workstation on 2025-05-20 — not this machine"
            in label)
    (sentence,) = [s.value for s in at.subheader]
    assert "minilm-l6 · int8-dynamic" in sentence and "mpnet-base" in sentence
    assert {m.label for m in at.metric} == {"Accuracy kept", "Energy per 1,000 queries", "CO2e per 1,000 queries",
                                            "Speed-up (median response)"}
    assert any("Run live on this machine" in c.value for c in at.caption)  # the link (its fallback outside navigation)
    assert download_labels(at) == ["Download briefing (PDF)", "Download briefing (HTML)"]
    assert not any("No results yet" in i.value for i in at.info)


def test_a_malformed_reference_is_reported_and_home_still_works(store, reference):
    reference.write_text('{"machine": {"name": "x"}, "records": "oops"}')
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception
    assert any("No results yet" in i.value for i in at.info)
    assert any("could not be read" in c.value and "'produced_at' must be an ISO 8601 date" in c.value
               for c in at.caption)
    assert not at.metric


def test_reference_link_goes_to_the_run_page_in_the_app(store, reference):
    at = AppTest.from_file(str(Path(PAGE).parents[1] / "app" / "main.py"), default_timeout=30).run()
    assert not at.exception
    links = {link.proto.label: link.proto.page_script_hash for link in at.get("page_link")}
    assert links.get("Run live on this machine")
