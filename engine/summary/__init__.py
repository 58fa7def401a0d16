"""Plain-Python summaries of trial records for the dashboard and the reports, one module per topic:
variants (frontier, fp32 pairs), headline, runs, provenance, payback, search, labels. No store, no streamlit:
every function takes records and returns data, so it is tested directly. Import from the modules.
"""
