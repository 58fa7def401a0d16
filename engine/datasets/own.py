"""Your own data: a labelled CSV uploaded on the dashboard or passed to the CLI, checked (own_parse), then
stored under <RIGHTSIZE_HOME>/data/<dataset_id>/ as two JSON files (never pickle):

- rows.json: {"texts": [...], "labels": [label name of each row]}, the cleaned rows in a fixed order
- meta.json: name, dataset_id, content_hash, columns, text/label column, counts, label_names, created_at

The id is "csv-" + the first 12 hex digits of the content hash, so the same rows always get the same id and
storing them again changes nothing. A folder is written in full under a temporary name and renamed into
place, so a failure never leaves half a dataset; loading re-checks the hash, so a damaged folder is refused.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from engine.config import settings
from engine.datasets.base import LabelledTexts, Splits, stratified_splits
from engine.datasets.own_parse import (  # noqa: F401  (re-exported: the public API of own data)
    LABEL_NAMES,
    MAX_BYTES,
    MAX_CLASSES,
    MAX_ROWS,
    MIN_PER_CLASS,
    MIN_ROWS,
    TEXT_NAMES,
    OwnData,
    UploadError,
    build,
    content_hash,
    parse_csv,
)

ID_PATTERN = re.compile(r"csv-[0-9a-f]{12}")
VALIDATION_SHARE, VALIDATION_CAP = 20, 500  # percent of the rows, at most this many
TEST_SHARE, TEST_CAP = 20, 2000
TRAIN_CAP = 2000
MIN_PER_SPLIT = 2  # rows of each class in validation and test (and train)


def data_root() -> Path:
    return settings().home / "data"


def _write_json(path: Path, value: dict) -> None:
    with path.open("w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, separators=(",", ":"))
        f.flush()
        os.fsync(f.fileno())
    path.chmod(0o644)


def store(data: OwnData, name: str) -> str:
    """Store cleaned data under its dataset_id (world-readable) and return the id; a no-op if already stored."""
    root = data_root()
    final = root / data.dataset_id
    if final.is_dir():
        try:
            load_own(data.dataset_id)
            return data.dataset_id
        except ValueError:  # a damaged copy of the same content: replace it
            shutil.rmtree(final)
    root.mkdir(parents=True, exist_ok=True)
    meta = {"name": name.strip()[:100] or data.dataset_id, "dataset_id": data.dataset_id,
            "content_hash": data.content_hash, "columns": list(data.columns), "text_column": data.text_column,
            "label_column": data.label_column, "counts": data.counts, "per_class": data.per_class(),
            "label_names": list(data.label_names),
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "format": 1}
    rows = {"texts": list(data.texts), "labels": [data.label_names[i] for i in data.labels]}
    temp = Path(tempfile.mkdtemp(prefix=f".{data.dataset_id}-", dir=root))
    try:
        _write_json(temp / "rows.json", rows)
        _write_json(temp / "meta.json", meta)
        temp.chmod(0o755)
        try:
            temp.rename(final)
        except OSError:
            if not (final / "meta.json").is_file():  # not a concurrent store of the same content
                raise
            shutil.rmtree(temp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return data.dataset_id


def _folder(dataset_id: str) -> Path:
    folder = data_root() / dataset_id
    if not ID_PATTERN.fullmatch(dataset_id) or not (folder / "meta.json").is_file():
        stored = ", ".join(f"{m['dataset_id']} ({m.get('name', '')})" for m in list_own()) or "none"
        raise ValueError(f"No stored dataset '{dataset_id}' in {data_root()}. Stored: {stored}. "
                         "Upload the CSV again (dashboard) or pass it to the CLI.")
    return folder


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ValueError(f"{path} cannot be read ({e}). The stored dataset is damaged: delete the folder "
                         f"{path.parent} and upload the CSV again.") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path} is not a JSON object. Delete the folder {path.parent} and upload the CSV again.")
    return value


def own_meta(dataset_id: str) -> dict:
    return _read_json(_folder(dataset_id) / "meta.json")


def load_own(dataset_id: str) -> OwnData:
    """The stored rows, after checking them against the stored hash and the id."""
    folder = _folder(dataset_id)
    meta, rows = _read_json(folder / "meta.json"), _read_json(folder / "rows.json")
    damaged = (f"The stored dataset {folder} is damaged or was edited: its rows no longer match their hash. "
               "Delete the folder and upload the CSV again.")
    texts, labels = rows.get("texts"), rows.get("labels")
    if not (isinstance(texts, list) and isinstance(labels, list) and len(texts) == len(labels)
            and all(isinstance(v, str) for v in texts + labels)):
        raise ValueError(damaged)
    counts = meta.get("counts") or {}
    try:
        data = build(list(zip(texts, labels, strict=True)), columns=tuple(meta["columns"]),
                     text_column=meta["text_column"], label_column=meta["label_column"],
                     rows_read=counts["rows_read"], empty_dropped=counts["empty_dropped"],
                     duplicates_dropped=counts["duplicates_dropped"],
                     conflicting_dropped=counts["conflicting_dropped"])
    except (KeyError, TypeError):
        raise ValueError(damaged) from None
    if data.content_hash != meta.get("content_hash") or data.dataset_id != dataset_id:
        raise ValueError(damaged)
    return data


def list_own() -> list[dict]:
    """meta.json of every stored dataset, newest first (a folder whose meta cannot be read is skipped)."""
    root = data_root()
    found = []
    for folder in root.iterdir() if root.is_dir() else ():
        if ID_PATTERN.fullmatch(folder.name) and (folder / "meta.json").is_file():
            try:
                found.append({**_read_json(folder / "meta.json"), "dataset_id": folder.name})
            except ValueError:
                continue
    return sorted(found, key=lambda m: (str(m.get("created_at", "")), m["dataset_id"]), reverse=True)


def split_sizes(n: int) -> tuple[int, int, int]:
    """(train, validation, test) for n rows: validation and test 20% each (capped at 500 and 2,000), the rest
    train capped at 2,000."""
    validation = min(VALIDATION_CAP, n * VALIDATION_SHARE // 100)
    test = min(TEST_CAP, n * TEST_SHARE // 100)
    return min(TRAIN_CAP, n - validation - test), validation, test


def own_splits(dataset_id: str, seed: int = 0) -> Splits:
    """Stratified splits of a stored dataset, at least 2 rows of each class in each split; rows beyond the caps
    are left out. Read (and hash-checked) afresh each call: the store may change between calls."""
    data = load_own(dataset_id)
    return _splits_of(data, str(own_meta(dataset_id).get("name", dataset_id)), seed)


@functools.lru_cache(maxsize=4)
def _splits_of(data: OwnData, name: str, seed: int) -> Splits:
    train, validation, test = split_sizes(len(data))
    labelled = data.labelled(f"own data '{name}' ({data.dataset_id})")
    return stratified_splits(labelled, train, validation, seed, test=test, minimum=MIN_PER_SPLIT)


def own_test(dataset_id: str, seed: int = 0) -> LabelledTexts:
    return own_splits(dataset_id, seed).test
