#!/usr/bin/env bash
# Thought compression of muse-nano: builds the release `muse`, trains the SFT start if it is missing
# (stage 7, configs/muse-nano-sft-stage7.json: 2200 steps from stage 6's model, scripts/train-muse-nano.sh,
# on traces of varied verbosity; about 35 min on 2 cores), then runs GRPO with a length penalty
# from configs/muse-nano-grpo.json, starting from that SFT model, into build/muse-nano-grpo/ (checkpoints,
# grpo.csv, grpo.png) and exports build/muse-nano-grpo/muse-nano-grpo.gguf. Re-running it resumes from
# the last checkpoint (prompts and sampler seeds derive from the step, so a resumed run continues exactly).
# See docs/thought-compression.md.
#   CONFIG=path.json INIT=model OUT=dir scripts/compress-muse-nano.sh
set -euo pipefail
cd "$(dirname "$0")/.."

config=${CONFIG:-configs/muse-nano-grpo.json}
init=${INIT:-build/muse-nano-sft7/muse-nano-sft.gguf}  # exported when SFT has finished (F32 weights)
out=${OUT:-build/muse-nano-grpo}                  # under build/: git-ignored

cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target muse

stage6=build/muse-nano-sft6/muse-nano-sft.gguf
if [[ ! -f "$init" && -z "${INIT:-}" && -f "$stage6" ]]; then
  sft_out=$(dirname "$init")
  sft_resume=()
  [[ -f "$sft_out/checkpoint.bin" ]] && sft_resume=(--resume "$sft_out/checkpoint.bin")
  build/release/muse train sft --config configs/muse-nano-sft-stage7.json --out "$sft_out" --init "$stage6" \
    "${sft_resume[@]}"
fi
if [[ ! -f "$init" ]]; then
  echo "compress-muse-nano: no SFT model at $init: run scripts/train-muse-nano.sh first (or set INIT)" >&2
  exit 1
fi

resume=()
if [[ -f "$out/checkpoint.bin" ]]; then
  echo "compress-muse-nano: resuming from $out/checkpoint.bin" >&2
  resume=(--resume "$out/checkpoint.bin")
fi
build/release/muse train grpo --config "$config" --init "$init" --out "$out" "${resume[@]}"
echo "compress-muse-nano: compare with: build/release/muse eval -m $out/muse-nano-grpo.gguf (and the SFT model)" >&2
