#!/usr/bin/env bash
# Evaluates a muse-nano model on the task suites the model card reports:
#   standard  600 test-split problems at training difficulty (100 per family): Thinking and Instant
#   hard      300 test-split problems at the hard level (50 per family; in training only from stage 15): Thinking and Instant
#   contemplating  the first 120 standard problems, 4 agents, majority vote, against Thinking
#   modes     the 300 hard problems in all three modes, sampled alike (temperature 0.7), 8 agents voting
#   tools     200 large multiplications (test split, hard: 4-6 digit factors): Thinking and Instant,
#             without tools and with `--tools calculator` (the agent loop)
# Writes build/eval/<name>/{standard,hard}.jsonl, one JSON report per run and the printed tables
# (summary.txt). Greedy decoding (--temp 0) except the contemplating and modes runs, which sample (temp 0.7)
# so that the agents differ. About 20 minutes on two idle cores.
#   scripts/eval-muse-nano.sh [MODEL.gguf] [NAME]     # default models/muse-nano.gguf, name from the file
#   EVAL_FLAGS="-t 1" scripts/eval-muse-nano.sh ...    # extra `muse eval` flags (one thread on a busy machine)
set -euo pipefail
cd "$(dirname "$0")/.."

model=${1:-models/muse-nano.gguf}
name=${2:-$(basename "$model" .gguf)}
out=build/eval/$name
muse=${MUSE:-build/release/muse}  # MUSE=path/to/muse to use another build
read -r -a extra <<<"${EVAL_FLAGS:-}"
[[ -f "$model" ]] || { echo "eval-muse-nano: no model at $model" >&2; exit 1; }
if [[ ! -x $muse ]]; then
  cmake --preset release >/dev/null
  cmake --build --preset release -j"$(nproc)" --target muse
fi
mkdir -p "$out"

$muse tasks --split test --family all --difficulty standard -n 600 -o "$out/standard.jsonl"
$muse tasks --split test --family all --difficulty hard -n 300 -o "$out/hard.jsonl"
$muse tasks --split test --family mul --difficulty hard -n 200 -o "$out/large-mul.jsonl"

{
  echo "# $model, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "## standard (600), greedy"
  $muse eval "${extra[@]}" -m "$model" --suite "$out/standard.jsonl" --mode thinking,instant --temp 0 \
    --report "$out/standard.json"
  echo "## hard (300), greedy"
  $muse eval "${extra[@]}" -m "$model" --suite "$out/hard.jsonl" --mode thinking,instant --temp 0 --report "$out/hard.json"
  echo "## contemplating, standard first 120, 4 agents, vote, temp 0.7"
  $muse eval "${extra[@]}" -m "$model" --suite "$out/standard.jsonl" -n 120 --mode thinking,contemplating --agents 4 \
    --aggregate vote --temp 0.7 -s 1 --report "$out/contemplating.json"
  echo "## hard (300), the three modes, temp 0.7, contemplating with 8 agents voting"
  $muse eval "${extra[@]}" -m "$model" --suite "$out/hard.jsonl" --mode instant,thinking,contemplating --agents 8 \
    --aggregate vote --temp 0.7 -s 1 --report "$out/modes-hard.json"
  echo "## large multiplications (200), greedy, without tools"
  $muse eval "${extra[@]}" -m "$model" --suite "$out/large-mul.jsonl" --mode thinking,instant --temp 0 \
    --report "$out/large-mul.json"
  echo "## large multiplications (200), greedy, with the calculator"
  $muse eval "${extra[@]}" -m "$model" --suite "$out/large-mul.jsonl" --mode thinking,instant --temp 0 \
    --tools calculator --report "$out/large-mul-tools.json"
} | tee "$out/summary.txt"
echo "eval-muse-nano: wrote $out/summary.txt and the JSON reports beside it" >&2
