"""The classic baseline: TF-IDF word and bigram weights (scikit-learn), no neural network.

For classification a logistic regression sits on top (C chosen on the validation split by the task's metric,
as for the encoder heads); for search the TF-IDF vector itself is the embedding (cosine similarity). Fitted in
seconds on every load, so nothing is cached and nothing is unpickled.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from engine.models.heads import C_GRID

VECTORIZER = {"ngram_range": (1, 2), "sublinear_tf": True, "min_df": 2, "strip_accents": "unicode"}


class TfidfModel:
    """texts -> TF-IDF vectors -> (optionally) logistic-regression class scores."""

    module = None  # no PyTorch module: quantization, pruning and ONNX do not apply
    tokenizer = None
    max_length = 0

    def __init__(self, vectorizer: Any, classifier: Any | None, info: dict[str, Any]) -> None:
        self.name = "tfidf"
        self.family = "classic"
        self.vectorizer = vectorizer
        self.classifier = classifier
        self.info = info

    def outputs(self, texts: Sequence[str], batch_size: int = 32) -> Any:
        """Class probabilities (n, classes), or the L2-normalized sparse TF-IDF vectors when searching."""
        vectors = self.vectorizer.transform(list(texts))
        if self.classifier is None:
            return vectors
        return self.classifier.predict_proba(vectors).astype(np.float32)

    def predict(self, texts: Sequence[str], batch_size: int = 32) -> list[int]:
        return self.outputs(texts).argmax(axis=-1).tolist() if texts else []

    def with_module(self, module: Any) -> TfidfModel:
        raise ValueError("TF-IDF has no neural network to quantize, prune or cast.")

    def num_parameters(self) -> int:
        return 0  # no neural parameters; the size in bytes says what it stores

    def size_bytes(self) -> int:
        """Vocabulary (terms as UTF-8) + IDF weights + regression weights, as they would ship."""
        buffer = io.BytesIO()
        arrays = [self.vectorizer.idf_]
        if self.classifier is not None:
            arrays += [self.classifier.coef_, self.classifier.intercept_]
        for array in arrays:
            np.save(buffer, np.asarray(array, dtype=np.float32))
        return buffer.tell() + sum(len(t.encode()) + 4 for t in self.vectorizer.vocabulary_)


def fit_classifier(train_texts: Sequence[str], train_y: Sequence[int], val_texts: Sequence[str],
                   val_y: Sequence[int], score: Callable[[Sequence[int], Sequence[int]], float],
                   score_name: str = "val_accuracy", seed: int = 0) -> TfidfModel:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(**VECTORIZER).fit(list(train_texts))
    x, vx = vectorizer.transform(list(train_texts)), vectorizer.transform(list(val_texts))
    best: tuple[float, float, Any] | None = None
    for c in C_GRID + (30.0, 100.0):  # sparse word features want weaker regularization than embeddings
        fit = LogisticRegression(C=c, max_iter=3000, random_state=seed).fit(x, train_y)
        value = float(score(val_y, fit.predict(vx)))
        if best is None or value > best[0]:
            best = (value, c, fit)
    assert best is not None
    value, c, fit = best
    info = {"C": c, score_name: value, "train_size": len(train_y), "val_size": len(val_y),
            "vocabulary": len(vectorizer.vocabulary_), "vectorizer": str(VECTORIZER)}
    return TfidfModel(vectorizer, fit, info)


def fit_embedder(corpus: Sequence[str], source: str) -> TfidfModel:
    """TF-IDF fitted (vocabulary and IDF) on unlabelled texts disjoint from the test items."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(**VECTORIZER).fit(list(corpus))
    return TfidfModel(vectorizer, None, {"fitted_on": source, "documents": len(corpus),
                                         "vocabulary": len(vectorizer.vocabulary_), "vectorizer": str(VECTORIZER)})
