// GGUF export: standard llama keys, tensor names and ggml shapes, bit-exact data, the caller's
// metadata hook, and no output.weight (tied embeddings).
#include "train/export.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

#include "core/error.h"

namespace muse::train {
namespace {

TEST(ExportTest, WritesLlamaGgufThatReadsBackExactly) {
  ModelConfig c;
  c.dim = 16;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.ffn_dim = 24;
  c.vocab = 11;
  c.max_seq = 32;
  c.rope_theta = 500000.0f;
  c.norm_eps = 1e-6f;
  Model model(c);
  model.init_weights(17);
  const auto path = std::filesystem::temp_directory_path() / ("muse_export_test_" + std::to_string(::getpid()) + ".gguf");
  export_gguf(model, path.string(), [](gguf::Writer& w) {
    w.set("tokenizer.ggml.model", gguf::Value::string("llama"));
    w.set("general.name", gguf::Value::string("muse-test"));
  });
  const auto file = gguf::File::open(path.string());
  std::filesystem::remove(path);

  EXPECT_EQ(file->get_string("general.architecture"), "llama");
  EXPECT_EQ(file->get_string("general.name"), "muse-test");
  EXPECT_EQ(file->get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(file->get_u32("llama.context_length"), 32u);
  EXPECT_EQ(file->get_u32("llama.embedding_length"), 16u);
  EXPECT_EQ(file->get_u32("llama.block_count"), 2u);
  EXPECT_EQ(file->get_u32("llama.feed_forward_length"), 24u);
  EXPECT_EQ(file->get_u32("llama.attention.head_count"), 4u);
  EXPECT_EQ(file->get_u32("llama.attention.head_count_kv"), 2u);
  EXPECT_EQ(file->get_u32("llama.rope.dimension_count"), 4u);
  EXPECT_EQ(file->get_u32("llama.vocab_size"), 11u);
  EXPECT_EQ(file->get_f32("llama.rope.freq_base"), 500000.0f);
  EXPECT_EQ(file->get_f32("llama.attention.layer_norm_rms_epsilon"), 1e-6f);

  EXPECT_EQ(file->find_tensor("output.weight"), nullptr) << "tied embeddings must not export output.weight";
  ASSERT_EQ(file->tensors().size(), model.tensors().size());
  const std::vector<std::pair<std::string, std::vector<int64_t>>> expect_shapes = {
      {"token_embd.weight", {16, 11}},       {"blk.0.attn_norm.weight", {16}},  {"blk.0.attn_q.weight", {16, 16}},
      {"blk.0.attn_k.weight", {16, 8}},      {"blk.0.attn_v.weight", {16, 8}},  {"blk.1.attn_output.weight", {16, 16}},
      {"blk.1.ffn_gate.weight", {16, 24}},   {"blk.1.ffn_up.weight", {16, 24}}, {"blk.1.ffn_down.weight", {24, 16}},
      {"blk.1.ffn_norm.weight", {16}},       {"output_norm.weight", {16}},
  };
  for (const auto& [name, shape] : expect_shapes) {
    const gguf::TensorInfo& t = file->tensor(name);
    EXPECT_EQ(t.shape, shape) << name;
    EXPECT_EQ(t.type, core::DType::kF32) << name;
  }
  // Data is the parameter buffer as is: no Q/K permutation (see export.h).
  for (const TensorSpec& s : model.tensors()) {
    const gguf::TensorInfo& t = file->tensor(s.name);
    ASSERT_EQ(t.n_bytes, static_cast<size_t>(s.n_elements()) * 4) << s.name;
    EXPECT_EQ(std::memcmp(t.data, model.params().data() + s.offset, t.n_bytes), 0) << s.name;
  }
}

TEST(ExportTest, UnwritablePathIsIOError) {
  ModelConfig c;
  c.dim = 4;
  c.n_layers = 1;
  c.n_heads = 2;
  c.n_kv_heads = 1;
  c.ffn_dim = 4;
  c.vocab = 3;
  c.max_seq = 4;
  Model model(c);
  try {
    export_gguf(model, "/nonexistent-dir/x.gguf");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIOError);
  }
}

}  // namespace
}  // namespace muse::train
