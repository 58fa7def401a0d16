"""A tiny registered task and model per task kind, built from configs (no weights, no pack): a whole trial
of each kind runs in-process in well under a second. Use the `tiny_tasks` fixture (conftest.py)."""

from __future__ import annotations

import random

import numpy as np

from engine.datasets import LabelledTexts, Splits, Texts
from engine.datasets.images import ImageSplits, LabelledImages
from engine.registry import ModelSpec, TaskSpec, TestSetSpec, WeightsSpec

CLASS_WORDS = (("who", "person", "name"), ("where", "city", "place"), ("how", "many", "number"))
FILLER = "the a movie plot film was is it and of".split()


def _texts(n: int, seed: int) -> LabelledTexts:
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        label = rng.randrange(len(CLASS_WORDS))
        words = rng.choices(CLASS_WORDS[label], k=rng.randint(1, 3)) + rng.choices(FILLER, k=rng.randint(2, 6))
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(label)
    return LabelledTexts(tuple(texts), tuple(labels), f"tiny synthetic questions (seed {seed})")


def splits(seed: int = 0) -> Splits:
    return Splits(train=_texts(96, 10 + seed), validation=_texts(48, 20 + seed), test=_texts(64, 30 + seed))


def test_split(seed: int = 0) -> LabelledTexts:
    return splits(seed).test


def transfer(seed: int = 0) -> Texts:
    return Texts(tuple(t for t in _texts(40, 40 + seed).texts), "tiny unlabelled questions")


class Rated:
    """Six 'documents' rated by 'people': pairs of the same class are alike."""

    def __init__(self) -> None:
        data = _texts(6, 50)
        self.documents = data.texts
        same = np.equal.outer(np.array(data.labels), np.array(data.labels))
        self.human = np.where(same, 0.9, 0.1)
        self.source = "tiny rated documents"


def rated() -> Rated:
    return Rated()


SHAPES = ("bar", "column", "square")


def _images(n: int, seed: int) -> LabelledImages:
    """28x28 grey images of a horizontal bar, a vertical bar or a hollow square, placed at random, with noise."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 40, size=(n, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, len(SHAPES), size=n)
    for image, label in zip(images, labels, strict=True):
        r, c = rng.integers(4, 14, size=2)
        if label == 0:
            image[r:r + 4, c - 2:c + 14] = 230
        elif label == 1:
            image[r - 2:r + 14, c:c + 4] = 230
        else:
            image[r:r + 10, c:c + 10] = 230
            image[r + 2:r + 8, c + 2:c + 8] = 20
    return LabelledImages(images, tuple(int(y) for y in labels), f"tiny synthetic shapes (seed {seed})", SHAPES)


def image_splits(seed: int = 0) -> ImageSplits:
    return ImageSplits(_images(192, 60 + seed), _images(48, 70 + seed), _images(64, 80 + seed))


def image_test(seed: int = 0) -> LabelledImages:
    return image_splits(seed).test


def image_transfer(seed: int = 0) -> LabelledImages:
    return _images(32, 90 + seed)


MODELS = {
    m.id: m
    for m in (
        ModelSpec("tiny-s", "encoder", 0.02, "a 2-layer BERT from a config (tests)", WeightsSpec("tiny-config"),
                  install="(built in)", layers=2),
        ModelSpec("tiny-l", "encoder", 0.04, "a 4-layer BERT from a config (tests)", WeightsSpec("tiny-config"),
                  install="(built in)", layers=4),
        ModelSpec("tiny-cnn-s", "cnn", 0.0003, "a 2-convolution CNN from a config (tests)",
                  WeightsSpec("cnn", path="channels=2,4 hidden=0"), install="(built in)"),
        ModelSpec("tiny-cnn-l", "cnn", 0.002, "a 3-convolution CNN from a config (tests)",
                  WeightsSpec("cnn", path="channels=4,8,8 hidden=16"), install="(built in)"),
        ModelSpec("tiny-lm", "llm", 0.03, "a 2-layer Llama from a config (tests)",
                  WeightsSpec("tiny-causal-config"), install="(built in)", layers=2, memory_mb=1),
    )
}
LADDER = ("tfidf", "tiny-s", "tiny-l")
CLASSIFY_LADDER = (*LADDER, "tiny-lm")  # an LLM rung prompts; search has none
TASKS = {
    t.id: t
    for t in (
        TaskSpec("tiny-topic", "Route tiny questions", "Three kinds of tiny question.", "text-classification",
                 ("person", "place", "number"), "tiny_tasks:splits",
                 (TestSetSpec("tiny-test", "tiny test split", "tiny_tasks:test_split"),), CLASSIFY_LADDER, LADDER,
                 metric="macro-f1", transfer_loader="tiny_tasks:transfer"),
        TaskSpec("tiny-generate", "Write tiny text", "A tiny language model writes.", "generation", (),
                 "tiny_tasks:splits", (TestSetSpec("tiny-test", "tiny test split", "tiny_tasks:test_split"),),
                 ("tiny-lm",), ("tiny-lm",), metric="bits-per-byte",
                 extra={"prompts": "tiny_tasks:transfer", "max_new_tokens": 4}),
        TaskSpec("tiny-search", "Find tiny similar questions", "Tiny semantic search.", "retrieval", (),
                 "tiny_tasks:splits", (TestSetSpec("tiny-test", "tiny test split", "tiny_tasks:test_split"),),
                 LADDER, LADDER, metric="precision@10", transfer_loader="tiny_tasks:transfer",
                 extra={"human_similarity": "tiny_tasks:rated"}),
        TaskSpec("tiny-photos", "Sort tiny shapes", "Three kinds of tiny shape.", "image-classification", SHAPES,
                 "tiny_tasks:image_splits", (TestSetSpec("tiny-test", "tiny test images", "tiny_tasks:image_test"),),
                 ("tiny-cnn-s", "tiny-cnn-l"), ("tiny-cnn-s", "tiny-cnn-l"), transfer_loader="tiny_tasks:image_transfer",
                 extra={"min_images_seen": 1500}),
    )
}
