#include "train/model.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "train/layers.h"
#include "train/rng.h"

namespace muse::train {

// ----------------------------------------------------------------------------------------------------
// config and parameters

void ModelConfig::validate() const {
  auto check_range = [](const char* field, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi) fail(ErrorCode::kInvalidArgument, "model config: {} = {} is outside [{}, {}]", field, v, lo, hi);
  };
  check_range("dim", dim, 2, 1 << 16);
  check_range("n_layers", n_layers, 1, 1024);
  check_range("n_heads", n_heads, 1, dim);
  check_range("n_kv_heads", n_kv_heads, 1, n_heads);
  check_range("ffn_dim", ffn_dim, 1, 1 << 18);
  check_range("vocab", vocab, 1, 1 << 24);
  check_range("max_seq", max_seq, 1, 1 << 20);
  if (dim % n_heads != 0) fail(ErrorCode::kInvalidArgument, "model config: dim {} is not a multiple of n_heads {}", dim, n_heads);
  if (head_dim() % 2 != 0) {
    fail(ErrorCode::kInvalidArgument, "model config: head size dim/n_heads = {} must be even (RoPE rotates pairs)", head_dim());
  }
  if (n_heads % n_kv_heads != 0) {
    fail(ErrorCode::kInvalidArgument, "model config: n_heads {} is not a multiple of n_kv_heads {}", n_heads, n_kv_heads);
  }
  if (!(std::isfinite(rope_theta) && rope_theta > 1.0f)) {
    fail(ErrorCode::kInvalidArgument, "model config: rope_theta = {} must be a finite number > 1", rope_theta);
  }
  if (!(std::isfinite(norm_eps) && norm_eps > 0.0f && norm_eps < 1.0f)) {
    fail(ErrorCode::kInvalidArgument, "model config: norm_eps = {} must be in (0, 1)", norm_eps);
  }
}

int64_t ModelConfig::n_params() const {
  const int64_t C = dim;
  return vocab * C + n_layers * (2 * C + 2 * q_dim() * C + 2 * kv_dim() * C + 3 * ffn_dim * C) + C;
}

Model::Model(const ModelConfig& config) : config_(config) {
  config_.validate();
  const int64_t C = config_.dim, F = config_.ffn_dim, QD = config_.q_dim(), KD = config_.kv_dim();
  int64_t offset = 0;
  auto add = [&](std::string name, int64_t rows, int64_t cols, bool is_norm) {
    tensors_.push_back(TensorSpec{std::move(name), offset, rows, cols, is_norm});
    offset += rows * cols;
  };
  add("token_embd.weight", config_.vocab, C, false);
  for (int64_t l = 0; l < config_.n_layers; l++) {
    const std::string p = fmt::format("blk.{}.", l);
    add(p + "attn_norm.weight", 1, C, true);
    add(p + "attn_q.weight", QD, C, false);
    add(p + "attn_k.weight", KD, C, false);
    add(p + "attn_v.weight", KD, C, false);
    add(p + "attn_output.weight", C, QD, false);
    add(p + "ffn_norm.weight", 1, C, true);
    add(p + "ffn_gate.weight", F, C, false);
    add(p + "ffn_up.weight", F, C, false);
    add(p + "ffn_down.weight", C, F, false);
  }
  add("output_norm.weight", 1, C, true);
  MUSE_ASSERT(offset == config_.n_params());
  params_.assign(static_cast<size_t>(offset), 0.0f);
  grads_.assign(static_cast<size_t>(offset), 0.0f);
}

template <typename F>
WeightViews<F> Model::views(F* base) const {
  WeightViews<F> w;
  size_t i = 0;
  auto next = [&] { return base + tensors_[i++].offset; };
  w.token_embd = next();
  w.layers.resize(static_cast<size_t>(config_.n_layers));
  for (auto& l : w.layers) {
    l.attn_norm = next();
    l.attn_q = next();
    l.attn_k = next();
    l.attn_v = next();
    l.attn_output = next();
    l.ffn_norm = next();
    l.ffn_gate = next();
    l.ffn_up = next();
    l.ffn_down = next();
  }
  w.output_norm = next();
  return w;
}

