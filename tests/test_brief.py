"""engine.views.brief: the one-page briefing as HTML (charts inline) and PDF (one page, verdict, provenance)."""

import base64
import dataclasses
import datetime as dt
import io
from types import SimpleNamespace

import altair as alt
import pandas as pd
import pytest
from conftest import make_record
from pypdf import PdfReader

from engine.summary.headline import headline
from engine.views.brief import brief_html, brief_pdf, build_briefing
from engine.views.brief_pdf import latin1
from engine.views.brief_sections import recommendation_section, whatif_section
from engine.views.images import chart_png, png_size_px, static_spec

RECORDS = [make_record(m, t, job_id=4) for m in ("minilm-l3", "minilm-l6", "mpnet-base") for t in ("fp32", "int8-dynamic")]
VERDICT = "minilm-l6 · int8-dynamic keeps 95% of mpnet-base's accuracy at 5.0% of its energy per query."
WHATIF = {  # the shape of the what-if CLI's JSON
    "assumptions": {"queries_per_year": 10_000_000, "pue": 1.4, "electricity_usd_per_kwh": 0.15},
    "variants": [{"model": r.model, "technique": r.technique, "energy_kwh_per_year": r.energy_wh_per_1k * 14,
                  "co2e_t_per_year": r.co2e_g_per_1k * 1.4e-5, "cost_usd_per_year": 12.5} for r in RECORDS],
}
RECOMMEND = {"recommended": RECORDS[3].to_dict(), "runner_up": RECORDS[1].to_dict(),
             "reason": "The cheapest per query within 1 accuracy point of mpnet-base.",
             "binding_constraint": "accuracy floor (87.0%)"}


@pytest.fixture(scope="module")
def briefing():
    """Charts are drawn once for the module (a few seconds)."""
    return build_briefing(RECORDS, recommendation=RECOMMEND, whatif=WHATIF, today=dt.date(2025, 6, 3))


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_content_verdict_and_kpis_with_provenance(briefing):
    assert briefing.verdict == VERDICT
    assert [k.label for k in briefing.kpis] == ["Accuracy kept", "Energy per 1,000 queries",
                                                "CO2e per 1,000 queries", "Speed-up (median response)"]
    assert [k.how for k in briefing.kpis] == ["measured", "estimated", "estimated", "measured"]
    assert all("AMD EPYC" in k.context and "2025-06-02" in k.context and "quiet CPU" in k.context
               for k in briefing.kpis)
    assert briefing.prepared_on == "2025-06-03" and briefing.task.startswith("Classify customer reviews")


def test_html_is_self_contained_with_each_chart_inline(briefing):
    html = brief_html(briefing)
    assert html.count('<img src="data:image/png;base64,') == len(briefing.charts) == 2
    for chart in briefing.charts:
        assert base64.b64encode(chart.png).decode() in html
    assert VERDICT.replace("'", "&#x27;") in html
    assert "http://" not in html and "https://" not in html and "<link" not in html and "<script" not in html
    assert "Recommended: minilm-l6 · int8-dynamic" in html and "Queries per year: 10,000,000" in html


def test_pdf_is_one_page_with_the_verdict_and_how_figures_were_obtained(briefing):
    data = brief_pdf(briefing)
    assert data.startswith(b"%PDF")
    pages, text = pdf_text(data)
    assert pages == 1
    assert VERDICT in text and "estimated" in text and "measured" in text
    assert "Recommended: minilm-l6 · int8-dynamic" in text and "PUE: 1.4" in text


def test_pdf_without_dejavu_falls_back_to_a_core_font(briefing, tmp_path):
    labelled = dataclasses.replace(briefing, note="Reference results — not this machine; accuracy ≥ 95%, CO₂e")
    pages, text = pdf_text(brief_pdf(labelled, font_dir=tmp_path, paper="Letter"))  # tmp_path holds no fonts
    assert pages == 1
    assert "Reference results - not this machine; accuracy >= 95%, CO2e" in text and VERDICT in text


