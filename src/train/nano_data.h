// muse-nano SFT data: train::Tasks problems (train split only) rendered through the chat template as
// one user turn and one assistant turn, tokenized with the engine's tokenizer, loss on the assistant's
// tokens only.
//
//   thinking example:  PROMPT(enable_thinking=true)  = "...<|im_start|>assistant\n<think>\n"
//                      completion = trace + "\n</think>\n\n" + short_answer + "<|im_end|>"
//   instant example:   PROMPT(enable_thinking=false) = "...<|im_start|>assistant\n<think>\n\n</think>\n\n"
//                      completion = short_answer + "<|im_end|>"
// The token sequence is encode(PROMPT + completion) with BOS in front, exactly what the engine sees
// when it renders the same conversation and then generates; the mask covers the tokens after
// encode(PROMPT), which must be a prefix of the whole (checked: the example is rejected otherwise).
//
// The module does not depend on text/ (DESIGN.md: train may use model, core, gguf), so the caller
// passes the template renderer and the encoder (cmd_train.cpp builds them from text::ChatTemplate and
// text::Tokenizer over build_nano_vocab()).
//
// Determinism: example i is a pure function of (config, i). Thread-safety: pure apart from the callbacks.
// Errors: bad config values throw muse::Error(kInvalidArgument) naming the field ("data.families", ...).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "train/sft.h"
#include "train/tasks.h"

namespace muse::train {

struct NanoDataConfig {
  std::vector<Family> families = {kAllFamilies.begin(), kAllFamilies.end()};
  std::vector<Level> levels = {Level::kEasy, Level::kStandard};
  double no_thinking_fraction = 0.3;  // share of instant (no-thinking) examples
  int64_t examples = 1000;            // examples generated (before dropping over-long ones)
  uint64_t seed = 1;                  // picks the problem seeds and the thinking switch
  int64_t max_tokens = 257;           // longest kept example (the trainer's seq_len + 1)
  TraceStyle trace_style;             // varied verbosity of the thinking traces (train::restyle_trace)
  void validate() const;              // throws kInvalidArgument naming "data.<field>"
};

// Renders the one-user-turn conversation with the generation prompt (thinking on/off).
using PromptRenderer = std::function<std::string(const std::string& question, bool thinking)>;
// Engine encoding of text (parse_special = true, no BOS; the builder adds BOS).
using TextEncoder = std::function<std::vector<int32_t>(const std::string& text)>;

struct NanoDataStats {
  int64_t kept = 0, dropped_too_long = 0, thinking = 0, instant = 0;
  int64_t tokens = 0, masked_tokens = 0;  // over kept examples
  int64_t longest = 0;
};

// The assistant completion text for a problem (see the top of this file).
std::string nano_completion(const Problem& p, bool thinking);

// One example: tokens = [bos] + encode(prompt + completion); mask 1 on the completion's tokens.
// Throws kInvalidArgument if encode(prompt) is not a prefix of the whole.
Example make_nano_example(const Problem& p, bool thinking, int32_t bos, const PromptRenderer& render,
                          const TextEncoder& encode);

std::vector<Example> build_nano_data(const NanoDataConfig& config, int32_t bos, const PromptRenderer& render,
                                     const TextEncoder& encode, NanoDataStats* stats = nullptr);

}  // namespace muse::train
