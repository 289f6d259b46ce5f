#!/usr/bin/env bash
# The main job (README): installs what the build needs, builds the release preset, and chats with the
# default model, muse-nano (models/muse-nano.gguf, OpenMuse's own small reasoning model; its model card
# is models/muse-nano.md). Extra arguments go to `muse chat` (e.g. --mode instant, --mode contemplating
# --agents 4, --stats). Type one question per line; /mode, /reset and /exit work as in `muse chat`.
#   MUSE_MODEL=path/to/model.gguf bash scripts/quickstart.sh    # chat with another GGUF model
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target muse

model=${MUSE_MODEL:-models/muse-nano.gguf}
if [[ ! -f "$model" ]]; then
  echo "quickstart: model '$model' not found (set MUSE_MODEL=path/to/model.gguf)" >&2
  exit 1
fi
if [[ -t 0 && -z ${MUSE_MODEL:-} ]]; then
  cat >&2 <<'EOF'
quickstart: chatting with muse-nano, a 10M-parameter model trained from scratch on arithmetic, word
problems and lists (models/muse-nano.md). It was trained on one question per conversation: type /reset
before the next question. Try:
  Compute 4508 + 2779.
  Take 386 away from 9021.
  What is 47 * 6?
  Find the product of 72 and 39.      (longer sums inside its reasoning are where it still slips)
/mode instant | thinking | contemplating switches the reasoning mode; /exit or Ctrl-D quits.
Started with --tools calculator, it calls a calculator for multiplications (What is 244165 * 387?).
EOF
fi
exec build/release/muse chat -m "$model" --mode thinking "$@"
