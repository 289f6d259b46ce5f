#include "train/import.h"

#include <cstring>
#include <fstream>

#include "core/error.h"
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
    if (ti.type != core::DType::kF32) {
      fail(ErrorCode::kUnsupported, "{}: {} is not F32: training starts from full-precision weights", f.path(), t.name);
    }
    if (ti.n_elements() != t.n_elements() || ti.shape[0] != t.cols) {
      fail(ErrorCode::kCorruption, "{}: {} has {} elements (row {}), the hyper-parameters imply {} x {}", f.path(),
           t.name, ti.n_elements(), ti.shape[0], t.rows, t.cols);
    }
    std::memcpy(m->params().data() + t.offset, ti.data, static_cast<size_t>(t.n_elements()) * sizeof(float));
  }
  return m;
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
