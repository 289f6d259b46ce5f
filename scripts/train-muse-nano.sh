#!/usr/bin/env bash
# The one-command muse-nano recipe: builds the release `muse`, then runs supervised fine-tuning in
# thirteen stages and exports the model:
#   stage 1  configs/muse-nano-sft.json         7000 steps from random weights (easy + standard problems)
#   stage 2  configs/muse-nano-sft-stage2.json  continues the stage-1 checkpoint to step 10000 on fresh
#                                               standard problems with a new, lower cosine schedule
#   stage 3  configs/muse-nano-sft-stage3.json  3200 steps warm-started from stage 2's model (`--init`:
#                                               weights only, embeddings matched by token text) on
#                                               traces that work out every multi-digit step column by
#                                               column (docs/tasks.md), with the context raised to 1024
#   stage 5  configs/muse-nano-sft-stage5.json  2000 steps warm-started from stage 3's model on fresh
#                                               standard problems plus calculator conversations (12% of
#                                               the conversations offer the tool; multiplications call it)
#   stage 6  configs/muse-nano-sft-stage6.json  3000 more steps from stage 5's model on the same mix of
#                                               fresh problems, at a lower learning rate
#   stage 9  configs/muse-nano-sft-stage9.json  grows stage 6's model from 6 to 12 layers (each new layer
#                                               starts as the identity: zero output projections) and
#                                               trains it 4000 steps on fresh problems of the same mix
#   stage 12 configs/muse-nano-sft-stage12.json 2600 steps from stage 9's model with the word, chain and
#                                               list families weighted up (data.family_weights), on the
#                                               traces that decide a borrow after the column's digits
#   stage 13 configs/muse-nano-sft-stage13.json 2600 steps from stage 12's model, word and list weighted 3
#                                               (v6 saw the counting sort and the division walk there)
#   stage 14 configs/muse-nano-sft-stage14.json 2600 steps from stage 13's model on fresh problems (seed 14)
#   stage 15 configs/muse-nano-sft-stage15.json 2600 steps from stage 14's model, one difficulty level in
#                                               six hard (v7: the sort and division traces that write
#                                               their lookup keys down first)
#   stage 17  configs/muse-nano-sft-stage17.json  from stage 15's model: the round sort over named numbers,
#                                               sorts and divisions weighted up (the practice families)
#   stage 17b configs/muse-nano-sft-stage17b.json 1000 steps from stage 17's model
#   stage 17c configs/muse-nano-sft-stage17c.json 1000 steps from stage 17b's model (v8)
# into build/muse-nano-sft/ (stage 1), build/muse-nano-sft2/ (stage 2), build/muse-nano-sft3/ (stage 3)
# build/muse-nano-sft5/ (stage 5), build/muse-nano-sft6/ (stage 6), build/muse-nano-sft9/ (stage 9),
# build/muse-nano-sft12/ (stage 12), build/muse-nano-sft13/ (stage 13), build/muse-nano-sft14/ (stage 14) and
# build/muse-nano-sft15/ (stage 15), build/muse-nano-sft17/, build/muse-nano-sft17b/ and build/muse-nano-sft17c/
# (stage 17c: checkpoints, loss.csv, loss.png, muse-nano-sft.gguf, the model that ships). (Stages 4 and 7, configs/muse-nano-sft-stage{4,7}.json, are the thought-compression experiments' starts (stage 7 is run by scripts/compress-muse-nano.sh),
# docs/thought-compression.md, not part of this recipe.) Re-running it resumes
# from the last checkpoint (each stage is a pure function of its config and its start, so a resumed run
# ends with the same weights as an uninterrupted one). About 75 + 35 + 85 + 35 + 50 + 120 + 85 + 90 + 80 + 90 + 75 + 40 + 40 min on an
# idle 2-core machine (stage 3 runs on one thread, see its config). The generators are the current ones in every stage, so a
# re-run trains stages 1-2 on worked-out traces too; the shipped v3 is stages 5-6 on top of v2 (stage 3 on
# top of v1), whose stages 1-2 saw the older one-shot traces (commit 5c500ac), v4 is stage 9 on top of
# v3, and v5 is stage 12 on top of v4 rounded to Q8_0 (models/muse-nano.gguf v4), trained on the generators
# of commit f2db321, and v6 is stage 13 on top of stage 12's F32 export, trained on the generators of
# commit f5b3226 (the counting sort and the division walk), and v7 is stages 14 (generators of commit
# 5028754: the bucket sort, division by repeated subtraction) and 15 (commit 7696dad: the same traces with
# their digits written down first) on top of stage 13's F32 export, and v8 is stages 17 (generators of
# commit e41e5d6; stopped at step 1312 of its 2000, where this script runs all 2000), 17b (commit 26a737f)
# and 17c (commit a0186fd, the current round sort) on top of stage 15's F32 export: see models/muse-nano.md.
#   OUT=dir scripts/train-muse-nano.sh    # other output folder (later stages go to dir2 ... dir17c)
set -euo pipefail
cd "$(dirname "$0")/.."

