// Sampler: turns one row of logits into the next token.
//
// Pipeline (the order llama.cpp uses): repetition penalty over the last `repeat_last_n` tokens ->
// top-k -> top-p (nucleus) -> min-p (relative to the most likely token) -> temperature -> draw.
// temperature <= 0 is greedy (argmax; ties to the lowest id). Each Sampled carries the log-probability
// of the chosen token under the model's own distribution (log-softmax of the raw logits), which is what
// API logprobs and confidence tracking need.
//
// A Sampler owns its RNG (seeded, reproducible across platforms) and belongs to one sequence: not
// thread-safe. Never throws; parameters are validated by validate() at the boundary.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace muse::engine {

struct SamplerParams {
  float temperature = 0.8f;   // 0 = greedy; higher = more random
  int32_t top_k = 40;         // 0 = off; keeps the k most likely tokens
  float top_p = 0.95f;        // 1 = off; smallest set whose probability mass reaches p
  float min_p = 0.05f;        // 0 = off; drops tokens with p < min_p * p_max
  float repeat_penalty = 1.0f;  // 1 = off; divides positive (multiplies negative) logits of recent tokens
  int32_t repeat_last_n = 64;   // window for the repetition penalty
  uint64_t seed = 0;

  static SamplerParams greedy() {
    SamplerParams p;
    p.temperature = 0.0f;
    return p;
  }
  // Throws muse::Error(kInvalidArgument) naming the bad field.
  void validate() const;
};

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0.0f;
};

struct Sampled {
  int32_t token = 0;
  float logprob = 0.0f;  // log p(token) under softmax(raw logits)
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& params);

  // history: the tokens generated (and prompted) so far, for the repetition penalty.
  Sampled sample(std::span<const float> logits, std::span<const int32_t> history = {});

  // The n most likely tokens under softmax(raw logits), most likely first.
  static std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int n);
  // log softmax(logits)[token]
  static float logprob_of(std::span<const float> logits, int32_t token);

  const SamplerParams& params() const { return params_; }

 private:
  double next_uniform();  // [0, 1)

  SamplerParams params_;
  uint64_t rng_state_;
  std::vector<float> work_;
  std::vector<int32_t> idx_;
};

}  // namespace muse::engine
