#!/usr/bin/env bash
# Installs everything the test suite needs (PostgreSQL and Chromium from Debian, Python packages,
# the UI's npm packages) and runs it.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k sqlite -x`.
source "$(dirname "${BASH_SOURCE[0]}")/setup-env.sh"

apt_install postgresql chromium
build_ui  # first: the editable install's build hook then finds the pages built
setup_venv test
cd "$ROOT"
echo "==> ruff (lint and format)"
# One command a line: under `set -e` a failure before the last command of an && list goes unnoticed.
"$VENV/bin/ruff" check --quiet .
"$VENV/bin/ruff" format --check --quiet .
echo "==> mypy (airflow_ol_catalog; strict on events and ingest)"
"$VENV/bin/mypy"
echo "==> tsc and ESLint (ui/)"
(cd "$ROOT/ui" && npm run --silent typecheck && npm run --silent lint)
# Two processes (pytest-xdist), each test file whole in one of them (its servers are started once),
# files taken in the order tests/conftest.py gives them (longest first).
exec "$VENV/bin/python" -m pytest -p no:cacheprovider --timeout=600 -n 2 --dist loadfile --no-loadscope-reorder "$@"
