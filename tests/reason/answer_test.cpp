// Answer extraction (regex, \boxed{}, "answer is", last number) and normalization.
#include "reason/answer.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace muse::reason {
namespace {

std::string extract(std::string_view text, const std::regex* re = nullptr) {
  auto a = extract_answer(text, re);
  return a ? a->normalized : "<none>";
}

TEST(Answer, NumbersAreNormalized) {
  EXPECT_EQ(normalize_number("+01,234.50"), "1234.5");
  EXPECT_EQ(normalize_number("-0"), "0");
  EXPECT_EQ(normalize_number("-0.000"), "0");
  EXPECT_EQ(normalize_number("3.0"), "3");
  EXPECT_EQ(normalize_number("007"), "7");
  EXPECT_EQ(normalize_number("-12"), "-12");
  EXPECT_EQ(normalize_number("1,2345"), std::nullopt) << "a comma needs exactly 3 digits after it";
  EXPECT_EQ(normalize_number("12a"), std::nullopt);
  EXPECT_EQ(normalize_number(""), std::nullopt);
}

TEST(Answer, FindNumbersKeepsSignsAndSeparatorsApart) {
  EXPECT_EQ(find_numbers("I had 1,234 apples and -5 pears; 3, 5, 8."),
            (std::vector<std::string>{"1234", "-5", "3", "5", "8"}));
  EXPECT_EQ(find_numbers("5-3=2 in x2 and v1.5"), (std::vector<std::string>{"5", "3", "2"}))
      << "no sign after a digit, no numbers inside words";
}

TEST(Answer, FixedFormOfMuseNano) {
  EXPECT_EQ(extract("Let me add 12 and 30.\nThe answer is 42."), "42");
  EXPECT_EQ(extract("so the answer is **1,234**"), "1234");
  EXPECT_EQ(extract("The answer is 27 (24 + 3)."), "27");
  EXPECT_EQ(extract("Answer: 3, 5, 8"), "3, 5, 8");
  EXPECT_EQ(extract("The answer is -7.0."), "-7");
  EXPECT_EQ(extract("The answer is Paris."), "paris");
  // The last marker wins, not the first.
  EXPECT_EQ(extract("I thought the answer is 5, but no.\nThe answer is 6."), "6");
}

TEST(Answer, BoxedBeatsAnswerIsAndAllowsNestedBraces) {
  EXPECT_EQ(extract("The answer is 3. Final: \\boxed{4}"), "4");
  EXPECT_EQ(extract("\\boxed{\\frac{1}{2}}"), "\\frac{1}{2}");
  EXPECT_EQ(extract("\\boxed{12} then \\boxed{13}"), "13");
  EXPECT_EQ(extract("\\boxed{unclosed 9"), "9") << "an unclosed box falls through to the last number";
}

TEST(Answer, LastNumberIsTheFallback) {
  EXPECT_EQ(extract("first 10, then 20, finally 30 apples"), "30");
  EXPECT_EQ(extract("no digits at all"), "<none>");
  EXPECT_EQ(extract(""), "<none>");
}

TEST(Answer, UserRegexWinsAndUsesGroupOne) {
  const std::regex re = compile_answer_pattern("RESULT=(\\w+)");
  EXPECT_EQ(extract("The answer is 5.\nRESULT=seven\nmore text 9", &re), "seven");
  const std::regex whole = compile_answer_pattern("[A-D]\\)");
  EXPECT_EQ(extract("Options... I pick C) because", &whole), "c)");
  // No match: the other rules apply.
  EXPECT_EQ(extract("The answer is 11.", &re), "11");
  EXPECT_THROW(compile_answer_pattern("(unclosed"), Error);
}

TEST(Answer, TextAnswersCompareLoosely) {
  EXPECT_EQ(normalize_answer("  *\"Blue   Whale\"*. "), "blue whale");
  EXPECT_EQ(normalize_answer("$42$"), "42");
  EXPECT_EQ(normalize_answer("7 and 8"), "7, 8");
}

}  // namespace
}  // namespace muse::reason