template WeightViews<float> Model::views(float*) const;
template WeightViews<const float> Model::views(const float*) const;

void Model::init_weights(uint64_t seed) {
  Rng rng(seed);
  const double std_base = 0.02;
  const double std_resid = std_base / std::sqrt(2.0 * static_cast<double>(config_.n_layers));
  for (const TensorSpec& t : tensors_) {
    float* p = params_.data() + t.offset;
    if (t.is_norm) {
      std::fill(p, p + t.n_elements(), 1.0f);
      continue;
    }
    const bool resid = t.name.ends_with("attn_output.weight") || t.name.ends_with("ffn_down.weight");
    const double sd = resid ? std_resid : std_base;
    for (int64_t i = 0; i < t.n_elements(); i++) p[i] = static_cast<float>(sd * rng.normal());
  }
}

void Model::zero_grad() { std::fill(grads_.begin(), grads_.end(), 0.0f); }

// ----------------------------------------------------------------------------------------------------
// workspace

Workspace::Workspace(const ModelConfig& config, int64_t max_batch, int64_t max_seq)
    : config_(config), max_batch_(max_batch), max_seq_(max_seq) {
  config_.validate();
  if (max_batch < 1 || max_seq < 1 || max_seq > config.max_seq) {
    fail(ErrorCode::kInvalidArgument, "workspace: batch {} x seq {} must be >= 1 and seq <= model max_seq {}",
         max_batch, max_seq, config.max_seq);
  }
  const int64_t L = config.n_layers, C = config.dim, F = config.ffn_dim, V = config.vocab, NH = config.n_heads;
  const int64_t QD = config.q_dim(), KD = config.kv_dim(), HS = config.head_dim();
  const int64_t BT = max_batch * max_seq;
  const int64_t ATT = max_batch * NH * max_seq * max_seq;
  rope_cos_.resize(static_cast<size_t>(max_seq * HS / 2));
  rope_sin_.resize(rope_cos_.size());
  rope_table(rope_cos_.data(), rope_sin_.data(), max_seq, HS, config.rope_theta);

  const int64_t sizes[] = {
      BT * C,                                                                     // encoded
      L * BT * C, L * BT, L * BT * QD, L * BT * KD, L * BT * KD, L * ATT,         // ln1 .. att
      L * BT * QD, L * BT * C, L * BT * C, L * BT, L * BT * F, L * BT * F,        // atty .. up
      L * BT * F, L * BT * C, BT * C, BT, BT * V, BT, BT * C,                     // hidden .. tmp
      BT * C, BT * C, BT * QD, BT * KD, BT * KD, BT * QD, BT * KD, ATT,           // dres .. datt
      BT * F, BT * F, BT * F, BT * V,                                             // dgate .. dlogits
  };
  float** ptrs[] = {
      &encoded_, &ln1_, &ln1_rstd_, &q_, &k_, &v_, &att_, &atty_, &res2_, &ln2_, &ln2_rstd_, &gate_, &up_,
      &hidden_, &res3_, &lnf_, &lnf_rstd_, &probs_, &losses_, &tmp_, &dres_, &dln_, &dq_, &dk_, &dv_,
      &datty_, &dk_pre_, &datt_, &dgate_, &dup_, &dhidden_, &dlogits_,
  };
  static_assert(std::size(sizes) == std::size(ptrs));
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  acts_.assign(static_cast<size_t>(total), 0.0f);
  float* p = acts_.data();
  for (size_t i = 0; i < std::size(sizes); i++) {
    *ptrs[i] = p;
    p += sizes[i];
  }
}

std::span<const float> Workspace::probs() const {
  return {probs_, static_cast<size_t>(B_ * T_ * config_.vocab)};
}

std::span<const float> Workspace::losses() const { return {losses_, static_cast<size_t>(B_ * T_)}; }

