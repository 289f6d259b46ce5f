#!/usr/bin/env bash
# The test command (README, .ci/run). On a fresh Debian 12 machine it:
#   1. installs the Debian packages the build needs (scripts/install-deps.sh, idempotent),
#   2. builds the release preset and runs the whole test suite,
#   3. builds the web page and runs its tests: unit, headless Chromium, the `openai` client against
#      build/release/muse serve (scripts/test-web.sh; skipped with a message without Node 20+),
#   4. builds the asan preset (AddressSanitizer + UndefinedBehaviorSanitizer) and runs the suite again,
#   5. when clang-16 is present, builds the libFuzzer targets and runs each for MUSE_FUZZ_SECONDS (30).
# Any failure stops it with a non-zero exit status. Set MUSE_SKIP_WEB=1, MUSE_SKIP_ASAN=1 or
# MUSE_SKIP_FUZZ=1 to skip a stage.
set -euo pipefail
cd "$(dirname "$0")/.."

web_deps=--web
[[ "${MUSE_SKIP_WEB:-0}" == 1 ]] && web_deps=""
bash scripts/install-deps.sh --fuzz $web_deps

jobs=$(nproc)
stage() { printf '\n=== %s ===\n' "$*"; }

stage "release build"
cmake --preset release >/dev/null
cmake --build --preset release -j"$jobs"
stage "release tests"
ctest --preset release -j"$jobs" --timeout 900

if [[ "${MUSE_SKIP_WEB:-0}" != 1 ]]; then
  stage "web page: build and tests"
  MUSE_BIN="$PWD/build/release/muse" bash scripts/test-web.sh
else
  stage "web page: skipped (MUSE_SKIP_WEB=1)"
fi

if [[ "${MUSE_SKIP_ASAN:-0}" != 1 ]]; then
  stage "asan+ubsan build"
  cmake --preset asan >/dev/null
  cmake --build --preset asan -j"$jobs"
  stage "asan+ubsan tests"
  ctest --preset asan -j"$jobs" --timeout 1800
fi

if [[ "${MUSE_SKIP_FUZZ:-0}" != 1 ]] && command -v clang++-16 >/dev/null; then
  stage "fuzz build (clang-16)"
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -j"$jobs" --target fuzz_all
  seconds=${MUSE_FUZZ_SECONDS:-30}
  shopt -s nullglob
  for bin in build/fuzz/fuzz/fuzz_*; do
    name=$(basename "$bin")
    name=${name#fuzz_}
    corpus=build/fuzz/corpus/$name
    mkdir -p "$corpus"
    # fuzz/<name>.seeds lists read-only seed folders (relative to the repository root), one per line.
    seeds=()
    if [[ -f fuzz/$name.seeds ]]; then
      while IFS= read -r line; do
        [[ -n "$line" && -d "$line" ]] && seeds+=("$line")
      done < "fuzz/$name.seeds"
    fi
    stage "fuzz $name for ${seconds}s"
    log=build/fuzz/$name.log
    if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        "$corpus" "${seeds[@]}" >"$log" 2>&1; then
      tail -n 60 "$log" >&2
      echo "fuzz target $name failed (full log: $log; crashing input saved as crash-* in $(pwd))" >&2
      exit 1
    fi
    grep -E "^stat::(number_of_executed_units|peak_rss_mb)" "$log" || true
  done
fi

stage "all tests passed"
