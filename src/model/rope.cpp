#include "model/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"

namespace muse::model {
namespace {

// The pair index below which a dimension completes more than n_rot_beta full turns over the original
// context: dims = n_rot * ln(n_ctx_orig / (n_rot_beta * 2 pi)) / (2 ln base).
double yarn_corr_dim(int64_t n_rot, int64_t n_ctx_orig, double n_rot_beta, double base) {
  return static_cast<double>(n_rot) * std::log(static_cast<double>(n_ctx_orig) / (n_rot_beta * 2.0 * std::numbers::pi)) /
         (2.0 * std::log(base));
}

}  // namespace

RopeTable::RopeTable(const HParams& hp, std::vector<float> freq_factors) {
  const int64_t n_pairs = hp.n_rot / 2;
  MUSE_ASSERT(freq_factors.empty() || static_cast<int64_t>(freq_factors.size()) == n_pairs);
  inv_freq_.resize(n_pairs);
  ramp_mix_.assign(n_pairs, 1.0f);
  for (int64_t i = 0; i < n_pairs; ++i) {
    double f = std::pow(static_cast<double>(hp.rope_theta), -2.0 * static_cast<double>(i) / static_cast<double>(hp.n_rot));
    if (!freq_factors.empty()) f /= freq_factors[i];
    inv_freq_[i] = static_cast<float>(f);
  }
  if (hp.rope_scaling == RopeScaling::kLinear) {
    freq_scale_ = 1.0f / hp.rope_factor;
    std::fill(ramp_mix_.begin(), ramp_mix_.end(), 0.0f);
  } else if (hp.rope_scaling == RopeScaling::kYarn) {
    freq_scale_ = 1.0f / hp.rope_factor;
    const double lo = std::max(0.0, std::floor(yarn_corr_dim(hp.n_rot, hp.rope_n_ctx_orig, hp.yarn_beta_fast, hp.rope_theta)));
    const double hi = std::min(static_cast<double>(hp.n_rot - 1),
                               std::ceil(yarn_corr_dim(hp.n_rot, hp.rope_n_ctx_orig, hp.yarn_beta_slow, hp.rope_theta)));
    for (int64_t i = 0; i < n_pairs; ++i) {
      // Pairs below `lo` rotate fast enough to keep their original (extrapolated) angle; pairs above
      // `hi` are interpolated; in between, a linear ramp.
      const double y = (static_cast<double>(i) - lo) / std::max(0.001, hi - lo);
      ramp_mix_[i] = static_cast<float>(1.0 - std::clamp(y, 0.0, 1.0));
    }
    mscale_ = hp.yarn_attn_factor * (1.0f + 0.1f * std::log(hp.rope_factor));
  }
}

void RopeTable::angles(int64_t pos, float* cos_sin) const {
  const float p = static_cast<float>(pos);
  for (int64_t i = 0; i < n_pairs(); ++i) {
    const float extrap = p * inv_freq_[i];
    const float interp = extrap * freq_scale_;
    const float theta = interp * (1.0f - ramp_mix_[i]) + extrap * ramp_mix_[i];
    cos_sin[2 * i] = std::cos(theta) * mscale_;
    cos_sin[2 * i + 1] = std::sin(theta) * mscale_;
  }
}

void rope_rotate(float* x, const float* cos_sin, int64_t n_rot, RopeOrder order) {
  const int64_t half = n_rot / 2;
  for (int64_t i = 0; i < half; ++i) {
    const float c = cos_sin[2 * i];
    const float s = cos_sin[2 * i + 1];
    float* a = order == RopeOrder::kNormal ? &x[2 * i] : &x[i];
    float* b = order == RopeOrder::kNormal ? &x[2 * i + 1] : &x[i + half];
    const float x0 = *a;
    const float x1 = *b;
    *a = x0 * c - x1 * s;
    *b = x0 * s + x1 * c;
  }
}

}  // namespace muse::model
