// ReferenceRunner: a deliberately plain forward pass, one token at a time, for one sequence.
//
// It is the "trivially correct model" the optimized Runner is tested against: weights dequantized row
// by row with core::matmul_reference (double accumulation), an f32 KV cache in a std::vector, RoPE
// angles computed in double from the formula, no threads, no batching, no SIMD. Slow by design; used
// by tests and `muse run --reference`. Single-threaded; one instance per sequence.
#pragma once

#include <cstdint>
#include <vector>

#include "model/model.h"

namespace muse::model {

class ReferenceRunner {
 public:
  explicit ReferenceRunner(const Model& model);

  // Feeds the token at the next position and returns its logits (V floats).
  const std::vector<float>& step(int32_t token);
  int64_t n_past() const { return n_past_; }

 private:
  const Model& model_;
  int64_t n_past_ = 0;
  std::vector<std::vector<float>> k_cache_, v_cache_;  // per layer: (n_past, K)
  std::vector<float> logits_;
};

}  // namespace muse::model
