#include "model/runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include "core/attention.h"
#include "core/error.h"

namespace muse::model {
namespace {

// y = x / sqrt(mean(x^2) + eps) * w
void rmsnorm(float* y, const float* x, const float* w, int64_t n, float eps) {
  float ss = 0.0f;
  for (int64_t i = 0; i < n; ++i) ss += x[i] * x[i];
  const float scale = 1.0f / std::sqrt(ss / static_cast<float>(n) + eps);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
}

// y += x
void add_row(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void add_bias(float* y, const std::vector<float>& b, int64_t n_tokens) {
  if (b.empty()) return;
  const int64_t n = static_cast<int64_t>(b.size());
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t i = 0; i < n; ++i) y[t * n + i] += b[i];
  }
}

// Adds the time since the last lap to a phase of the profile, when there is one.
class PhaseTimer {
 public:
  explicit PhaseTimer(PhaseProfile* p) : p_(p) {
    if (p_ != nullptr) last_ = std::chrono::steady_clock::now();
  }
  void lap(Phase phase) {
    if (p_ == nullptr) return;
    const auto now = std::chrono::steady_clock::now();
    p_->seconds[static_cast<int>(phase)] += std::chrono::duration<double>(now - last_).count();
    last_ = now;
  }

 private:
  PhaseProfile* p_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::kEmbedNorm: return "norms, residuals";
    case Phase::kQkv: return "QKV matmuls";
    case Phase::kRopeStore: return "RoPE, KV store";
    case Phase::kAttention: return "attention";
    case Phase::kAttnOut: return "attn output";
    case Phase::kGateUp: return "FFN gate+up";
    case Phase::kSilu: return "SwiGLU gate";
    case Phase::kDown: return "FFN down";
    case Phase::kLogits: return "logits";
    case Phase::kCount: break;
  }
  return "?";
}

Runner::Runner(const Model& model, core::ThreadPool& pool, core::KernelPath path)
    : model_(model), pool_(pool), path_(path) {}

// Maps (or copies, when shared) the KV pages every batch token writes, one range per sequence, before
// any work starts: a kOutOfRange from the cache then leaves nothing half computed.
void Runner::prepare_cache(std::span<const BatchToken> batch, KvCache& cache) {
  seq_ranges_.clear();
  for (const BatchToken& b : batch) {
    auto it = std::find_if(seq_ranges_.begin(), seq_ranges_.end(), [&](const SeqRange& r) { return r.seq == b.seq; });
    if (it == seq_ranges_.end()) {
      seq_ranges_.push_back({b.seq, b.pos, b.pos + 1});
    } else {
      it->begin = std::min(it->begin, b.pos);
      it->end = std::max(it->end, b.pos + 1);
    }
  }
  for (const SeqRange& r : seq_ranges_) cache.prepare(r.seq, r.begin, r.end);
}

void Runner::reserve(int64_t n, int64_t n_out, int64_t max_pos) {
  const HParams& hp = model_.hparams();
  auto grow = [](std::vector<float>& v, size_t size) {
    if (v.size() < size) v.resize(size);
  };
  grow(x_, n * hp.n_embd);
  grow(xn_, n * hp.n_embd);
  grow(q_, n * hp.q_dim());
  grow(k_, n * hp.kv_dim());
  grow(v_, n * hp.kv_dim());
  grow(att_, n * hp.q_dim());
  grow(gate_, n * hp.n_ff);
  grow(up_, n * hp.n_ff);
  grow(rope_cs_, n * hp.n_rot);
  grow(scores_, static_cast<size_t>(pool_.size() * hp.n_head * (max_pos + 1)));
  kv_rows_.resize(static_cast<size_t>(n * 2 * (max_pos + 1)));
  grow(out_x_, std::max<int64_t>(n_out, 1) * hp.n_embd);
  grow(logits_, std::max<int64_t>(n_out, 1) * hp.n_vocab);
}

