#!/usr/bin/env bash
# Make sure the Python environment (.venv) exists and matches requirements.txt; with --tests, also the
# JavaScript the browser tests use (axe-core, from package-lock.json). Quick when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

python_for_venv() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
        if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)." >&2
    return 1
}

if [ ! -x .venv/bin/python ]; then
    PY="$(python_for_venv)"
    echo "Creating the Python environment in .venv with $PY ..."
    "$PY" -m venv .venv
fi

wanted="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [ "$(cat .venv/.requirements.sha256 2>/dev/null || true)" != "$wanted" ]; then
    echo "Installing Python packages from requirements.txt ..."
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
    echo "$wanted" > .venv/.requirements.sha256
fi

if [ "${1:-}" = "--tests" ]; then
    wanted="$(sha256sum package-lock.json | cut -d' ' -f1)"
    if [ ! -f node_modules/axe-core/axe.min.js ] ||
       [ "$(cat node_modules/.package-lock.sha256 2>/dev/null || true)" != "$wanted" ]; then
        echo "Installing the browser tests' JavaScript (npm ci) ..."
        npm ci --no-audit --no-fund --loglevel=error
        echo "$wanted" > node_modules/.package-lock.sha256
    fi
fi
