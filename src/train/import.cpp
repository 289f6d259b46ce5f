#include "train/import.h"

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
  if (a.dim != b.dim || a.n_layers != b.n_layers || a.n_heads != b.n_heads || a.n_kv_heads != b.n_kv_heads ||
      a.ffn_dim != b.ffn_dim) {
    fail(ErrorCode::kInvalidArgument,
         "warm start: the initial model (dim {}, layers {}, heads {}/{}, ffn {}) has another shape than the "
         "configured one (dim {}, layers {}, heads {}/{}, ffn {})",
         a.dim, a.n_layers, a.n_heads, a.n_kv_heads, a.ffn_dim, b.dim, b.n_layers, b.n_heads, b.n_kv_heads, b.ffn_dim);
  }
  if (static_cast<int64_t>(from_tokens.size()) != a.vocab || static_cast<int64_t>(to_tokens.size()) != b.vocab) {
    fail(ErrorCode::kInvalidArgument, "warm start: {} / {} token texts for vocabularies of {} / {} rows",
         from_tokens.size(), to_tokens.size(), a.vocab, b.vocab);
  }
  std::unordered_map<std::string_view, int64_t> row_of;
  for (size_t i = 0; i < from_tokens.size(); ++i) row_of.emplace(from_tokens[i], static_cast<int64_t>(i));
  int64_t matched = 0;
  const auto& src = from.tensors();
  for (size_t t = 0; t < src.size(); ++t) {
    const TensorSpec& s = src[t];
    const TensorSpec& d = to.tensors()[t];
    MUSE_ASSERT(s.name == d.name && s.cols == d.cols);
    const float* in = from.params().data() + s.offset;
    float* out = to.params().data() + d.offset;
    if (s.name != "token_embd.weight") {
      std::copy(in, in + s.n_elements(), out);
      continue;
    }
    for (int64_t r = 0; r < d.rows; ++r) {
      const auto it = row_of.find(to_tokens[static_cast<size_t>(r)]);
      if (it == row_of.end()) continue;  // a new token keeps its fresh initialisation
      std::copy(in + it->second * s.cols, in + (it->second + 1) * s.cols, out + r * d.cols);
      ++matched;
    }
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
