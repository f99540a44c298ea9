#!/usr/bin/env bash
# Installs everything the test suite needs (PostgreSQL from Debian, Python packages) and runs it.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k sqlite -x`.
source "$(dirname "${BASH_SOURCE[0]}")/setup-env.sh"

apt_install postgresql
setup_venv test
cd "$ROOT"
exec "$VENV/bin/python" -m pytest -p no:cacheprovider --timeout=600 "$@"
