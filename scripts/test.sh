#!/usr/bin/env bash
# Set up if needed (chromium included), lint, then run every test. Extra args go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --browser
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
