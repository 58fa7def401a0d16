"""Checks a labelled CSV a user uploads (dashboard) or passes to the CLI, before anything is stored.

Every problem raises UploadError with a message that names the problem and the fix. Nothing is guessed
silently: dropped rows (empty, repeated, conflicting) are counted and reported.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass

from engine.datasets.base import LabelledTexts, deduplicate

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000
MAX_CLASSES = 50
MIN_ROWS = 40
MIN_PER_CLASS = 10
TEXT_NAMES = ("text", "review", "message", "sentence", "question", "comment", "body", "content")
LABEL_NAMES = ("label", "class", "category", "sentiment", "target", "y")
PICK = "with --text-column/--label-column (CLI) or the column pickers on the page"


class UploadError(ValueError):
    """A CSV that cannot be used as it is; the message says what is wrong and how to fix it."""


@dataclass(frozen=True)
class OwnData:
    texts: tuple[str, ...]  # cleaned (stripped, de-duplicated) texts, sorted: the order never depends on the file
    labels: tuple[int, ...]  # index into label_names
    label_names: tuple[str, ...]  # the label values as strings, sorted (numbers numerically)
    columns: tuple[str, ...]  # every column the header named
    text_column: str
    label_column: str
    rows_read: int
    empty_dropped: int  # empty text or empty label
    duplicates_dropped: int  # repeats of a kept text with the same label
    conflicting_dropped: int  # every copy of a text seen with two different labels
    content_hash: str  # sha256 over the cleaned (text, label) rows

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def dataset_id(self) -> str:
        return "csv-" + self.content_hash[:12]

    @property
    def counts(self) -> dict[str, int]:
        return {"rows_read": self.rows_read, "empty_dropped": self.empty_dropped,
                "duplicates_dropped": self.duplicates_dropped, "conflicting_dropped": self.conflicting_dropped,
                "rows": len(self.texts)}

    def per_class(self) -> dict[str, int]:
        return {name: self.labels.count(i) for i, name in enumerate(self.label_names)}

    def labelled(self, source: str = "") -> LabelledTexts:
        return LabelledTexts(self.texts, self.labels, source or f"own data {self.dataset_id}", self.label_names)


def content_hash(rows: list[tuple[str, str]]) -> str:
    """sha256 of the cleaned rows (sorted by text) as compact UTF-8 JSON: same data, same hash."""
    blob = json.dumps(sorted(rows), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _label_order(label: str) -> tuple:
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def build(rows: list[tuple[str, str]], **fields) -> OwnData:
    """OwnData from cleaned (text, label string) rows; the rows are put in a fixed order (by text)."""
    rows = sorted(rows)
    names = tuple(sorted({label for _, label in rows}, key=_label_order))
    ids = {name: i for i, name in enumerate(names)}
    return OwnData(texts=tuple(t for t, _ in rows), labels=tuple(ids[y] for _, y in rows), label_names=names,
                   content_hash=content_hash(rows), **fields)


def _decode(raw: bytes) -> str:
    if len(raw) > MAX_BYTES:
        raise UploadError(f"The file is {len(raw) / 2**20:.3g} MB ({len(raw):,} bytes); the limit is "
                          f"{MAX_BYTES / 2**20:.3g} MB. "
                          f"Upload a sample of at most {MAX_ROWS:,} rows.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UploadError(f"The file is not UTF-8 text (byte 0x{raw[e.start]:02x} at byte offset {e.start} "
                          "cannot be read). Save it as UTF-8 (in Excel: Save As > 'CSV UTF-8') and upload "
                          "it again.") from None
    if not text.strip():
        raise UploadError("The file is empty. Upload a CSV with a header row (e.g. text,label) and one row per "
                          "example.")
    if "\x00" in text:
        raise UploadError("The file holds NUL bytes, so it is not a plain-text CSV (a spreadsheet or UTF-16 "
                          "file?). Save it as 'CSV UTF-8' and upload it again.")
    return text


def _read(text: str) -> tuple[list[str], list[list[str]]]:
    first = text.splitlines()[0]
    try:
        dialect = csv.Sniffer().sniff(first, delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as e:
        raise UploadError(f"The file cannot be read as CSV ({e}). Save it as a comma-separated CSV with a "
                          "header row and quote texts that hold commas or line breaks.") from None
    header = [name.strip() for name in rows[0]]
    return header, rows[1:]


def _looks_like_data(header: list[str]) -> bool:
    def data_like(cell: str) -> bool:
        try:
            float(cell)
            return True
        except ValueError:
            return len(cell) > 40 or len(cell.split()) > 3
    return any(data_like(cell) for cell in header)


def _pick(header: list[str], given: str | None, names: tuple[str, ...], what: str, option: str) -> str:
    found = ", ".join(f"'{c}'" for c in header)
    if given is not None:
        if given not in header:
            raise UploadError(f"There is no column '{given}' for the {what}; the columns found are {found}. "
                              f"Pick one of those {PICK}.")
        return given
    matches = [c for c in header if c.lower() in names]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UploadError(f"Several columns could hold the {what}: {', '.join(repr(c) for c in matches)}. "
                          f"Pick one {option} or with the page's picker.")
    raise UploadError(f"No {what} column found; the columns found are {found}. Name it one of "
                      f"{', '.join(names)}, or pick it {PICK}.")


def parse_csv(raw: bytes, text_column: str | None = None, label_column: str | None = None) -> OwnData:
    """Validate and clean an uploaded labelled CSV; raises UploadError naming the problem and the fix."""
    header, body = _read(_decode(raw))
    known = {c.lower() for c in header} & set(TEXT_NAMES + LABEL_NAMES)
    if not known and text_column is None and label_column is None and _looks_like_data(header):
        raise UploadError(f"The first row looks like data, not column names ({', '.join(map(repr, header[:3]))}). "
                          "The first row must name the columns: add a header row such as text,label and upload "
                          "it again.")
    if len(set(header)) != len(header) or not all(header):
        raise UploadError(f"The header row has empty or repeated column names ({', '.join(map(repr, header))}). "
                          "Give every column a unique name.")
    text_col = _pick(header, text_column, TEXT_NAMES, "text", "with --text-column (CLI)")
    label_col = _pick(header, label_column, LABEL_NAMES, "label", "with --label-column (CLI)")
    if text_col == label_col:
        raise UploadError(f"The text and the label are both column '{text_col}'. Pick two different columns {PICK}.")
    if len(body) > MAX_ROWS:
        raise UploadError(f"The file has {len(body):,} rows; the limit is {MAX_ROWS:,}. Upload a sample.")
    t, y = header.index(text_col), header.index(label_col)
    rows, no_label = [], 0
    for line, row in enumerate(body, start=2):
        if not row:  # a blank line
            continue
        if len(row) != len(header):
            raise UploadError(f"Row {line} has {len(row)} fields but the header has {len(header)}. Quote texts "
                              'that hold commas or line breaks ("like, this") and upload it again.')
        if not row[y].strip() and row[t].strip():
            no_label += 1
            continue
        rows.append((row[t], row[y].strip()))
    clean = deduplicate(rows)
    kept = list(zip(clean.texts, clean.labels, strict=True))
    dropped = (f"{clean.rows_read + no_label:,} rows read; dropped {clean.empty + no_label:,} with an empty text "
               f"or label, {clean.duplicates:,} repeats, {clean.conflicting:,} with conflicting labels")
    if not kept:
        raise UploadError(f"No usable rows: {dropped}. Check that '{text_col}' holds the texts and "
                          f"'{label_col}' their labels.")
    if len(kept) < MIN_ROWS:
        raise UploadError(f"Only {len(kept)} usable row{'s' * (len(kept) != 1)} ({dropped}); at least {MIN_ROWS} are needed. Add more "
                          "labelled rows.")
    data = build(kept, columns=tuple(header), text_column=text_col, label_column=label_col,
                 rows_read=clean.rows_read + no_label, empty_dropped=clean.empty + no_label,
                 duplicates_dropped=clean.duplicates, conflicting_dropped=clean.conflicting)
    per_class = data.per_class()
    if len(per_class) < 2:
        raise UploadError(f"Only one class ('{data.label_names[0]}') in column '{label_col}'; at least 2 are "
                          "needed. Add rows of another class, or pick the right label column.")
    if len(per_class) > MAX_CLASSES:
        raise UploadError(f"Column '{label_col}' has {len(per_class):,} different values; at most {MAX_CLASSES} "
                          f"classes are allowed. Is it really the label? Pick the label column {PICK}.")
    thin = {name: n for name, n in per_class.items() if n < MIN_PER_CLASS}
    if thin:
        names = ", ".join(f"'{name}' ({n})" for name, n in thin.items())
        raise UploadError(f"Too few rows in class{'es' if len(thin) > 1 else ''} {names}: each class needs at "
                          f"least {MIN_PER_CLASS} after cleaning. Add rows, or merge or remove those classes.")
    return data
