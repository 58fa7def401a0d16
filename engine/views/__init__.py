"""Views built from trial records without Streamlit: the briefing, what-if and history tables, charts."""
