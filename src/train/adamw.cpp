#include "train/adamw.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"

namespace muse::train {

void AdamWConfig::validate() const {
  auto in_unit = [](const char* field, float x) {
    if (!(x >= 0.0f && x < 1.0f)) fail(ErrorCode::kInvalidArgument, "adamw: {} = {} must be in [0, 1)", field, x);
  };
  in_unit("beta1", beta1);
  in_unit("beta2", beta2);
  if (!(eps > 0.0f && std::isfinite(eps))) fail(ErrorCode::kInvalidArgument, "adamw: eps = {} must be > 0", eps);
  if (!(weight_decay >= 0.0f && std::isfinite(weight_decay))) {
    fail(ErrorCode::kInvalidArgument, "adamw: weight_decay = {} must be >= 0", weight_decay);
  }
}

float LrSchedule::at(int64_t step) const {
  if (step < warmup) return max_lr * static_cast<float>(step + 1) / static_cast<float>(warmup);
  if (step >= total) return min_lr;
  const double progress = static_cast<double>(step - warmup) / static_cast<double>(total - warmup);
  const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  return static_cast<float>(min_lr + (max_lr - min_lr) * cosine);
}

void LrSchedule::validate() const {
  if (!(max_lr > 0.0f && std::isfinite(max_lr))) fail(ErrorCode::kInvalidArgument, "lr schedule: max_lr = {} must be > 0", max_lr);
  if (!(min_lr >= 0.0f && min_lr <= max_lr)) {
    fail(ErrorCode::kInvalidArgument, "lr schedule: min_lr = {} must be in [0, max_lr = {}]", min_lr, max_lr);
  }
  if (warmup < 0 || total < 1 || warmup >= total) {
    fail(ErrorCode::kInvalidArgument, "lr schedule: warmup = {} must be in [0, total steps = {})", warmup, total);
  }
}

float clip_grad_norm(std::span<float> grads, float max_norm) {
  double ss = 0.0;  // double: 5M squares summed in float would lose ~3 digits
  for (float g : grads) ss += static_cast<double>(g) * g;
  const float norm = static_cast<float>(std::sqrt(ss));
  if (max_norm > 0.0f && norm > max_norm && std::isfinite(norm)) {
    const float scale = max_norm / norm;
    for (float& g : grads) g *= scale;
  }
  return norm;
}

AdamW::AdamW(const AdamWConfig& config, int64_t n_params)
    : config_(config), m_(static_cast<size_t>(n_params), 0.0f), v_(static_cast<size_t>(n_params), 0.0f) {
  config_.validate();
}

void AdamW::restore(int64_t t, std::span<const float> m, std::span<const float> v) {
  MUSE_ASSERT(m.size() == m_.size() && v.size() == v_.size() && t >= 0);
  t_ = t;
  std::copy(m.begin(), m.end(), m_.begin());
  std::copy(v.begin(), v.end(), v_.begin());
}

void AdamW::step(core::ThreadPool& pool, Model& model, float lr) {
  MUSE_ASSERT(static_cast<size_t>(model.n_params()) == m_.size());
  t_++;
  const float b1 = config_.beta1, b2 = config_.beta2, eps = config_.eps;
  const float bc1 = static_cast<float>(1.0 - std::pow(static_cast<double>(b1), static_cast<double>(t_)));
  const float bc2 = static_cast<float>(1.0 - std::pow(static_cast<double>(b2), static_cast<double>(t_)));
  float* params = model.params().data();
  const float* grads = model.grads().data();
  for (const TensorSpec& t : model.tensors()) {
    const float wd = t.is_norm ? 0.0f : config_.weight_decay;
    auto update = [&](int64_t begin, int64_t end) {
      for (int64_t i = t.offset + begin; i < t.offset + end; i++) {
        const float g = grads[i];
        const float m = m_[i] = b1 * m_[i] + (1.0f - b1) * g;
        const float v = v_[i] = b2 * v_[i] + (1.0f - b2) * g * g;
        const float m_hat = m / bc1, v_hat = v / bc2;
        params[i] -= lr * (m_hat / (std::sqrt(v_hat) + eps) + wd * params[i]);
      }
    };
    const int64_t n = t.n_elements();
    if (n < (1 << 16) || pool.size() <= 1) {
      update(0, n);
      continue;
    }
    pool.run([&](int ith, int nth) {
      int64_t begin = 0, end = 0;
      core::ThreadPool::chunk(n, ith, nth, 1024, &begin, &end);
      if (begin < end) update(begin, end);
    });
  }
}

}  // namespace muse::train
