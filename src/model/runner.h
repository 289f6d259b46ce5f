// Runner: the optimized forward pass of a Model over a batch of tokens, with per-batch buffers.
//
// A batch is any set of (token, position, sequence) triples: a prompt chunk (one sequence, consecutive
// positions), a decode step for many sequences (one token each), or a mix. Each token attends to
// positions 0..pos of its own sequence in the KvCache; the batch's own K/V rows are written first, so
// REQUIRES: positions 0..pos-1 of a token's sequence are already in the cache or earlier in the batch.
//
// The model is shared read-only; a Runner owns scratch buffers and must be used by one thread at a time
// (it fans work out over the ThreadPool it was given). Inputs (token ids, positions) are checked with
// MUSE_ASSERT because the engine validates them first. forward() maps the KV pages the batch writes
// (KvCache::prepare) before computing anything; the only exception it can throw is the cache's
// kOutOfRange when no free page is left, which callers that reserve pages first never see.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/matmul.h"
#include "core/thread_pool.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace muse::model {

struct BatchToken {
  int32_t token = 0;
  int32_t pos = 0;
  int32_t seq = 0;
  bool logits = false;  // compute the output distribution for this token
};

// Where forward() spends its time, summed over the calls whose batch has `batch_size` tokens (so that a
// benchmark can profile decode steps and skip the prefill). Phases, per layer unless noted:
enum class Phase {
  kEmbedNorm,   // embedding lookups, RMSNorms, biases, residual adds
  kQkv,         // Q, K and V matmuls
  kRopeStore,   // RoPE (and Q/K norms) and writing K, V to the cache
  kAttention,   // softmax(QK^T) V over the cache
  kAttnOut,     // output projection
  kGateUp,      // FFN gate and up matmuls
  kSilu,        // the SwiGLU gate
  kDown,        // FFN down matmul
  kLogits,      // final norm and output matmul (once per call)
  kCount
};
const char* phase_name(Phase p);

struct PhaseProfile {
  int64_t batch_size = 1;
  int64_t calls = 0;
  double seconds[static_cast<int>(Phase::kCount)] = {};
};

class Runner {
 public:
  Runner(const Model& model, core::ThreadPool& pool, core::KernelPath path = core::KernelPath::kAuto);

  // Runs the batch and returns the logits of the tokens marked `logits`, in batch order: (n_out, V).
  // The span stays valid until the next call.
  std::span<const float> forward(std::span<const BatchToken> batch, KvCache& cache);

  const Model& model() const { return model_; }

  // Times forward()'s phases into *p from now on (nullptr: stop). Costs a clock read per phase.
  void set_profile(PhaseProfile* p) { profile_ = p; }

 private:
  void reserve(int64_t n_tokens, int64_t n_out, int64_t max_pos);
  void attention(std::span<const BatchToken> batch, const KvCache& cache, int64_t layer);
  void prepare_cache(std::span<const BatchToken> batch, KvCache& cache);

  struct SeqRange {
    int32_t seq, begin, end;  // positions [begin, end) the batch writes for seq
  };
  std::vector<SeqRange> seq_ranges_;
  PhaseProfile* profile_ = nullptr;

  const Model& model_;
  core::ThreadPool& pool_;
  core::KernelPath path_;
  core::MatmulScratch scratch_;
  // Activations for N batch tokens.
  std::vector<float> x_;        // (N, C) residual stream
  std::vector<float> xn_;       // (N, C) normalized input of a block
  std::vector<float> q_;        // (N, Q)
  std::vector<float> k_;        // (N, K)
  std::vector<float> v_;        // (N, K)
  std::vector<float> att_;      // (N, Q) attention output
  std::vector<float> gate_;     // (N, F)
  std::vector<float> up_;       // (N, F)
  std::vector<float> rope_cs_;  // (N, n_rot) cos/sin pairs per token
  std::vector<float> scores_;   // (n_threads, n_head, max_pos + 1) attention scores per worker
  std::vector<const void*> kv_rows_;  // (N, 2, max_pos + 1) each token's K then V row pointers
  struct AttnItem {
    int32_t t, p0, p1;  // token, positions [p0, p1)
    int32_t slot;       // -1: the token's whole attention; else its partial result's slot
  };
  std::vector<AttnItem> attn_items_;
  std::vector<float> part_out_;    // (slots, Q) unnormalized partial attention outputs
  std::vector<float> part_stats_;  // (slots, 2 * n_head) their softmax max and sum per head
  std::vector<float> out_x_;    // (n_out, C) final normed rows that need logits
  std::vector<float> logits_;   // (n_out, V)
};

}  // namespace muse::model
