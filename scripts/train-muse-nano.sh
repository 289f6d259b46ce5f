#!/usr/bin/env bash
# The one-command muse-nano recipe: builds the release `muse`, then runs supervised fine-tuning from
# configs/muse-nano-sft.json into build/muse-nano-sft/ (checkpoints, loss.csv, loss.png) and exports
# build/muse-nano-sft/muse-nano-sft.gguf. Re-running it resumes from the last checkpoint (the run is a
# pure function of the config, so a resumed run ends with the same weights as an uninterrupted one).
#   CONFIG=path.json OUT=dir scripts/train-muse-nano.sh   # other config or output folder
set -euo pipefail
cd "$(dirname "$0")/.."

config=${CONFIG:-configs/muse-nano-sft.json}
out=${OUT:-build/muse-nano-sft}  # under build/: git-ignored, so no model is ever committed by accident

cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target muse

resume=()
if [[ -f "$out/checkpoint.bin" ]]; then
  echo "train-muse-nano: resuming from $out/checkpoint.bin" >&2
  resume=(--resume "$out/checkpoint.bin")
fi
build/release/muse train sft --config "$config" --out "$out" "${resume[@]}"
echo "train-muse-nano: try it with: build/release/muse chat -m $out/muse-nano-sft.gguf" >&2
