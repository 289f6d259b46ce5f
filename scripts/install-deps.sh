#!/usr/bin/env bash
# Installs every Debian package that OpenMuse's build, tests and benchmarks need.
# Idempotent: packages already present are skipped, so a second run costs a few seconds.
# Usage: scripts/install-deps.sh [--fuzz] [--web]
#   --fuzz adds clang-16 + libFuzzer for the fuzz targets;
#   --web adds Chromium for the web page's browser test, and Debian's nodejs + npm when no `node` is on
#   PATH (the machine image ships Node 20; Debian 12's is 18, too old for the page's test tools, so
#   scripts/test.sh skips the web stage there with a message).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  libgtest-dev libgmock-dev libbenchmark-dev librapidcheck-dev
  libfmt-dev libcli11-dev nlohmann-json3-dev
  libpcre2-dev libutf8proc-dev
  libcpp-httplib-dev libssl-dev zlib1g-dev libbrotli-dev
  libcairo2-dev libzstd-dev libopenblas-dev libgmp-dev
  python3-jinja2
)
for arg in "$@"; do
  case "$arg" in
    --fuzz) packages+=(clang-16 libclang-rt-16-dev libfuzzer-16-dev) ;;
    --web)
      packages+=(chromium)
      if ! command -v node >/dev/null; then packages+=(nodejs npm); fi
      ;;
    *) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