void backward_from_dlogits(core::ThreadPool& pool, Model& model, Workspace& ws);

// ----------------------------------------------------------------------------------------------------
// forward and backward, in llm.c order: the backward walks the forward's lines in reverse

float forward(core::ThreadPool& pool, const Model& model, Workspace& ws, const Batch& batch) {
  const ModelConfig& cfg = model.config();
  MUSE_ASSERT(cfg == ws.config_);
  const int64_t B = batch.B, T = batch.T;
  MUSE_ASSERT(B >= 1 && B <= ws.max_batch_ && T >= 1 && T <= ws.max_seq_);
  MUSE_ASSERT(batch.inputs.size() == static_cast<size_t>(B * T) && batch.targets.size() == batch.inputs.size() &&
              batch.mask.size() == batch.inputs.size());
  for (size_t i = 0; i < batch.inputs.size(); i++) {
    for (int32_t id : {batch.inputs[i], batch.targets[i]}) {
      if (id < 0 || id >= cfg.vocab) {
        fail(ErrorCode::kInvalidArgument, "batch: token id {} at row {} position {} is outside the vocabulary [0, {})",
             id, static_cast<int64_t>(i) / T, static_cast<int64_t>(i) % T, cfg.vocab);
      }
    }
  }
  ws.batch_ = batch;
  ws.B_ = B;
  ws.T_ = T;

  const int64_t L = cfg.n_layers, C = cfg.dim, F = cfg.ffn_dim, V = cfg.vocab;
  const int64_t NH = cfg.n_heads, NKV = cfg.n_kv_heads, HS = cfg.head_dim(), QD = cfg.q_dim(), KD = cfg.kv_dim();
  const int64_t BT = B * T;
  // Per-layer strides use the workspace's max sizes; within a layer the layout is compact (B,T,...).
  const int64_t BTm = ws.max_batch_ * ws.max_seq_, ATTm = ws.max_batch_ * NH * ws.max_seq_ * ws.max_seq_;
  const WeightViews<const float> w = model.weights();

  embedding_forward(ws.encoded_, batch.inputs.data(), w.token_embd, BT, C);
  for (int64_t l = 0; l < L; l++) {
    const LayerViews<const float>& lw = w.layers[static_cast<size_t>(l)];
    const float* x = l == 0 ? ws.encoded_ : ws.res3_ + (l - 1) * BTm * C;  // (B,T,C)
    float* ln1 = ws.ln1_ + l * BTm * C;
    float* ln1_rstd = ws.ln1_rstd_ + l * BTm;
    float* q = ws.q_ + l * BTm * QD;
    float* k = ws.k_ + l * BTm * KD;
    float* v = ws.v_ + l * BTm * KD;
    float* att = ws.att_ + l * ATTm;
    float* atty = ws.atty_ + l * BTm * QD;
    float* res2 = ws.res2_ + l * BTm * C;
    float* ln2 = ws.ln2_ + l * BTm * C;
    float* ln2_rstd = ws.ln2_rstd_ + l * BTm;
    float* gate = ws.gate_ + l * BTm * F;
    float* up = ws.up_ + l * BTm * F;
    float* hidden = ws.hidden_ + l * BTm * F;
    float* res3 = ws.res3_ + l * BTm * C;

    rmsnorm_forward(pool, ln1, ln1_rstd, x, lw.attn_norm, BT, C, cfg.norm_eps);
    matmul_forward(pool, q, ln1, lw.attn_q, BT, C, QD);
    matmul_forward(pool, k, ln1, lw.attn_k, BT, C, KD);
    matmul_forward(pool, v, ln1, lw.attn_v, BT, C, KD);
    rope_forward(q, q, ws.rope_cos_.data(), ws.rope_sin_.data(), B, T, NH, HS);
    rope_forward(k, k, ws.rope_cos_.data(), ws.rope_sin_.data(), B, T, NKV, HS);
    attention_forward(pool, atty, att, q, k, v, B, T, NH, NKV, HS);
    matmul_forward(pool, ws.tmp_, atty, lw.attn_output, BT, QD, C);
    residual_forward(res2, x, ws.tmp_, BT * C);
    rmsnorm_forward(pool, ln2, ln2_rstd, res2, lw.ffn_norm, BT, C, cfg.norm_eps);
    matmul_forward(pool, gate, ln2, lw.ffn_gate, BT, C, F);
    matmul_forward(pool, up, ln2, lw.ffn_up, BT, C, F);
    swiglu_forward(pool, hidden, gate, up, BT * F);
    matmul_forward(pool, ws.tmp_, hidden, lw.ffn_down, BT, F, C);
    residual_forward(res3, res2, ws.tmp_, BT * C);
  }
  const float* xL = ws.res3_ + (L - 1) * BTm * C;
  rmsnorm_forward(pool, ws.lnf_, ws.lnf_rstd_, xL, w.output_norm, BT, C, cfg.norm_eps);
  matmul_forward(pool, ws.probs_, ws.lnf_, w.token_embd, BT, C, V);  // logits
  return crossentropy_forward(ws.probs_, ws.losses_, ws.probs_, batch.targets.data(), batch.mask.data(), BT, V);
}

