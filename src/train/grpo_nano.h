// The GRPO task source of muse-nano: train::Tasks problems rendered through the muse-nano chat template
// with thinking on (the prompt ends in "<think>\n"), checked with the exact answer checker on the decoded
// completion. Training prompts come from the train split, validation prompts from the val split.
//
// Like nano_data.h, the train module does not depend on text/: the caller passes the renderer, the
// encoder and the decoder. Prompt `index` is a pure function of (config, index). With a thinking budget,
// the question ends with " Think for N tokens." (as L1 states its target in the prompt).
// Errors: bad data config -> muse::Error(kInvalidArgument). Thread-safety: as the callbacks.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "train/grpo.h"
#include "train/grpo_config.h"
#include "train/nano_data.h"
#include "train/nano_vocab.h"

namespace muse::train {

using TextDecoder = std::function<std::string(std::span<const int32_t> tokens)>;

// The problem behind training prompt `index` (train split) and validation prompt `index` (val split).
Problem grpo_train_problem(const GrpoDataConfig& config, uint64_t index);
Problem grpo_val_problem(const GrpoDataConfig& config, uint64_t index);
// The question with the budget sentence (target_tokens > 0) or as is.
std::string grpo_question(const Problem& p, int64_t target_tokens);

GrpoTasks make_nano_grpo_tasks(const GrpoDataConfig& config, const NanoVocab& vocab, const PromptRenderer& render,
                               const TextEncoder& encode, const TextDecoder& decode);

}  // namespace muse::train
