#include "train/adamw.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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
  // In double: 5M squares summed in float would lose ~3 digits. Four interleaved partial sums (in a
  // fixed order, so the result is reproducible) instead of one serial chain of dependent adds.
  const size_t n = grads.size();
  const float* g = grads.data();
  size_t i = 0;
  double ss = 0.0;
#if defined(__SSE2__)
  __m128d acc0 = _mm_setzero_pd(), acc1 = _mm_setzero_pd();
  for (; i + 4 <= n; i += 4) {
    const __m128 x = _mm_loadu_ps(g + i);
    const __m128d lo = _mm_cvtps_pd(x), hi = _mm_cvtps_pd(_mm_movehl_ps(x, x));
    acc0 = _mm_add_pd(acc0, _mm_mul_pd(lo, lo));
    acc1 = _mm_add_pd(acc1, _mm_mul_pd(hi, hi));
  }
  alignas(16) double parts[4];
  _mm_store_pd(parts, acc0);
  _mm_store_pd(parts + 2, acc1);
  ss = (parts[0] + parts[1]) + (parts[2] + parts[3]);
#endif
  for (; i < n; i++) ss += static_cast<double>(g[i]) * g[i];
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
  // Bias corrections as reciprocals: m^ = m * inv_bc1, v^ = v * inv_bc2.
  const float inv_bc1 = static_cast<float>(1.0 / (1.0 - std::pow(static_cast<double>(b1), static_cast<double>(t_))));
  const float inv_bc2 = static_cast<float>(1.0 / (1.0 - std::pow(static_cast<double>(b2), static_cast<double>(t_))));
  float* params = model.params().data();
  const float* grads = model.grads().data();
  float* ms = m_.data();
  float* vs = v_.data();
  for (const TensorSpec& t : model.tensors()) {
    const float wd = t.is_norm ? 0.0f : config_.weight_decay;
    // The same arithmetic, 4 lanes at a time (SSE2 is baseline x86-64; the scalar sqrt would block
    // vectorization because of errno) and then one at a time for the tail: identical results per
    // element whichever path handles it, so thread splits do not change any bit.
    auto update = [&](int64_t begin, int64_t end) {
      int64_t i = t.offset + begin;
      const int64_t stop = t.offset + end;
#if defined(__SSE2__)
      const __m128 vb1 = _mm_set1_ps(b1), vb2 = _mm_set1_ps(b2), vc1 = _mm_set1_ps(1.0f - b1);
      const __m128 vc2 = _mm_set1_ps(1.0f - b2), vi1 = _mm_set1_ps(inv_bc1), vi2 = _mm_set1_ps(inv_bc2);
      const __m128 veps = _mm_set1_ps(eps), vwd = _mm_set1_ps(wd), vlr = _mm_set1_ps(lr);
      for (; i + 4 <= stop; i += 4) {
        const __m128 g = _mm_loadu_ps(grads + i);
        const __m128 m = _mm_add_ps(_mm_mul_ps(vb1, _mm_loadu_ps(ms + i)), _mm_mul_ps(vc1, g));
        const __m128 v = _mm_add_ps(_mm_mul_ps(vb2, _mm_loadu_ps(vs + i)), _mm_mul_ps(_mm_mul_ps(vc2, g), g));
        _mm_storeu_ps(ms + i, m);
        _mm_storeu_ps(vs + i, v);
        const __m128 p = _mm_loadu_ps(params + i);
        const __m128 step = _mm_add_ps(
            _mm_div_ps(_mm_mul_ps(m, vi1), _mm_add_ps(_mm_sqrt_ps(_mm_mul_ps(v, vi2)), veps)), _mm_mul_ps(vwd, p));
        _mm_storeu_ps(params + i, _mm_sub_ps(p, _mm_mul_ps(vlr, step)));
      }
#endif
      for (; i < stop; i++) {
        const float g = grads[i];
        const float m = ms[i] = b1 * ms[i] + (1.0f - b1) * g;
        const float v = vs[i] = b2 * vs[i] + (1.0f - b2) * g * g;
        params[i] -= lr * ((m * inv_bc1) / (std::sqrt(v * inv_bc2) + eps) + wd * params[i]);
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
