// The loss log of a training run: one LossPoint per step, written as CSV (for tools) and drawn as a
// PNG loss curve with cairo (for people).
//
// CSV: header "step,loss,lr,grad_norm,tokens_per_s,elapsed_s", then one row per point.
// Pure functions; parse_loss_csv throws muse::Error(kCorruption) naming the line for a malformed row;
// render_loss_plot_png throws kIOError if cairo fails. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace muse::train {

struct LossPoint {
  int64_t step = 0;        // 1-based: the loss of the step-th update
  float loss = 0.0f;       // mean masked loss of that step's batch
  float lr = 0.0f;
  float grad_norm = 0.0f;  // before clipping
  double tokens_per_s = 0.0;
  double elapsed_s = 0.0;  // since the process that ran this step started its run
};

std::string format_loss_csv(std::span<const LossPoint> points);
// `name` is used in error messages.
std::vector<LossPoint> parse_loss_csv(std::string_view text, const std::string& name);

// A width x height PNG: the raw per-step loss (light) and its exponential moving average (dark,
// ema = 0.9 ema + 0.1 loss), step on x, loss on y, with axes, ticks and `title`.
// An empty `points` still gives a valid PNG (axes and title only).
std::vector<uint8_t> render_loss_plot_png(std::span<const LossPoint> points, const std::string& title,
                                          int width = 800, int height = 500);

// Shared by the training logs and progress lines (SFT and GRPO):
// a tick spacing of 1, 2 or 5 times a power of ten, so that about `n` ticks cover `range`;
double nice_step(double range, int n);
// a duration as "42s", "3m07s" or "1h05m".
std::string format_duration(double seconds);

}  // namespace muse::train
