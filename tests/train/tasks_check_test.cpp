// The answer checker: extraction in several phrasings, number normalisation, lists, rejections, and
// that no output text can make it throw or crash.
#include "train/tasks_check.h"

#include <gtest/gtest.h>

#include "core/error.h"

#ifdef MUSE_HAVE_RAPIDCHECK
#include <rapidcheck/gtest.h>
#endif

namespace muse::train {
namespace {

bool ok(std::string_view out, std::string_view ref) { return check_answer(out, ref, Checker::kNumeric); }

TEST(TasksCheck, AcceptsTheFixedFormInManyPhrasings) {
  EXPECT_TRUE(ok("The answer is 1234.", "1234"));
  EXPECT_TRUE(ok("the answer is 1234", "1234"));
  EXPECT_TRUE(ok("So the answer is **1,234**.", "1234"));
  EXPECT_TRUE(ok("Answer: 1234", "1234"));
  EXPECT_TRUE(ok("FINAL ANSWER: $1234$", "1234"));
  EXPECT_TRUE(ok("The answer is 1234 apples.", "1234"));
  EXPECT_TRUE(ok("The answer is 1234.0", "1234"));
  EXPECT_TRUE(ok("The answer is \\boxed{1234}.", "1234"));
  EXPECT_TRUE(ok("The answer is 27 (24 + 3).", "27"));
  EXPECT_TRUE(ok("The answer is +0027", "27"));
  EXPECT_TRUE(ok("<think>\n12 + 5 = 17. Let me double-check: 17 - 5 = 12.\n</think>\nThe answer is 1234.", "1234"));
  EXPECT_TRUE(ok("The answer is 1234.\nConfidence: 90 percent", "1234"));
  // Later markers win: the model corrected itself.
  EXPECT_TRUE(ok("My first answer is 1200. Wait, that is wrong. The answer is 1234.", "1234"));
}

TEST(TasksCheck, ReadsTheAnswerAfterTheThoughts) {
  EXPECT_TRUE(ok("<think>maybe the answer is 12? no.</think>\n1234", "1234"));
  EXPECT_FALSE(ok("<think>the answer is 1234</think>\nThe answer is 1200.", "1234"));
  EXPECT_FALSE(ok("<think>1234 looks right</think> I give up.", "1234"));
  // Nothing after the thoughts: the thoughts are all there is to read.
  EXPECT_TRUE(ok("<think>so the answer is 1234.</think>\n", "1234"));
  EXPECT_TRUE(check_answer("<think>the answer is no</think>The answer is yes.", "yes", Checker::kExact));
  EXPECT_EQ(extract_answer_numbers("<think>3, 5</think>Answer: 5, 3", 2), (std::vector<std::string>{"5", "3"}));
}

TEST(TasksCheck, FallsBackToTheLastNumber) {
  EXPECT_TRUE(ok("I think it is 1234", "1234"));
  EXPECT_TRUE(ok("12 + 5 = 17, so we get 1234.", "1234"));
  EXPECT_TRUE(ok("So the result is 1234.\n", "1234"));
  EXPECT_TRUE(ok("1234", "1234"));
  // A marker with no number after it does not hide a number further on.
  EXPECT_TRUE(ok("The answer is below:\n1234", "1234"));
  EXPECT_FALSE(ok("1234 is what I first got, but then 1240", "1234"));
}

TEST(TasksCheck, RejectsWrongAnswers) {
  EXPECT_FALSE(ok("The answer is 1235.", "1234"));
  EXPECT_FALSE(ok("The answer is 123.", "1234"));
  EXPECT_FALSE(ok("The answer is 12345.", "1234"));
  EXPECT_FALSE(ok("The answer is 12.34", "1234"));
  EXPECT_FALSE(ok("I got 1234 at first, but the answer is 1200.", "1234"));
  EXPECT_FALSE(ok("The answer is 1, 234", "1234"));  // comma + space separates items
  EXPECT_FALSE(ok("I don't know.", "1234"));
  EXPECT_FALSE(ok("", "1234"));
  EXPECT_FALSE(ok("The answer is -1234.", "1234"));
  EXPECT_FALSE(ok("The answer is 1234.", "-1234"));
}

TEST(TasksCheck, NormalisesNumbers) {
  EXPECT_EQ(normalize_number("1,234"), "1234");
  EXPECT_EQ(normalize_number("1,234,567"), "1234567");
  EXPECT_EQ(normalize_number("-0"), "0");
  EXPECT_EQ(normalize_number("-0.000"), "0");
  EXPECT_EQ(normalize_number("+007"), "7");
  EXPECT_EQ(normalize_number("2.50"), "2.5");
  EXPECT_EQ(normalize_number("3.0"), "3");
  EXPECT_EQ(normalize_number("-12"), "-12");
  EXPECT_EQ(normalize_number("\xE2\x88\x92" "5"), "-5");
  EXPECT_EQ(normalize_number("12,34"), std::nullopt);
  EXPECT_EQ(normalize_number("1234,567"), std::nullopt);
  EXPECT_EQ(normalize_number("1.2.3"), std::nullopt);
  EXPECT_EQ(normalize_number("abc"), std::nullopt);
  EXPECT_EQ(normalize_number(""), std::nullopt);
  EXPECT_EQ(normalize_number("-"), std::nullopt);
  EXPECT_EQ(normalize_number("5."), std::nullopt);
  EXPECT_TRUE(ok("The answer is -0.", "0"));
  EXPECT_TRUE(ok("The answer is 0", "-0"));
  EXPECT_TRUE(ok("The answer is 1,234,567.", "1234567"));
  EXPECT_TRUE(ok("The answer is \xE2\x88\x92" "7.", "-7"));
}

TEST(TasksCheck, SignsAreNotMinusOperators) {
  EXPECT_EQ(extract_numbers("12 - 5 = 7"), (std::vector<std::string>{"12", "5", "7"}));
  EXPECT_EQ(extract_numbers("12-5"), (std::vector<std::string>{"12", "5"}));
  EXPECT_EQ(extract_numbers("(3)-4, x -2, -8"), (std::vector<std::string>{"3", "4", "-2", "-8"}));
  EXPECT_EQ(extract_numbers("at 1,234.5 and 1,23"), (std::vector<std::string>{"1234.5", "1", "23"}));
}

TEST(TasksCheck, ComparesListsElementByElement) {
  EXPECT_TRUE(ok("The answer is 3, 5, 8.", "3, 5, 8"));
  EXPECT_TRUE(ok("The answer is 3, 5 and 8.", "3, 5, 8"));
  EXPECT_TRUE(ok("The answer is [3, 5, 8]", "3, 5, 8"));
  EXPECT_TRUE(ok("Answer: 3,5,8", "3, 5, 8"));
  EXPECT_TRUE(ok("The answer is 1,000, 2,000, 3,000.", "1000, 2000, 3000"));
  EXPECT_TRUE(ok("Sorted:\n3, 5, 8\n", "3, 5, 8"));  // fallback: the last line with numbers
  EXPECT_FALSE(ok("The answer is 3, 8, 5.", "3, 5, 8"));
  EXPECT_FALSE(ok("The answer is 3, 5.", "3, 5, 8"));
  EXPECT_FALSE(ok("The answer is 3, 5, 8, 9.", "3, 5, 8"));
  EXPECT_FALSE(ok("3, 5, 8\nI am not sure, maybe 9", "3, 5, 8"));
}

TEST(TasksCheck, ExtractsTheAnswerText) {
  EXPECT_EQ(extract_answer_text("blah\nThe answer is 42.\nbye"), "42.");
  EXPECT_EQ(extract_answer_text("ANSWER: yes"), "yes");
  EXPECT_EQ(extract_answer_text("no marker here"), std::nullopt);
  EXPECT_EQ(extract_answer_numbers("The answer is 7, 8", 1), (std::vector<std::string>{"7"}));
  EXPECT_EQ(extract_answer_numbers("The answer is 7, 8", 2), (std::vector<std::string>{"7", "8"}));
  EXPECT_TRUE(extract_answer_numbers("nothing", 1).empty());
}

TEST(TasksCheck, ExactAndRegexCheckers) {
  EXPECT_TRUE(check_answer("The answer is Yes.", "yes", Checker::kExact));
  EXPECT_TRUE(check_answer("Let me think.\n**Paris**", "Paris", Checker::kExact));
  EXPECT_FALSE(check_answer("The answer is no.", "yes", Checker::kExact));
  EXPECT_FALSE(check_answer("The answer is yes, probably.", "yes", Checker::kExact));
  EXPECT_TRUE(check_answer("Answer: 42", "4[0-9]", Checker::kRegex));
  EXPECT_FALSE(check_answer("Answer: 52", "4[0-9]", Checker::kRegex));
  EXPECT_FALSE(check_answer("Answer: 420", "4[0-9]", Checker::kRegex));  // the whole answer must match
  try {
    check_answer("Answer: 42", "4[0-9", Checker::kRegex);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("4[0-9"), std::string::npos);
  }
  EXPECT_THROW(check_answer("42", "no number", Checker::kNumeric), Error);
}

TEST(TasksCheck, HostileOutputsNeverThrow) {
  const std::string weird[] = {std::string("\0\0\0", 3), "-", "--5", "+-+", ",,,", "1,", ",123", "answer:",
                               "answer is", "1.", ".5", "\xE2\x88\x92", "\xE2\x88", "\xff\xfe", std::string(10000, '9'),
                               "The answer is " + std::string(5000, ',')};
  for (const std::string& w : weird) {
    EXPECT_NO_THROW(check_answer(w, "5", Checker::kNumeric)) << w.substr(0, 40);
    EXPECT_NO_THROW(check_answer(w, "5, 6", Checker::kNumeric));
    EXPECT_NO_THROW(check_answer(w, "x", Checker::kExact));
    EXPECT_NO_THROW(check_answer(w, "[0-9]+", Checker::kRegex));
  }
  // A long run of digits is one (huge) number, compared as text: no overflow.
  EXPECT_TRUE(ok(std::string(300, '9'), std::string(300, '9')));
}

#ifdef MUSE_HAVE_RAPIDCHECK
// Writes n with thousands separators: 1234567 -> "1,234,567".
std::string with_commas(int64_t n) {
  const std::string digits = std::to_string(n < 0 ? -n : n);  // n comes from int32: -n cannot overflow
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (n < 0 ? "-" : "") + out;
}

RC_GTEST_PROP(TasksCheckProp, AnyIntegerInAnyStyleIsAccepted, (int32_t v)) {
  const int64_t n = v;
  const std::string ref = std::to_string(n);
  RC_ASSERT(ok("The answer is " + ref + ".", ref));
  RC_ASSERT(ok("so the answer is **" + with_commas(n) + "**", ref));
  RC_ASSERT(ok("After some work I get " + ref, ref));
  RC_ASSERT(!ok("The answer is " + std::to_string(n + 1) + ".", ref));
}

RC_GTEST_PROP(TasksCheckProp, ListsRoundTrip, (std::vector<uint16_t> items)) {
  RC_PRE(!items.empty());
  std::string ref;
  for (size_t i = 0; i < items.size(); ++i) ref += (i ? ", " : "") + std::to_string(items[i]);
  RC_ASSERT(ok("The answer is " + ref + ".", ref));
  if (items.size() > 1 && items.front() != items.back()) {
    std::string rev;
    for (size_t i = items.size(); i-- > 0;) rev += (i + 1 < items.size() ? ", " : "") + std::to_string(items[i]);
    RC_ASSERT(!ok("The answer is " + rev + ".", ref));
  }
}

RC_GTEST_PROP(TasksCheckProp, ArbitraryTextNeverThrows, (std::string text)) {
  check_answer(text, "17", Checker::kNumeric);
  check_answer(text, "1, 2, 3", Checker::kNumeric);
  check_answer(text, "abc", Checker::kExact);
  extract_numbers(text);
}
#endif

}  // namespace
}  // namespace muse::train
