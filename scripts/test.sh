#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine, then run the whole suite.
# Used verbatim by CI (.ci/run) and quoted in the README.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
command -v pdftotext >/dev/null 2>&1 || need_apt+=(poppler-utils)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "Installing system packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

bash scripts/setup-venv.sh test
# A local PostgreSQL + PostGIS for the workspace tests (tests/unit/test_workspace_postgis.py). Point
# COVERAGE_MAP_TEST_DATABASE_URL at another server to use that instead.
if [ -z "${COVERAGE_MAP_TEST_DATABASE_URL:-}" ]; then
  if test_database_url="$(bash scripts/postgres.sh)"; then
    export COVERAGE_MAP_TEST_DATABASE_URL="$test_database_url"
  else
    echo "WARNING: could not start PostgreSQL + PostGIS (see above); the PostGIS tests will be skipped" >&2
  fi
fi
export BROWSER_PATH="${BROWSER_PATH:-$(command -v chromium)}"

# The gates: lint, format and types, with 0 findings, before any test runs.
echo "ruff check"; .venv/bin/ruff check .
echo "ruff format --check"; .venv/bin/ruff format --check .
echo "mypy coverage_map callbacks"; .venv/bin/python -m mypy coverage_map callbacks

exec .venv/bin/python -m pytest "$@"
