#!/usr/bin/env bash
# The web page's stage of scripts/test.sh (docs/web.md): builds web/dist (npm ci + npm run build) and runs
# its tests with node's test runner: unit tests of the page's logic, the page in headless Chromium against
# a mock server, and, when build/release/muse has the serve command, the official `openai` client and the
# page in Chromium against the real `muse serve` with the small shared model.
# Skips (exit 0, with a message) when Node >= 20 or npm is absent; the Chromium tests skip themselves
# when /usr/bin/chromium is absent, the real-server tests when the muse binary has no serve command.
# Environment: MUSE_BIN (default build/release/muse), MUSE_MODEL, CHROMIUM, MUSE_WEB_ARTIFACTS (screenshots,
# default build/web-test/).
set -euo pipefail
cd "$(dirname "$0")/.."

skip() { echo "web: SKIPPED: $*"; exit 0; }
command -v node >/dev/null || skip "node not found (scripts/install-deps.sh --web installs it)"
command -v npm >/dev/null || skip "npm not found (scripts/install-deps.sh --web installs it)"
major=$(node -p 'process.versions.node.split(".")[0]')
((major >= 20)) || skip "node $(node --version) is older than 20 (the page's test tools need 20+)"
[[ -x "${CHROMIUM:-/usr/bin/chromium}" ]] ||
  echo "web: no Chromium at ${CHROMIUM:-/usr/bin/chromium}: the browser tests will be skipped (scripts/install-deps.sh --web)"

export MUSE_BIN=${MUSE_BIN:-$PWD/build/release/muse}
cd web
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
timeout 300 node --test --test-reporter=spec --test-timeout=120000 test/unit/*.test.mjs test/*.test.mjs
