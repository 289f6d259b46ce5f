#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gguf/gguf.h"

namespace muse::gguf {
namespace {

TEST(GgufValue, FactoriesWidenAndRememberTheDiskType) {
  EXPECT_EQ(Value::u8(200).type, ValueType::kU8);
  EXPECT_EQ(std::get<uint64_t>(Value::u8(200).data), 200u);
  EXPECT_EQ(std::get<int64_t>(Value::i8(-128).data), -128);
  EXPECT_EQ(std::get<int64_t>(Value::i16(-32768).data), -32768);
  EXPECT_EQ(std::get<uint64_t>(Value::u64(UINT64_MAX).data), UINT64_MAX);
  EXPECT_EQ(std::get<int64_t>(Value::i64(INT64_MIN).data), INT64_MIN);
  EXPECT_EQ(std::get<double>(Value::f32(0.1f).data), static_cast<double>(0.1f));
  EXPECT_EQ(Value::f64(0.1).type, ValueType::kF64);
  EXPECT_TRUE(std::get<bool>(Value::boolean(true).data));
  EXPECT_EQ(std::get<std::string>(Value::string("x").data), "x");

  const Value a = Value::i32_array({1, -2, 3});
  EXPECT_TRUE(a.is_array());
  EXPECT_EQ(a.elem_type, ValueType::kI32);
  ASSERT_EQ(std::get<Value::Array>(a.data).size(), 3u);
  EXPECT_EQ(std::get<int64_t>(std::get<Value::Array>(a.data)[1].data), -2);
  EXPECT_EQ(Value::string_array({"a", "b"}).elem_type, ValueType::kString);
  EXPECT_EQ(Value::u32_array({7}).elem_type, ValueType::kU32);
  EXPECT_EQ(Value::f32_array({}).elem_type, ValueType::kF32);
}

TEST(GgufValue, Classification) {
  EXPECT_TRUE(Value::u16(1).is_integer());
  EXPECT_TRUE(Value::i64(1).is_integer());
  EXPECT_FALSE(Value::boolean(true).is_integer());
  EXPECT_FALSE(Value::f32(1).is_integer());
  EXPECT_TRUE(Value::f32(1).is_float());
  EXPECT_TRUE(Value::f64(1).is_float());
  EXPECT_FALSE(Value::string("1").is_float());
  EXPECT_STREQ(value_type_name(ValueType::kBool), "bool");
  EXPECT_STREQ(value_type_name(ValueType::kArray), "array");
}

TEST(GgufValue, DisplayScalars) {
  EXPECT_EQ(Value::u32(5).to_display_string(), "5");
  EXPECT_EQ(Value::i8(-3).to_display_string(), "-3");
  EXPECT_EQ(Value::boolean(false).to_display_string(), "false");
  // f32 values print as the shortest text that round-trips the float, not the widened double.
  EXPECT_EQ(Value::f32(1e-5f).to_display_string(), "1e-05");
  EXPECT_EQ(Value::f64(0.25).to_display_string(), "0.25");
}

TEST(GgufValue, DisplayStringsAreQuotedEscapedAndCut) {
  EXPECT_EQ(Value::string("llama").to_display_string(), "\"llama\"");
  EXPECT_EQ(Value::string("a\"b\\c\nd\x01").to_display_string(), "\"a\\\"b\\\\c\\nd\\x01\"");
  const std::string long_text(500, 'x');
  const std::string shown = Value::string(long_text).to_display_string(8, 10);
  EXPECT_EQ(shown, "\"xxxxxxxxxx\"... (500 bytes)");
  // "\xE2\x96\x81" (U+2581) is not split when the cut falls inside it.
  EXPECT_EQ(Value::string("ab\xE2\x96\x81" "cd").to_display_string(8, 3), "\"ab\"... (7 bytes)");
  EXPECT_EQ(Value::string("ab\xE2\x96\x81" "cd").to_display_string(8, 5), "\"ab\xE2\x96\x81\"... (7 bytes)");
}

TEST(GgufValue, DisplayArraysAbbreviateWithCount) {
  EXPECT_EQ(Value::i32_array({1, 2, 3}).to_display_string(), "[1, 2, 3]");
  std::vector<int32_t> many(100);
  for (int i = 0; i < 100; ++i) many[i] = i;
  EXPECT_EQ(Value::i32_array(many).to_display_string(3), "[0, 1, 2, ...] (100 x i32)");
  EXPECT_EQ(Value::string_array({"a", "b", "c"}).to_display_string(2), "[\"a\", \"b\", ...] (3 x string)");
  EXPECT_EQ(Value::u32_array({}).to_display_string(), "[]");
  const Value nested = Value::array(ValueType::kArray, {Value::i32_array({1, 2}), Value::i32_array({})});
  EXPECT_EQ(nested.to_display_string(), "[[1, 2], []]");
}

TEST(GgufValue, DisplayOfAnInconsistentValueDoesNotCrash) {
  Value v;
  v.type = ValueType::kString;
  v.data = uint64_t{3};
  EXPECT_EQ(v.to_display_string(), "<invalid string value>");
}

}  // namespace
}  // namespace muse::gguf
