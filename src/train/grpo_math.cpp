#include "train/grpo_math.h"

#include <algorithm>
#include <cmath>

namespace muse::train {

const char* reward_kind_name(RewardKind kind) {
  switch (kind) {
    case RewardKind::kCorrectness: return "correctness";
    case RewardKind::kLengthPenalty: return "length_penalty";
    case RewardKind::kGroupMinMax: return "group_minmax";
    case RewardKind::kTargetLength: return "target_length";
  }
  return "?";
}

bool parse_reward_kind(const std::string& name, RewardKind* out) {
  for (RewardKind k : {RewardKind::kCorrectness, RewardKind::kLengthPenalty, RewardKind::kGroupMinMax,
                       RewardKind::kTargetLength}) {
    if (name == reward_kind_name(k)) {
      *out = k;
      return true;
    }
  }
  return false;
}

std::vector<float> group_rewards(const RewardConfig& config, std::span<const uint8_t> correct,
                                 std::span<const int64_t> think_tokens, std::span<const int64_t> targets) {
  const size_t G = correct.size();
  std::vector<float> r(G, 0.0f);
  for (size_t i = 0; i < G; i++) r[i] = correct[i] ? 1.0f : 0.0f;
  switch (config.kind) {
    case RewardKind::kCorrectness:
      break;
    case RewardKind::kLengthPenalty: {
      // mean and std of the lengths of the correct members only; wrong answers stay at 0.
      double n = 0, s = 0, s2 = 0;
      for (size_t i = 0; i < G; i++) {
        if (!correct[i]) continue;
        const double L = static_cast<double>(think_tokens[i]);
        n += 1, s += L, s2 += L * L;
      }
      if (n == 0) break;
      const double mean = s / n, sd = std::sqrt(std::max(0.0, s2 / n - mean * mean));
      for (size_t i = 0; i < G; i++) {
        if (!correct[i]) continue;
        const double z = sd > 1e-9 ? (static_cast<double>(think_tokens[i]) - mean) / sd : 0.0;
        const double sig = 1.0 / (1.0 + std::exp(-z));
        r[i] = static_cast<float>(1.0 - config.alpha * sig);
      }
      break;
    }
    case RewardKind::kGroupMinMax: {
      if (G == 0) break;
      const auto [lo, hi] = std::minmax_element(think_tokens.begin(), think_tokens.end());
      if (*hi == *lo) break;
      for (size_t i = 0; i < G; i++) {
        const double lambda =
            0.5 - static_cast<double>(think_tokens[i] - *lo) / static_cast<double>(*hi - *lo);
        r[i] += static_cast<float>(config.weight * (correct[i] ? lambda : std::min(0.0, lambda)));
      }
      break;
    }
    case RewardKind::kTargetLength:
      for (size_t i = 0; i < G; i++) {
        r[i] -= config.alpha * static_cast<float>(std::llabs(think_tokens[i] - targets[i]));
      }
      break;
  }
  return r;
}

std::vector<float> group_advantages(std::span<const float> rewards, bool scale_by_std) {
  const size_t G = rewards.size();
  std::vector<float> a(G, 0.0f);
  if (G == 0) return a;
  double s = 0, s2 = 0;
  for (float r : rewards) s += r, s2 += static_cast<double>(r) * r;
  const double mean = s / static_cast<double>(G);
  const double sd = std::sqrt(std::max(0.0, s2 / static_cast<double>(G) - mean * mean));
  if (sd < 1e-7) return a;  // equal rewards (up to float noise): no signal
  for (size_t i = 0; i < G; i++) {
    const double d = rewards[i] - mean;
    a[i] = static_cast<float>(scale_by_std ? d / (sd + 1e-4) : d);
  }
  return a;
}

float policy_token_weight(float logp, float logp_old, float logp_ref, bool with_ref, float advantage, float clip_eps,
                          float kl_beta, float inv_n, PolicyStats& stats) {
  const double rho = std::exp(static_cast<double>(logp) - logp_old);
  const double A = advantage;
  const double clipped_rho = std::clamp(rho, 1.0 - clip_eps, 1.0 + clip_eps);
  const double unclipped = rho * A, clipped = clipped_rho * A;
  // The min picks the clipped term only when it is strictly smaller, which happens exactly when rho has
  // left the trust region in the direction the advantage pushes it; there the gradient is 0.
  const bool active = unclipped <= clipped;
  double J = std::min(unclipped, clipped);
  double dJ_dlogp = active ? A * rho : 0.0;
  if (!active) stats.clipped++;
  if (with_ref) {
    const double d = static_cast<double>(logp_ref) - logp;
    const double e = std::exp(d);
    const double kl = e - d - 1.0;
    stats.kl += kl;
    J -= kl_beta * kl;
    dJ_dlogp -= kl_beta * (1.0 - e);  // dKL/dlogp = -e + 1
  }
  stats.objective += J;
  stats.tokens++;
  // loss_t = -logp, loss = -(1/N) sum J: d(loss)/d(loss_t) = (1/N) dJ/dlogp
  return static_cast<float>(inv_n * dJ_dlogp);
}

double percentile(std::vector<int64_t> values, double p) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
  const size_t i = static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(values.size()))) - 1;
  return static_cast<double>(values[i]);
}

}  // namespace muse::train