std::span<const float> Runner::forward(std::span<const BatchToken> batch, KvCache& cache) {
  const HParams& hp = model_.hparams();
  const Weights& w = model_.weights();
  const int64_t n = static_cast<int64_t>(batch.size());
  const int64_t C = hp.n_embd, Q = hp.q_dim(), K = hp.kv_dim(), D = hp.head_dim, F = hp.n_ff;
  int64_t n_out = 0, max_pos = 0;
  for (const BatchToken& b : batch) {
    MUSE_ASSERT(b.token >= 0 && b.token < hp.n_vocab);
    MUSE_ASSERT(b.pos >= 0 && b.pos < cache.n_ctx() && b.seq >= 0 && b.seq < cache.n_seq());
    n_out += b.logits ? 1 : 0;
    max_pos = std::max<int64_t>(max_pos, b.pos);
  }
  if (n == 0) return {};
  prepare_cache(batch, cache);
  reserve(n, n_out, max_pos);
  PhaseProfile* profile = profile_ != nullptr && profile_->batch_size == n ? profile_ : nullptr;
  if (profile != nullptr) ++profile->calls;
  PhaseTimer timer(profile);

  for (int64_t t = 0; t < n; ++t) {
    core::dequantize_weight_row(w.token_embd, batch[t].token, &x_[t * C]);
    model_.rope().angles(batch[t].pos, &rope_cs_[t * hp.n_rot]);
  }

  auto mm = [&](const core::WeightView& wv, const float* in, float* out) {
    core::matmul(pool_, wv, in, n, out, scratch_, path_);
  };
  // The per-token work between the matmuls (norms, RoPE, KV stores, residual adds, the SwiGLU gate) runs
  // on the pool for batches of kParallelTokens or more: on one thread it was ~7% of a prompt on two
  // cores, and would be far more with many cores. Smaller batches (decode steps) keep it on the caller,
  // where it costs less than waking the pool.
  constexpr int64_t kParallelTokens = 4;
  auto for_tokens = [&](auto&& fn) {
    if (n < kParallelTokens || pool_.size() == 1) {
      for (int64_t t = 0; t < n; ++t) fn(t);
      return;
    }
    pool_.run([&](int ith, int nth) {
      int64_t begin = 0, end = 0;
      core::ThreadPool::chunk(n, ith, nth, 1, &begin, &end);
      for (int64_t t = begin; t < end; ++t) fn(t);
    });
  };

  for (int64_t il = 0; il < hp.n_layer; ++il) {
    const LayerWeights& l = w.layers[il];
    // Attention block: x += Wo · attn(rope(Wq·n(x)), rope(Wk·n(x)), Wv·n(x))
    for_tokens([&](int64_t t) {
      if (il > 0) add_row(&x_[t * C], &xn_[t * C], C);  // the previous layer's FFN residual
      rmsnorm(&xn_[t * C], &x_[t * C], l.attn_norm.data(), C, hp.norm_eps);
    });
    const core::MatmulOut qkv[] = {{&l.attn_q, q_.data()}, {&l.attn_k, k_.data()}, {&l.attn_v, v_.data()}};
    timer.lap(Phase::kEmbedNorm);
    core::matmul_group(pool_, qkv, xn_.data(), n, scratch_, path_);
    timer.lap(Phase::kQkv);
    add_bias(q_.data(), l.attn_q_bias, n);
    add_bias(k_.data(), l.attn_k_bias, n);
    add_bias(v_.data(), l.attn_v_bias, n);
    for_tokens([&](int64_t t) {
      const float* cs = &rope_cs_[t * hp.n_rot];
      for (int64_t h = 0; h < hp.n_head; ++h) {
        float* qh = &q_[t * Q + h * D];
        if (!l.attn_q_norm.empty()) rmsnorm(qh, qh, l.attn_q_norm.data(), D, hp.norm_eps);
        rope_rotate(qh, cs, hp.n_rot, hp.rope_order);
      }
      for (int64_t h = 0; h < hp.n_head_kv; ++h) {
        float* kh = &k_[t * K + h * D];
        if (!l.attn_k_norm.empty()) rmsnorm(kh, kh, l.attn_k_norm.data(), D, hp.norm_eps);
        rope_rotate(kh, cs, hp.n_rot, hp.rope_order);
      }
      const BatchToken& b = batch[t];
      if (cache.type() == KvType::kF16) {
        core::f32_to_f16_row(&k_[t * K], static_cast<uint16_t*>(cache.k_row(il, b.seq, b.pos)), K);
        core::f32_to_f16_row(&v_[t * K], static_cast<uint16_t*>(cache.v_row(il, b.seq, b.pos)), K);
      } else {
        std::memcpy(cache.k_row(il, b.seq, b.pos), &k_[t * K], K * sizeof(float));
        std::memcpy(cache.v_row(il, b.seq, b.pos), &v_[t * K], K * sizeof(float));
      }
    });
    timer.lap(Phase::kRopeStore);
    attention(batch, cache, il);
    timer.lap(Phase::kAttention);
    mm(l.attn_output, att_.data(), xn_.data());
    timer.lap(Phase::kAttnOut);

    // Feed-forward block: x += W_down · (silu(W_gate·n(x)) * (W_up·n(x)))
    for_tokens([&](int64_t t) {
      add_row(&x_[t * C], &xn_[t * C], C);  // the attention residual
      rmsnorm(&xn_[t * C], &x_[t * C], l.ffn_norm.data(), C, hp.norm_eps);
    });
    const core::MatmulOut gate_up[] = {{&l.ffn_gate, gate_.data()}, {&l.ffn_up, up_.data()}};
    timer.lap(Phase::kEmbedNorm);
    core::matmul_group(pool_, gate_up, xn_.data(), n, scratch_, path_);
    timer.lap(Phase::kGateUp);
    for_tokens([&](int64_t t) { core::silu_mul(&gate_[t * F], &up_[t * F], F, path_); });
    timer.lap(Phase::kSilu);
    mm(l.ffn_down, gate_.data(), xn_.data());
    timer.lap(Phase::kDown);  // its residual is added with the next layer's norm
  }
  for_tokens([&](int64_t t) { add_row(&x_[t * C], &xn_[t * C], C); });  // the last layer's FFN residual

  timer.lap(Phase::kEmbedNorm);
  int64_t o = 0;
  for (int64_t t = 0; t < n; ++t) {
    if (!batch[t].logits) continue;
    rmsnorm(&out_x_[o * C], &x_[t * C], w.output_norm.data(), C, hp.norm_eps);
    ++o;
  }
  if (n_out == 0) return {};
  core::matmul(pool_, w.output, out_x_.data(), n_out, logits_.data(), scratch_, path_);
  timer.lap(Phase::kLogits);
  return {logits_.data(), static_cast<size_t>(n_out * hp.n_vocab)};
}