def test_pdf_stays_one_page_with_long_inputs(briefing):
    long = recommendation_section(headline(RECORDS), {**RECOMMEND, "reason": "A long reason. " * 60})
    rows = {**WHATIF, "variants": WHATIF["variants"] * 5}
    crowded = dataclasses.replace(briefing, recommendation=long, whatif=whatif_section(rows))
    assert pdf_text(brief_pdf(crowded))[0] == 1
    assert "24 more variants in the full what-if" in " ".join(crowded.whatif.notes)


def test_recommendation_from_objects_or_dicts_and_the_default_rule():
    result = headline(RECORDS)
    from_objects = recommendation_section(result, SimpleNamespace(
        recommended=RECORDS[3], runner_up=None, reason="Cheapest.", binding_constraint=None))
    assert from_objects.lines == ("Recommended: minilm-l6 · int8-dynamic (84.0% accuracy, 0.035 Wh per 1,000 "
                                  "queries).", "Cheapest.")
    nothing = recommendation_section(result, {"recommended": None, "reason": "Latency budget too tight.",
                                              "binding_constraint": "latency p95 <= 1 ms"})
    assert nothing.lines[0] == "No variant meets every constraint."
    assert "The constraint that decided it: latency p95 <= 1 ms." in nothing.lines
    default = recommendation_section(result)
    assert default.lines[0].startswith("Consider minilm-l6 · int8-dynamic in place of mpnet-base · fp32")
    assert "No business constraints" in default.lines[1]


def test_whatif_table_and_assumptions_in_words():
    section = whatif_section(SimpleNamespace(assumptions=SimpleNamespace(queries_per_year=1_000_000, pue=1.2),
                                             variants=WHATIF["variants"][:2]))
    assert section.lines == ("Queries per year: 1,000,000", "PUE: 1.2")
    assert section.table[0] == ("Variant", "Energy, kWh", "CO2e, tonnes", "Cost, USD")
    assert section.table[1] == ("minilm-l3 · fp32", "0.560", "0.000000207", "12.5")  # no exponents
    assert "No scenario was applied" in whatif_section(None).lines[0]


PIPELINE = "layer-drop:keep=3+distill:teacher=mpnet-base,epochs=2+onnx-int8"
PROJECTION = {  # engine.whatif.Projection.to_dict(), abridged
    "assumptions": [
        {"name": "pue", "label": "Data-centre PUE", "value": 1.58, "unit": "",
         "source": "Uptime Institute Global Data Center Survey 2023: industry average annual PUE 1.58"},
        {"name": "price_kwh", "label": "Electricity price", "value": 0.127, "unit": "USD/kWh",
         "source": "your input"},
    ],
    "baseline": {"model": "mpnet-base", "technique": "fp32"},
    "variants": [
        {"model": "minilm-l3", "technique": "fp32", "energy_kwh_per_year": 2.31, "co2e_t_per_year": 0.00085,
         "cost_usd_per_year": 5.12, "savings": None},
        {"model": "mpnet-base", "technique": "fp32", "energy_kwh_per_year": 40.4, "co2e_t_per_year": 0.0149,
         "cost_usd_per_year": 142.0, "savings": None},
        {"model": "minilm-l6", "technique": PIPELINE, "energy_kwh_per_year": 0.807, "co2e_t_per_year": 0.0003,
         "cost_usd_per_year": 1.77, "savings": {"vs": "mpnet-base · fp32", "co2e_t_total": 0.0438, "equivalents": [
             {"id": "car_km", "label": "km driven by an average gasoline passenger car", "amount": 180.2},
             {"id": "tree_months", "label": "months of CO2 uptake by an urban tree seedling", "amount": 87.6}]}},
    ],
}


