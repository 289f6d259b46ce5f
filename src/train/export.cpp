#include "train/export.h"

#include <cstdint>
#include <span>

namespace muse::train {

void add_model_to_gguf(const Model& model, gguf::Writer& w) {
  const ModelConfig& c = model.config();
  auto u32 = [](int64_t v) { return gguf::Value::u32(static_cast<uint32_t>(v)); };
  w.set("general.architecture", gguf::Value::string("llama"));
  w.set("general.file_type", gguf::Value::u32(0));  // LLAMA_FTYPE_ALL_F32
  w.set("llama.context_length", u32(c.max_seq));
  w.set("llama.embedding_length", u32(c.dim));
  w.set("llama.block_count", u32(c.n_layers));
  w.set("llama.feed_forward_length", u32(c.ffn_dim));
  w.set("llama.attention.head_count", u32(c.n_heads));
  w.set("llama.attention.head_count_kv", u32(c.n_kv_heads));
  w.set("llama.rope.freq_base", gguf::Value::f32(c.rope_theta));
  w.set("llama.attention.layer_norm_rms_epsilon", gguf::Value::f32(c.norm_eps));
  w.set("llama.rope.dimension_count", u32(c.head_dim()));
  w.set("llama.vocab_size", u32(c.vocab));
  const float* base = model.params().data();
  for (const TensorSpec& t : model.tensors()) {
    std::vector<int64_t> shape = t.rows == 1 && t.is_norm ? std::vector<int64_t>{t.cols} : std::vector<int64_t>{t.cols, t.rows};
    const auto* bytes = reinterpret_cast<const uint8_t*>(base + t.offset);
    w.add_tensor_borrowed(t.name, core::DType::kF32, std::move(shape),
                          std::span(bytes, static_cast<size_t>(t.n_elements()) * sizeof(float)));
  }
}

void export_gguf(const Model& model, const std::string& path, const MetadataCallback& extra_metadata) {
  gguf::Writer w;
  add_model_to_gguf(model, w);
  if (extra_metadata) extra_metadata(w);
  w.write(path);
}

}  // namespace muse::train
