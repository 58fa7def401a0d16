#!/usr/bin/env bash
# Set up if needed, then start the dashboard (offline, SQLite, the offline pack). Extra args go to streamlit.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/python -m app.serve "$@"
