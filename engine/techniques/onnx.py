"""ONNX Runtime techniques (final steps): export the fp32 PyTorch model (its output named by the task kind), optionally quantize it to int8,
and serve it with an ONNX Runtime session (engine.models.onnx_model.OnnxModel).

Export: torch.onnx.export(dynamo=False), the TorchScript tracer: the dynamo exporter is slower and writes
weights to a side file. int8: onnxruntime.quantization.quantize_dynamic, int8 weights per output channel
in 7 bits (reduce_range), activations uint8 quantized on the fly per batch.

Why 7 bits: on x86 CPUs without VNNI (this AVX2 machine) ONNX Runtime multiplies uint8 x int8 with an
instruction that saturates at int16 when pairs of products are large; 7-bit weights cannot reach it. A tiny
random BERT's logits moved by up to 0.19 with 8-bit weights and 0.004 with 7-bit. On VNNI CPUs the 8th
bit is lost for nothing, but one setting everywhere keeps the variant the same model on every machine.
Why per channel: on minilm-l6 (500 movie test sentences) int8 changed 14 of the fp32 predictions per channel
vs 49 per tensor (7-bit), 15 vs 31 (8-bit); all four files are 23 MB (fp32: 90 MB).
ORT's quant_pre_process is skipped: its symbolic shape inference fails on transformers 5's mask graph.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch

from engine.config import settings
from engine.models.compiled_model import INPUTS
from engine.models.onnx_model import OnnxModel
from engine.models.text_model import TextModel, count_parameters
from engine.techniques.base import TechniqueContext

OPSET = 17  # has LayerNormalization as one op; the TorchScript exporter's tested range reaches it
PER_CHANNEL = True
REDUCE_RANGE = True
INPUT_AXES = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}}


def output_name(task_id: str) -> str:
    """What the task's kind calls the graph's output ("logits", "embedding")."""
    from engine.tasks import kind_of

    try:
        return kind_of(task_id).output_name
    except ValueError:  # a test double's task: the output is still one row per text
        return "output"


def onnx_fp32(classifier: TextModel, ctx: TechniqueContext) -> OnnxModel:
    module = require_fp32(classifier, "onnx-fp32")
    with work_dir() as folder:
        ctx.progress(0.0, "Exporting to ONNX")
        export_s = export(module, folder / "model.onnx", output_name(ctx.task))
        ctx.progress(0.8, "Starting ONNX Runtime")
        served = OnnxModel(classifier.name, folder / "model.onnx", classifier.tokenizer,
                                count_parameters(module), classifier.info, classifier.max_length)
    ctx.report("onnx-fp32", file_mb=mb(served.size_bytes()), export_s=round(export_s, 2), opset=OPSET,
               providers=served.providers)
    ctx.progress(1.0, "ONNX Runtime ready")
    return served


def onnx_int8(classifier: TextModel, ctx: TechniqueContext) -> OnnxModel:
    module = require_fp32(classifier, "onnx-int8")
    with work_dir() as folder:
        fp32_path, int8_path = folder / "model-fp32.onnx", folder / "model-int8.onnx"
        ctx.progress(0.0, "Exporting to ONNX")
        export_s = export(module, fp32_path, output_name(ctx.task))
        ctx.progress(0.5, "Quantizing the ONNX model to int8")
        quantize_s = quantize_int8(fp32_path, int8_path)
        ctx.progress(0.9, "Starting ONNX Runtime")
        served = OnnxModel(classifier.name, int8_path, classifier.tokenizer,
                                count_parameters(module), classifier.info, classifier.max_length)
        int8_matmuls, fp32_matmuls = op_counts(int8_path, "MatMulInteger", "MatMul")
        fp32_mb = mb(fp32_path.stat().st_size)
    ctx.report("onnx-int8", file_mb=mb(served.size_bytes()), fp32_file_mb=fp32_mb, export_s=round(export_s, 2),
               quantize_s=round(quantize_s, 2), opset=OPSET, providers=served.providers, weight_type="QInt8",
               per_channel=PER_CHANNEL, reduce_range=REDUCE_RANGE, matmuls_int8=int8_matmuls,
               matmuls_fp32=fp32_matmuls)  # the fp32 ones multiply two activations (attention scores)
    ctx.progress(1.0, "ONNX Runtime ready")
    return served


def require_fp32(classifier: TextModel, step: str) -> torch.nn.Module:
    """The classifier's module if it is plain fp32 PyTorch; otherwise a ValueError saying where the step goes."""
    module = classifier.module
    if module is None:
        reason = f"{classifier.name} has no PyTorch model"
    else:
        quantized = [n for n, m in module.named_modules() if ".quantized" in type(m).__module__]
        tensors = [*module.named_parameters(), *module.named_buffers()]
        other = [f"{n} is {t.dtype}" for n, t in tensors if t.is_floating_point() and t.dtype != torch.float32]
        reason = f"{quantized[0] or 'the model'} is already quantized" if quantized else (other[0] if other else "")
    if reason:
        raise ValueError(f"{step} needs an fp32 PyTorch model: put it after pruning/distillation steps and "
                         f"instead of int8-dynamic/bf16 ({reason}).")
    return module


def export(module: torch.nn.Module, path: Path, output: str = "logits") -> float:
    """Export to `path` with dynamic batch and sequence axes; returns seconds taken. Only reads the module
    (the exporter switches it to eval for the trace and back), so no copy of a large model is needed."""
    # The example batch has padding, so the traced graph keeps the attention-mask path whatever it is given.
    input_ids = torch.arange(1, 17, dtype=torch.long).reshape(2, 8)
    attention_mask = torch.ones(2, 8, dtype=torch.long)
    attention_mask[1, 5:] = 0
    started = time.perf_counter()
    with warnings.catch_warnings(), torch.no_grad():
        # The legacy exporter warns it is deprecated; the tracer warns about shape checks that are constant here.
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (input_ids, attention_mask), str(path), dynamo=False, input_names=list(INPUTS),
                          output_names=[output], dynamic_axes={**INPUT_AXES, output: {0: "batch"}}, opset_version=OPSET,
                          do_constant_folding=True, training=torch.onnx.TrainingMode.EVAL)
    return time.perf_counter() - started


def quantize_int8(fp32_path: Path, int8_path: Path) -> float:
    """Dynamic int8 quantization (7-bit int8 weights per output channel, uint8 activations per batch); seconds."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    started = time.perf_counter()
    with quiet_quantizer():
        quantize_dynamic(fp32_path, int8_path, weight_type=QuantType.QInt8, per_channel=PER_CHANNEL,
                         reduce_range=REDUCE_RANGE)
    return time.perf_counter() - started


@contextlib.contextmanager
def quiet_quantizer() -> Iterator[None]:
    """Silences a quantizer: ORT's logs a pre-processing hint that does not apply (see above); NNCF draws
    progress bars on stdout, where `run --json` writes its records."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


@contextlib.contextmanager
def work_dir() -> Iterator[Path]:
    """A private folder in the cache for the .onnx files; gone once the session holds the model."""
    parent = settings().cache_dir / "onnx-tmp"
    parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="export-", dir=parent) as folder:
        yield Path(folder)


def op_counts(path: Path, *op_types: str) -> tuple[int, ...]:
    """How many nodes of each op type the graph at `path` has."""
    import onnx

    ops = [node.op_type for node in onnx.load(str(path)).graph.node]
    return tuple(ops.count(op) for op in op_types)


def mb(size_bytes: int) -> float:
    return round(size_bytes / 1e6, 2)
