// add / sub / mul: answers recomputed from the question text, and every column of the written method
// checked against the operands' own digits.
#include <gtest/gtest.h>

#include <regex>

#include "train/tasks.h"
#include "train/tasks_test_util.h"

namespace muse::train {
namespace {

using testing::check_common;
using testing::describe;
using testing::integers_in;
using testing::lines_of;

// Enough problems per level that every template and every carry/borrow pattern shows up, few enough
// to stay well under a second under ASan.
constexpr int kPerLevel = 150;

std::vector<int> digits_of(int64_t v) {
  std::vector<int> d;
  do {
    d.push_back(static_cast<int>(v % 10));
    v /= 10;
  } while (v);
  return d;
}

// The test's own list, not the generator's.
const char* const kPlaces[] = {"Ones", "Tens", "Hundreds", "Thousands", "Ten thousands", "Hundred thousands",
                               "Millions", "Ten millions"};

std::vector<Problem> sample(Family f) {
  std::vector<Problem> out;
  for (Level l : {Level::kEasy, Level::kStandard, Level::kHard}) {
    for (int i = 0; i < kPerLevel; ++i) out.push_back(generate(f, difficulty_preset(l), 1000 + i));
  }
  return out;
}

TEST(TasksAdd, AnswerIsTheSumOfTheQuestionsNumbers) {
  for (const Problem& p : sample(Family::kAdd)) {
    const std::vector<int64_t> q = integers_in(p.question);
    ASSERT_EQ(q.size(), 2u) << p.question;
    EXPECT_EQ(p.answer, std::to_string(q[0] + q[1])) << p.question;
  }
}

TEST(TasksAdd, EveryColumnUsesTheRightDigitsAndCarries) {
  const std::regex col(R"(^([A-Za-z ]+): (\d) \+ (\d)(?: \+ (\d))? = (\d+)\. Write (\d), carry (\d)\.$)");
  const std::regex last(R"(^([A-Za-z ]+): only the carry (\d)\. Write (\d)\.$)");
  for (const Problem& p : sample(Family::kAdd)) {
    SCOPED_TRACE(describe(p));
    check_common(p);
    const std::vector<int64_t> q = integers_in(p.question);
    const std::vector<int> da = digits_of(q[0]), db = digits_of(q[1]);
    int column = 0, carry = 0;
    std::string written;  // digits as written, ones first
    for (const std::string& l : lines_of(p.trace)) {
      std::smatch m;
      if (std::regex_match(l, m, col)) {
        ASSERT_LT(column, 8);
        EXPECT_EQ(m[1].str(), kPlaces[column]);
        EXPECT_EQ(std::stoi(m[2]), column < static_cast<int>(da.size()) ? da[column] : 0);
        EXPECT_EQ(std::stoi(m[3]), column < static_cast<int>(db.size()) ? db[column] : 0);
        EXPECT_EQ(m[4].matched ? std::stoi(m[4]) : 0, carry);
        const int s = std::stoi(m[5]);
        EXPECT_EQ(std::stoi(m[6]), s % 10);
        EXPECT_EQ(std::stoi(m[7]), s / 10);
        carry = s / 10;
        written.push_back(static_cast<char>('0' + s % 10));
        ++column;
      } else if (std::regex_match(l, m, last)) {
        EXPECT_EQ(m[1].str(), kPlaces[column]);
        EXPECT_EQ(std::stoi(m[2]), carry);
        written.push_back(m[3].str()[0]);
        carry = 0;
      }
    }
    EXPECT_EQ(column, static_cast<int>(std::max(da.size(), db.size())));
    EXPECT_EQ(carry, 0) << "a carry was dropped";
    std::reverse(written.begin(), written.end());
    EXPECT_EQ(written, p.answer);
  }
}

TEST(TasksSub, AnswerFollowsTheWording) {
  for (const Problem& p : sample(Family::kSub)) {
    const std::vector<int64_t> q = integers_in(p.question);
    ASSERT_EQ(q.size(), 2u) << p.question;
    // "Subtract b from a" and "Take b away from a" name the subtrahend first.
    const bool from = p.question.find(" from ") != std::string::npos;
    const int64_t expect = from ? q[1] - q[0] : q[0] - q[1];
    EXPECT_GE(expect, 0) << p.question;
    EXPECT_EQ(p.answer, std::to_string(expect)) << p.question;
  }
}

TEST(TasksSub, EveryColumnBorrowsCorrectly) {
  const std::regex col(
      R"(^([A-Za-z ]+): (\d) - (\d)(?:, and 1 more for the borrow: (\d) \+ 1 = (\d+))?\. )"
      R"((?:(\d+) is less than (\d+), so borrow 1: (\d+) - (\d+) = (\d)|(\d+) - (\d+) = (\d))\. Write (\d)\.$)");
  for (const Problem& p : sample(Family::kSub)) {
    SCOPED_TRACE(describe(p));
    check_common(p);
    const std::vector<int64_t> q = integers_in(p.question);
    const bool from = p.question.find(" from ") != std::string::npos;
    const int64_t a = from ? q[1] : q[0], b = from ? q[0] : q[1];
    const std::vector<int> da = digits_of(a), db = digits_of(b);
    int column = 0, borrow = 0;
    std::string written;
    for (const std::string& l : lines_of(p.trace)) {
      std::smatch m;
      if (!std::regex_match(l, m, col)) continue;
      ASSERT_LT(column, static_cast<int>(da.size()));
      const int top = da[column], bottom = column < static_cast<int>(db.size()) ? db[column] : 0;
      EXPECT_EQ(m[1].str(), kPlaces[column]);
      EXPECT_EQ(std::stoi(m[2]), top);
      EXPECT_EQ(std::stoi(m[3]), bottom);
      EXPECT_EQ(m[4].matched, borrow == 1) << "borrow not carried into " << l;
      const int take = bottom + borrow;
      const int digit = std::stoi(m[14]);
      if (top < take) {
        ASSERT_TRUE(m[6].matched) << "missing borrow in " << l;
        EXPECT_EQ(std::stoi(m[6]), top);
        EXPECT_EQ(std::stoi(m[7]), take);
        EXPECT_EQ(std::stoi(m[8]), top + 10);
        EXPECT_EQ(digit, top + 10 - take);
        borrow = 1;
      } else {
        ASSERT_TRUE(m[11].matched) << "needless borrow in " << l;
        EXPECT_EQ(std::stoi(m[11]), top);
        EXPECT_EQ(std::stoi(m[12]), take);
        EXPECT_EQ(digit, top - take);
        borrow = 0;
      }
      written.push_back(static_cast<char>('0' + digit));
      ++column;
    }
    EXPECT_EQ(column, static_cast<int>(da.size()));
    EXPECT_EQ(borrow, 0);
    while (written.size() > 1 && written.back() == '0') written.pop_back();
    std::reverse(written.begin(), written.end());
    EXPECT_EQ(written, p.answer);
  }
}

TEST(TasksMul, AnswerIsTheProductOfTheQuestionsNumbers) {
  for (const Problem& p : sample(Family::kMul)) {
    const std::vector<int64_t> q = integers_in(p.question);
    ASSERT_EQ(q.size(), 2u) << p.question;
    EXPECT_EQ(p.answer, std::to_string(q[0] * q[1])) << p.question;
  }
}

TEST(TasksMul, EveryDigitProductAndCarryIsRight) {
  const std::regex digit_line(R"(^(\d) \* (\d) = (\d+)\.(?: (\d+) \+ (\d+) = (\d+)\.)? Write (\d+)(?:, carry (\d+))?\.$)");
  const std::regex part(R"(^(?:First|Next) part: (\d+) \* (\d+)\.)");
  const std::regex single(R"(^Let me multiply each digit of (\d+) by (\d)\b)");
  const std::regex done(R"(^So (\d+) \* (\d+) = (\d+)\.$)");
  for (const Problem& p : sample(Family::kMul)) {
    SCOPED_TRACE(describe(p));
    check_common(p);
    const std::vector<int64_t> q = integers_in(p.question);
    // Which factor is worked digit by digit: the trace's last "So A * B = P." line names them.
    int64_t a = -1, b = -1;
    for (const std::string& l : lines_of(p.trace)) {
      std::smatch m;
      if (std::regex_match(l, m, done)) a = std::stoll(m[1]), b = std::stoll(m[2]);
    }
    ASSERT_GT(a, 0);
    EXPECT_TRUE((a == q[0] && b == q[1]) || (a == q[1] && b == q[0]));
    EXPECT_LE(digits_of(b).size(), digits_of(a).size()) << "the longer factor should be worked digit by digit";
    const std::vector<int> da = digits_of(a);
    int mult = -1;
    size_t pos = 0;
    int carry = 0;
    int64_t parts_seen = 0;
    int64_t written_factor = 0;  // sum of the parts' factors, must rebuild b
    for (const std::string& l : lines_of(p.trace)) {
      std::smatch m;
      if (std::regex_search(l, m, part)) {
        EXPECT_EQ(std::stoll(m[1]), a);
        const int64_t factor = std::stoll(m[2]);
        written_factor += factor;
        int64_t f = factor;
        while (f >= 10) {
          EXPECT_EQ(f % 10, 0) << "a part must be one digit times a power of 10: " << l;
          f /= 10;
        }
        mult = static_cast<int>(f);
        pos = 0, carry = 0, ++parts_seen;
      } else if (std::regex_search(l, m, single)) {
        EXPECT_EQ(std::stoll(m[1]), a);
        mult = std::stoi(m[2]);
        written_factor += mult;
        pos = 0, carry = 0, ++parts_seen;
      } else if (std::regex_match(l, m, digit_line)) {
        ASSERT_GE(mult, 0) << "digit line before any part: " << l;
        ASSERT_LT(pos, da.size());
        EXPECT_EQ(std::stoi(m[1]), mult);
        EXPECT_EQ(std::stoi(m[2]), da[pos]);
        const int prod = mult * da[pos];
        EXPECT_EQ(std::stoi(m[3]), prod);
        EXPECT_EQ(m[4].matched, carry != 0) << l;
        const int total = prod + carry;
        if (m[4].matched) {
          EXPECT_EQ(std::stoi(m[4]), prod);
          EXPECT_EQ(std::stoi(m[5]), carry);
        }
        const bool last_digit = pos + 1 == da.size();
        EXPECT_EQ(m[8].matched, !last_digit) << l;
        if (last_digit) {
          EXPECT_EQ(std::stoi(m[7]), total);
        } else {
          EXPECT_EQ(std::stoi(m[7]), total % 10);
          EXPECT_EQ(std::stoi(m[8]), total / 10);
        }
        carry = total / 10;
        ++pos;
      }
    }
    EXPECT_GE(parts_seen, 1);
    EXPECT_EQ(written_factor, b) << "the parts do not add up to the second factor";
  }
}

}  // namespace
}  // namespace muse::train
