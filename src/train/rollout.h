// GRPO rollouts on the inference engine: the trainer's current weights are turned into an in-memory
// F32 GGUF, loaded as a model::Model (the same loader and kernels `muse run` uses), and G completions per
// prompt are sampled by engine::Scheduler in one continuous batch (each prompt is prefilled once and
// forked G times, sharing its KV pages).
//
// Usage:
//   train::RolloutEngine eng(pool);
//   eng.load(policy);                                  // after every optimizer step
//   auto groups = eng.sample(prompts, opts);           // groups[p][g]: the g-th completion of prompt p
//
// Ownership: the engine owns its model copy (the trainer's Model may change after load()); the pool is
// borrowed. Not thread-safe. Errors: a prompt that does not fit n_ctx -> muse::Error(kOutOfRange) naming
// the prompt; bad options -> kInvalidArgument.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "model/model.h"
#include "model/runner.h"
#include "train/model.h"

namespace muse::train {

struct RolloutOptions {
  int64_t group_size = 8;          // G completions per prompt
  int64_t max_new_tokens = 256;    // cap per completion (the eog token included)
  float temperature = 1.0f;        // 1: the policy's own distribution (no top-k/top-p/min-p); 0: greedy
  uint64_t seed = 1;               // completion (p, g) uses a sampler seeded from (seed, p, g)
  std::vector<int32_t> eog;        // tokens that end a completion; the token is kept in the completion
  int64_t max_batch = 256;         // tokens per forward pass
};

struct Completion {
  std::vector<int32_t> tokens;  // generated tokens, the eog token last when one was sampled
  bool ended = false;           // an eog token ended it (else the cap or the context did)
};

struct RolloutStats {
  double load_seconds = 0.0;    // last load(): GGUF build + model load
  double sample_seconds = 0.0;  // last sample(): all forward passes and sampling
  int64_t prompt_tokens = 0;    // prefilled (each prompt once)
  int64_t generated_tokens = 0;
};

class RolloutEngine {
 public:
  explicit RolloutEngine(core::ThreadPool& pool);
  ~RolloutEngine();

  // Copies the trainer's weights into a fresh inference model (REQUIRES before sample()).
  void load(const Model& policy);
  // groups[p] holds options.group_size completions of prompts[p]. Deterministic in (weights, prompts,
  // options) for a given pool size.
  std::vector<std::vector<Completion>> sample(std::span<const std::vector<int32_t>> prompts,
                                              const RolloutOptions& options);

  const RolloutStats& stats() const { return stats_; }

 private:
  core::ThreadPool& pool_;
  std::unique_ptr<model::Model> model_;
  std::unique_ptr<model::Runner> runner_;
  RolloutStats stats_;
};

}  // namespace muse::train
