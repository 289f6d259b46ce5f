// chain: the answer is the question's expression evaluated by the test's own parser, and every
// intermediate expression of the trace keeps that value while losing exactly one operation.
#include <gtest/gtest.h>

#include <regex>

#include "train/tasks.h"
#include "train/tasks_test_util.h"

namespace muse::train {
namespace {

using testing::check_common;
using testing::describe;
using testing::Evaluator;
using testing::lines_of;

// The arithmetic expression inside a question: from the first digit or '(' to the last digit or ')'.
std::string expression_of(const std::string& q) {
  const size_t b = q.find_first_of("0123456789(");
  const size_t e = q.find_last_of("0123456789)");
  return q.substr(b, e - b + 1);
}

int count_ops(const std::string& e) {
  int n = 0;
  for (char c : e) n += c == '+' || c == '-' || c == '*';
  return n;
}

TEST(TasksChain, AnswerIsTheQuestionsValueAndStepsPreserveIt) {
  const std::regex now(R"(Now we have ([0-9 +\-*()]+)\.$)");
  for (Level l : {Level::kEasy, Level::kStandard, Level::kHard}) {
    const Difficulty d = difficulty_preset(l);
    for (uint64_t s = 0; s < 150; ++s) {
      const Problem p = generate(Family::kChain, d, 500 + s);
      SCOPED_TRACE(describe(p));
      check_common(p);
      const std::string e = expression_of(p.question);
      const auto value = Evaluator::eval(e);
      ASSERT_TRUE(value.has_value()) << e;
      EXPECT_EQ(p.answer, std::to_string(*value));
      const int ops = count_ops(e);
      EXPECT_GE(ops, d.min_steps);
      EXPECT_LE(ops, d.max_steps);
      // One line per operation, and each rewritten expression has one operation fewer, same value.
      int steps = 0, ops_left = ops;
      for (const std::string& line : lines_of(p.trace)) {
        std::smatch m;
        const bool is_step = line.rfind("In the parentheses", 0) == 0 || line.rfind("Multiply", 0) == 0 ||
                             line.rfind("From the left", 0) == 0 || line.rfind("Last step", 0) == 0;
        if (!is_step) continue;
        ++steps;
        --ops_left;
        if (std::regex_search(line, m, now)) {
          const std::string after = m[1];
          EXPECT_EQ(count_ops(after), ops_left) << line;
          EXPECT_EQ(Evaluator::eval(after), value) << "value changed at: " << line;
          // Intermediate values stay non-negative: every number in the rewrite is a plain literal.
          EXPECT_EQ(after.find("--"), std::string::npos);
        } else {
          EXPECT_EQ(line.rfind("Last step", 0), 0u) << line;
          EXPECT_EQ(ops_left, 0);
        }
      }
      EXPECT_EQ(steps, ops);
    }
  }
}

TEST(TasksChain, ParenthesesAndPrecedenceBothShowUp) {
  // The family exists to teach precedence, so a standard sample must exercise it: some questions with
  // parentheses, and some where * comes after a + or - (so left to right would be wrong).
  int with_parens = 0, precedence_matters = 0;
  const Difficulty d = difficulty_preset(Level::kStandard);
  for (uint64_t s = 0; s < 200; ++s) {
    const std::string e = expression_of(generate(Family::kChain, d, s).question);
    with_parens += e.find('(') != std::string::npos;
    const size_t add = e.find_first_of("+-");
    const size_t mul = e.find('*', add == std::string::npos ? e.size() : add);
    precedence_matters += add != std::string::npos && mul != std::string::npos;
  }
  EXPECT_GE(with_parens, 40);
  EXPECT_GE(precedence_matters, 40);
}

TEST(TasksChain, EveryStepIsWorkedOutAndEveryProductHasASingleDigitFactor) {
  // A multi-digit step is written column by column (train::detail::worked, checked digit by digit in
  // tasks_arith_test), ending in "so x op y = z"; a product always keeps one factor below 10, also
  // when left-to-right evaluation regroups a product the generator built the other way round.
  const std::regex math(R"((\d+) ([-+*]) (\d+) = (\d+)\.)");
  int worked_steps = 0;
  for (Level l : {Level::kEasy, Level::kStandard, Level::kHard}) {
    for (uint64_t s = 0; s < 300; ++s) {
      const Problem p = generate(Family::kChain, difficulty_preset(l), 7000 + s);
      SCOPED_TRACE(describe(p));
      for (const std::string& line : lines_of(p.trace)) {
        if (line.rfind("Let me double-check", 0) == 0) continue;
        for (std::sregex_iterator it(line.begin(), line.end(), math), end; it != end; ++it) {
          const int64_t x = std::stoll((*it)[1]), y = std::stoll((*it)[3]), z = std::stoll((*it)[4]);
          const char op = (*it)[2].str()[0];
          EXPECT_EQ(z, op == '+' ? x + y : op == '-' ? x - y : x * y) << line;
          if (op == '*') {
            EXPECT_TRUE(x <= 9 || y <= 9) << line;
          }
          if (std::max(x, y) > 9 && !(op == '*' && std::min(x, y) == 0)) {  // not a one-line fact
            EXPECT_NE(line.find(": ones "), std::string::npos) << "not worked out column by column: " << line;
            ++worked_steps;
          }
        }
      }
    }
  }
  EXPECT_GT(worked_steps, 300);
}

}  // namespace
}  // namespace muse::train