out1=${OUT:-build/muse-nano-sft}  # under build/: git-ignored, so no model is ever committed by accident
out2=${out1}2
out3=${out1}3
out5=${out1}5
out6=${out1}6
out9=${out1}9
out12=${out1}12
out13=${out1}13
out14=${out1}14
out15=${out1}15
out17=${out1}17
out17b=${out1}17b
out17c=${out1}17c

cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target muse

# run_stage CONFIG OUT [INIT]: train until CONFIG's step count, resuming from OUT/checkpoint.bin if present;
# otherwise a stage given INIT starts from that exported model (`--init`: weights only, fresh optimizer).
run_stage() {
  local start=()
  if [[ -f "$2/checkpoint.bin" ]]; then
    echo "train-muse-nano: resuming from $2/checkpoint.bin" >&2
    start=(--resume "$2/checkpoint.bin")
  elif [[ $# -ge 3 ]]; then
    start=(--init "$3")
  fi
  build/release/muse train sft --config "$1" --out "$2" "${start[@]}"
}

run_stage configs/muse-nano-sft.json "$out1"
if [[ ! -f "$out2/checkpoint.bin" ]]; then
  # Stage 2 starts where stage 1 ended; its loss log continues stage 1's so the plot shows both.
  mkdir -p "$out2"
  cp "$out1/checkpoint.bin" "$out1/loss.csv" "$out2/"
fi
run_stage configs/muse-nano-sft-stage2.json "$out2"
# Stage 3 starts from stage 2's exported model, not its checkpoint: the traces (and so the vocabulary)
# changed, and a fresh optimizer suits the new data. (The shipped v2 was started from models/muse-nano.gguf
# v1, which is this same stage-2 model rounded to Q8_0.)
run_stage configs/muse-nano-sft-stage3.json "$out3" "$out2/muse-nano-sft.gguf"
# Stage 5 starts from stage 3's exported model: the vocabulary grew by the tool-call tokens.
run_stage configs/muse-nano-sft-stage5.json "$out5" "$out3/muse-nano-sft.gguf"
run_stage configs/muse-nano-sft-stage6.json "$out6" "$out5/muse-nano-sft.gguf"
# Stage 9 starts from stage 6's exported model and grows it to 12 layers (train::warm_start).
run_stage configs/muse-nano-sft-stage9.json "$out9" "$out6/muse-nano-sft.gguf"
# Stage 12 starts from stage 9's exported model (the shipped v5 started from v4's Q8_0 file).
run_stage configs/muse-nano-sft-stage12.json "$out12" "$out9/muse-nano-sft.gguf"
# Stage 13 starts from stage 12's exported model (as the shipped v6 did).
run_stage configs/muse-nano-sft-stage13.json "$out13" "$out12/muse-nano-sft.gguf"
# Stages 14 and 15 each start from the previous stage's exported model (as the shipped v7 did).
run_stage configs/muse-nano-sft-stage14.json "$out14" "$out13/muse-nano-sft.gguf"
run_stage configs/muse-nano-sft-stage15.json "$out15" "$out14/muse-nano-sft.gguf"
# Stages 17, 17b and 17c each start from the previous stage's exported model (as the shipped v8 did).
run_stage configs/muse-nano-sft-stage17.json "$out17" "$out15/muse-nano-sft.gguf"
run_stage configs/muse-nano-sft-stage17b.json "$out17b" "$out17/muse-nano-sft.gguf"
run_stage configs/muse-nano-sft-stage17c.json "$out17c" "$out17b/muse-nano-sft.gguf"
echo "train-muse-nano: ship it with: build/release/muse quantize $out17c/muse-nano-sft.gguf models/muse-nano.gguf q8_0" >&2
echo "train-muse-nano: try it with: build/release/muse chat -m $out17c/muse-nano-sft.gguf --tools calculator" >&2
