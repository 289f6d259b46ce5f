// Unit and property tests of the Python-semantics building blocks under the Jinja interpreter:
// float repr, UTF-8 handling (including invalid bytes), Python string methods and slicing.
// Hard-coded expectations are CPython 3.11 results (repr(), str methods), checked in Python.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "text/jinja_failure.h"
#include "text/jinja_unicode.h"
#include "text/jinja_value.h"

#ifdef MUSE_HAVE_RAPIDCHECK
#include <rapidcheck/gtest.h>
#endif

namespace muse::text::jinja {
namespace {

TEST(PyFloatRepr, MatchesCPython) {
  struct Case {
    double v;
    const char* repr;
  };
  const Case cases[] = {
      {0.0, "0.0"},        {-0.0, "-0.0"},     {1.0, "1.0"},          {0.1, "0.1"},
      {1e-4, "0.0001"},    {1e-5, "1e-05"},    {1.5e-7, "1.5e-07"},   {1e15, "1000000000000000.0"},
      {1e16, "1e+16"},     {1.5e16, "1.5e+16"}, {123.456, "123.456"}, {0.1 + 0.2, "0.30000000000000004"},
      {1.0 / 3, "0.3333333333333333"}, {5e-324, "5e-324"}, {1.7976931348623157e308, "1.7976931348623157e+308"},
      {2.5, "2.5"},        {-12345678.9, "-12345678.9"}, {1e100, "1e+100"},
      {HUGE_VAL, "inf"},   {-HUGE_VAL, "-inf"},
  };
  for (const Case& c : cases) EXPECT_EQ(py_float_repr(c.v), c.repr) << c.v;
  EXPECT_EQ(py_float_repr(std::nan("")), "nan");
}

TEST(PyFloatRepr, RoundTripsRandomDoubles) {
  // Python's repr is the shortest string that reads back as the same double.
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20000; ++i) {
    uint64_t bits = rng();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    if (!std::isfinite(v)) continue;
    const std::string r = py_float_repr(v);
    EXPECT_EQ(std::strtod(r.c_str(), nullptr), v) << r;
    EXPECT_TRUE(r.find('.') != std::string::npos || r.find('e') != std::string::npos) << r;
  }
}

TEST(PyRepr, StringsQuoteAndEscapeLikePython) {
  auto repr = [](const std::string& s) {
    std::string out;
    py_repr_string(s, out);
    return out;
  };
  EXPECT_EQ(repr("abc"), "'abc'");
  EXPECT_EQ(repr("it's"), "\"it's\"");
  EXPECT_EQ(repr("both ' \""), "'both \\' \"'");
  EXPECT_EQ(repr("a\nb\tc\\"), "'a\\nb\\tc\\\\'");
  EXPECT_EQ(repr(std::string("\x00\x7f", 2)), "'\\x00\\x7f'");
  EXPECT_EQ(repr("é中😀"), "'é中😀'");
  EXPECT_EQ(repr("\u200d\u00a0"), "'\\u200d\\xa0'");  // not printable in Python
}

TEST(Utf8, InvalidBytesSurviveDecodeEncode) {
  const std::string bad = "ok\xff\xfe\xc3(\xe2\x82 \xed\xa0\x80 end \xf4\x90\x80\x80";
  const std::u32string cps = decode_utf8(bad);
  EXPECT_EQ(encode_utf8(cps), bad);
  EXPECT_EQ(utf8_length(bad), cps.size());
  EXPECT_EQ(cps[2], 0xDCFFu);  // Python's surrogateescape for byte 0xFF
}

#ifdef MUSE_HAVE_RAPIDCHECK
RC_GTEST_PROP(Utf8Property, DecodeEncodeIsIdentityOnAnyBytes, (const std::string& bytes)) {
  const std::u32string cps = decode_utf8(bytes);
  RC_ASSERT(encode_utf8(cps) == bytes);
  RC_ASSERT(utf8_length(bytes) == cps.size());
}

RC_GTEST_PROP(StrProperty, SplitThenJoinRestoresTheString, (const std::string& text, char sep_char)) {
  const std::string sep(1, sep_char);
  const std::vector<std::string> parts = str_split(text, std::string_view(sep), -1);
  std::string joined;
  for (size_t i = 0; i < parts.size(); ++i) joined += (i ? sep : "") + parts[i];
  RC_ASSERT(joined == text);
  RC_ASSERT(parts.size() == static_cast<size_t>(std::count(text.begin(), text.end(), sep_char)) + 1);
  // rsplit with no limit splits at the same places.
  RC_ASSERT(str_rsplit(text, std::string_view(sep), -1) == parts);
}

RC_GTEST_PROP(StrProperty, SliceSelectsPythonsIndices, (const std::vector<int>& xs)) {
  const auto len = static_cast<int64_t>(xs.size());
  const auto start = *rc::gen::inRange<int64_t>(-len - 3, len + 4);
  const auto stop = *rc::gen::inRange<int64_t>(-len - 3, len + 4);
  auto step = *rc::gen::inRange<int64_t>(-4, 5);
  if (step == 0) step = 1;
  const SliceIndices sl = adjust_slice(len, start, stop, step);
  std::vector<int64_t> got;
  for (int64_t k = 0, i = sl.start; k < sl.count; ++k, i += sl.step) got.push_back(i);
  // Reference: the set-membership reading of Python's slice rules, checked index by index.
  std::vector<int64_t> want;
  const int64_t e0 = stop < 0 ? stop + len : stop;
  if (step > 0) {
    const int64_t s0 = start < 0 ? std::max<int64_t>(start + len, 0) : start;
    for (int64_t i = 0; i < len; ++i) {
      if (i >= s0 && i < e0 && (i - s0) % step == 0) want.push_back(i);
    }
  } else {
    const int64_t s0 = start < 0 ? start + len : std::min(start, len - 1);
    for (int64_t i = len - 1; i >= 0; --i) {
      if (i <= s0 && i > e0 && (s0 - i) % (-step) == 0) want.push_back(i);
    }
  }
  RC_ASSERT(got == want);
}
#endif

TEST(PyStr, SplitAndStripFollowPython) {
  using V = std::vector<std::string>;
  EXPECT_EQ(str_split("  a b\u3000c  ", std::nullopt, -1), (V{"a", "b", "c"}));  // U+3000 is whitespace
  EXPECT_EQ(str_split("  a b  c ", std::nullopt, 1), (V{"a", "b  c "}));
  EXPECT_EQ(str_rsplit("  a b  c ", std::nullopt, 1), (V{"  a b", "c"}));
  EXPECT_EQ(str_split("a,,b", std::string_view(","), -1), (V{"a", "", "b"}));
  EXPECT_EQ(str_split("", std::nullopt, -1), V{});
  EXPECT_EQ(str_split("", std::string_view(","), -1), V{""});
  EXPECT_THROW(str_split("a", std::string_view(""), -1), Failure);
  EXPECT_EQ(str_splitlines("a\r\nb\rc\n\nd\x0b" "e\u2028f", false), (V{"a", "b", "c", "", "d", "e", "f"}));
  EXPECT_EQ(str_splitlines("a\r\nb\n", true), (V{"a\r\n", "b\n"}));
  EXPECT_EQ(str_strip("\u00a0 x \t\n", std::nullopt, true, true), "x");
  EXPECT_EQ(str_strip("xyhixy", std::string_view("yx"), true, false), "hixy");
  EXPECT_EQ(str_strip("ééaé", std::string_view("é"), true, true), "a");
}

TEST(PyStr, CaseMappingIsUnicode) {
  EXPECT_EQ(str_upper("straße ǆ é"), "STRASSE Ǆ É");
  EXPECT_EQ(str_lower("ÀÉÎ İ"), "àéî i\u0307");
  EXPECT_EQ(str_title("hello wORLD 3rd-time o'neil"), "Hello World 3Rd-Time O'Neil");
  EXPECT_EQ(str_capitalize("éCOLE"), "École");
  EXPECT_EQ(str_swapcase("aBc"), "AbC");
}

TEST(PyStr, ReplaceFindCountPadding) {
  EXPECT_EQ(str_replace("abc", "", "-", -1), "-a-b-c-");
  EXPECT_EQ(str_replace("aaaa", "a", "b", 2), "bbaa");
  EXPECT_EQ(str_replace_result_size("aaaa", "a", "bb", 3), 7u);
  EXPECT_EQ(str_find("héllo", "l", std::nullopt, std::nullopt, false), 2);
  EXPECT_EQ(str_find("héllo", "l", std::nullopt, std::nullopt, true), 3);
  EXPECT_EQ(str_find("abc", "", 5, std::nullopt, false), -1);
  EXPECT_EQ(str_count("abc", "", std::nullopt, std::nullopt), 4);
  EXPECT_EQ(str_count("aaaa", "aa", std::nullopt, std::nullopt), 2);
  EXPECT_EQ(str_pad("ab", 5, U'*', '^'), "**ab*");  // CPython puts the odd pad char left
  EXPECT_EQ(str_pad("ab", 6, U'*', '^'), "**ab**");
  EXPECT_EQ(str_pad("é", 3, U' ', '>'), "  é");
  EXPECT_EQ(str_zfill("-42", 6), "-00042");
}

TEST(PyValues, EqualityAndOrderingFollowPython) {
  EXPECT_TRUE(py_equal(Value::integer(1), Value::real(1.0)));
  EXPECT_TRUE(py_equal(Value::boolean(true), Value::integer(1)));
  EXPECT_FALSE(py_equal(Value::list({Value::integer(1)}), Value::list({Value::integer(1)}, ListFlavor::kTuple)));
  EXPECT_TRUE(py_equal(Value(), Value::undefined("x")));  // jinja2: Undefined == Undefined
  EXPECT_FALSE(py_equal(Value::none(), Value()));
  // 2^53 + 1 is not exactly representable: the comparison must not round it.
  EXPECT_FALSE(py_equal(Value::integer((int64_t{1} << 53) + 1), Value::real(9007199254740992.0)));
  EXPECT_TRUE(py_less(Value::integer(9007199254740992), Value::integer((int64_t{1} << 53) + 1)));
  EXPECT_TRUE(py_less(Value::string("B"), Value::string("a")));
  EXPECT_THROW(py_less(Value::integer(1), Value::string("a")), Failure);
  EXPECT_FALSE(truthy(Value::list({}, ListFlavor::kList)));
  EXPECT_TRUE(truthy(Value::list({}, ListFlavor::kIterator)));  // generators are always true
}

TEST(PyValues, FromJsonKeepsKeyOrderAndTypes) {
  const auto j = nlohmann::ordered_json::parse(R"({"z": 1, "a": [1.0, 2, null, "s", true], "m": {}})");
  const Value v = Value::from_json(j);
  std::string s;
  py_repr(v, s);
  EXPECT_EQ(s, "{'z': 1, 'a': [1.0, 2, None, 's', True], 'm': {}}");
}

}  // namespace
}  // namespace muse::text::jinja
