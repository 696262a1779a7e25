#!/usr/bin/env bash
# Install what only the browser tests need (`make test`, never `make run`), when it is missing:
#   - Debian's chromium at /usr/bin/chromium (Playwright drives it; browsers are never downloaded)
#   - a font with Traditional Chinese glyphs, so the screenshots show Chinese text (optional)
# Quiet when there is nothing to do; a clear message and exit 1 when Chromium cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "setup-browser: $*" >&2; exit 1; }

CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
    command -v apt-get >/dev/null 2>&1 || fail "$CHROMIUM is missing and apt-get is unavailable; install Chromium and set CHROMIUM_PATH"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || fail "$CHROMIUM is missing; run as root: apt-get install -y chromium"
        SUDO="sudo"
    fi
    echo "setup-browser: installing Debian's chromium (for the browser tests)"
    $SUDO apt-get update -qq >/dev/null || fail "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null \
        || fail "apt-get install chromium failed"
    [ -x "$CHROMIUM" ] || fail "chromium installed but $CHROMIUM is missing; set CHROMIUM_PATH"
fi

# A font with Traditional Chinese glyphs, so that the browser tests' screenshots (widget,
# dashboard transcripts) show Chinese text instead of empty boxes. Optional: a warning only.
if command -v fc-list >/dev/null 2>&1 && ! fc-list :lang=zh-tw 2>/dev/null | grep -q .; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
        echo "setup-browser: installing a Chinese font for the browser screenshots (fonts-wqy-microhei)"
        apt-get update -qq >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null 2>&1 \
            || echo "setup-browser: could not install fonts-wqy-microhei; Chinese text shows as boxes in screenshots"
    else
        echo "setup-browser: no Chinese font; install fonts-wqy-microhei for readable screenshots"
    fi
fi
