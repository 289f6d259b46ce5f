// generate(): single-sequence text generation over a Runner: chunked prefill of the prompt, then one
// token per decode step until n_predict tokens, an end-of-generation token, or the callback says stop.
//
// This is the simple path `muse run` and `muse bench` use; multi-sequence batching lives in the
// scheduler. Uses sequence slot 0 of the cache from position 0. Throws muse::Error(kOutOfRange) when
// the prompt plus n_predict does not fit the cache's context, before doing any work.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "engine/sampler.h"
#include "model/kv_cache.h"
#include "model/runner.h"

namespace muse::engine {

struct GenerateParams {
  int64_t n_predict = 128;      // tokens to generate at most
  int64_t n_batch = 256;        // prompt tokens per forward pass during prefill
  SamplerParams sampler;
  bool stop_at_eog = true;      // stop at an end-of-generation token (it is not emitted)
  std::function<bool(int32_t)> is_eog;  // which tokens end generation; empty: none do
};

struct GenerateStats {
  int64_t n_prompt = 0;
  int64_t n_generated = 0;
  double prefill_seconds = 0.0;
  double decode_seconds = 0.0;
  double prefill_tokens_per_second() const { return prefill_seconds > 0 ? n_prompt / prefill_seconds : 0.0; }
  // Decode speed counts the steps after the first sampled token (each is one forward pass).
  double decode_tokens_per_second() const {
    return decode_seconds > 0 && n_generated > 1 ? (n_generated - 1) / decode_seconds : 0.0;
  }
};

// on_token(token, logprob) is called for every generated token; return false to stop early.
GenerateStats generate(model::Runner& runner, model::KvCache& cache, std::span<const int32_t> prompt,
                       const GenerateParams& params, const std::function<bool(int32_t, float)>& on_token);

}  // namespace muse::engine
