"""The Run page's "your own data" panel: upload a labelled CSV, see what was found, store it by content hash.

Everything is checked before anything is stored (engine.datasets.own); a bad file gets the engine's message,
which names the problem and the fix, and nothing is written.
"""

from __future__ import annotations

import csv
import io

import pandas as pd
import streamlit as st

from engine.datasets.own import MAX_BYTES, UploadError, list_own, parse_csv, store

NEW_DATA = "__upload__"  # the task picker's entry for "upload a CSV"
UPLOADED = "run_uploaded_task"  # session key: the dataset id just stored, selected next rerun


def own_task_ids() -> list[str]:
    """Stored uploads, newest first (their ids are task ids)."""
    try:
        return [meta["dataset_id"] for meta in list_own()]
    except (OSError, ValueError):  # an unreadable data folder must not take the Run page down
        return []


def _header(raw: bytes) -> list[str]:
    try:
        first = raw.decode("utf-8-sig", errors="replace").splitlines()[0]
        return [c.strip() for c in next(csv.reader(io.StringIO(first), csv.Sniffer().sniff(first, ",;\t")))]
    except (IndexError, StopIteration, csv.Error):
        return []


def upload_panel() -> str | None:
    """Show the uploader; return the dataset id once a valid file is stored."""
    st.markdown("**Your own data**: a CSV with a header row, one column of texts and one of labels (UTF-8, "
                f"at most {MAX_BYTES // 2**20} MB). It is checked before anything is stored.")
    file = st.file_uploader("Labelled CSV", type=["csv", "tsv", "txt"], key="run_upload")
    if file is None:
        return None
    raw = file.getvalue()
    columns = _header(raw)
    left, right = st.columns(2)
    auto = "(detect)"
    text_column = left.selectbox("Text column", [auto, *columns], key="run_upload_text")
    label_column = right.selectbox("Label column", [auto, *columns], key="run_upload_label")
    try:
        data = parse_csv(raw, None if text_column == auto else text_column,
                         None if label_column == auto else label_column)
    except UploadError as error:
        st.error(str(error), icon=":material/error:")
        return None
    counts = data.counts
    st.success(f"Found {len(data):,} usable rows in columns '{data.text_column}' (text) and "
               f"'{data.label_column}' (label): {len(data.label_names)} classes. Dropped: "
               f"{counts['empty_dropped']} empty, {counts['duplicates_dropped']} duplicate, "
               f"{counts['conflicting_dropped']} with conflicting labels.", icon=":material/check_circle:")
    per_class = pd.DataFrame({"class": list(data.per_class()), "rows": list(data.per_class().values())})
    st.bar_chart(per_class, x="class", y="rows", height=180)
    name = st.text_input("Name", value=file.name.rsplit(".", 1)[0][:60], key="run_upload_name")
    if st.button("Use this data", icon=":material/upload:", key="run_upload_store"):
        try:
            dataset_id = store(data, name)
        except (OSError, ValueError) as error:
            st.error(f"Could not store the data: {error}", icon=":material/error:")
            return None
        st.session_state[UPLOADED] = dataset_id
        return dataset_id
    return None