def test_whatif_from_the_projection_json_shape():
    section = whatif_section(PROJECTION, ("minilm-l6", PIPELINE))
    assert section.lines == ("Data-centre PUE: 1.58 (Uptime Institute Global Data Center Survey 2023)",
                             "Electricity price: 0.127 USD/kWh (your input)")
    assert [row[0] for row in section.table[1:]] == [  # the focus first, then the baseline; short labels
        "minilm-l6 · layer-drop(3)+distill(…)+onnx-int8", "mpnet-base · fp32", "minilm-l3 · fp32"]
    assert section.notes == ("minilm-l6 · layer-drop(3)+distill(…)+onnx-int8 saves 0.0438 t CO2e over the horizon "
                             "vs mpnet-base · fp32: 180 km driven by an average gasoline passenger car or 87.6 "
                             "months of CO2 uptake by an urban tree seedling.",)


def test_recommendation_from_the_recommend_json_shape():
    result = headline(RECORDS)
    chosen = recommendation_section(result, {
        "recommended": RECORDS[3].to_dict(), "runner_up": RECORDS[1].to_dict(),
        "reason": "minilm-l6 int8-dynamic: keeps 95% of the best accuracy.",
        "runner_up_reason": "minilm-l3 int8-dynamic: keeps 89% of the best accuracy.",
        "binding_constraint": None, "binding_detail": "", "nearest_miss": None, "nearest_miss_reason": ""})
    assert chosen.lines[-1] == "Runner-up: minilm-l3 int8-dynamic: keeps 89% of the best accuracy."
    detail = "The minimum accuracy binds: without it 6 of 6 variants would qualify."
    none = recommendation_section(result, {
        "recommended": None, "runner_up": None, "reason": f"No variant meets every constraint. {detail}",
        "binding_constraint": "min_quality", "binding_detail": detail,
        "nearest_miss_reason": "mpnet-base · fp32 comes closest: accuracy 0.880 is below the 0.950 minimum."})
    assert none.lines == (f"No variant meets every constraint. {detail}",  # said once, not twice
                          "mpnet-base · fp32 comes closest: accuracy 0.880 is below the 0.950 minimum.")


def test_too_few_results_for_a_verdict():
    with pytest.raises(ValueError, match="at least two measured variants"):
        build_briefing([make_record("minilm-l6", "fp32")], with_charts=False)


def test_latin1_spells_out_symbols():
    assert latin1("a · b ≥ c — CO₂ ⚠ 日本") == "a · b >= c - CO2 ! ??"


def test_chart_images_are_offline_and_drop_hover_hints():
    chart = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_point().encode(x="x:Q").properties(
        title=alt.TitleParams("t", subtitle=["Bars: 95% interval. Hover a point for its provenance."]))
    spec = static_spec(chart, 300, 120)
    assert spec["title"]["subtitle"] == ["Bars: 95% interval."] and (spec["width"], spec["height"]) == (300, 120)
    assert 300 <= png_size_px(chart_png(chart, 300, scale=1))[0] <= 330  # + padding: no autosize here
    remote = alt.Chart(alt.UrlData("https://example.com/data.csv")).mark_point().encode(x="x:Q")
    with pytest.raises(ValueError, match="not allowed"):
        chart_png(remote)


def test_without_a_scenario_the_default_one_is_applied_and_said_to_be():
    from engine.scenario import DEFAULTS, Scenario
    from engine.whatif import project

    plain = build_briefing(RECORDS, with_charts=False)
    assert "default what-if scenario" in plain.note
    expected = project(RECORDS, Scenario())
    text = " ".join(plain.whatif.lines) + " ".join(" ".join(row) for row in plain.whatif.table)
    assert str(DEFAULTS["pue"].value) in text and "Uptime Institute" in text
    from engine.views.brief_sections import _number

    year_one = {_number(v.first_year.energy_kwh) for v in expected.variants}
    assert len(plain.whatif.table) > 1 and {row[1] for row in plain.whatif.table[1:]} <= year_one
