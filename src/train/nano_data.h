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
// Tool conversations (data.tool_fraction): the prompt offers the calculator (NanoToolHooks::render), and
// a multiplication becomes two examples, each with the loss on its last assistant turn:
//   1. [user Q]                                  -> "This is a large multiplication, so I use the
//      calculator.\n</think>\n\n" + CALL + "<|im_end|>"   (instant: CALL + "<|im_end|>")
//   2. [user Q, assistant CALL, tool R]           -> "The calculator says A * B = R.\n</think>\n\n" +
//      short_answer + "<|im_end|>"                          (instant: short_answer + "<|im_end|>")
// where CALL = NanoToolHooks::call_text("A * B") and R is the product, as the calculator writes it.
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
#include <utility>
#include <vector>

#include "train/sft.h"
#include "train/tasks.h"

namespace muse::train {

struct NanoDataConfig {
  std::vector<Family> families = {kAllFamilies.begin(), kAllFamilies.end()};
  // How many examples of each family, relative to the others, in families' order; empty means one
  // each. Examples cycle through the families, family f taking family_weights[f] turns of each cycle,
  // so weights of 1 give exactly the unweighted data.
  std::vector<int> family_weights;
  std::vector<Level> levels = {Level::kEasy, Level::kStandard};
  double no_thinking_fraction = 0.3;  // share of instant (no-thinking) examples
  int64_t examples = 1000;            // examples generated (before dropping over-long ones)
  uint64_t seed = 1;                  // picks the problem seeds and the thinking switch
  int64_t max_tokens = 257;           // longest kept example (the trainer's seq_len + 1)
  TraceStyle trace_style;             // varied verbosity of the thinking traces (train::restyle_trace)
  // Share of examples whose conversation offers the calculator tool (needs NanoToolHooks). Half of
  // them are multiplications (levels standard and hard), answered with a calculator call and, in a
  // second example, the answer from its result; the other half are the example's own family, answered
  // as without tools (so offering tools does not make the model call them for everything).
  double tool_fraction = 0.0;
  void validate() const;              // throws kInvalidArgument naming "data.<field>"
};

// Renders the one-user-turn conversation with the generation prompt (thinking on/off).
using PromptRenderer = std::function<std::string(const std::string& question, bool thinking)>;
// Engine encoding of text (parse_special = true, no BOS; the builder adds BOS).
using TextEncoder = std::function<std::vector<int32_t>(const std::string& text)>;

// A conversation as (role, content) turns, the last one the user's or a tool result.
using Turns = std::vector<std::pair<std::string, std::string>>;

// What tool examples need from the chat side (the caller builds them from the chat template and
// tools::format_tool_call; train does not depend on text/ or tools/).
struct NanoToolHooks {
  // The prompt of `turns` with the calculator offered and the generation prompt (thinking on/off).
  std::function<std::string(const Turns& turns, bool thinking)> render;
  // The text of a calculator call on `expression`, as the model writes it and the template shows it.
  std::function<std::string(const std::string& expression)> call_text;
};

// A multiplication problem with the calculator: the two examples of its conversation (the call, then
// the answer after the tool's result). Returns false (and writes nothing) when the question does not
// hold exactly two numbers.
bool make_nano_tool_examples(const Problem& p, bool thinking, int32_t bos, const NanoToolHooks& hooks,
                             const TextEncoder& encode, std::vector<Example>& out);

struct NanoDataStats {
  int64_t kept = 0, dropped_too_long = 0, thinking = 0, instant = 0;
  int64_t tool_calls = 0, tools_unused = 0;  // tool conversations: with a call (2 examples each), without
  int64_t tokens = 0, masked_tokens = 0;  // over kept examples
  int64_t longest = 0;
};

// The assistant completion text for a problem (see the top of this file).
std::string nano_completion(const Problem& p, bool thinking);

// One example: tokens = [bos] + encode(prompt + completion); mask 1 on the completion's tokens.
// Throws kInvalidArgument if encode(prompt) is not a prefix of the whole.
Example make_nano_example(const Problem& p, bool thinking, int32_t bos, const PromptRenderer& render,
                          const TextEncoder& encode);

// tools: required when config.tool_fraction > 0 (kInvalidArgument otherwise).
std::vector<Example> build_nano_data(const NanoDataConfig& config, int32_t bos, const PromptRenderer& render,
                                     const TextEncoder& encode, NanoDataStats* stats = nullptr,
                                     const NanoToolHooks* tools = nullptr);

}  // namespace muse::train
