"""Charts drawn from Vega-Lite specs built once per state, for every session: building an altair chart and
validating it costs 30-60 ms each (most of a Compare rerun), and thirty sessions asking for the same figures
would pay it thirty times. The key must name everything a chart depends on (the page, the chart, the
store's trials marker, the choices that shape it). A chart whose figures change with every edit (What-if's
cumulative lines) is cached by its shape alone, and its named datasets are swapped in on each draw."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

import pandas as pd
import streamlit as st


@st.cache_data(max_entries=512, show_spinner=False)
def _spec(key: tuple[Hashable, ...], _build: Callable[[], Any]) -> dict:
    # Validation against the Vega-Lite schema is most of the cost; every chart builder's output is validated
    # by the tests (tests/test_charts.py and the page tests), not again on every cache miss here.
    return _build().to_dict(validate=False)


def show(container: Any, key: tuple[Hashable, ...], build: Callable[[], Any],
         data: Mapping[str, pd.DataFrame] | None = None) -> None:
    """Draw `build()`'s chart in `container` (st or a column), from the spec cached under `key`. With `data`,
    the key names the chart's shape only and these frames replace the spec's named datasets of the same names
    (the spec is a fresh copy on every call: st.cache_data returns copies)."""
    spec = _spec(key, build)
    if data and "datasets" in spec:
        spec["datasets"] = {**spec["datasets"], **{name: data[name] for name in spec["datasets"] if name in data}}
    container.vega_lite_chart(spec, width="stretch")
