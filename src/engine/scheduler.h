// Scheduler: continuous batching of many sequences over one model::Runner and one paged KvCache.
//
//   engine::Scheduler sched(runner, options);           // options.max_seqs = 9, n_ctx = 2048, ...
//   SeqId p = sched.add(prompt_cfg);                    // prompt_cfg: max_new_tokens 0, park: prefill once
//   for (int i = 0; i < 8; ++i) sched.fork(p, -1, agent_cfg[i]);   // share the prompt's KV pages
//   while (sched.has_work()) { sched.step(); /* sched.info(id), cancel(id) ... */ }
//
// Each step() builds one batch, calls Runner::forward once, and samples: every running sequence
// contributes the tokens it has not fed yet (one for a decoding sequence; forced tokens and prompt
// chunks may add more), decoding sequences first, then prompt chunks of newly added sequences up to
// max_batch tokens. Sequences can be added, forked and cancelled between any two steps.
//
// fork(parent, n, config) starts a sequence whose first n tokens are the parent's: it maps the
// parent's KV pages for them (copy-on-write, nothing recomputed) and, when the parent is parked right
// after prefill, samples its first token from the parent's kept logits, so N forks of one prompt cost
// one prefill. A sequence's output is exactly what engine::generate would produce for the same tokens
// and sampler (the batch only changes which rows share a matmul).
//
// Ownership and threads: borrows the Runner (and through it the model and thread pool), owns the
// KvCache. Single-threaded: one owner thread (a CLI loop, a server's engine thread) calls everything.
// Errors: add/fork throw muse::Error (kInvalidArgument for bad tokens or parameters, kOutOfRange when
// the prompt does not fit the context or no slot is free, kNotFound for unknown ids); step() rethrows
// exceptions from hooks. Running out of KV pages finishes the newest waiting sequence (kNoMemory).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "engine/sequence.h"
#include "model/kv_cache.h"
#include "model/runner.h"

namespace muse::engine {

struct SchedulerOptions {
  int64_t n_ctx = 2048;     // positions per sequence
  int64_t max_seqs = 16;    // sequences holding a KV slot at once (running, waiting or parked)
  int64_t max_batch = 256;  // tokens per forward pass
  model::KvOptions kv;      // page size, pool size (0: worst case, every slot filling its context), type
};

struct SchedulerStats {
  int64_t forward_calls = 0;
  int64_t prefill_calls = 0;        // forward calls that carried prompt tokens
  int64_t prompt_tokens_fed = 0;    // prompt tokens put through the model
  int64_t generated_tokens_fed = 0;  // sampled and forced tokens put through the model
  int64_t samples = 0;
  double forward_seconds = 0.0;
};

class Scheduler {
 public:
  Scheduler(model::Runner& runner, const SchedulerOptions& options);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Starts a sequence from config.prompt (REQUIRES non-empty). Throws as described above.
  SeqId add(SeqConfig config);
  // Starts a sequence from the first n_shared tokens of `parent` (n_shared < 0: all of them) followed
  // by config.prompt. The parent may be running or parked. Throws kNotFound for an unknown or freed
  // parent, kInvalidArgument for n_shared past the parent's tokens.
  SeqId fork(SeqId parent, int64_t n_shared, SeqConfig config);
  // Finishes a running sequence (kCancelled) or releases a parked one; frees its slot and pages.
  // No-op for one already finished.
  void cancel(SeqId id);
  void release(SeqId id) { cancel(id); }
  // Drops the record of a finished sequence (its SeqInfo); releases it first if needed.
  void forget(SeqId id);

  // One batched forward pass and the sampling after it. Returns the tokens fed (0: nothing to do).
  int64_t step();
  bool has_work() const;

  // Throws kNotFound for an unknown (or forgotten) id.
  const SeqInfo& info(SeqId id) const;
  bool running(SeqId id) const;  // kRunning or kWaiting

  const SchedulerStats& stats() const { return stats_; }
  const model::KvCache& cache() const { return *cache_; }
  int64_t free_slots() const { return static_cast<int64_t>(free_slots_.size()); }
  int64_t n_ctx() const { return options_.n_ctx; }
  const model::Runner& runner() const { return runner_; }

 private:
  struct Seq;
  Seq& get(SeqId id);
  const Seq& get(SeqId id) const;
  SeqId admit(std::unique_ptr<Seq> seq);
  void finish(Seq& s, FinishReason reason);
  void sample(Seq& s, std::span<const float> logits);
  void validate(const SeqConfig& config, const char* what) const;

  model::Runner& runner_;
  SchedulerOptions options_;
  std::unique_ptr<model::KvCache> cache_;
  std::map<SeqId, std::unique_ptr<Seq>> seqs_;
  std::vector<SeqId> order_;  // live sequences (running, waiting), oldest first
  std::vector<int32_t> free_slots_;
  SeqId next_id_ = 1;
  SchedulerStats stats_;
  std::vector<model::BatchToken> batch_;
  std::vector<float> masked_;  // logits row with banned tokens at -inf
};

}  // namespace muse::engine
