// Malformed and hostile GGUF bytes: each must throw muse::Error with a message naming the field, and
// none may crash (these tests also run under ASan/UBSan, which turns an over-read into a failure).
#include <gtest/gtest.h>

#include <random>

#include "gguf/gguf.h"
#include "gguf/gguf_test_util.h"

namespace muse::gguf {
namespace {

using testing::expect_error;
using testing::RawGguf;

constexpr uint32_t kF32 = 0;
constexpr uint32_t kQ8_0 = 8;

// A small valid file whose last tensor ends exactly on the alignment, so that every strict prefix
// lacks bytes the reader needs (a prefix ending inside trailing padding would still be loadable).
std::vector<uint8_t> small_valid_file() {
  Writer w;
  w.set("general.architecture", Value::string("llama"));
  w.set("llama.block_count", Value::u32(2));
  w.set("x.eps", Value::f32(1e-5f));
  w.set("x.flag", Value::boolean(true));
  w.set("x.i8", Value::i8(-3));
  w.set("x.u64", Value::u64(1ull << 50));
  w.set("x.f64", Value::f64(0.5));
  w.set("tokenizer.ggml.tokens", Value::string_array({"<unk>", "<s>", "a"}));
  w.set("x.nested", Value::array(ValueType::kArray, {Value::i32_array({1, 2}), Value::u32_array({})}));
  std::vector<uint8_t> a(4 * 5 * 3, 7);
  std::vector<uint8_t> b(34 * 2, 9);  // two q8_0 blocks = 68 bytes, padded to 96
  std::vector<uint8_t> c(4 * 8, 1);   // 32 bytes: ends on the alignment
  w.add_tensor("a", core::DType::kF32, {5, 3}, a);
  w.add_tensor("b", core::DType::kQ8_0, {64}, b);
  w.add_tensor("c", core::DType::kF32, {8}, c);
  return w.to_bytes();
}

TEST(GgufHostile, SmallValidFileParses) {
  auto f = File::from_bytes(small_valid_file());
  EXPECT_EQ(f->tensors().size(), 3u);
  EXPECT_EQ(f->tensors().back().offset + f->tensors().back().n_bytes + f->data_offset(), f->file_size());
}

TEST(GgufHostile, EveryTruncatedPrefixThrows) {
  const auto full = small_valid_file();
  for (size_t n = 0; n < full.size(); ++n) {
    std::vector<uint8_t> prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    try {
      File::from_bytes(std::move(prefix), "cut.gguf");
      ADD_FAILURE() << "prefix of " << n << " bytes parsed";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kCorruption) << n << ": " << e.what();
      EXPECT_EQ(std::string(e.what()).rfind("cut.gguf: ", 0), 0u) << e.what();
    }
  }
}

// Parses or throws muse::Error; anything else (another exception, a crash, a sanitizer report) fails.
void parse_or_error(std::vector<uint8_t> bytes, size_t& parsed, size_t& rejected) {
  try {
    auto f = File::from_bytes(std::move(bytes));
    // Touch what a caller would: every value's rendering and the ends of every tensor's bytes (the
    // buffer is exactly the file's size, so ASan flags a range that escaped it).
    for (const auto& [k, v] : f->metadata()) (void)v.to_display_string();
    volatile size_t sum = 0;
    for (const auto& t : f->tensors()) sum = sum + t.data[0] + t.data[t.n_bytes - 1];
    ++parsed;
  } catch (const Error&) {
    ++rejected;
  }
}

TEST(GgufHostile, FlippedBytesParseOrThrow) {
  const auto full = small_valid_file();
  size_t parsed = 0;
  size_t rejected = 0;
  for (size_t pos = 0; pos < full.size(); ++pos) {
    for (uint8_t mask : {0x01, 0x10, 0x80, 0xFF}) {
      auto bytes = full;
      bytes[pos] ^= mask;
      parse_or_error(std::move(bytes), parsed, rejected);
    }
  }
  // Both outcomes must occur: flips in tensor data parse, flips in lengths and magic do not.
  EXPECT_GT(parsed, 0u);
  EXPECT_GT(rejected, 0u);
}

TEST(GgufHostile, FlippedBytesInARealFileParseOrThrow) {
  const auto full = testing::read_bytes(testing::kStories);
  std::mt19937 rng(7);
  size_t parsed = 0;
  size_t rejected = 0;
  for (int i = 0; i < 100; ++i) {
    auto bytes = full;
    // The metadata and tensor infos live in the first ~10 KB; flip there most of the time.
    const size_t pos = i % 4 == 0 ? rng() % bytes.size() : rng() % 12000;
    bytes[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
    parse_or_error(std::move(bytes), parsed, rejected);
  }
  EXPECT_GT(parsed, 0u);
  EXPECT_GT(rejected, 0u);
}

TEST(GgufHostile, MagicAndVersion) {
  RawGguf bad_magic;
  bad_magic.u32(0x4C4D4747).u32(3).u64(0).u64(0);  // "GGML"
  expect_error([&] { File::from_bytes(bad_magic.bytes, "m.gguf"); }, ErrorCode::kCorruption,
               {"m.gguf", "magic", "not a GGUF file", "offset 0"});
  expect_error([&] { File::from_bytes({}, "empty.gguf"); }, ErrorCode::kCorruption, {"empty.gguf", "magic"});
  for (uint32_t version : {0u, 1u, 4u, 99u}) {
    RawGguf g;
    g.header(version, 0, 0);
    expect_error([&] { File::from_bytes(g.bytes, "v.gguf"); }, ErrorCode::kUnsupported,
                 {"v.gguf", "version", version == 1 ? "v1" : std::to_string(version)});
  }
  RawGguf be;
  be.header(0x03000000, 0, 0);
  expect_error([&] { File::from_bytes(be.bytes); }, ErrorCode::kUnsupported, {"big-endian"});
}

TEST(GgufHostile, Version2IsRead) {
  RawGguf g;
  g.header(2, 1, 1).kv_str("general.name", "v2").tensor_info("w", {4}, kF32, 0).pad_to(32).zeros(16);
  auto f = File::from_bytes(g.bytes);
  EXPECT_EQ(f->version(), 2u);
  EXPECT_EQ(f->get_string("general.name"), "v2");
  EXPECT_EQ(f->tensor("w").n_bytes, 16u);
}

TEST(GgufHostile, VocabOnlyFileMayEndBeforeTheAlignedDataStart) {
  RawGguf g;
  g.header(3, 0, 1).kv_str("k", "abc");  // 48 bytes, no padding, like llama.cpp's vocab files
  auto f = File::from_bytes(g.bytes);
  EXPECT_EQ(f->data_offset(), 64u);
  EXPECT_EQ(f->file_size(), 48u);
}

TEST(GgufHostile, AbsurdCountsFailFast) {
  for (uint64_t n : {uint64_t{1} << 60, ~uint64_t{0}, uint64_t{1000}}) {
    RawGguf kv;
    kv.header(3, 0, n).kv_u32("a", 1);
    expect_error([&] { File::from_bytes(kv.bytes); }, ErrorCode::kCorruption, {"n_kv", "cannot fit", "offset 16"});
    RawGguf t;
    t.header(3, n, 0);
    expect_error([&] { File::from_bytes(t.bytes); }, ErrorCode::kCorruption, {"n_tensors", "offset 8"});
  }
}

TEST(GgufHostile, StringLengthsPastTheEnd) {
  RawGguf key;
  key.header(3, 0, 1).u64(1ull << 40).zeros(10);
  expect_error([&] { File::from_bytes(key.bytes); }, ErrorCode::kCorruption,
               {"metadata key #0", "string length 1099511627776", "offset 24"});
  RawGguf value;
  value.header(3, 0, 1).str("general.name").u32(8).u64(~uint64_t{0}).zeros(4);
  expect_error([&] { File::from_bytes(value.bytes); }, ErrorCode::kCorruption, {"'general.name'", "string length"});
  RawGguf tname;
  tname.header(3, 1, 0).u64(100).zeros(40);
  expect_error([&] { File::from_bytes(tname.bytes); }, ErrorCode::kCorruption, {"tensor #0 name", "string length"});
}

TEST(GgufHostile, BadValues) {
  RawGguf type;
  type.header(3, 0, 1).str("k.t").u32(13).u32(0);
  expect_error([&] { File::from_bytes(type.bytes); }, ErrorCode::kCorruption, {"'k.t'", "unknown value type 13"});
  RawGguf elem;
  elem.header(3, 0, 1).str("k.e").u32(9).u32(77).u64(1).u32(0);
  expect_error([&] { File::from_bytes(elem.bytes); }, ErrorCode::kCorruption, {"'k.e'", "element type 77"});
  RawGguf count;
  count.header(3, 0, 1).str("k.c").u32(9).u32(10).u64(1ull << 61).u64(0);
  expect_error([&] { File::from_bytes(count.bytes); }, ErrorCode::kCorruption, {"'k.c'", "cannot fit"});
  RawGguf boolean;
  boolean.header(3, 0, 1).str("k.b").u32(7).u8(2);
  expect_error([&] { File::from_bytes(boolean.bytes); }, ErrorCode::kCorruption, {"'k.b'", "bool"});
  RawGguf deep;
  deep.header(3, 0, 1).str("k.deep").u32(9);
  for (int i = 0; i < 20; ++i) deep.u32(9).u64(1);
  deep.u32(4).u64(0);
  expect_error([&] { File::from_bytes(deep.bytes); }, ErrorCode::kUnsupported, {"'k.deep'", "nested"});
}

TEST(GgufHostile, DuplicateKeyAndTensor) {
  RawGguf key;
  key.header(3, 0, 2).kv_u32("llama.block_count", 1).kv_u32("llama.block_count", 2);
  expect_error([&] { File::from_bytes(key.bytes); }, ErrorCode::kCorruption,
               {"'llama.block_count'", "duplicate key", "offset 57"});
  RawGguf tensor;
  tensor.header(3, 2, 0).tensor_info("w", {4}, kF32, 0).tensor_info("w", {4}, kF32, 32).pad_to(32).zeros(64);
  expect_error([&] { File::from_bytes(tensor.bytes); }, ErrorCode::kCorruption, {"tensor 'w'", "duplicate"});
}

TEST(GgufHostile, Alignment) {
  for (uint32_t a : {0u, 48u, 3u}) {
    RawGguf g;
    g.header(3, 0, 1).kv_u32("general.alignment", a);
    expect_error([&] { File::from_bytes(g.bytes); }, ErrorCode::kCorruption,
                 {"'general.alignment'", "power of two"});
  }
  RawGguf s;
  s.header(3, 0, 1).kv_str("general.alignment", "32");
  expect_error([&] { File::from_bytes(s.bytes); }, ErrorCode::kCorruption, {"'general.alignment'"});
  RawGguf ok;
  ok.header(3, 1, 1).kv_u32("general.alignment", 64).tensor_info("w", {4}, kF32, 0).pad_to(64).zeros(16);
  auto f = File::from_bytes(ok.bytes);
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_EQ(f->data_offset() % 64, 0u);
}

// One tensor info, then padding and `data_bytes` of data.
std::vector<uint8_t> one_tensor(std::vector<uint64_t> ne, uint32_t type, uint64_t offset, size_t data_bytes) {
  RawGguf g;
  g.header(3, 1, 0).tensor_info("blk.0.attn_q.weight", std::move(ne), type, offset).pad_to(32).zeros(data_bytes);
  return g.bytes;
}

TEST(GgufHostile, TensorInfos) {
  auto err = [](std::vector<uint64_t> ne, uint32_t type, uint64_t offset, size_t data, ErrorCode code,
                std::vector<std::string> parts) {
    parts.push_back("tensor 'blk.0.attn_q.weight'");
    expect_error([&] { File::from_bytes(one_tensor(ne, type, offset, data), "t.gguf"); }, code, parts);
  };
  EXPECT_NO_THROW(File::from_bytes(one_tensor({4, 2}, kF32, 0, 32)));
  err({4, 2}, kF32, 0, 31, ErrorCode::kCorruption, {"t.gguf", "data [96, 128) extends past end of file (size 127)"});
  err({4}, kF32, 1ull << 62, 16, ErrorCode::kCorruption, {"extends past end of file"});
  err({4}, kF32, ~uint64_t{0} - 31, 16, ErrorCode::kCorruption, {"overflows"});
  err({4}, kF32, 4, 32, ErrorCode::kCorruption, {"offset 4 is not a multiple of the alignment 32"});
  err({4}, 4, 0, 16, ErrorCode::kUnsupported, {"type id 4"});
  err({4}, 16, 0, 16, ErrorCode::kUnsupported, {"type id 16"});
  err({4}, 1000, 0, 16, ErrorCode::kUnsupported, {"type id 1000"});
  err({16}, kQ8_0, 0, 64, ErrorCode::kCorruption, {"ne[0] = 16", "block size 32"});
  err({1ull << 32, 1ull << 32}, kF32, 0, 16, ErrorCode::kCorruption, {"shape product overflows"});
  err({1ull << 62}, kF32, 0, 16, ErrorCode::kCorruption, {"byte size overflows"});
  err({4, 0}, kF32, 0, 16, ErrorCode::kCorruption, {"ne[1] is 0"});
  err({1ull << 63}, kF32, 0, 16, ErrorCode::kCorruption, {"ne[0] is 9223372036854775808"});
  err({}, kF32, 0, 16, ErrorCode::kCorruption, {"n_dims is 0"});
  err({1, 1, 1, 1, 1}, kF32, 0, 16, ErrorCode::kCorruption, {"n_dims is 5"});
}

TEST(GgufHostile, NoHugeAllocationForAHugeArrayOfArrays) {
  // 2^40 nested arrays claimed in a tiny file: rejected before any reserve.
  RawGguf g;
  g.header(3, 0, 1).str("k").u32(9).u32(9).u64(1ull << 40).zeros(24);
  expect_error([&] { File::from_bytes(g.bytes); }, ErrorCode::kCorruption, {"'k'", "cannot fit"});
}

}  // namespace
}  // namespace muse::gguf
