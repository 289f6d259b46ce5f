#!/usr/bin/env bash
# The one-command muse-nano recipe: builds the release `muse`, then runs supervised fine-tuning in two
# stages and exports the model:
#   stage 1  configs/muse-nano-sft.json         7000 steps from random weights (easy + standard problems)
#   stage 2  configs/muse-nano-sft-stage2.json  continues the stage-1 checkpoint to step 14000 on fresh
#                                               standard problems with a new, lower cosine schedule
# into build/muse-nano-sft/ (stage 1) and build/muse-nano-sft2/ (stage 2: checkpoints, loss.csv and
# loss.png over both stages, muse-nano-sft.gguf). Re-running it resumes from the last checkpoint (each
# stage is a pure function of its config and its starting checkpoint, so a resumed run ends with the
# same weights as an uninterrupted one). About 2 x 70 min on an idle 2-core machine.
#   OUT=dir scripts/train-muse-nano.sh    # other output folder (stage 2 goes to dir2)
set -euo pipefail
cd "$(dirname "$0")/.."

out1=${OUT:-build/muse-nano-sft}  # under build/: git-ignored, so no model is ever committed by accident
out2=${out1}2

cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target muse

# run_stage CONFIG OUT: train until CONFIG's step count, resuming from OUT/checkpoint.bin if present.
run_stage() {
  local resume=()
  if [[ -f "$2/checkpoint.bin" ]]; then
    echo "train-muse-nano: resuming from $2/checkpoint.bin" >&2
    resume=(--resume "$2/checkpoint.bin")
  fi
  build/release/muse train sft --config "$1" --out "$2" "${resume[@]}"
}

run_stage configs/muse-nano-sft.json "$out1"
if [[ ! -f "$out2/checkpoint.bin" ]]; then
  # Stage 2 starts where stage 1 ended; its loss log continues stage 1's so the plot shows both.
  mkdir -p "$out2"
  cp "$out1/checkpoint.bin" "$out1/loss.csv" "$out2/"
fi
run_stage configs/muse-nano-sft-stage2.json "$out2"
echo "train-muse-nano: try it with: build/release/muse chat -m $out2/muse-nano-sft.gguf" >&2
