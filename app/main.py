"""Dashboard entry point: `streamlit run app/main.py` from the repository root (or anywhere: paths are
computed from this file)."""

import streamlit as st

from app import ui
from app.ui import PAGES, page_path

st.set_page_config(page_title="Rightsize", page_icon=":material/insights:", layout="wide")
pages = [st.Page(page_path(name), title=title, icon=icon, default=name == "home")
         for name, (_, title, icon) in PAGES.items()]
ui.storage_banner()
ui.run_page(st.navigation(pages))
