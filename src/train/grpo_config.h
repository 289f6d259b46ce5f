// The `muse train grpo` config file: one JSON object with the GRPO hyper-parameters, the phases (each
// with its reward and generation cap) and the prompt mix (configs/muse-nano-grpo.json is the real one).
//
//   {"grpo":   {"prompts_per_step", "group_size", "updates_per_batch", "micro_batch", "lr", "warmup_steps",
//               "weight_decay", "beta1", "beta2", "grad_clip", "clip_eps", "kl_beta", "scale_by_std",
//               "temperature", "val_every", "val_max_new_tokens", "checkpoint_every", "seed"},
//    "phases": [{"steps", "max_new_tokens", "lr_scale",
//                "reward": {"kind": "correctness" | "length_penalty" | "group_minmax" | "target_length",
//                           "alpha", "weight", "target_min", "target_max", "budget_in_prompt"}}, ...],
//    "data":   {"families": "all" | "add,mul" | [..], "difficulties": ["easy", "standard"], "seed": 1,
//               "validation": 64},
//    "threads": 0}
// Every field is optional (defaults: the C++ structs') except that unknown keys are errors, so a typo
// never silently trains with a default. Errors: muse::Error(kInvalidArgument) naming the file and the
// field ("phases[1].reward.kind: ..."); kNotFound when the file cannot be read. Thread-safety: pure.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/grpo.h"
#include "train/tasks.h"

namespace muse::train {

struct GrpoDataConfig {
  std::vector<Family> families = {kAllFamilies.begin(), kAllFamilies.end()};
  std::vector<Level> levels = {Level::kEasy, Level::kStandard};
  uint64_t seed = 1;          // picks the training problems (train split) and the validation ones (val split)
  int64_t validation = 64;    // validation problems, decoded greedily every val_every steps
};

struct GrpoRunConfig {
  GrpoConfig grpo;  // out_dir, resume_from and progress are the caller's (flags)
  GrpoDataConfig data;
  int threads = 0;  // 0: all cores
};

GrpoRunConfig parse_grpo_config(const nlohmann::json& j, const std::string& source);
GrpoRunConfig load_grpo_config(const std::string& path);

}  // namespace muse::train
