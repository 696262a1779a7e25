#!/usr/bin/env bash
# Creates or refreshes the project's Python 3.10 virtualenv from the committed lock file.
# Idempotent: does nothing when .venv already matches requirements/lock.txt.
#
# The lock is installed by uv (`uv pip sync`: exactly the lock's packages, whatever else was in
# the venv), pinned by its own line in the lock and put into the venv first with the venv's pip.
# Where uv cannot be had, or with SETUP_INSTALLER=pip, pip installs the lock instead.
# Either way the installed packages are compiled to bytecode once, here: the Makefile keeps
# Python from writing __pycache__ (PYTHONDONTWRITEBYTECODE), so without it every process would
# compile each module it imports, every time (9 of a Rasa server's 17 s start, measured).
# One line per step; a step's own output is kept and shown in full only when the step fails
# (less pip's "Location ... is ignored" warnings about a machine-wide find-links folder).
# VENV=/path sets the venv (default .venv); PYTHON310=/path the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
LOCK=requirements/lock.txt
# The venv is what the lock, the project and this script make: a change to any one redoes it.
STAMP="$VENV/.lock-$(sha256sum "$LOCK" pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)"

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

INSTALLER=${SETUP_INSTALLER:-uv}
case "$INSTALLER" in
    uv|pip) ;;
    *) echo "setup: SETUP_INSTALLER must be uv or pip, got '$INSTALLER'" >&2; exit 1 ;;
esac
UV_VERSION=$(sed -n 's/^uv==\([^ ;#]*\).*$/\1/p' "$LOCK")
[ -n "$UV_VERSION" ] || { echo "setup: $LOCK pins no uv version (a line uv==X.Y.Z)" >&2; exit 1; }
PIP_NOISE="^WARNING: Location '[^']*' is ignored: it is neither a file nor a directory\.\$"
STARTED=$SECONDS

# step TITLE COMMAND...: one line, the command's output kept; in full on failure, then exit.
step() {
    local title=$1 log rc=0
    shift
    echo "setup: $title"
    log=$(mktemp)
    "$@" >"$log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "setup: '$title' failed (exit $rc):" >&2
        grep -v -E "$PIP_NOISE" "$log" >&2 || true
        rm -f "$log"
        exit "$rc"
    fi
    rm -f "$log"
}

# try_step TITLE COMMAND...: as step, but a failure only returns non-zero (its output dropped).
try_step() {
    local title=$1
    shift
    echo "setup: $title"
    "$@" >/dev/null 2>&1
}

pip_q() { "$VENV/bin/python" -m pip --quiet --disable-pip-version-check "$@"; }
uv_q() { "$VENV/bin/uv" pip "$1" --quiet --python "$VENV/bin/python" "${@:2}"; }

if [ ! -x "$VENV/bin/python" ]; then
    if ! PY310=$(find_python310); then
        echo "setup: Python 3.10 not found (Rasa Open Source 3.6 needs Python 3.8-3.10)." >&2
        echo "setup: install it (for example 'pyenv install 3.10') or set PYTHON310=/path/to/python3.10." >&2
        exit 1
    fi
    step "creating $VENV with $PY310" "$PY310" -m venv "$VENV"
fi

if [ "$INSTALLER" = uv ] && ! "$VENV/bin/uv" --version 2>/dev/null | grep -q "^uv $UV_VERSION\( \|$\)"; then
    if ! try_step "installing uv $UV_VERSION into $VENV" pip_q install "uv==$UV_VERSION"; then
        echo "setup: uv $UV_VERSION could not be installed; pip installs the lock instead"
        INSTALLER=pip
    fi
fi

if [ "$INSTALLER" = uv ]; then
    step "installing the locked dependencies with uv (the first time takes about a minute)" \
        uv_q sync --compile-bytecode "$LOCK"
    step "installing the project itself (editable, no dependencies)" \
        uv_q install --no-deps --no-build-isolation -e .
else
    step "upgrading pip" pip_q install --upgrade "pip==24.3.1"
    step "installing the locked dependencies with pip (the first time takes about 5 minutes)" \
        pip_q install -r "$LOCK"
    step "installing the project itself (editable, no dependencies)" \
        pip_q install --no-deps --no-build-isolation -e .
fi
rm -f "$VENV"/.lock-*
touch "$STAMP"
echo "setup: $VENV is ready ($INSTALLER, $((SECONDS - STARTED)) s)"
