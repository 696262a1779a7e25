#!/usr/bin/env bash
# Install what running the web widget needs (`make run`), only when it is missing:
#   - rasa-webchat (npm, pinned by web/package-lock.json) into web/node_modules
#   - Debian's haproxy (the balancer of `make run`)
# Chromium and the Chinese font are for the browser tests only: scripts/setup_browser.sh.
# Quiet when there is nothing to do; a clear message and exit 1 when something cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "setup-web: $*" >&2; exit 1; }

BUNDLE=web/node_modules/rasa-webchat/lib/index.js
if [ ! -f "$BUNDLE" ]; then
    command -v npm >/dev/null 2>&1 || fail "npm is not installed; install Node.js (apt-get install -y nodejs npm) and retry"
    echo "setup-web: installing rasa-webchat into web/node_modules"
    if [ -f web/package-lock.json ]; then
        (cd web && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) \
            || fail "npm ci in web/ failed (is the npm registry reachable?)"
    else
        (cd web && npm install --no-audit --no-fund --ignore-scripts --loglevel=error) \
            || fail "npm install in web/ failed (is the npm registry reachable?)"
    fi
    [ -f "$BUNDLE" ] || fail "rasa-webchat installed but $BUNDLE is missing"
fi

# HAProxy (Debian's package): the balancer in front of the action servers (a polite reply while
# none is up) and, with RASA_REPLICAS > 1, in front of the Rasa servers. `make run` works without
# it (one Rasa server, one action server reached directly) and says what is missing.
HAPROXY=${HAPROXY_BIN:-/usr/sbin/haproxy}
if [ ! -x "$HAPROXY" ] && ! command -v haproxy >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || fail "HAProxy is missing and apt-get is unavailable; install HAProxy 2.4+ and set HAPROXY_BIN"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || fail "HAProxy is missing; run as root: apt-get install -y haproxy"
        SUDO="sudo"
    fi
    echo "setup-web: installing Debian's haproxy (the load balancer of make run)"
    $SUDO apt-get update -qq >/dev/null || fail "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq haproxy >/dev/null \
        || fail "apt-get install haproxy failed"
    command -v haproxy >/dev/null 2>&1 || [ -x "$HAPROXY" ] || fail "haproxy installed but not found; set HAPROXY_BIN"
fi
