// The `muse train sft` config file: one JSON object naming the model shape, the data mix and the
// optimisation schedule of a muse-nano SFT run (configs/muse-nano-sft.json is the real one).
//
//   {"model": {"dim", "n_layers", "n_heads", "n_kv_heads", "ffn_dim", "max_seq", "rope_theta", "norm_eps"},
//    "data":  {"families": "all" | "add,mul" | [..], "family_weights": {"word": 3},
//              "difficulties": ["easy", "standard"],
//              "no_thinking_fraction": 0.3, "examples": 20000, "seed": 1},
//    "train": {"steps", "batch_size", "seq_len", "max_lr", "min_lr", "warmup_steps", "weight_decay",
//              "beta1", "beta2", "grad_clip", "seed", "log_every", "checkpoint_every"},
//    "threads": 0}
// Every field is optional (defaults: the C++ structs' defaults) except that unknown keys are errors, so
// a typo never silently trains with a default. The vocabulary size is not configurable: it is the
// muse-nano tokenizer's (set by the caller).
//
// Errors: muse::Error(kInvalidArgument) whose message names the file and the field ("model.dim: expected
// a positive integer"); a file that cannot be read or parsed: kNotFound / kInvalidArgument with the
// line. Thread-safety: pure.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "train/nano_data.h"
#include "train/sft.h"

namespace muse::train {

struct NanoRunConfig {
  SftConfig sft;        // out_dir, resume_from and progress are the caller's (flags), not the file's
  NanoDataConfig data;  // max_tokens follows sft.seq_len + 1
  int threads = 0;      // 0: all cores
};

// `source` names the file in messages. Validates everything but model.vocab (the caller's).
NanoRunConfig parse_nano_config(const nlohmann::json& j, const std::string& source);
NanoRunConfig load_nano_config(const std::string& path);

}  // namespace muse::train
