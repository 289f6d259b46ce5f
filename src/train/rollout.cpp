#include "train/rollout.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "engine/scheduler.h"
#include "gguf/gguf.h"
#include "train/export.h"

namespace muse::train {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
// splitmix64: decorrelated sampler seeds for (seed, prompt, member).
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
}  // namespace

RolloutEngine::RolloutEngine(core::ThreadPool& pool) : pool_(pool) {}
RolloutEngine::~RolloutEngine() = default;

void RolloutEngine::load(const Model& policy) {
  const auto t0 = std::chrono::steady_clock::now();
  runner_.reset();
  model_.reset();
  gguf::Writer w;
  add_model_to_gguf(policy, w);  // borrows the policy's floats until to_bytes() has copied them
  model_ = model::Model::from_file(gguf::File::from_bytes(w.to_bytes(), "<grpo policy>"));
  runner_ = std::make_unique<model::Runner>(*model_, pool_);
  stats_.load_seconds = seconds_since(t0);
}

std::vector<std::vector<Completion>> RolloutEngine::sample(std::span<const std::vector<int32_t>> prompts,
                                                           const RolloutOptions& o) {
  MUSE_ASSERT(runner_ != nullptr);
  if (o.group_size < 1 || o.max_new_tokens < 1 || !(o.temperature >= 0.0f) || o.max_batch < 1) {
    fail(ErrorCode::kInvalidArgument, "rollout: group_size {} and max_new_tokens {} must be >= 1, temperature {} >= 0",
         o.group_size, o.max_new_tokens, o.temperature);
  }
  const auto t0 = std::chrono::steady_clock::now();
  stats_.prompt_tokens = stats_.generated_tokens = 0;
  const int64_t P = static_cast<int64_t>(prompts.size()), G = o.group_size;
  int64_t longest = 1;
  for (const auto& p : prompts) longest = std::max<int64_t>(longest, static_cast<int64_t>(p.size()));
  const int64_t n_ctx_model = model_->hparams().n_ctx_train;
  const int64_t n_ctx = std::min(n_ctx_model, longest + o.max_new_tokens);
  for (int64_t p = 0; p < P; p++) {
    if (prompts[p].empty() || static_cast<int64_t>(prompts[p].size()) >= n_ctx_model) {
      fail(ErrorCode::kOutOfRange, "rollout: prompt {} has {} tokens; the model's context is {}", p, prompts[p].size(),
           n_ctx_model);
    }
  }
  engine::SchedulerOptions so;
  so.n_ctx = n_ctx;
  // Every prompt stays parked (its KV pages shared by its forks) until its group is done.
  so.max_seqs = P * (G + 1);
  so.max_batch = o.max_batch;
  so.kv.type = model::KvType::kF32;  // the trainer's log-probs are F32: keep the sampling distribution close
  engine::Scheduler sched(*runner_, so);

  std::vector<std::vector<engine::SeqId>> ids(static_cast<size_t>(P));
  std::vector<engine::SeqId> parents;
  const std::vector<int32_t> eog = o.eog;
  for (int64_t p = 0; p < P; p++) {
    engine::SeqConfig pc;
    pc.prompt = prompts[p];
    pc.max_new_tokens = 0;
    pc.park = true;
    parents.push_back(sched.add(pc));
    for (int64_t g = 0; g < G; g++) {
      engine::SeqConfig c;
      c.sampler.temperature = o.temperature;
      c.sampler.top_k = 0;
      c.sampler.top_p = 1.0f;
      c.sampler.min_p = 0.0f;
      c.sampler.seed = mix(mix(o.seed) ^ mix(static_cast<uint64_t>(p) * 1000003u + static_cast<uint64_t>(g)));
      c.max_new_tokens = o.max_new_tokens;
      // The eog token stays in the completion (stop after it, not before): the policy must learn to end.
      c.on_token = [eog](const engine::TokenEvent& ev) {
        engine::Directive d;
        d.stop = std::find(eog.begin(), eog.end(), ev.token) != eog.end();
        return d;
      };
      ids[static_cast<size_t>(p)].push_back(sched.fork(parents.back(), -1, std::move(c)));
    }
  }
  while (sched.has_work()) sched.step();

  std::vector<std::vector<Completion>> out(static_cast<size_t>(P));
  for (int64_t p = 0; p < P; p++) {
    for (engine::SeqId id : ids[static_cast<size_t>(p)]) {
      const engine::SeqInfo& in = sched.info(id);
      Completion c;
      const auto gen = in.generated();
      c.tokens.assign(gen.begin(), gen.end());
      c.ended = in.finish == engine::FinishReason::kStop;
      stats_.generated_tokens += static_cast<int64_t>(c.tokens.size());
      out[static_cast<size_t>(p)].push_back(std::move(c));
    }
    stats_.prompt_tokens += static_cast<int64_t>(prompts[p].size());
    sched.release(parents[static_cast<size_t>(p)]);
  }
  stats_.sample_seconds = seconds_since(t0);
  return out;
}

}  // namespace muse::train
