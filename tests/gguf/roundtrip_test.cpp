// Writer -> bytes -> reader: every value type, nested arrays, every dtype of the table, alignments, and
// the exact layout llama.cpp requires.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "gguf/gguf.h"
#include "gguf/gguf_test_util.h"

namespace muse::gguf {
namespace {

using testing::expect_error;

// Every dtype OpenMuse knows, found through the public id lookup (ggml ids are below 64).
std::vector<core::DType> all_dtypes() {
  std::vector<core::DType> out;
  for (uint32_t id = 0; id < 64; ++id) {
    if (auto t = core::dtype_from_id(id)) out.push_back(*t);
  }
  return out;
}

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

bool same_value(const Value& a, const Value& b) {
  if (a.type != b.type) return false;
  if (a.is_array()) {
    const auto& x = std::get<Value::Array>(a.data);
    const auto& y = std::get<Value::Array>(b.data);
    if (a.elem_type != b.elem_type || x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (!same_value(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_float()) {
    // Bit-exact: NaN payloads and -0.0 must survive too.
    const double x = std::get<double>(a.data);
    const double y = std::get<double>(b.data);
    return std::memcmp(&x, &y, sizeof(double)) == 0;
  }
  if (a.data.index() != b.data.index()) return false;
  if (const auto* s = std::get_if<std::string>(&a.data)) return *s == std::get<std::string>(b.data);
  if (const auto* u = std::get_if<uint64_t>(&a.data)) return *u == std::get<uint64_t>(b.data);
  if (const auto* i = std::get_if<int64_t>(&a.data)) return *i == std::get<int64_t>(b.data);
  if (const auto* x = std::get_if<bool>(&a.data)) return *x == std::get<bool>(b.data);
  return false;
}

std::vector<std::pair<std::string, Value>> every_value_type() {
  return {
      {"t.u8", Value::u8(255)},
      {"t.i8", Value::i8(-128)},
      {"t.u16", Value::u16(65535)},
      {"t.i16", Value::i16(-32768)},
      {"t.u32", Value::u32(4294967295u)},
      {"t.i32", Value::i32(std::numeric_limits<int32_t>::min())},
      {"t.u64", Value::u64(std::numeric_limits<uint64_t>::max())},
      {"t.i64", Value::i64(std::numeric_limits<int64_t>::min())},
      {"t.f32", Value::f32(-1.5e-7f)},
      {"t.f32_inf", Value::f32(std::numeric_limits<float>::infinity())},
      {"t.f32_nan", Value::f32(std::numeric_limits<float>::quiet_NaN())},
      {"t.f64", Value::f64(3.141592653589793)},
      {"t.f64_neg_zero", Value::f64(-0.0)},
      {"t.bool_true", Value::boolean(true)},
      {"t.bool_false", Value::boolean(false)},
      {"t.string", Value::string("h\xC3\xA9llo \xF0\x9F\x98\x80")},
      {"t.string_empty", Value::string("")},
      {"t.string_nul", Value::string(std::string("a\0b", 3))},
      {"t.arr_u8", Value::array(ValueType::kU8, {Value::u8(0), Value::u8(1), Value::u8(255)})},
      {"t.arr_i8", Value::array(ValueType::kI8, {Value::i8(-1), Value::i8(127)})},
      {"t.arr_u16", Value::array(ValueType::kU16, {Value::u16(1)})},
      {"t.arr_i16", Value::array(ValueType::kI16, {Value::i16(-2)})},
      {"t.arr_u32", Value::u32_array({1, 2, 3})},
      {"t.arr_i32", Value::i32_array({-1, 0, 1})},
      {"t.arr_u64", Value::array(ValueType::kU64, {Value::u64(1ull << 40)})},
      {"t.arr_i64", Value::array(ValueType::kI64, {Value::i64(-(1ll << 40))})},
      {"t.arr_f32", Value::f32_array({0.5f, -2.0f})},
      {"t.arr_f64", Value::array(ValueType::kF64, {Value::f64(1e300)})},
      {"t.arr_bool", Value::array(ValueType::kBool, {Value::boolean(true), Value::boolean(false)})},
      {"t.arr_string", Value::string_array({"<s>", "", "\xE2\x96\x81the"})},
      {"t.arr_empty", Value::array(ValueType::kString, {})},
      {"t.arr_nested",
       Value::array(ValueType::kArray, {Value::i32_array({1, 2}), Value::string_array({"x"}),
                                        Value::array(ValueType::kArray, {Value::f32_array({1.0f})}),
                                        Value::array(ValueType::kU8, {})})},
  };
}

TEST(GgufRoundTrip, EveryValueTypeIncludingNestedArrays) {
  Writer w;
  const auto kvs = every_value_type();
  for (const auto& [k, v] : kvs) w.set(k, v);
  auto f = File::from_bytes(w.to_bytes(), "roundtrip");
  EXPECT_EQ(f->version(), 3u);
  ASSERT_EQ(f->metadata().size(), kvs.size());
  for (size_t i = 0; i < kvs.size(); ++i) {
    EXPECT_EQ(f->metadata()[i].first, kvs[i].first) << "keys keep insertion order";
    EXPECT_TRUE(same_value(f->metadata()[i].second, kvs[i].second)) << kvs[i].first;
  }
  EXPECT_TRUE(f->tensors().empty());
}

TEST(GgufRoundTrip, SetReplacesInPlace) {
  Writer w;
  w.set("a", Value::u32(1));
  w.set("b", Value::u32(2));
  w.set("a", Value::string("one"));
  auto f = File::from_bytes(w.to_bytes());
  ASSERT_EQ(f->metadata().size(), 2u);
  EXPECT_EQ(f->metadata()[0].first, "a");
  EXPECT_EQ(f->get_string("a"), "one");
}

TEST(GgufRoundTrip, TypedGettersConvertWhatFitsAndRejectTheRest) {
  Writer w;
  w.set("u8", Value::u8(7));
  w.set("i64_big", Value::i64(1ll << 40));
  w.set("i32_neg", Value::i32(-1));
  w.set("f64", Value::f64(0.5));
  w.set("name", Value::string("m"));
  w.set("flag", Value::boolean(true));
  w.set("toks", Value::string_array({"a", "b"}));
  w.set("scores", Value::array(ValueType::kF64, {Value::f64(0.25), Value::f64(-1)}));
  w.set("types", Value::array(ValueType::kU8, {Value::u8(1), Value::u8(3)}));
  auto f = File::from_bytes(w.to_bytes(), "getters.gguf");
  EXPECT_EQ(f->get_u32("u8"), 7u);
  EXPECT_EQ(f->get_i64("i64_big"), 1ll << 40);
  EXPECT_EQ(f->get_i64("i32_neg"), -1);
  EXPECT_FLOAT_EQ(f->get_f32("f64"), 0.5f);
  EXPECT_FLOAT_EQ(f->get_f32("u8"), 7.0f);
  EXPECT_EQ(f->get_string("name"), "m");
  EXPECT_TRUE(f->get_bool("flag"));
  EXPECT_EQ(f->get_string_array("toks"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(f->get_f32_array("scores"), (std::vector<float>{0.25f, -1.0f}));
  EXPECT_EQ(f->get_i32_array("types"), (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(f->get_u32_or("missing", 9), 9u);
  EXPECT_EQ(f->get_string_or("missing", "d"), "d");
  EXPECT_FLOAT_EQ(f->get_f32_or("missing", 2.5f), 2.5f);
  EXPECT_FALSE(f->get_bool_or("missing", false));
  EXPECT_EQ(f->find("missing"), nullptr);

  expect_error([&] { f->get_u32("missing"); }, ErrorCode::kNotFound, {"getters.gguf", "'missing'"});
  expect_error([&] { f->get_u32("i64_big"); }, ErrorCode::kCorruption, {"'i64_big'", "u32 range"});
  expect_error([&] { f->get_u32("i32_neg"); }, ErrorCode::kCorruption, {"'i32_neg'"});
  expect_error([&] { f->get_u32("name"); }, ErrorCode::kCorruption, {"'name'", "found string"});
  expect_error([&] { f->get_string("u8"); }, ErrorCode::kCorruption, {"'u8'", "expected string", "found u8"});
  expect_error([&] { f->get_bool("u8"); }, ErrorCode::kCorruption, {"'u8'"});
  expect_error([&] { f->get_string_array("scores"); }, ErrorCode::kCorruption, {"'scores'", "array of f64"});
  expect_error([&] { f->get_f32_array("toks"); }, ErrorCode::kCorruption, {"'toks'"});
  expect_error([&] { f->get_u32_or("name", 1); }, ErrorCode::kCorruption, {"'name'"});
  expect_error([&] { f->tensor("nope"); }, ErrorCode::kNotFound, {"tensor 'nope'"});
}

TEST(GgufRoundTrip, EveryDtypeWithLlamaCppLayout) {
  const auto dtypes = all_dtypes();
  ASSERT_EQ(dtypes.size(), 20u);  // the table in core/dtype.cpp
  for (size_t alignment : {size_t{1}, size_t{32}, size_t{64}, size_t{4096}}) {
    SCOPED_TRACE(alignment);
    Writer w;
    w.set("general.architecture", Value::string("test"));
    if (alignment != kDefaultAlignment) w.set_alignment(alignment);
    std::vector<std::vector<uint8_t>> payloads;
    std::vector<std::vector<int64_t>> shapes;
    for (size_t i = 0; i < dtypes.size(); ++i) {
      const auto& info = core::dtype_info(dtypes[i]);
      // Odd row counts make most byte sizes non-multiples of the alignment, so padding is exercised.
      std::vector<int64_t> shape = {info.block_size * static_cast<int64_t>(1 + i % 3), 3};
      if (i % 4 == 1) shape = {info.block_size};
      if (i % 4 == 2) shape = {info.block_size, 1, 2, 1};
      size_t n = core::row_bytes(dtypes[i], shape[0]);
      for (size_t d = 1; d < shape.size(); ++d) n *= static_cast<size_t>(shape[d]);
      payloads.push_back(random_bytes(n, static_cast<uint32_t>(i)));
      shapes.push_back(shape);
      w.add_tensor(fmt::format("t{}.{}", i, info.name), dtypes[i], shape, payloads.back());
    }
    const auto bytes = w.to_bytes();
    auto f = File::from_bytes(bytes, "dtypes");
    EXPECT_EQ(f->alignment(), alignment);
    EXPECT_EQ(f->has("general.alignment"), alignment != kDefaultAlignment);
    ASSERT_EQ(f->tensors().size(), dtypes.size());
    EXPECT_EQ(f->data_offset() % alignment, 0u);
    uint64_t expected_offset = 0;
    for (size_t i = 0; i < dtypes.size(); ++i) {
      const TensorInfo& t = f->tensors()[i];
      EXPECT_EQ(t.type, dtypes[i]);
      EXPECT_EQ(t.shape, shapes[i]);
      EXPECT_EQ(t.n_bytes, payloads[i].size());
      // llama.cpp's rule: tensor i starts where the padded tensor i-1 ended.
      EXPECT_EQ(t.offset, expected_offset) << t.name;
      expected_offset += (t.n_bytes + alignment - 1) / alignment * alignment;
      ASSERT_EQ(std::memcmp(t.data, payloads[i].data(), t.n_bytes), 0) << t.name;
      EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % std::min<size_t>(alignment, 4096), 0u) << t.name;
      EXPECT_EQ(&f->tensor(t.name), &t);
    }
    // The data section ends with the last tensor's padding, as llama.cpp reads it.
    EXPECT_EQ(bytes.size(), f->data_offset() + expected_offset);
  }
}

TEST(GgufRoundTrip, TensorHelpers) {
  Writer w;
  std::vector<uint8_t> data(4 * 8 * 3 * 2);
  w.add_tensor_borrowed("x", core::DType::kF32, {8, 3, 2}, data);
  auto f = File::from_bytes(w.to_bytes());
  EXPECT_EQ(f->tensor("x").n_elements(), 48);
  EXPECT_EQ(f->tensor("x").rows(), 6);
}

TEST(GgufRoundTrip, SeededRandomMetadata) {
  // 100 random files of random keys and types: a cheap property test with a reproducible seed.
  std::mt19937 rng(1234);
  auto rand_scalar = [&](ValueType t) -> Value {
    const uint64_t r = (uint64_t{rng()} << 32) | rng();
    switch (t) {
      case ValueType::kU8: return Value::u8(static_cast<uint8_t>(r));
      case ValueType::kI8: return Value::i8(static_cast<int8_t>(r));
      case ValueType::kU16: return Value::u16(static_cast<uint16_t>(r));
      case ValueType::kI16: return Value::i16(static_cast<int16_t>(r));
      case ValueType::kU32: return Value::u32(static_cast<uint32_t>(r));
      case ValueType::kI32: return Value::i32(static_cast<int32_t>(r));
      case ValueType::kU64: return Value::u64(r);
      case ValueType::kI64: return Value::i64(static_cast<int64_t>(r));
      case ValueType::kF32: { float x; uint32_t b = static_cast<uint32_t>(r); std::memcpy(&x, &b, 4); return Value::f32(x); }
      case ValueType::kF64: { double x; std::memcpy(&x, &r, 8); return Value::f64(x); }
      case ValueType::kBool: return Value::boolean(r & 1);
      default: return Value::string(std::string(r % 20, static_cast<char>('a' + r % 26)));
    }
  };
  for (int iter = 0; iter < 100; ++iter) {
    Writer w;
    std::vector<std::pair<std::string, Value>> kvs;
    const int n = static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) {
      const auto t = static_cast<ValueType>(rng() % 13);
      Value v;
      if (t == ValueType::kArray) {
        const auto et = static_cast<ValueType>(rng() % 13 == 9 ? 8 : rng() % 13);
        const ValueType elem = et == ValueType::kArray ? ValueType::kString : et;
        Value::Array a;
        for (uint32_t j = rng() % 6; j > 0; --j) a.push_back(rand_scalar(elem));
        v = Value::array(elem, std::move(a));
      } else {
        v = rand_scalar(t);
      }
      kvs.emplace_back(fmt::format("k{}.{}", iter, i), v);
      w.set(kvs.back().first, v);
    }
    auto f = File::from_bytes(w.to_bytes());
    ASSERT_EQ(f->metadata().size(), kvs.size());
    for (size_t i = 0; i < kvs.size(); ++i) {
      // The writer stores an f32 as float: a NaN f32 payload survives, widened.
      ASSERT_TRUE(same_value(f->metadata()[i].second, kvs[i].second)) << "iter " << iter << " key " << i;
    }
  }
}

TEST(GgufWriterValidation, RejectsWhatWouldNotReadBack) {
  Writer w;
  std::vector<uint8_t> f32x4(16);
  expect_error([&] { w.add_tensor("a", core::DType::kF32, {4}, std::vector<uint8_t>(15)); },
               ErrorCode::kInvalidArgument, {"'a'", "15 bytes"});
  expect_error([&] { w.add_tensor("q", core::DType::kQ8_0, {16}, f32x4); }, ErrorCode::kInvalidArgument,
               {"'q'", "block size 32"});
  expect_error([&] { w.add_tensor("z", core::DType::kF32, {4, 0}, f32x4); }, ErrorCode::kInvalidArgument,
               {"'z'", "ne[1]"});
  expect_error([&] { w.add_tensor("d", core::DType::kF32, {4, 1, 1, 1, 1}, f32x4); },
               ErrorCode::kInvalidArgument, {"'d'", "5 dims"});
  expect_error([&] { w.add_tensor("o", core::DType::kF32, {4, INT64_MAX, 4}, f32x4); },
               ErrorCode::kInvalidArgument, {"'o'", "overflow"});
  expect_error([&] { w.add_tensor(std::string(64, 'n'), core::DType::kF32, {4}, f32x4); },
               ErrorCode::kInvalidArgument, {"1..63 bytes"});
  w.add_tensor("ok", core::DType::kF32, {4}, f32x4);
  expect_error([&] { w.add_tensor("ok", core::DType::kF32, {4}, f32x4); }, ErrorCode::kInvalidArgument,
               {"'ok'", "twice"});
  expect_error([&] { w.set_alignment(48); }, ErrorCode::kInvalidArgument, {"48"});
  expect_error([&] { w.set_alignment(0); }, ErrorCode::kInvalidArgument, {"0"});
  expect_error([&] { w.set("general.alignment", Value::u64(64)); }, ErrorCode::kInvalidArgument,
               {"general.alignment"});
  Value bad = Value::u8(1);
  bad.data = uint64_t{300};
  expect_error([&] { w.set("bad.u8", bad); }, ErrorCode::kInvalidArgument, {"'bad.u8'", "u8"});
  Value mixed = Value::i32_array({1});
  std::get<Value::Array>(mixed.data).push_back(Value::string("x"));
  expect_error([&] { w.set("bad.arr", mixed); }, ErrorCode::kInvalidArgument, {"'bad.arr'", "string element"});
  Value deep = Value::i32_array({1});
  for (int i = 0; i < 8; ++i) deep = Value::array(ValueType::kArray, {deep});
  expect_error([&] { w.set("bad.deep", deep); }, ErrorCode::kInvalidArgument, {"'bad.deep'", "nested"});
  // None of the rejected calls left anything behind.
  auto f = File::from_bytes(w.to_bytes());
  EXPECT_EQ(f->tensors().size(), 1u);
  EXPECT_TRUE(f->metadata().empty());
}

TEST(GgufWriterValidation, AlignmentKeyFollowsSetAlignment) {
  Writer w;
  w.set_alignment(64);
  w.set("x", Value::u32(1));
  w.set_alignment(32);  // back to the default: the key stays (in place) but must now say 32
  auto f = File::from_bytes(w.to_bytes());
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_EQ(f->metadata()[0].first, "general.alignment");
  EXPECT_EQ(f->get_u32("general.alignment"), 32u);
  Writer w2;
  w2.set("general.alignment", Value::u32(128));  // setting the key directly changes the layout too
  std::vector<uint8_t> d(4);
  w2.add_tensor("a", core::DType::kF32, {1}, d);
  w2.add_tensor("b", core::DType::kF32, {1}, d);
  auto f2 = File::from_bytes(w2.to_bytes());
  EXPECT_EQ(f2->alignment(), 128u);
  EXPECT_EQ(f2->tensor("b").offset, 128u);
}

}  // namespace
}  // namespace muse::gguf
