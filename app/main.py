"""Dashboard entry point: `streamlit run app/main.py` from the repository root (or anywhere: paths are
computed from this file)."""

import streamlit as st

from app import gate, ui
from app.ui import PAGES, page_path

st.set_page_config(page_title="Rightsize", page_icon=":material/insights:", layout="wide")
pages = [st.Page(page_path(name), title=title, icon=icon, default=name == "home")
         for name, (_, title, icon) in PAGES.items()]
# Navigation is declared before the gate so a page's address (/whatif?...) survives signing in; no page runs,
# and none is listed, until the workshop's access code is given.
page = st.navigation(pages, position="sidebar" if gate.signed_in() else "hidden")
if not gate.signed_in():
    gate.sign_in_form()
    st.stop()
gate.sidebar_status()
ui.storage_banner()
ui.run_page(page)