// Each token's attention over positions 0..pos of its sequence (core::attend: all heads, every KV row
// read once, whole). When there are fewer tokens than threads (decoding one sequence), a token's
// positions are split into parts that the threads compute apart (core::attend_part) and that are then
// merged, so that both threads stream KV rows; a part has at least kMinPartPositions positions, and a
// token has at most kMaxParts parts.
void Runner::attention(std::span<const BatchToken> batch, const KvCache& cache, int64_t il) {
  constexpr int64_t kMinPartPositions = 32, kMaxParts = 8;
  const HParams& hp = model_.hparams();
  const int64_t n = static_cast<int64_t>(batch.size());
  const int64_t D = hp.head_dim, Q = hp.q_dim(), H = hp.n_head;
  const core::AttendShape shape{H, hp.n_head_kv, D};
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const bool f16 = cache.type() == KvType::kF16;
  const int64_t stride = static_cast<int64_t>(kv_rows_.size()) / (2 * n);  // max_pos + 1 at reserve
  const int64_t nth = pool_.size();
  attn_items_.clear();
  int32_t slots = 0;
  for (int64_t t = 0; t < n; ++t) {
    const BatchToken& b = batch[t];
    const void** k = &kv_rows_[t * 2 * stride];
    const void** v = k + stride;
    for (int64_t j = 0; j <= b.pos; ++j) {
      k[j] = cache.k_row(il, b.seq, j);
      v[j] = cache.v_row(il, b.seq, j);
    }
    const int64_t len = b.pos + 1;
    const int64_t max_parts = std::min(kMaxParts, (nth + n - 1) / n);
    const int64_t parts = n >= nth ? 1 : std::clamp<int64_t>(len / kMinPartPositions, 1, max_parts);
    for (int64_t p = 0; p < parts; ++p) {
      attn_items_.push_back({static_cast<int32_t>(t), static_cast<int32_t>(len * p / parts),
                             static_cast<int32_t>(len * (p + 1) / parts), parts == 1 ? -1 : slots++});
    }
  }
  if (part_out_.size() < static_cast<size_t>(slots * Q)) part_out_.resize(static_cast<size_t>(slots * Q));
  if (part_stats_.size() < static_cast<size_t>(slots * 2 * H)) part_stats_.resize(static_cast<size_t>(slots * 2 * H));
  const int64_t score_stride = static_cast<int64_t>(scores_.size()) / nth;

  // Items are dealt out in turn, not in contiguous ranges: in a prompt, token t attends over t + 1
  // positions, so contiguous ranges would give the last thread most of the work.
  pool_.run([&](int ith, int nth_) {
    float* scores = &scores_[ith * score_stride];
    for (int64_t i = ith; i < static_cast<int64_t>(attn_items_.size()); i += nth_) {
      const AttnItem& it = attn_items_[i];
      const void* const* k = &kv_rows_[it.t * 2 * stride];
      const core::KvRows rows{k + it.p0, k + stride + it.p0, f16};
      const float* q = &q_[it.t * Q];
      if (it.slot < 0) {
        core::attend(q, shape, rows, it.p1 - it.p0, scale, scores, &att_[it.t * Q], path_);
      } else {
        core::attend_part(q, shape, rows, it.p1 - it.p0, scale, scores, &part_out_[it.slot * Q],
                          &part_stats_[it.slot * 2 * H], path_);
      }
    }
  });
  // Merge split tokens: their parts are consecutive items with consecutive slots.
  for (size_t i = 0; i < attn_items_.size();) {
    const AttnItem& first = attn_items_[i];
    size_t e = i + 1;
    while (e < attn_items_.size() && attn_items_[e].t == first.t) ++e;
    if (first.slot >= 0) {
      const float* outs[kMaxParts];
      const float* stats[kMaxParts];
      const int64_t parts = static_cast<int64_t>(e - i);
      for (int64_t p = 0; p < parts; ++p) {
        outs[p] = &part_out_[(first.slot + p) * Q];
        stats[p] = &part_stats_[(first.slot + p) * 2 * H];
      }
      core::attend_merge(outs, stats, parts, shape, &att_[first.t * Q]);
    }
    i = e;
  }
}

}  // namespace muse::model
