// libFuzzer target for the GGUF reader: any bytes must parse or throw muse::Error, never crash, hang,
// over-read or allocate without bound. Parsed files are then walked the way callers walk them.
//
// Seeds: when the first corpus directory on the command line is empty, LLVMFuzzerInitialize fills it
// with a few small files made by gguf::Writer (no binary files live in the repository):
//   mkdir -p /tmp/gguf-corpus && fuzz_gguf_reader -max_total_time=60 -max_len=4096 /tmp/gguf-corpus
// The shared model and vocab files may be added as further (read-only) seed directories.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "gguf/gguf.h"

namespace {

void write_seeds(const std::filesystem::path& dir) {
  using muse::gguf::Value;
  using muse::gguf::ValueType;
  muse::gguf::Writer model;
  model.set("general.architecture", Value::string("llama"));
  model.set("llama.block_count", Value::u32(1));
  model.set("llama.attention.layer_norm_rms_epsilon", Value::f32(1e-5f));
  model.set("tokenizer.ggml.tokens", Value::string_array({"<unk>", "<s>", "</s>", "a"}));
  model.set("tokenizer.ggml.scores", Value::f32_array({0, 0, 0, -1}));
  model.set("tokenizer.ggml.add_bos_token", Value::boolean(true));
  model.set("x.nested", Value::array(ValueType::kArray, {Value::i32_array({1, 2}), Value::string_array({"b"})}));
  model.set("x.i64", Value::i64(-5));
  model.set("x.f64", Value::f64(2.5));
  std::vector<uint8_t> f32(4 * 8 * 2, 1);
  std::vector<uint8_t> q8(34 * 2, 2);
  model.add_tensor("token_embd.weight", muse::core::DType::kF32, {8, 2}, f32);
  model.add_tensor("blk.0.attn_q.weight", muse::core::DType::kQ8_0, {32, 2}, q8);
  model.write((dir / "seed_model.gguf").string());

  muse::gguf::Writer vocab;  // a vocab-only file: no tensors
  vocab.set("tokenizer.ggml.model", Value::string("gpt2"));
  vocab.set("tokenizer.ggml.merges", Value::string_array({"a b", "ab c"}));
  vocab.set("tokenizer.ggml.token_type", Value::i32_array({1, 1, 3}));
  vocab.write((dir / "seed_vocab.gguf").string());

  muse::gguf::Writer aligned;
  aligned.set_alignment(64);
  aligned.set("x.u8", Value::u8(3));
  aligned.set("x.u16", Value::u16(3));
  aligned.set("x.i16", Value::i16(-3));
  aligned.add_tensor("a", muse::core::DType::kF16, {4, 1, 1, 2}, std::vector<uint8_t>(16, 3));
  aligned.write((dir / "seed_aligned.gguf").string());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  for (int i = 1; i < *argc; ++i) {
    const std::string arg = (*argv)[i];
    if (arg.empty() || arg[0] == '-') continue;
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec) && std::filesystem::is_empty(arg, ec)) write_seeds(arg);
    break;  // only the first corpus directory is ours to fill
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto file = muse::gguf::File::from_bytes(std::vector<uint8_t>(data, data + size), "fuzz");
    for (const auto& [key, value] : file->metadata()) {
      (void)value.to_display_string(4, 16);
      // The typed getters must reject, not misread, whatever type the fuzzer put there.
      try {
        (void)file->get_u32(key);
      } catch (const muse::Error&) {
      }
      try {
        (void)file->get_f32_array(key);
      } catch (const muse::Error&) {
      }
    }
    uint64_t sum = 0;
    for (const auto& t : file->tensors()) {
      // First and last byte: ASan flags any tensor whose range escaped the buffer.
      sum += t.data[0] + t.data[t.n_bytes - 1];
      (void)file->tensor(t.name);
    }
    (void)sum;
  } catch (const muse::Error&) {
  }
  return 0;
}
