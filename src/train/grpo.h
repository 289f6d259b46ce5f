// GRPO with a length penalty ("thought compression"): the reinforcement-learning loop that takes a
// trained model (SFT) and rewards correct answers reached with fewer thinking tokens.
//
// One step: take prompts_per_step prompts (a pure function of the step index), sample group_size
// completions of each with the inference engine (train/rollout.h), score them with the task's checker,
// turn each group's rewards into advantages (train/grpo_math.h), then take updates_per_batch AdamW steps
// on the clipped policy-gradient objective over the rollout batch split into as many mini-batches,
// optionally with a KL penalty to the reference (initial) model. The reward, the generation cap and the
// learning rate factor come from the current phase, so one run can go "no penalty -> penalty -> relaxed".
//
// Usage (what `muse train grpo` calls):
//   train::GrpoConfig cfg;  cfg.phases = {...};          // see GrpoPhase
//   train::GrpoTasks tasks{...};                          // prompts, checker, eog and </think> ids
//   train::GrpoResult r = train::run_grpo(cfg, init_model, tasks, pool);   // out_dir/{checkpoint.bin,grpo.csv,grpo.png}
//
// Determinism: a run is a pure function of (config, initial model, tasks, pool size): prompts and sampler
// seeds derive from the step index, so a resumed run (checkpoint = weights + AdamW state + step)
// continues exactly. Ownership: the tasks and the initial model are borrowed for the call.
// Errors: invalid config -> muse::Error(kInvalidArgument) naming the field; a diverged update (NaN/inf)
// -> kInvalidArgument naming the step, before it is applied; file errors from checkpoint/file_io.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "train/adamw.h"
#include "train/grpo_log.h"
#include "train/grpo_math.h"
#include "train/model.h"

namespace muse::train {

class RolloutEngine;

// One prompt with its checker. check(completion tokens) says whether the completion answers correctly.
struct GrpoPrompt {
  std::vector<int32_t> tokens;
  std::function<bool(std::span<const int32_t>)> check;
};

struct GrpoTasks {
  // Training prompt number `index` (a pure function of it); target_tokens > 0 asks the prompt to state
  // that thinking budget (RewardConfig::budget_in_prompt), 0 for none.
  std::function<GrpoPrompt(uint64_t index, int64_t target_tokens)> train;
  std::vector<GrpoPrompt> validation;  // fixed set, decoded greedily
  std::vector<int32_t> eog;            // tokens that end a completion (kept in it)
  int32_t think_end = -1;              // "</think>": thinking tokens = those before it; -1 or absent: all
};

struct GrpoPhase {
  int64_t steps = 1;
  RewardConfig reward;
  int64_t max_new_tokens = 256;  // the generation cap (raise it to relax the pressure)
  float lr_scale = 1.0f;         // multiplies GrpoConfig::lr in this phase
};

struct GrpoConfig {
  std::vector<GrpoPhase> phases = {GrpoPhase{}};  // run in order; total steps = sum of their steps
  int64_t prompts_per_step = 8;
  int64_t group_size = 8;
  int64_t updates_per_batch = 1;  // mini-batches (one AdamW step each) per rollout batch
  int64_t micro_batch = 8;        // rows per forward/backward (bounds the activation memory)
  float lr = 1e-5f;
  int64_t warmup_steps = 0;       // linear lr warmup over the first optimizer updates
  AdamWConfig adamw{0.9f, 0.99f, 1e-8f, 0.0f};
  float grad_clip = 1.0f;
  float clip_eps = 0.2f;          // PPO/GRPO trust region: ratio clipped to [1-eps, 1+eps]
  float kl_beta = 0.0f;           // > 0: KL penalty to the initial model (one more forward per row)
  bool scale_by_std = true;       // advantages divided by the group's reward std (GRPO); false: Dr. GRPO
  float temperature = 1.0f;       // rollout sampling temperature
  int64_t val_every = 10;         // steps between validation runs (and at step 0 and the end); 0: never
  int64_t val_max_new_tokens = 256;
  int64_t checkpoint_every = 10;  // 0: only at the end
  uint64_t seed = 1;
  std::string out_dir;            // checkpoint.bin, grpo.csv, grpo.png; empty: write nothing
  std::string resume_from;
  std::FILE* progress = stderr;

  int64_t total_steps() const;
  // The phase that step s (0-based) belongs to.
  const GrpoPhase& phase_at(int64_t step, int64_t* index = nullptr) const;
  void validate() const;  // throws kInvalidArgument naming the field
};

// Validation results of one greedy pass.
struct GrpoEval {
  double accuracy = 0.0;
  double think_mean = 0.0;
  double think_p90 = 0.0;
};

class GrpoTrainer {
 public:
  // Starts from `init` (also the KL reference). Validates config.
  GrpoTrainer(const GrpoConfig& config, const Model& init, const GrpoTasks& tasks, core::ThreadPool& pool);
  ~GrpoTrainer();

  // Continues from a checkpoint of this run (its model must have init's shape).
  void restore(int64_t step, int64_t adam_t, std::span<const float> params, std::span<const float> adam_m,
               std::span<const float> adam_v);

  // One GRPO step (rollouts + updates); returns its log row (val_* left NaN).
  GrpoPoint step();
  GrpoEval evaluate();

  int64_t steps_done() const { return step_; }
  const Model& model() const { return *policy_; }
  Model& model() { return *policy_; }
  const AdamW& optimizer() const { return adamw_; }

 private:
  struct Row;
  // One AdamW step on the mini-batch `rows`; n_tokens normalizes the loss (all its completion tokens).
  void update(std::span<Row* const> rows, int64_t n_tokens, float lr, PolicyStats& stats, float* grad_norm);
  // logp of every completion token of rows under m, into Row::logp_old (old) or Row::logp_ref.
  void fill_logprobs(const Model& m, std::span<Row* const> rows, bool old);
  // Builds the micro-batch of rows[begin, end) (completion positions masked in) and runs m forward.
  void forward_rows(const Model& m, std::span<Row* const> rows);
  int64_t think_tokens(std::span<const int32_t> completion) const;

  GrpoConfig config_;
  const GrpoTasks& tasks_;
  core::ThreadPool& pool_;
  std::unique_ptr<Model> policy_;
  std::unique_ptr<Model> reference_;  // only when kl_beta > 0
  AdamW adamw_;
  int64_t step_ = 0;
  std::unique_ptr<Workspace> ws_;
  std::unique_ptr<RolloutEngine> engine_;
};

struct GrpoResult {
  int64_t steps = 0;
  bool stopped = false;
  std::vector<GrpoPoint> history;
  GrpoEval final_eval;
  double rollout_tokens_per_s = 0.0;  // generated tokens / rollout seconds, this process
  double seconds_per_step = 0.0;      // this process
  std::unique_ptr<Model> model;
};

// Runs (or resumes, config.resume_from) GRPO to config.total_steps(), writing the checkpoint, grpo.csv and
// grpo.png under out_dir.
GrpoResult run_grpo(const GrpoConfig& config, const Model& init, const GrpoTasks& tasks, core::ThreadPool& pool,
                    std::stop_token stop = {});

}  // namespace muse::train
