#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace muse::engine {

void SamplerParams::validate() const {
  if (!(temperature >= 0.0f) || !std::isfinite(temperature)) {
    fail(ErrorCode::kInvalidArgument, "temperature must be a finite number >= 0 (got {})", temperature);
  }
  if (top_k < 0) fail(ErrorCode::kInvalidArgument, "top_k must be >= 0 (got {})", top_k);
  if (!(top_p > 0.0f && top_p <= 1.0f)) fail(ErrorCode::kInvalidArgument, "top_p must be in (0, 1] (got {})", top_p);
  if (!(min_p >= 0.0f && min_p < 1.0f)) fail(ErrorCode::kInvalidArgument, "min_p must be in [0, 1) (got {})", min_p);
  if (!(repeat_penalty > 0.0f) || !std::isfinite(repeat_penalty)) {
    fail(ErrorCode::kInvalidArgument, "repeat_penalty must be > 0 (got {})", repeat_penalty);
  }
  if (repeat_last_n < 0) fail(ErrorCode::kInvalidArgument, "repeat_last_n must be >= 0 (got {})", repeat_last_n);
}

Sampler::Sampler(const SamplerParams& params) : params_(params), rng_state_(params.seed ^ 0x5DEECE66Dull) {}

double Sampler::next_uniform() {
  // splitmix64, top 53 bits -> [0, 1)
  uint64_t z = (rng_state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
}

float Sampler::logprob_of(std::span<const float> logits, int32_t token) {
  const float mx = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (float l : logits) sum += std::exp(static_cast<double>(l - mx));
  return static_cast<float>(static_cast<double>(logits[token] - mx) - std::log(sum));
}

std::vector<TokenLogprob> Sampler::top_logprobs(std::span<const float> logits, int n) {
  const int64_t v = static_cast<int64_t>(logits.size());
  n = static_cast<int>(std::min<int64_t>(n, v));
  std::vector<int32_t> idx(v);
  std::iota(idx.begin(), idx.end(), 0);
  std::partial_sort(idx.begin(), idx.begin() + n, idx.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  const float mx = logits[idx[0]];
  double sum = 0.0;
  for (float l : logits) sum += std::exp(static_cast<double>(l - mx));
  const double lse = std::log(sum);
  std::vector<TokenLogprob> out(n);
  for (int i = 0; i < n; ++i) out[i] = {idx[i], static_cast<float>(static_cast<double>(logits[idx[i]] - mx) - lse)};
  return out;
}

Sampled Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  const int64_t v = static_cast<int64_t>(logits.size());
  MUSE_ASSERT(v > 0);
  work_.assign(logits.begin(), logits.end());

  if (params_.repeat_penalty != 1.0f && params_.repeat_last_n > 0) {
    const size_t start = history.size() > static_cast<size_t>(params_.repeat_last_n)
                             ? history.size() - params_.repeat_last_n : 0;
    // Each distinct recent token is penalized once, however often it appeared.
    std::vector<int32_t> recent(history.begin() + static_cast<std::ptrdiff_t>(start), history.end());
    std::sort(recent.begin(), recent.end());
    recent.erase(std::unique(recent.begin(), recent.end()), recent.end());
    for (int32_t t : recent) {
      if (t < 0 || t >= v) continue;
      work_[t] = work_[t] > 0 ? work_[t] / params_.repeat_penalty : work_[t] * params_.repeat_penalty;
    }
  }

  Sampled out;
  if (params_.temperature <= 0.0f) {
    out.token = static_cast<int32_t>(std::max_element(work_.begin(), work_.end()) - work_.begin());
    out.logprob = logprob_of(logits, out.token);
    return out;
  }

  // Candidates sorted by logit, cut by top-k.
  int64_t n = v;
  idx_.resize(v);
  std::iota(idx_.begin(), idx_.end(), 0);
  auto by_logit = [&](int32_t a, int32_t b) { return work_[a] > work_[b] || (work_[a] == work_[b] && a < b); };
  if (params_.top_k > 0 && params_.top_k < v) {
    n = params_.top_k;
    std::partial_sort(idx_.begin(), idx_.begin() + n, idx_.end(), by_logit);
  } else {
    std::sort(idx_.begin(), idx_.end(), by_logit);
  }

  // Probabilities of the candidates at temperature 1 (for top-p and min-p).
  const float mx = work_[idx_[0]];
  std::vector<double> p(n);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += (p[i] = std::exp(static_cast<double>(work_[idx_[i]] - mx)));
  for (auto& x : p) x /= sum;

  int64_t keep = n;
  if (params_.top_p < 1.0f) {
    double cum = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      cum += p[i];
      if (cum >= params_.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  if (params_.min_p > 0.0f) {
    const double floor = params_.min_p * p[0];
    int64_t i = 1;
    while (i < keep && p[i] >= floor) ++i;
    keep = i;
  }

  // Temperature over the survivors, then draw.
  double total = 0.0;
  std::vector<double> q(keep);
  for (int64_t i = 0; i < keep; ++i) {
    total += (q[i] = std::exp(static_cast<double>(work_[idx_[i]] - mx) / params_.temperature));
  }
  double r = next_uniform() * total;
  int64_t chosen = keep - 1;
  for (int64_t i = 0; i < keep; ++i) {
    r -= q[i];
    if (r < 0.0) {
      chosen = i;
      break;
    }
  }
  out.token = idx_[chosen];
  out.logprob = logprob_of(logits, out.token);
  return out;
}

}  // namespace muse::engine
