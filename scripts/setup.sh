#!/usr/bin/env bash
# Creates or refreshes the project's Python 3.10 virtualenv from the committed lock file.
# Idempotent: does nothing when .venv already matches requirements/lock.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
LOCK=requirements/lock.txt
STAMP="$VENV/.lock-$(sha256sum "$LOCK" pyproject.toml | sha256sum | cut -c1-16)"

find_python310() {
    local candidate
    for candidate in "${PYTHON310:-}" python3.10 \
        "$(command -v pyenv >/dev/null 2>&1 && pyenv root || echo "$HOME/.pyenv")"/versions/3.10.*/bin/python3 \
        /usr/bin/python3.10 /usr/local/bin/python3.10; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

if [ "${1:-}" = "--find-python" ]; then
    find_python310 || { echo "setup: Python 3.10 not found" >&2; exit 1; }
    exit 0
fi

if [ -f "$STAMP" ] && [ -x "$VENV/bin/python" ]; then
    exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
    if ! PY310=$(find_python310); then
        echo "setup: Python 3.10 not found (Rasa Open Source 3.6 needs Python 3.8-3.10)." >&2
        echo "setup: install it (for example 'pyenv install 3.10') or set PYTHON310=/path/to/python3.10." >&2
        exit 1
    fi
    echo "setup: creating $VENV with $PY310"
    "$PY310" -m venv "$VENV"
fi

echo "setup: installing the locked dependencies into $VENV (the first time takes about 5 minutes)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "pip==24.3.1"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$LOCK"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
rm -f "$VENV"/.lock-*
touch "$STAMP"
echo "setup: $VENV is ready"