void backward(core::ThreadPool& pool, Model& model, Workspace& ws) {
  MUSE_ASSERT(model.config() == ws.config_ && ws.B_ > 0);
  const int64_t BT = ws.B_ * ws.T_, V = model.config().vocab;
  std::fill(ws.dlogits_, ws.dlogits_ + BT * V, 0.0f);
  crossentropy_backward(ws.dlogits_, ws.probs_, ws.batch_.targets.data(), ws.batch_.mask.data(), BT, V);
  backward_from_dlogits(pool, model, ws);
}

void backward(core::ThreadPool& pool, Model& model, Workspace& ws, std::span<const float> dloss) {
  MUSE_ASSERT(model.config() == ws.config_ && ws.B_ > 0);
  const int64_t BT = ws.B_ * ws.T_, V = model.config().vocab;
  MUSE_ASSERT(dloss.size() == static_cast<size_t>(BT));
  std::fill(ws.dlogits_, ws.dlogits_ + BT * V, 0.0f);
  crossentropy_backward_weighted(ws.dlogits_, ws.probs_, ws.batch_.targets.data(), dloss.data(), BT, V);
  backward_from_dlogits(pool, model, ws);
}

// The backward pass below the loss: from ws.dlogits_ (filled by the caller) to model.grads().
void backward_from_dlogits(core::ThreadPool& pool, Model& model, Workspace& ws) {
  const ModelConfig& cfg = model.config();
  const int64_t B = ws.B_, T = ws.T_;
  const int64_t L = cfg.n_layers, C = cfg.dim, F = cfg.ffn_dim, V = cfg.vocab;
  const int64_t NH = cfg.n_heads, NKV = cfg.n_kv_heads, HS = cfg.head_dim(), QD = cfg.q_dim(), KD = cfg.kv_dim();
  const int64_t BT = B * T;
  const int64_t BTm = ws.max_batch_ * ws.max_seq_, ATTm = ws.max_batch_ * NH * ws.max_seq_ * ws.max_seq_;
  const WeightViews<float> w = model.weights();
  const WeightViews<float> g = model.grad_views();
  auto zero = [](float* p, int64_t n) { std::fill(p, p + n, 0.0f); };

  zero(ws.dln_, BT * C);
  matmul_backward(pool, ws.dln_, g.token_embd, ws.dlogits_, ws.lnf_, w.token_embd, BT, C, V);
  zero(ws.dres_, BT * C);
  const float* xL = ws.res3_ + (L - 1) * BTm * C;
  rmsnorm_backward(pool, ws.dres_, g.output_norm, ws.dln_, ws.lnf_rstd_, xL, w.output_norm, BT, C);

  // Residual adds are not called out: d(out) of `res = x + branch` is both d(x) and d(branch), so
  // dres_ keeps flowing down the stream and each branch's backward reads it (residual_backward's
  // math, without the copies).
  for (int64_t l = L - 1; l >= 0; l--) {
    const LayerViews<float>& lw = w.layers[static_cast<size_t>(l)];
    const LayerViews<float>& lg = g.layers[static_cast<size_t>(l)];
    const float* x = l == 0 ? ws.encoded_ : ws.res3_ + (l - 1) * BTm * C;
    const float* ln1 = ws.ln1_ + l * BTm * C;
    const float* ln1_rstd = ws.ln1_rstd_ + l * BTm;
    const float* q = ws.q_ + l * BTm * QD;
    const float* k = ws.k_ + l * BTm * KD;
    const float* v = ws.v_ + l * BTm * KD;
    const float* att = ws.att_ + l * ATTm;
    const float* atty = ws.atty_ + l * BTm * QD;
    const float* res2 = ws.res2_ + l * BTm * C;
    const float* ln2 = ws.ln2_ + l * BTm * C;
    const float* ln2_rstd = ws.ln2_rstd_ + l * BTm;
    const float* gate = ws.gate_ + l * BTm * F;
    const float* up = ws.up_ + l * BTm * F;
    const float* hidden = ws.hidden_ + l * BTm * F;

    // ffn branch: res3 = res2 + hidden @ ffn_down^T
    zero(ws.dhidden_, BT * F);
    matmul_backward(pool, ws.dhidden_, lg.ffn_down, ws.dres_, hidden, lw.ffn_down, BT, F, C);
    zero(ws.dgate_, BT * F);
    zero(ws.dup_, BT * F);
    swiglu_backward(pool, ws.dgate_, ws.dup_, ws.dhidden_, gate, up, BT * F);
    zero(ws.dln_, BT * C);
    matmul_backward(pool, ws.dln_, lg.ffn_up, ws.dup_, ln2, lw.ffn_up, BT, C, F);
    matmul_backward(pool, ws.dln_, lg.ffn_gate, ws.dgate_, ln2, lw.ffn_gate, BT, C, F);
    rmsnorm_backward(pool, ws.dres_, lg.ffn_norm, ws.dln_, ln2_rstd, res2, lw.ffn_norm, BT, C);

    // attention branch: res2 = x + atty @ attn_output^T
    zero(ws.datty_, BT * QD);
    matmul_backward(pool, ws.datty_, lg.attn_output, ws.dres_, atty, lw.attn_output, BT, QD, C);
    zero(ws.dq_, BT * QD);
    zero(ws.dk_, BT * KD);
    zero(ws.dv_, BT * KD);
    attention_backward(pool, ws.dq_, ws.dk_, ws.dv_, ws.datt_, ws.datty_, att, q, k, v, B, T, NH, NKV, HS);
    float* dq_pre = ws.datty_;  // d(attention output) is consumed: reuse its buffer
    zero(dq_pre, BT * QD);
    zero(ws.dk_pre_, BT * KD);
    rope_backward(dq_pre, ws.dq_, ws.rope_cos_.data(), ws.rope_sin_.data(), B, T, NH, HS);
    rope_backward(ws.dk_pre_, ws.dk_, ws.rope_cos_.data(), ws.rope_sin_.data(), B, T, NKV, HS);
    zero(ws.dln_, BT * C);
    matmul_backward(pool, ws.dln_, lg.attn_v, ws.dv_, ln1, lw.attn_v, BT, C, KD);
    matmul_backward(pool, ws.dln_, lg.attn_k, ws.dk_pre_, ln1, lw.attn_k, BT, C, KD);
    matmul_backward(pool, ws.dln_, lg.attn_q, dq_pre, ln1, lw.attn_q, BT, C, QD);
    rmsnorm_backward(pool, ws.dres_, lg.attn_norm, ws.dln_, ln1_rstd, x, lw.attn_norm, BT, C);
  }
  embedding_backward(g.token_embd, ws.dres_, ws.batch_.inputs.data(), BT, C);
}

}  // namespace muse::train
