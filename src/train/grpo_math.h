// The arithmetic of GRPO with a length penalty ("thought compression"): per-group rewards, group-relative
// advantages and the per-token weights of the clipped policy-gradient objective. Pure functions, no state,
// thread-safe; they never throw (inputs come from the trainer, which validated the config).
// docs/thought-compression.md gives each formula with its source.
//
// Letters: a group is the G completions sampled for one prompt; c_i = 1 when completion i is correct,
// L_i its thinking tokens, r_i its reward, A_i its advantage.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace muse::train {

enum class RewardKind {
  kCorrectness,    // r = c                                                       (baseline)
  kLengthPenalty,  // r = c * (1 - alpha * sigmoid((L - mean_c) / std_c))         (Arora & Zanette 2025)
  kGroupMinMax,    // lambda = 0.5 - (L - L_min)/(L_max - L_min); r = c + w * (c ? lambda : min(0, lambda))
                   //                                                             (Kimi k1.5, 2025)
  kTargetLength,   // r = c - alpha * |L - target|                                (L1 / LCPO-Exact, 2025)
};

// "correctness", "length_penalty", "group_minmax", "target_length"; parse returns false for others.
const char* reward_kind_name(RewardKind kind);
bool parse_reward_kind(const std::string& name, RewardKind* out);

struct RewardConfig {
  RewardKind kind = RewardKind::kCorrectness;
  float alpha = 0.2f;          // kLengthPenalty: penalty in [0, 1]; kTargetLength: per token off target
  float weight = 1.0f;         // kGroupMinMax: scale of the length term
  int64_t target_min = 0;      // kTargetLength: the per-prompt target is drawn from [target_min, target_max]
  int64_t target_max = 0;
  bool budget_in_prompt = false;  // kTargetLength: the prompt states the target ("think for N tokens")
  bool operator==(const RewardConfig&) const = default;
};

// Rewards of one group. correct, think_tokens and targets have G entries (targets only read for
// kTargetLength). Means and standard deviations are population statistics over the group (or over its
// correct members for kLengthPenalty); a zero spread gives the neutral length term (sigmoid(0) = 1/2
// for every correct member, lambda = 0), so no length signal comes out of a group of equal lengths.
std::vector<float> group_rewards(const RewardConfig& config, std::span<const uint8_t> correct,
                                 std::span<const int64_t> think_tokens, std::span<const int64_t> targets);

// Group-relative advantages: A_i = r_i - mean(r), divided by std(r) + 1e-4 when scale_by_std (GRPO,
// Shao et al. 2024); all zero when every reward is equal (the group carries no signal).
std::vector<float> group_advantages(std::span<const float> rewards, bool scale_by_std);

// Running totals over the tokens of one objective evaluation.
struct PolicyStats {
  double objective = 0.0;  // sum_t J_t
  double kl = 0.0;         // sum_t KL_t (k3 estimator)
  int64_t clipped = 0;     // tokens whose ratio left [1-eps, 1+eps] in the direction that stops the gradient
  int64_t tokens = 0;
};

// One completion token of the clipped surrogate with an optional KL penalty (k3 estimator, Schulman 2020):
//   rho = exp(logp - logp_old)
//   J_t = min(rho A, clip(rho, 1-eps, 1+eps) A) - beta * KL_t,  KL_t = exp(logp_ref - logp) - (logp_ref - logp) - 1
// The loss is -(1/N) sum_t J_t over the N completion tokens of the batch. Returns d(loss)/d(loss_t), the
// weight of the token's cross-entropy loss_t = -logp (train::backward's dloss):
//   (1/N) * (A rho [the unclipped term is the min] + beta * (exp(logp_ref - logp) - 1))
// with_ref = false ignores logp_ref and beta. Adds the token's J_t, KL_t and clip to stats.
float policy_token_weight(float logp, float logp_old, float logp_ref, bool with_ref, float advantage, float clip_eps,
                          float kl_beta, float inv_n, PolicyStats& stats);

// The p-th percentile (0..100) by nearest rank of values (0 when empty).
double percentile(std::vector<int64_t> values, double p);

}  // namespace muse::train
