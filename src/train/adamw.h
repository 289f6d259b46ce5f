// AdamW with decoupled weight decay, the warmup + cosine learning-rate schedule, and global-norm
// gradient clipping: the optimizer side of a training step.
//
//   m = b1 m + (1-b1) g ;  v = b2 v + (1-b2) g^2 ;  m^ = m / (1-b1^t) ;  v^ = v / (1-b2^t)
//   p -= lr * (m^ / (sqrt(v^) + eps) + wd * p)      (wd = 0 for RMSNorm gains: TensorSpec::is_norm)
//
// AdamW owns the two moment buffers (same layout as Model::params) and the step count t; both go into
// checkpoints. Not thread-safe; step() splits its loop over the caller's pool (element-wise, so the
// result does not depend on the split). Throws only from configure checks (kInvalidArgument).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "train/model.h"

namespace muse::train {

struct AdamWConfig {
  float beta1 = 0.9f;
  float beta2 = 0.95f;        // < 0.999: adapts faster to the loss spikes of small-batch SFT
  float eps = 1e-8f;
  float weight_decay = 0.1f;  // decoupled (multiplied by lr); 0 turns it off
  // Throws kInvalidArgument naming the field.
  void validate() const;
};

// Warmup + cosine: linear from max_lr/warmup to max_lr over `warmup` steps, then cosine down to
// min_lr at `total` steps, min_lr after. step counts from 0.
//   lr(s) = max_lr (s+1)/warmup                                     s < warmup
//   lr(s) = min_lr + (max_lr - min_lr) (1 + cos(pi (s-warmup)/(total-warmup))) / 2   otherwise
struct LrSchedule {
  float max_lr = 1e-3f;
  float min_lr = 1e-4f;
  int64_t warmup = 100;
  int64_t total = 1000;
  float at(int64_t step) const;
  void validate() const;  // throws kInvalidArgument
};

// Scales grads in place so that their global L2 norm is at most max_norm (no-op when max_norm <= 0 or
// the norm is already smaller). Returns the norm before clipping (NaN/inf propagate: the caller checks).
//   norm = sqrt(sum g^2) ; g *= max_norm / norm
float clip_grad_norm(std::span<float> grads, float max_norm);

class AdamW {
 public:
  AdamW(const AdamWConfig& config, int64_t n_params);

  // One update of model.params() from model.grads() with learning rate lr; increments t.
  void step(core::ThreadPool& pool, Model& model, float lr);

  int64_t t() const { return t_; }
  std::span<const float> m() const { return m_; }
  std::span<const float> v() const { return v_; }
  // For checkpoint loading. REQUIRES: spans of n_params elements.
  void restore(int64_t t, std::span<const float> m, std::span<const float> v);
  const AdamWConfig& config() const { return config_; }

 private:
  AdamWConfig config_;
  int64_t t_ = 0;
  std::vector<float> m_, v_;
};

}  // namespace muse::train
