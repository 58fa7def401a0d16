"""Compression techniques as data: each names the model families it applies to and its handler."""

from __future__ import annotations

from engine.registry.specs import ParamSpec, TechniqueSpec

ENCODER = ("encoder", "cnn")  # cnn: image models; their kind says which steps it runs its own way
LLM = ("llm",)  # causal language models: their handlers live in engine.techniques.llm


def _llm(handler: str) -> tuple[tuple[str, str], ...]:
    return (("llm", f"engine.techniques.llm:{handler}"),)

TECHNIQUES: dict[str, TechniqueSpec] = {
    t.id: t
    for t in (
        TechniqueSpec(
            "fp32", "Full precision (baseline)",
            "The model as published: 32-bit numbers everywhere. The reference the others are compared to.",
            ("encoder", "rule-based", "classic", "cnn", "llm"), "engine.techniques.quantize:fp32",
            keeps_weights=True,
        ),
        TechniqueSpec(
            "int8-dynamic", "8-bit weights (PyTorch)",
            "Stores the big matrices and the vocabulary as 8-bit integers instead of 32-bit numbers: "
            "about 4x smaller, usually faster on CPUs.",
            ENCODER + LLM, "engine.techniques.quantize:int8_dynamic", needs_fp32=True, leaves_fp32=True,
            family_handlers=_llm("int8_dynamic"),
        ),
        TechniqueSpec(
            "bf16", "Half precision (bfloat16)",
            "Uses 16-bit numbers: half the memory. Fast only on chips with bfloat16 instructions; "
            "elsewhere it is emulated and slower.",
            ENCODER + LLM, "engine.techniques.quantize:bf16", needs_fp32=True, leaves_fp32=True,
            family_handlers=_llm("bf16"),
        ),
        TechniqueSpec(
            "onnx-fp32", "ONNX Runtime (same numbers)",
            "Runs the unchanged model in ONNX Runtime, a lean inference engine: shows what the engine alone gains.",
            ENCODER, "engine.techniques.onnx:onnx_fp32", final=True, needs_fp32=True,
        ),
        TechniqueSpec(
            "onnx-int8", "ONNX Runtime, 8-bit",
            "ONNX Runtime with 8-bit weights: the fastest way measured to run these models on a CPU.",
            ENCODER, "engine.techniques.onnx:onnx_int8", final=True, needs_fp32=True,
        ),
        TechniqueSpec(
            "onnx-int8-static", "ONNX Runtime, 8-bit, calibrated",
            "ONNX Runtime with 8-bit weights and 8-bit intermediate numbers whose ranges were measured once on "
            "training examples: less work per query than plain 8-bit, and the fast way to run convolutions in 8 "
            "bits (dynamic 8-bit recomputes ranges per query and runs slower than 32-bit on them).",
            ENCODER, "engine.techniques.onnx_static:onnx_int8_static", final=True, needs_fp32=True,
        ),
        TechniqueSpec(
            "ov-fp32", "OpenVINO (same numbers)",
            "Runs the unchanged model in OpenVINO, Intel's inference engine for CPUs: what that engine alone gains.",
            ENCODER, "engine.techniques.openvino:ov_fp32", final=True, needs_fp32=True,
        ),
        TechniqueSpec(
            "ov-bf16", "OpenVINO, half precision",
            "OpenVINO computing in 16-bit bfloat16: fast on chips with bfloat16 instructions (AMX, AVX-512 BF16); "
            "elsewhere it runs in full precision.",
            ENCODER, "engine.techniques.openvino:ov_bf16", final=True, needs_fp32=True,
        ),
        TechniqueSpec(
            "ov-int8", "OpenVINO, 8-bit, calibrated",
            "OpenVINO with 8-bit numbers, calibrated on training sentences (NNCF): often the fastest on CPUs "
            "with 8-bit dot-product instructions (VNNI, AMX).",
            ENCODER, "engine.techniques.openvino:ov_int8", final=True, needs_fp32=True,
        ),
        TechniqueSpec(
            "ov-int8-aware", "OpenVINO, 8-bit within a quality limit",
            "OpenVINO with 8-bit numbers, except the parts that cost the most quality: those stay in full "
            "precision until the model is within max_drop points of it on validation sentences.",
            ENCODER, "engine.techniques.openvino_accuracy:ov_int8_aware",
            (ParamSpec("max_drop", "float", 1.0, 0.0, 100.0,
                       help="points of the task's validation score the 8-bit model may lose"),),
            final=True, needs_fp32=True,
        ),
        TechniqueSpec(
            "auto", "Fastest runtime for this CPU",
            "Reads which number formats this CPU computes natively, times the fitting runtimes on the model "
            "itself for a few seconds, and keeps the fastest; the record says why.",
            ENCODER, "engine.techniques.auto:auto", final=True, needs_fp32=True,
        ),
        TechniqueSpec(
            "prune-unstructured", "Pruning, scattered weights",
            "Sets the smallest weights to zero. The file compresses well, but a CPU is no faster: it still "
            "multiplies the zeros.",
            ENCODER, "engine.techniques.prune:prune_unstructured",
            (ParamSpec("sparsity", "float", 0.5, 0.0, 1.0, high_open=True, help="share of weights set to zero"),),
            needs_fp32=True,
        ),
        TechniqueSpec(
            "prune-structured", "Pruning, whole heads and neurons",
            "Removes the least important attention heads and neurons outright: a genuinely smaller, faster model.",
            ENCODER, "engine.techniques.prune:prune_structured",
            (ParamSpec("keep", "float", 0.5, 0.0, 1.0, low_open=True, help="share of heads and neurons kept"),),
            needs_fp32=True,
        ),
        TechniqueSpec(
            "layer-drop", "Fewer layers",
            "Keeps only some of the model's layers, evenly spaced: much faster, but it forgets; pair it with "
            "distillation.",
            ENCODER + LLM, "engine.techniques.layers:layer_drop",
            (ParamSpec("keep", "int", 3, 1, None, help="number of layers kept"),),
            family_handlers=_llm("layer_drop"),
        ),
        TechniqueSpec(
            "int8-weight", "8-bit weights only (LLM)",
            "Stores a language model's big matrices as 8-bit integers with one scale per row and computes in "
            "the usual precision: half the size of bf16, nearly the same answers, but no faster on a CPU.",
            LLM, "engine.techniques.llm:int8_weight", leaves_fp32=True,
        ),
        TechniqueSpec(
            "few-shot", "Worked examples in the prompt (LLM)",
            "Shows the language model k solved training examples before each question: often more accurate, "
            "but every query reads a longer prompt, so it costs more time and energy.",
            LLM, "engine.techniques.llm:few_shot",
            (ParamSpec("k", "int", 4, 1, 16, help="solved training examples in each prompt"),),
            keeps_weights=True,
        ),
        TechniqueSpec(
            "llamacpp", "llama.cpp, the 4-bit file as shipped (LLM)",
            "Runs the language model's own packaged file in llama.cpp, the engine people use to run small "
            "language models on laptops and phones: 4-bit weights and CPU kernels built for them, no conversion. "
            "bits=8/6/5/3/2 requantizes that file to another GGUF level once.",
            LLM, "engine.techniques.llm:llamacpp",
            (ParamSpec("bits", "int", 0, 0, 8, optional=True,
                       help="GGUF level: 0 the file as packaged (4-bit); 8, 6, 5, 4, 3 or 2: requantized from it once"),),
            final=True, packaged_file=True,
        ),
        TechniqueSpec(
            "distill", "Distillation from a large teacher",
            "Retrains the small model to imitate a large 'teacher' model's answers: large models train, "
            "small ones serve. Costs energy once, up front.",
            ENCODER, "engine.techniques.distill:distill",
            (ParamSpec("teacher", "model", "mpnet-base", help="the large model to learn from"),
             ParamSpec("epochs", "int", 2, 1, 10, help="passes over the training sentences"),
             ParamSpec("transfer", "int", 0, 0, 20000,
                       help="extra unlabelled sentences the teacher labels for the student (0: labelled ones only)",
                       optional=True)),
            needs_fp32=True,
        ),
        TechniqueSpec(
            "finetune", "Retraining on the labels alone",
            "Retrains the model on the labelled examples only, without a teacher: the yardstick for distillation.",
            ENCODER, "engine.techniques.distill:finetune",
            (ParamSpec("epochs", "int", 2, 1, 10, help="passes over the training sentences"),),
            needs_fp32=True,
        ),
    )
}


