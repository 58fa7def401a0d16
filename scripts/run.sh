#!/usr/bin/env bash
# Set up if needed, then start the dashboard (offline, SQLite, the offline pack) on localhost. `--workshop`
# listens on the network behind an access code (app/serve.py); other extra args go to streamlit.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/python -m app.serve "$@"
