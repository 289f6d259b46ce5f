#include "train/import.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <string_view>
#include <unordered_map>

#include "core/dtype.h"
#include "core/error.h"
#include "core/quant.h"
#include "train/checkpoint.h"

namespace muse::train {

std::unique_ptr<Model> model_from_gguf(const gguf::File& f) {
  const std::string arch = f.get_string("general.architecture");
  if (arch != "llama") fail(ErrorCode::kUnsupported, "{}: architecture \"{}\": only llama models can be trained", f.path(), arch);
  if (f.find_tensor("output.weight")) {
    fail(ErrorCode::kUnsupported, "{}: has output.weight: the trainer ties the classifier to token_embd", f.path());
  }
  ModelConfig c;
  c.dim = f.get_u32("llama.embedding_length");
  c.n_layers = f.get_u32("llama.block_count");
  c.ffn_dim = f.get_u32("llama.feed_forward_length");
  c.n_heads = f.get_u32("llama.attention.head_count");
  c.n_kv_heads = f.get_u32_or("llama.attention.head_count_kv", static_cast<uint32_t>(c.n_heads));
  c.max_seq = f.get_u32("llama.context_length");
  c.rope_theta = f.get_f32_or("llama.rope.freq_base", c.rope_theta);
  c.norm_eps = f.get_f32_or("llama.attention.layer_norm_rms_epsilon", c.norm_eps);
  const gguf::TensorInfo& embd = f.tensor("token_embd.weight");
  if (embd.shape.size() != 2) fail(ErrorCode::kCorruption, "{}: token_embd.weight is not a matrix", f.path());
  c.vocab = embd.shape[1];
  try {
    c.validate();
  } catch (const Error& e) {
    fail(ErrorCode::kCorruption, "{}: {}", f.path(), e.what());
  }
  auto m = std::make_unique<Model>(c);
  for (const TensorSpec& t : m->tensors()) {
    const gguf::TensorInfo& ti = f.tensor(t.name);
    if (ti.n_elements() != t.n_elements() || ti.shape[0] != t.cols) {
      fail(ErrorCode::kCorruption, "{}: {} has {} elements (row {}), the hyper-parameters imply {} x {}", f.path(),
           t.name, ti.n_elements(), ti.shape[0], t.rows, t.cols);
    }
    float* dst = m->params().data() + t.offset;
    if (ti.type == core::DType::kF32) {
      std::memcpy(dst, ti.data, static_cast<size_t>(t.n_elements()) * sizeof(float));
    } else {
      // A quantized file (the shipped Q8_0 muse-nano): training continues from its dequantized values.
      if (t.cols % core::dtype_info(ti.type).block_size != 0) {
        fail(ErrorCode::kCorruption, "{}: {} rows of {} do not fill whole {} blocks", f.path(), t.name, t.cols,
             core::dtype_name(ti.type));
      }
      const size_t stride = core::row_bytes(ti.type, t.cols);
      for (int64_t r = 0; r < t.rows; ++r) {
        core::dequantize_row(ti.type, static_cast<const uint8_t*>(ti.data) + static_cast<size_t>(r) * stride,
                             dst + r * t.cols, t.cols);
      }
    }
  }
  return m;
}

int64_t warm_start(const Model& from, std::span<const std::string> from_tokens, Model& to,
                   std::span<const std::string> to_tokens) {
  const ModelConfig& a = from.config();
  const ModelConfig& b = to.config();
  if (a.dim != b.dim || a.n_heads != b.n_heads || a.n_kv_heads != b.n_kv_heads || b.n_layers < a.n_layers ||
      b.ffn_dim < a.ffn_dim) {
    fail(ErrorCode::kInvalidArgument,
         "warm start: the initial model (dim {}, layers {}, heads {}/{}, ffn {}) cannot become the configured one "
         "(dim {}, layers {}, heads {}/{}, ffn {}): dim and heads must match, layers and ffn may only grow",
         a.dim, a.n_layers, a.n_heads, a.n_kv_heads, a.ffn_dim, b.dim, b.n_layers, b.n_heads, b.n_kv_heads, b.ffn_dim);
  }
  if (static_cast<int64_t>(from_tokens.size()) != a.vocab || static_cast<int64_t>(to_tokens.size()) != b.vocab) {
    fail(ErrorCode::kInvalidArgument, "warm start: {} / {} token texts for vocabularies of {} / {} rows",
         from_tokens.size(), to_tokens.size(), a.vocab, b.vocab);
  }
  const int64_t C = a.dim, QD = a.q_dim(), KD = a.kv_dim(), Fa = a.ffn_dim, Fb = b.ffn_dim;
  const WeightViews<const float> src = from.weights();
  const WeightViews<float> dst = to.weights();

  std::unordered_map<std::string_view, int64_t> row_of;
  for (size_t i = 0; i < from_tokens.size(); ++i) row_of.emplace(from_tokens[i], static_cast<int64_t>(i));
  int64_t matched = 0;
  for (int64_t r = 0; r < b.vocab; ++r) {
    const auto it = row_of.find(to_tokens[static_cast<size_t>(r)]);
    if (it == row_of.end()) continue;  // a new token keeps its fresh initialisation
    std::copy_n(src.token_embd + it->second * C, C, dst.token_embd + r * C);
    ++matched;
  }
  std::copy_n(src.output_norm, C, dst.output_norm);

  // Layers: old layer i lands at i * Lb / La, spreading the new ones between them. Every projection into
  // the residual stream starts at zero, so a new layer (and a new FFN unit of an old one) adds nothing
  // until training moves it; the old layers then overwrite their own with the old values.
  for (const LayerViews<float>& d : dst.layers) {
    std::fill_n(d.attn_output, C * QD, 0.0f);
    std::fill_n(d.ffn_down, C * Fb, 0.0f);
  }
  for (int64_t i = 0; i < a.n_layers; ++i) {
    const LayerViews<const float>& s = src.layers[static_cast<size_t>(i)];
    const LayerViews<float>& d = dst.layers[static_cast<size_t>(i * b.n_layers / a.n_layers)];
    std::copy_n(s.attn_norm, C, d.attn_norm);
    std::copy_n(s.attn_q, QD * C, d.attn_q);
    std::copy_n(s.attn_k, KD * C, d.attn_k);
    std::copy_n(s.attn_v, KD * C, d.attn_v);
    std::copy_n(s.attn_output, C * QD, d.attn_output);
    std::copy_n(s.ffn_norm, C, d.ffn_norm);
    // A wider FFN: the old hidden units come first; the new ones keep their fresh gate and up rows.
    std::copy_n(s.ffn_gate, Fa * C, d.ffn_gate);
    std::copy_n(s.ffn_up, Fa * C, d.ffn_up);
    for (int64_t r = 0; r < C; ++r) std::copy_n(s.ffn_down + r * Fa, Fa, d.ffn_down + r * Fb);
  }
  return matched;
}

std::unique_ptr<Model> load_model_for_training(const std::string& path) {
  char magic[8] = {};
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(ErrorCode::kNotFound, "{}: cannot open the model", path);
    in.read(magic, sizeof magic);
  }
  if (std::memcmp(magic, kCheckpointMagic, sizeof magic) == 0) {
    const Checkpoint c = load_checkpoint(path);
    auto m = std::make_unique<Model>(c.config);
    std::copy(c.params.begin(), c.params.end(), m->params().begin());
    return m;
  }
  return model_from_gguf(*gguf::File::open(path));
}

}  // namespace muse::train
