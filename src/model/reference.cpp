#include "model/reference.h"

#include <cmath>

#include "core/error.h"

namespace muse::model {
namespace {

std::vector<float> matvec(const core::WeightView& w, const std::vector<float>& x) {
  std::vector<float> y(w.rows);
  core::matmul_reference(w, x.data(), 1, y.data());
  return y;
}

std::vector<float> rmsnorm(const float* x, const std::vector<float>& w, int64_t n, float eps) {
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const double scale = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
  std::vector<float> y(n);
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(x[i] * scale * w[i]);
  return y;
}

// Rotates one head in place. Without scaling the angle is pos * base^(-2i/n_rot) (computed here in
// double, independently of RopeTable); scaled variants use the model's RopeTable.
void rotate(const Model& m, float* x, int64_t pos) {
  const HParams& hp = m.hparams();
  const int64_t half = hp.n_rot / 2;
  std::vector<float> cs(hp.n_rot);
  m.rope().angles(pos, cs.data());
  for (int64_t i = 0; i < half; ++i) {
    double c = cs[2 * i], s = cs[2 * i + 1];
    if (hp.rope_scaling == RopeScaling::kNone && m.file().find_tensor("rope_freqs.weight") == nullptr) {
      const double theta = static_cast<double>(pos) * std::pow(static_cast<double>(hp.rope_theta),
                                                                -2.0 * static_cast<double>(i) / static_cast<double>(hp.n_rot));
      c = std::cos(theta);
      s = std::sin(theta);
    }
    const int64_t a = hp.rope_order == RopeOrder::kNormal ? 2 * i : i;
    const int64_t b = hp.rope_order == RopeOrder::kNormal ? 2 * i + 1 : i + half;
    const double x0 = x[a], x1 = x[b];
    x[a] = static_cast<float>(x0 * c - x1 * s);
    x[b] = static_cast<float>(x0 * s + x1 * c);
  }
}

}  // namespace

ReferenceRunner::ReferenceRunner(const Model& model)
    : model_(model), k_cache_(model.hparams().n_layer), v_cache_(model.hparams().n_layer) {}

const std::vector<float>& ReferenceRunner::step(int32_t token) {
  const HParams& hp = model_.hparams();
  const Weights& w = model_.weights();
  MUSE_ASSERT(token >= 0 && token < hp.n_vocab);
  const int64_t C = hp.n_embd, D = hp.head_dim, K = hp.kv_dim();
  const int64_t pos = n_past_;

  std::vector<float> x(C);
  core::dequantize_weight_row(w.token_embd, token, x.data());

  for (int64_t il = 0; il < hp.n_layer; ++il) {
    const LayerWeights& l = w.layers[il];
    std::vector<float> xn = rmsnorm(x.data(), l.attn_norm, C, hp.norm_eps);
    std::vector<float> q = matvec(l.attn_q, xn), k = matvec(l.attn_k, xn), v = matvec(l.attn_v, xn);
    for (size_t i = 0; i < l.attn_q_bias.size(); ++i) q[i] += l.attn_q_bias[i];
    for (size_t i = 0; i < l.attn_k_bias.size(); ++i) k[i] += l.attn_k_bias[i];
    for (size_t i = 0; i < l.attn_v_bias.size(); ++i) v[i] += l.attn_v_bias[i];
    for (int64_t h = 0; h < hp.n_head; ++h) {
      if (!l.attn_q_norm.empty()) {
        std::vector<float> qn = rmsnorm(&q[h * D], l.attn_q_norm, D, hp.norm_eps);
        std::copy(qn.begin(), qn.end(), q.begin() + h * D);
      }
      rotate(model_, &q[h * D], pos);
    }
    for (int64_t h = 0; h < hp.n_head_kv; ++h) {
      if (!l.attn_k_norm.empty()) {
        std::vector<float> kn = rmsnorm(&k[h * D], l.attn_k_norm, D, hp.norm_eps);
        std::copy(kn.begin(), kn.end(), k.begin() + h * D);
      }
      rotate(model_, &k[h * D], pos);
    }
    k_cache_[il].insert(k_cache_[il].end(), k.begin(), k.end());
    v_cache_[il].insert(v_cache_[il].end(), v.begin(), v.end());

    std::vector<float> att(hp.q_dim(), 0.0f);
    const int64_t group = hp.n_head / hp.n_head_kv;
    for (int64_t h = 0; h < hp.n_head; ++h) {
      const int64_t off = (h / group) * D;
      std::vector<double> s(pos + 1);
      double mx = -INFINITY;
      for (int64_t j = 0; j <= pos; ++j) {
        double dot = 0.0;
        for (int64_t d = 0; d < D; ++d) dot += static_cast<double>(q[h * D + d]) * k_cache_[il][j * K + off + d];
        s[j] = dot / std::sqrt(static_cast<double>(D));
        mx = std::max(mx, s[j]);
      }
      double sum = 0.0;
      for (auto& e : s) sum += (e = std::exp(e - mx));
      for (int64_t d = 0; d < D; ++d) {
        double acc = 0.0;
        for (int64_t j = 0; j <= pos; ++j) acc += s[j] / sum * v_cache_[il][j * K + off + d];
        att[h * D + d] = static_cast<float>(acc);
      }
    }
    std::vector<float> o = matvec(l.attn_output, att);
    for (int64_t i = 0; i < C; ++i) x[i] += o[i];

    xn = rmsnorm(x.data(), l.ffn_norm, C, hp.norm_eps);
    std::vector<float> g = matvec(l.ffn_gate, xn), u = matvec(l.ffn_up, xn);
    for (int64_t i = 0; i < hp.n_ff; ++i) {
      const double gi = g[i];
      g[i] = static_cast<float>(gi / (1.0 + std::exp(-gi)) * u[i]);
    }
    std::vector<float> d = matvec(l.ffn_down, g);
    for (int64_t i = 0; i < C; ++i) x[i] += d[i];
  }
  std::vector<float> xf = rmsnorm(x.data(), w.output_norm, C, hp.norm_eps);
  logits_ = matvec(w.output, xf);
  ++n_past_;
  return logits_;
}

}  // namespace muse::model
