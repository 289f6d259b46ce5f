// `muse quantize`: converted models load, keep their metadata, use the requested block type where the
// row length allows it, and still generate the reference text's beginning; bad requests fail cleanly.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "gguf/gguf.h"

namespace {

const std::string kModel = std::string(MUSE_SHARED_DATA) + "/models/stories260K.gguf";

int sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

class Quantize : public testing::TestWithParam<std::string> {};

TEST_P(Quantize, ConvertsMatricesAndKeepsTheModelWorking) {
  const std::string type = GetParam();
  const std::string out = testing::TempDir() + "q_" + type + ".gguf";
  ASSERT_EQ(sh(std::string(MUSE_BINARY) + " quantize " + kModel + " " + out + " " + type), 0);
  auto in = muse::gguf::File::open(kModel);
  auto q = muse::gguf::File::open(out);
  EXPECT_EQ(q->tensors().size(), in->tensors().size());
  EXPECT_EQ(q->get_string("tokenizer.ggml.model"), in->get_string("tokenizer.ggml.model"));
  const auto& t = q->tensor("blk.0.attn_q.weight");
  // Rows of 64 fit Q8_0/Q4_0 (32-element blocks) but not the 256-element K-quant blocks (-> Q8_0).
  EXPECT_EQ(std::string(muse::core::dtype_name(t.type)), type == "q4_K" ? "q8_0" : type);
  EXPECT_EQ(q->tensor("blk.0.attn_norm.weight").type, muse::core::DType::kF32);
  // The quantized model still tells the same story at first.
  const std::string cmd = std::string(MUSE_BINARY) + " run -q -m " + out + " -p \"Once upon a time\" -n 8 --temp 0";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[512] = {};
  const size_t n = fread(buf, 1, sizeof(buf) - 1, p);
  EXPECT_EQ(pclose(p), 0);
  EXPECT_EQ(std::string(buf, n).rfind("Once upon a time, there was a little", 0), 0u) << buf;
}

INSTANTIATE_TEST_SUITE_P(Types, Quantize, testing::Values("q8_0", "q4_0", "q4_K"));

TEST(QuantizeErrors, RejectsUnknownTypeAndAlreadyQuantizedInput) {
  const std::string out = testing::TempDir() + "q_bad.gguf";
  EXPECT_NE(sh(std::string(MUSE_BINARY) + " quantize " + kModel + " " + out + " q3_X"), 0);
  const std::string q8 = std::string(MUSE_SHARED_DATA) + "/models/stories260K-Q8_0-mixed.gguf";
  EXPECT_NE(sh(std::string(MUSE_BINARY) + " quantize " + q8 + " " + out + " q4_0"), 0);
  EXPECT_NE(sh(std::string(MUSE_BINARY) + " quantize /nonexistent.gguf " + out + " q4_0"), 0);
}

}  // namespace
