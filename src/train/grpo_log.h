// The log of a GRPO run: one GrpoPoint per step, written as CSV (grpo.csv, for tools and for resuming)
// and drawn as a PNG of six small panels with cairo (grpo.png): validation and rollout accuracy, mean
// and p90 thinking tokens, reward, KL to the reference, clip fraction, seconds per step.
//
// CSV: the header below, then one row per step; a value not measured that step (validation runs only
// every val_every steps; KL only with a reference) is written "nan".
// Pure functions; parse_grpo_csv throws muse::Error(kCorruption) naming the line; the PNG renderer
// throws kIOError when cairo fails. Thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace muse::train {

struct GrpoPoint {
  int64_t step = 0;  // 1-based
  int64_t phase = 0;
  float lr = 0.0f;
  double reward = 0.0;          // mean reward of the rollouts
  double accuracy = 0.0;        // fraction of rollouts the checker accepted
  double think_mean = 0.0;      // thinking tokens of the rollouts
  double think_p90 = 0.0;
  double completion_mean = 0.0; // all generated tokens of the rollouts
  double kl = 0.0;              // mean per-token KL (k3) to the reference; nan without a reference
  double clip_frac = 0.0;       // fraction of token updates whose ratio was clipped
  double grad_norm = 0.0;       // of the last update, before clipping
  double val_accuracy = 0.0;    // nan when validation did not run this step
  double val_think_mean = 0.0;
  double rollout_s = 0.0;       // seconds sampling (including the weight reload)
  double update_s = 0.0;        // seconds in forward/backward/AdamW
  double rollout_tok_s = 0.0;   // generated tokens / rollout_s
  double elapsed_s = 0.0;       // since this process started the run
};

std::string format_grpo_csv(std::span<const GrpoPoint> points);
std::vector<GrpoPoint> parse_grpo_csv(std::string_view text, const std::string& name);

std::vector<uint8_t> render_grpo_plot_png(std::span<const GrpoPoint> points, const std::string& title,
                                          int width = 1200, int height = 800);

}  // namespace muse::train
