#include "engine/generate.h"

#include <chrono>

#include "core/error.h"

namespace muse::engine {

GenerateStats generate(model::Runner& runner, model::KvCache& cache, std::span<const int32_t> prompt,
                       const GenerateParams& params, const std::function<bool(int32_t, float)>& on_token) {
  using Clock = std::chrono::steady_clock;
  const int64_t n_vocab = runner.model().hparams().n_vocab;
  if (prompt.empty()) fail(ErrorCode::kInvalidArgument, "the prompt is empty (no tokens to start from)");
  if (params.n_predict < 0) fail(ErrorCode::kInvalidArgument, "n_predict must be >= 0 (got {})", params.n_predict);
  if (params.n_batch <= 0) fail(ErrorCode::kInvalidArgument, "batch size must be > 0 (got {})", params.n_batch);
  const int64_t needed = static_cast<int64_t>(prompt.size()) + params.n_predict;
  if (needed > cache.n_ctx()) {
    fail(ErrorCode::kOutOfRange, "prompt ({} tokens) + tokens to generate ({}) = {} exceeds the context size {}; "
         "raise the context (-c) or shorten the prompt", prompt.size(), params.n_predict, needed, cache.n_ctx());
  }
  for (size_t i = 0; i < prompt.size(); ++i) {
    if (prompt[i] < 0 || prompt[i] >= n_vocab) {
      fail(ErrorCode::kInvalidArgument, "prompt token {} at index {} is outside the vocabulary (0..{})", prompt[i], i,
           n_vocab - 1);
    }
  }
  params.sampler.validate();

  GenerateStats stats;
  stats.n_prompt = static_cast<int64_t>(prompt.size());
  Sampler sampler(params.sampler);
  std::vector<int32_t> history(prompt.begin(), prompt.end());
  std::vector<model::BatchToken> batch;

  auto t0 = Clock::now();
  std::span<const float> logits;
  for (int64_t start = 0; start < stats.n_prompt; start += params.n_batch) {
    const int64_t end = std::min(stats.n_prompt, start + params.n_batch);
    batch.clear();
    for (int64_t i = start; i < end; ++i) {
      batch.push_back({prompt[i], static_cast<int32_t>(i), 0, i == stats.n_prompt - 1});
    }
    logits = runner.forward(batch, cache);
  }
  auto t1 = Clock::now();
  stats.prefill_seconds = std::chrono::duration<double>(t1 - t0).count();

  int64_t pos = stats.n_prompt;
  for (int64_t i = 0; i < params.n_predict; ++i) {
    const Sampled s = sampler.sample(logits, history);
    if (params.stop_at_eog && params.is_eog && params.is_eog(s.token)) break;
    ++stats.n_generated;
    history.push_back(s.token);
    if (!on_token(s.token, s.logprob)) break;
    if (i + 1 == params.n_predict) break;
    const model::BatchToken next{s.token, static_cast<int32_t>(pos++), 0, true};
    logits = runner.forward({&next, 1}, cache);
  }
  stats.decode_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
  return stats;
}

}  // namespace muse::engine
