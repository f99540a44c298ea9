# Sourced by run.sh and test.sh: a virtualenv in .venv with the pinned constraints.
# Usage: setup_venv EXTRAS   (e.g. "test" or "")
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${OL_CATALOG_VENV:-$ROOT/.venv}"

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "need root to run: $*" >&2; return 1; fi
}

apt_install() {
    # Debian packages, installed only when missing.
    local missing=()
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "==> apt-get install ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

setup_venv() {
    local extras="$1"
    local python="${PYTHON:-python3}"
    if [ ! -x "$VENV/bin/python" ]; then
        echo "==> creating $VENV"
        "$python" -m venv "$VENV"
    fi
    echo "==> installing airflow-ol-catalog${extras:+[$extras]} (pinned by constraints.txt)"
    "$VENV/bin/pip" install -q --disable-pip-version-check -c "$ROOT/constraints.txt" -e "$ROOT${extras:+[$extras]}"
}

build_ui() {
    # The UI (ui/, TypeScript) is built into airflow_ol_catalog/www, which is not committed.
    # Node.js 20.19+ comes with the machine; Debian's nodejs package is the fallback.
    command -v npm >/dev/null || apt_install nodejs npm
    echo "==> building the UI (npm ci && npm run build in ui/)"
    (cd "$ROOT/ui" && npm ci --no-audit --no-fund --loglevel=error >/dev/null && npm run build --silent >/dev/null)
}
