"""Methodology: how every figure is obtained, in plain words (the text is docs/methodology.md, shown as is)."""

import streamlit as st

from engine.views.methodology import methodology_markdown

title, body = methodology_markdown()
st.title(title)
st.markdown(body)
