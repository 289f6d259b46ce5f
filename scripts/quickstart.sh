#!/usr/bin/env bash
# The main job (README): installs what the build needs, builds the release preset, and generates text
# with the default model. Extra arguments go to `muse run` (e.g. -p "Your prompt" -n 200).
#
# Until muse-nano (the project's own model, models/muse-nano.gguf) ships, the default model is the
# real stories260K model from ../shared/data/models, a tiny TinyStories model: it writes short stories.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target muse

model=${MUSE_MODEL:-../shared/data/models/stories260K.gguf}
if [[ ! -f "$model" ]]; then
  echo "quickstart: model '$model' not found (set MUSE_MODEL=path/to/model.gguf)" >&2
  exit 1
fi
if [[ $# -eq 0 ]]; then
  set -- -p "Once upon a time" -n 200
fi
exec build/release/muse run -m "$model" "$@"
