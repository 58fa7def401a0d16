"""A user's own labelled CSV: checks before storing, content-addressed atomic storage, hash-checked loading,
stratified splits, and the catalogue of bad uploads (each message names the problem)."""

from __future__ import annotations

import csv
import io
import json
import stat
from collections import Counter

import pytest

from engine.datasets import own, text_key
from engine.datasets.own import (
    UploadError,
    list_own,
    load_own,
    own_meta,
    own_splits,
    own_test,
    parse_csv,
    store,
)


def make_csv(rows: list[tuple[str, str]], header: tuple[str, ...] = ("text", "label"), delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def sample_rows(per_class: dict[str, int]) -> list[tuple[str, str]]:
    return [(f"An example, number {i}, of the {name} kind.", name) for name, n in per_class.items() for i in range(n)]


ROWS = sample_rows({"billing": 60, "bug": 30, "praise": 12})


def test_round_trip(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RIGHTSIZE_HOME", str(tmp_path))
    rows = [*ROWS, ("   ", "bug"), ("", ""), (ROWS[0][0].upper(), "billing"), ("Mixed up", "bug"), ("mixed  up", "praise")]
    data = parse_csv(make_csv([(str(i), t, y) for i, (t, y) in enumerate(rows)], header=("id", "Review", "Category")))
    assert (data.text_column, data.label_column, data.columns) == ("Review", "Category", ("id", "Review", "Category"))
    assert data.label_names == ("billing", "bug", "praise") and len(data) == 102
    assert data.counts == {"rows_read": len(rows), "empty_dropped": 2, "duplicates_dropped": 1,
                           "conflicting_dropped": 2, "rows": 102}
    dataset_id = store(data, "Support tickets")
    assert dataset_id == data.dataset_id and dataset_id.startswith("csv-") and len(dataset_id) == 16
    folder = tmp_path / "data" / dataset_id
    assert sorted(p.name for p in folder.iterdir()) == ["meta.json", "rows.json"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in folder.iterdir())
    assert load_own(dataset_id) == data
    meta = own_meta(dataset_id)
    assert meta["name"] == "Support tickets" and meta["content_hash"] == data.content_hash
    assert meta["per_class"] == {"billing": 60, "bug": 30, "praise": 12}
    assert [m["dataset_id"] for m in list_own()] == [dataset_id]

    splits = own_splits(dataset_id)
    sizes = [len(p) for p in (splits.train, splits.validation, splits.test)]
    assert sizes == [102 - 20 - 20, 20, 20]
    keys = [{text_key(t) for t in p.texts} for p in (splits.train, splits.validation, splits.test)]
    assert not keys[0] & keys[1] and not keys[0] & keys[2] and not keys[1] & keys[2]
    for part in (splits.train, splits.validation, splits.test):
        assert min(Counter(part.labels).values()) >= 2 and set(part.labels) == {0, 1, 2}
        assert part.label_names == ("billing", "bug", "praise")
    assert own_splits(dataset_id) == splits and own_test(dataset_id) == splits.test
    assert own_splits(dataset_id, seed=1).test != splits.test


def test_same_content_same_id_however_formatted(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RIGHTSIZE_HOME", str(tmp_path))
    first = store(parse_csv(make_csv(ROWS)), "first")
    again = parse_csv(b"\xef\xbb\xbf" + make_csv([(y, f"  {t} ") for t, y in reversed(ROWS)],
                                                 header=("label", "text"), delimiter=";").replace(b"\n", b"\r\n"))
    assert again.dataset_id == first
    assert store(again, "second name") == first  # a no-op
    assert own_meta(first)["name"] == "first" and len(list_own()) == 1


def test_large_data_is_capped_and_stays_stratified(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RIGHTSIZE_HOME", str(tmp_path))
    dataset_id = store(parse_csv(make_csv(sample_rows({"0": 9000, "1": 990, "10": 10}))), "big")
    assert load_own(dataset_id).label_names == ("0", "1", "10")  # numbers sort numerically
    splits = own_splits(dataset_id)
    assert [len(p) for p in (splits.train, splits.validation, splits.test)] == [2000, 500, 2000]
    assert all(Counter(p.labels)[2] >= 2 for p in (splits.train, splits.validation, splits.test))
    assert abs(Counter(splits.test.labels)[1] / 2000 - 0.099) < 0.01


def test_unknown_id_names_the_stored_ones(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RIGHTSIZE_HOME", str(tmp_path))
    dataset_id = store(parse_csv(make_csv(ROWS)), "tickets")
    for bad in ("csv-000000000000", "../etc", ""):
        with pytest.raises(ValueError, match=f"{dataset_id} \\(tickets\\)"):
            load_own(bad)


def test_tampered_folder_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RIGHTSIZE_HOME", str(tmp_path))
    dataset_id = store(parse_csv(make_csv(ROWS)), "tickets")
    rows_file = tmp_path / "data" / dataset_id / "rows.json"
    rows = json.loads(rows_file.read_text())
    rows["labels"][0] = "praise"
    rows_file.write_text(json.dumps(rows))
    with pytest.raises(ValueError, match="damaged or was edited"):
        own_splits(dataset_id)
    rows_file.write_text("{not json")
    with pytest.raises(ValueError, match="cannot be read"):
        load_own(dataset_id)
    assert store(parse_csv(make_csv(ROWS)), "tickets") == dataset_id  # storing again repairs it
    assert len(load_own(dataset_id).texts) == len(ROWS)


def test_a_failed_store_leaves_nothing(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RIGHTSIZE_HOME", str(tmp_path))
    data = parse_csv(make_csv(ROWS))
    real = own._write_json

    def fail_on_meta(path, value):
        if path.name == "meta.json":
            raise OSError("disk full")
        real(path, value)

    monkeypatch.setattr(own, "_write_json", fail_on_meta)
    with pytest.raises(OSError, match="disk full"):
        store(data, "tickets")
    assert list((tmp_path / "data").iterdir()) == [] and list_own() == []
    with pytest.raises(ValueError, match="No stored dataset"):
        load_own(data.dataset_id)


@pytest.mark.parametrize(("raw", "kwargs", "message"), [
    (make_csv(ROWS, header=()), {}, "first row must name the columns"),
    (make_csv(ROWS, header=("words", "kind")), {}, "columns found are 'words', 'kind'"),
    (make_csv(ROWS, header=("text", "label")), {"label_column": "tag"}, "no column 'tag'.*'text', 'label'"),
    (make_csv([(t, t, y) for t, y in ROWS], header=("text", "review", "label")), {},
     "Several columns could hold the text: 'text', 'review'.*--text-column"),
    ("text,label\nCafé crème,a\n".encode("latin-1"), {}, "not UTF-8.*byte offset 14.*save it as UTF-8"),
    (make_csv([("Only one row here", "a")]), {}, "Only 1 usable row .*at least 40"),
    (make_csv(sample_rows({"a": 50})), {}, "Only one class \\('a'\\)"),
    (make_csv([("", "a"), ("  ", "b")] * 30), {}, "No usable rows.*60 with an empty text"),
    (make_csv(sample_rows({"a": 50, "b": 40, "c": 3, "d": 9})), {}, "'c' \\(3\\), 'd' \\(9\\).*at least 10"),
    (make_csv(sample_rows({str(i): 10 for i in range(51)})), {}, "51 different values; at most 50"),
    (b"text,label\n\"Hello, world\",a\nHello, world,b\n", {}, "Row 3 has 3 fields but the header has 2.*Quote"),
    (b"", {}, "file is empty"),
])
def test_bad_uploads_name_the_problem(raw: bytes, kwargs: dict, message: str) -> None:
    with pytest.raises(UploadError, match=f"(?is){message}"):
        parse_csv(raw, **kwargs)


def test_size_cap(monkeypatch) -> None:
    monkeypatch.setattr("engine.datasets.own_parse.MAX_BYTES", 1000)
    with pytest.raises(UploadError, match=r"\(5,\d\d\d bytes\); the limit is 0\.000954 MB"):
        parse_csv(make_csv(ROWS))
    assert len(make_csv(ROWS)) > 1000


def test_row_cap(monkeypatch) -> None:
    monkeypatch.setattr("engine.datasets.own_parse.MAX_ROWS", 50)
    with pytest.raises(UploadError, match="102 rows; the limit is 50"):
        parse_csv(make_csv(ROWS))
