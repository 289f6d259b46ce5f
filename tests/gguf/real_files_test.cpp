// The real GGUF files in the shared test data (written by llama.cpp and gguf-py) load, and have the
// values their READMEs document.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>

#include "gguf/gguf.h"
#include "gguf/gguf_test_util.h"

namespace muse::gguf {
namespace {

using testing::kData;
using testing::kStories;

TEST(GgufRealFiles, Stories260KF32) {
  auto f = File::open(kStories);
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_EQ(f->file_size(), 1185376u);
  EXPECT_EQ(f->get_string("general.architecture"), "llama");
  EXPECT_EQ(f->get_u32("llama.block_count"), 5u);
  EXPECT_EQ(f->get_u32("llama.embedding_length"), 64u);
  EXPECT_EQ(f->get_u32("llama.feed_forward_length"), 172u);
  EXPECT_EQ(f->get_u32("llama.attention.head_count"), 8u);
  EXPECT_EQ(f->get_u32("llama.attention.head_count_kv"), 4u);
  EXPECT_EQ(f->get_u32("llama.context_length"), 512u);
  EXPECT_EQ(f->get_u32("llama.rope.dimension_count"), 8u);
  EXPECT_FLOAT_EQ(f->get_f32("llama.attention.layer_norm_rms_epsilon"), 1e-5f);
  EXPECT_FALSE(f->has("llama.rope.freq_base"));
  EXPECT_EQ(f->get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(f->get_string_array("tokenizer.ggml.tokens").size(), 512u);
  EXPECT_EQ(f->get_f32_array("tokenizer.ggml.scores").size(), 512u);
  EXPECT_EQ(f->get_u32("tokenizer.ggml.bos_token_id"), 1u);
  EXPECT_EQ(f->get_u32("tokenizer.ggml.eos_token_id"), 2u);

  // 5 layers x 9 tensors + token_embd + output_norm + output.
  ASSERT_EQ(f->tensors().size(), 48u);
  const TensorInfo& embd = f->tensor("token_embd.weight");
  EXPECT_EQ(embd.type, core::DType::kF32);
  EXPECT_EQ(embd.shape, (std::vector<int64_t>{64, 512}));
  EXPECT_EQ(embd.n_bytes, 64u * 512u * 4u);
  EXPECT_EQ(f->tensor("blk.0.ffn_down.weight").shape, (std::vector<int64_t>{172, 64}));
  EXPECT_EQ(f->tensor("blk.4.attn_k.weight").shape, (std::vector<int64_t>{64, 32}));
  EXPECT_EQ(f->tensor("output_norm.weight").shape, (std::vector<int64_t>{64}));
  // The README says output.weight is an explicit copy of the tied embedding: same bytes, elsewhere.
  const TensorInfo& out = f->tensor("output.weight");
  ASSERT_EQ(out.n_bytes, embd.n_bytes);
  EXPECT_NE(out.data, embd.data);
  EXPECT_EQ(std::memcmp(out.data, embd.data, embd.n_bytes), 0);
  // Trained norm weights are finite and not all zero (a wrong offset would most likely break this).
  const TensorInfo& norm = f->tensor("blk.0.attn_norm.weight");
  float w[64];
  std::memcpy(w, norm.data, sizeof(w));
  int nonzero = 0;
  for (float x : w) {
    EXPECT_TRUE(std::isfinite(x));
    nonzero += x != 0.0f;
  }
  EXPECT_GT(nonzero, 32);
  size_t total = 0;
  for (const auto& t : f->tensors()) total += t.n_bytes;
  EXPECT_LE(f->data_offset() + total, f->file_size());
}

TEST(GgufRealFiles, QuantizedVariantsHaveTheDocumentedTypes) {
  auto f32 = File::open(kStories);
  const std::map<std::string, core::DType> weight_type = {
      {"stories260K-F16.gguf", core::DType::kF16},
      {"stories260K-Q8_0-mixed.gguf", core::DType::kQ8_0},
      {"stories260K-Q4_0-mixed.gguf", core::DType::kQ4_0},
  };
  for (const auto& [name, type] : weight_type) {
    SCOPED_TRACE(name);
    auto f = File::open(kData + "/models/" + name);
    EXPECT_EQ(f->get_u32("llama.block_count"), 5u);
    ASSERT_EQ(f->tensors().size(), f32->tensors().size());
    for (const auto& t : f->tensors()) {
      EXPECT_EQ(t.shape, f32->tensor(t.name).shape) << t.name;
      const bool norm = t.shape.size() == 1;
      const bool mixed_f32 = type != core::DType::kF16 && t.name.find("ffn_down") != std::string::npos;
      const core::DType want = norm || mixed_f32 ? core::DType::kF32 : type;
      EXPECT_EQ(t.type, want) << t.name;
    }
  }
}

TEST(GgufRealFiles, VocabFilesHaveNoTensors) {
  const std::map<std::string, size_t> n_tokens = {
      {"llama-spm", 32000}, {"phi-3", 32064}, {"gpt-2", 50257}, {"deepseek-coder", 32256}, {"bert-bge", 30522},
  };
  const std::map<std::string, size_t> n_merges = {{"gpt-2", 50000}, {"deepseek-coder", 31757}};
  for (const auto& [name, count] : n_tokens) {
    SCOPED_TRACE(name);
    auto f = File::open(kData + "/tokenizer/ggml-vocab-" + name + ".gguf");
    EXPECT_EQ(f->version(), 3u);
    EXPECT_TRUE(f->tensors().empty());
    EXPECT_EQ(f->get_string_array("tokenizer.ggml.tokens").size(), count);
    auto m = n_merges.find(name);
    if (m != n_merges.end()) {
      EXPECT_EQ(f->get_string_array("tokenizer.ggml.merges").size(), m->second);
    }
    EXPECT_TRUE(f->has("general.architecture"));
  }
}

// Rewriting a file llama.cpp wrote, key by key and tensor by tensor, gives back the same bytes: the
// writer's layout (order, offsets, padding) is llama.cpp's.
TEST(GgufRealFiles, WriterReproducesLlamaCppFileByteForByte) {
  for (const char* name : {"stories260K.gguf", "stories260K-F16.gguf", "stories260K-Q8_0-mixed.gguf"}) {
    SCOPED_TRACE(name);
    const std::string path = kData + "/models/" + name;
    auto f = File::open(path);
    Writer w;
    for (const auto& [k, v] : f->metadata()) w.set(k, v);
    for (const auto& t : f->tensors()) w.add_tensor_borrowed(t.name, t.type, t.shape, {t.data, t.n_bytes});
    const auto original = testing::read_bytes(path);
    const auto rewritten = w.to_bytes();
    ASSERT_EQ(rewritten.size(), original.size());
    EXPECT_TRUE(rewritten == original);
  }
}

}  // namespace
}  // namespace muse::gguf
