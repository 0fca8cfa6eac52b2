#!/usr/bin/env bash
# Set up and launch the dashboard on the embedded synthetic demo data (http://127.0.0.1:8050).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh
exec .venv/bin/coverage-map serve "$@"
