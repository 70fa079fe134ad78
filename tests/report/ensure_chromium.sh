#!/bin/sh
# Install Debian's headless Chromium for the report's browser test, only where it is missing.
# Called by `make test`; a no-op when /usr/bin/chromium exists. Needs root (or sudo) and the
# Debian package registry; when neither is available the browser test skips with a reason.
set -u
CHROMIUM=/usr/bin/chromium
[ -x "$CHROMIUM" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: apt-get not found; the browser test will be skipped" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "ensure_chromium: not root and no sudo; the browser test will be skipped" >&2
        exit 0
    fi
fi
export DEBIAN_FRONTEND=noninteractive
for attempt in 1 2 3; do
    if $SUDO apt-get update -q >/dev/null 2>&1 \
        && $SUDO apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; then
        break
    fi
    echo "ensure_chromium: attempt $attempt to install chromium failed; retrying" >&2
    sleep 5
done
if [ -x "$CHROMIUM" ]; then
    echo "ensure_chromium: installed $($CHROMIUM --version 2>/dev/null)"
else
    echo "ensure_chromium: could not install chromium; the browser test will be skipped" >&2
fi
exit 0
