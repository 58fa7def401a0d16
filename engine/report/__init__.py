"""Reports built from trial records without Streamlit: altair charts, chart images, the one-page briefing."""
