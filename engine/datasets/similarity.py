"""Search / retrieval (task "search"): document similarity judged by people (Lee corpus, from gensim's test
data) and a question pool where relevant means "same TREC class" (precision@k).

gensim's files, gensim/test/test_data/:
- lee.cor: the 50 short news documents of Lee, Pincombe & Welsh (2005), one a line, no trailing newline. It is
  Latin-1, not UTF-8 (one byte 0xA3, a pound sign), so it is read as Latin-1.
- similarities0-1.txt: 50 lines of 50 tab-separated numbers, the mean human similarity of each pair of those
  documents scaled to [0, 1] (ratings 1-5 divided by 5, so unrelated pairs sit near 0.2). Only the upper
  triangle is filled (the diagonal is 1, below it 0); lee_documents() mirrors it into a symmetric matrix.
  Eight pairs are rated 0.9 or more (three about the Australian Democrats are rated 1.0).
- lee_background.cor: 300 other news documents from the same source (UTF-8), one a line; 7 are verbatim
  repeats and none is one of the 50 rated documents.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from engine.datasets.base import GENSIM_INSTALL, LabelledTexts, Splits, Texts, data_file, text_key
from engine.datasets.questions import question_splits

LEE_FOLDER = "test/test_data/"
LEE_DOCUMENTS = 50


@dataclass(frozen=True, eq=False)
class LeeCorpus:
    documents: tuple[str, ...]  # 50 news documents
    human: np.ndarray  # 50 x 50 mean human similarity in [0, 1], symmetric, 1 on the diagonal (read-only)
    source: str

    def __len__(self) -> int:
        return len(self.documents)


@functools.cache
def lee_documents() -> LeeCorpus:
    text = data_file("gensim", LEE_FOLDER + "lee.cor", GENSIM_INSTALL).read_text(encoding="latin-1")
    documents = tuple(line.strip() for line in text.splitlines() if line.strip())
    matrix = np.loadtxt(data_file("gensim", LEE_FOLDER + "similarities0-1.txt", GENSIM_INSTALL), dtype=np.float64)
    if len(documents) != LEE_DOCUMENTS or matrix.shape != (LEE_DOCUMENTS, LEE_DOCUMENTS):
        raise ValueError(f"gensim's Lee files hold {len(documents)} documents and a {matrix.shape} matrix; "
                         f"expected {LEE_DOCUMENTS} and {LEE_DOCUMENTS}x{LEE_DOCUMENTS}. Reinstall: {GENSIM_INSTALL}")
    upper = np.triu(matrix, 1)
    human = upper + upper.T + np.eye(LEE_DOCUMENTS)
    human.setflags(write=False)
    return LeeCorpus(documents, human, "gensim test data lee.cor + similarities0-1.txt (Lee, Pincombe & Welsh 2005)")


@functools.cache
def _lee_background() -> tuple[str, ...]:
    """The 300 background documents, minus repeats and anything also in lee.cor (by text_key), in file order."""
    path = data_file("gensim", LEE_FOLDER + "lee_background.cor", GENSIM_INSTALL)
    seen = {text_key(d) for d in lee_documents().documents}
    documents = []
    for line in path.read_text(encoding="utf-8").splitlines():
        key = text_key(line)
        if key and key not in seen:
            seen.add(key)
            documents.append(line.strip())
    return tuple(documents)


@functools.cache
def question_retrieval(seed: int = 0) -> LabelledTexts:
    """The retrieval pool: the topic task's test questions with their coarse classes. Each question is a query
    against the others; a hit is relevant when it has the same class (precision@10)."""
    test = question_splits(seed).test
    return LabelledTexts(test.texts, test.labels, f"{test.source}; retrieval pool, relevant = same class",
                         test.label_names)


@functools.cache
def search_transfer_texts(seed: int = 0) -> Texts:
    """Unlabelled text for distilling embeddings: gensim's Lee background news documents (293 after removing
    repeats; none is a rated lee.cor document) and the topic TRAIN questions (2,500), shuffled together with
    the seed. Nothing here is a rated Lee document or a validation/test question."""
    held_out = {text_key(t) for t in lee_documents().documents}
    splits = question_splits(seed)
    held_out |= {text_key(t) for t in splits.validation.texts + splits.test.texts}
    texts = [t for t in _lee_background() + splits.train.texts if text_key(t) not in held_out]
    order = np.random.default_rng(seed).permutation(len(texts))
    return Texts(tuple(texts[i] for i in order),
                 f"gensim lee_background.cor news + TREC train questions, labels unused (seed {seed})")


@functools.cache
def search_splits(seed: int = 0) -> Splits:
    """Train / validation: the topic task's class-labelled questions (training signal, early stopping);
    test: question_retrieval(seed), the pool scored by precision@10."""
    splits = question_splits(seed)
    return Splits(splits.train, splits.validation, question_retrieval(seed))
