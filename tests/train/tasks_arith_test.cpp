// add / sub / mul: answers recomputed from the question text, and every column of the written method
// checked against the operands' own digits.
#include <gtest/gtest.h>

#include <regex>

#include <fmt/format.h>

#include "train/tasks.h"
#include "train/tasks_gen.h"
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

// worked(): the compact written method that chain, word and mul's sum of parts use for every multi-digit
// step. Each column is re-derived here from the operands' own digits, and the digits the columns write
// (the last column whole) must spell the result.
TEST(TasksWorked, ColumnsUseTheOperandsDigitsAndSpellTheResult) {
  const std::regex head(R"(^(\d+) ([-+*/]) (\d+): (.*), so (\d+) ([-+*/]) (\d+) = (\d+)$)");
  const std::regex add_col(R"(^([a-z ]+) (\d)\+(\d)(?:\+(1))?=(\d+)$)");
  const std::regex sub_col(R"(^([a-z ]+) (\d)-(\d)(-1)?(, borrow: 1\2-\3(-1)?)?=(\d)$)");
  const std::regex mul_col(R"(^([a-z ]+) (\d)\*(\d)=(\d+)(?:, \4\+(\d)=(\d+))?$)");
  // "down 6: 36/4: 36-4=32 count 1, ..., 4-4=0 count 9, 0 is less than 4, so 9, left 0" (the
  // subtractions checked below).
  const std::regex div_step(R"(^(?:down ([a-z ]+) (\d): )?(\d+)/(\d): (.*), so (\d), left (\d+)$)");
  const std::regex subtraction(R"(^(\d+)-(\d)=(\d+) count (\d)$)");
  const std::regex less(R"(^(\d+) is less than (\d)$)");
  uint64_t state = 12345;
  auto next = [&](int64_t lo, int64_t hi) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + static_cast<int64_t>((state >> 33) % static_cast<uint64_t>(hi - lo + 1));
  };
  // Columns are split at ", " that starts a place name (a mul column has its own ", 63+3=66", a
  // borrowing sub column its own ", borrow: 13-7=6").
  auto columns = [](const std::string& body) {
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t i = 0; i + 2 < body.size(); ++i) {
      if (body[i] == ',' && body[i + 1] == ' ' && std::isalpha(static_cast<unsigned char>(body[i + 2])) &&
          body.compare(i + 2, 7, "borrow:") != 0) {
        out.push_back(body.substr(start, i - start));
        start = i + 2;
      }
    }
    out.push_back(body.substr(start));
    return out;
  };
  auto split_steps_by = [](const std::string& body, const std::string& sep) {
    std::vector<std::string> out;
    for (size_t start = 0;;) {
      const size_t at = body.find(sep, start);
      out.push_back(body.substr(start, at - start));
      if (at == std::string::npos) return out;
      start = at + sep.size();
    }
  };
  auto split_steps = [&](const std::string& body) { return split_steps_by(body, "; "); };
  for (int i = 0; i < 4000; ++i) {
    const char op = "+-*/"[i % 4];
    int64_t x = next(0, 99999), y = next(0, i % 8 < 4 ? 9 : 9999);
    if (op == '-' && x < y) std::swap(x, y);
    if (op == '*') y = next(0, 9);
    if (op == '/') {
      y = next(2, 9);
      x = next(0, 20000) * y;
    }
    const std::string w = detail::worked(x, op, y);
    SCOPED_TRACE(w);
    const int64_t z = op == '+' ? x + y : op == '-' ? x - y : op == '*' ? x * y : x / y;
    std::smatch m;
    const bool trivial = op == '+' ? x < 10 && y < 10 : op == '-' ? x < 10 : op == '*' ? (x < 10 && y < 10) || x == 0 || y == 0 : x < y;
    if (trivial) {
      EXPECT_EQ(w, fmt::format("{} {} {} = {}", x, op, y, z));
      continue;
    }
    ASSERT_TRUE(std::regex_match(w, m, head));
    EXPECT_EQ(std::stoll(m[1]), x);
    EXPECT_EQ(std::stoll(m[3]), y);
    EXPECT_EQ(std::stoll(m[8]), z);
    const std::vector<int> dx = digits_of(x), dy = digits_of(y);
    std::string written;  // what the columns write, ones first
    int carry = 0;
    std::vector<std::string> cols = op == '/' ? split_steps(m[4].str()) : columns(m[4].str());
    if (op == '/') {
      // A division that brings a digit down first lists the dividend's digits by place.
      std::string listed;
      const std::string xs = std::to_string(x);
      for (size_t k = 0; k < xs.size(); ++k) {
        listed += (k ? ", " : "") + detail::place_name(static_cast<int>(xs.size() - 1 - k)) + " " + xs[k];
      }
      const bool brings_down = cols.size() > 1;
      EXPECT_EQ(!cols.empty() && cols.front() == listed, brings_down)
          << "the digits are listed iff one is brought down";
      if (brings_down && cols.front() == listed) cols.erase(cols.begin());
      // Division from the top: each step divides (remainder * 10 + next digit) by subtracting the
      // divisor and counting until less than it is left; later steps name the digit brought down.
      std::string quotient;
      int64_t rem = 0;
      std::string digits = std::to_string(x);
      size_t next_digit = 0;
      for (const std::string& c : cols) {
        std::smatch d;
        ASSERT_TRUE(std::regex_match(c, d, div_step)) << c;
        int64_t cur = rem;
        do {
          ASSERT_LT(next_digit, digits.size());
          cur = cur * 10 + (digits[next_digit++] - '0');
        } while (quotient.empty() && cur < y && next_digit < digits.size());
        EXPECT_EQ(d[1].matched, !quotient.empty()) << "only later steps bring a digit down";
        if (d[1].matched) {
          EXPECT_EQ(d[1].str(), detail::place_name(static_cast<int>(digits.size() - next_digit)));
          EXPECT_EQ(d[2].str()[0], digits[next_digit - 1]);
        }
        EXPECT_EQ(std::stoll(d[3]), cur);
        EXPECT_EQ(std::stoll(d[4]), y);
        const int64_t q = cur / y;
        // The subtractions: cur-y, then each from the one before, counting 1, 2, ... q; then what is
        // left is compared with the divisor.
        const std::vector<std::string> subs = split_steps_by(d[5].str(), ", ");
        ASSERT_EQ(subs.size(), static_cast<size_t>(q) + 1) << d[5].str();
        int64_t left = cur;
        for (size_t k = 0; k + 1 < subs.size(); ++k) {
          std::smatch w;
          ASSERT_TRUE(std::regex_match(subs[k], w, subtraction)) << subs[k];
          EXPECT_EQ(std::stoll(w[1]), left);
          EXPECT_EQ(std::stoll(w[2]), y);
          EXPECT_EQ(std::stoll(w[3]), left - y);
          EXPECT_EQ(std::stoll(w[4]), static_cast<int64_t>(k + 1));
          left -= y;
        }
        std::smatch l;
        ASSERT_TRUE(std::regex_match(subs.back(), l, less)) << subs.back();
        EXPECT_EQ(std::stoll(l[1]), left);
        EXPECT_EQ(std::stoll(l[2]), y);
        EXPECT_LT(left, y);
        EXPECT_EQ(std::stoll(d[6]), q);
        rem = std::stoll(d[7]);
        EXPECT_EQ(rem, left);
        EXPECT_EQ(rem, cur % y);
        quotient += d[6].str();
      }
      EXPECT_EQ(next_digit, digits.size());
      EXPECT_EQ(quotient, std::to_string(z));
      continue;
    }
    const std::vector<int> dm = op == '*' ? digits_of(x <= 9 ? y : x) : dx;
    const int k = op == '*' ? static_cast<int>(x <= 9 ? x : y) : 0;
    const size_t n = op == '+' ? std::max(dx.size(), dy.size()) : dm.size();
    ASSERT_EQ(cols.size(), n);
    for (size_t j = 0; j < n; ++j) {
      std::smatch c;
      const int a = j < dm.size() ? dm[j] : 0, b = j < dy.size() ? dy[j] : 0;
      int value = 0;
      if (op == '+') {
        ASSERT_TRUE(std::regex_match(cols[j], c, add_col)) << cols[j];
        EXPECT_EQ(std::stoi(c[2]), a);
        EXPECT_EQ(std::stoi(c[3]), b);
        EXPECT_EQ(c[4].matched ? 1 : 0, carry);
        value = std::stoi(c[5]);
        EXPECT_EQ(value, a + b + carry);
        carry = value / 10;
      } else if (op == '-') {
        ASSERT_TRUE(std::regex_match(cols[j], c, sub_col)) << cols[j];
        EXPECT_EQ(std::stoi(c[2]), a);
        EXPECT_EQ(std::stoi(c[3]), b);
        EXPECT_EQ(c[4].matched ? 1 : 0, carry);  // the borrow of the column before
        const bool borrows = c[5].matched;       // ", borrow: 1a-b[-1]": exactly when a < b + carry
        EXPECT_EQ(borrows, a < b + carry);
        if (borrows) {
          EXPECT_EQ(c[6].matched, c[4].matched) << "the borrow repeats the column's -1";
        }
        value = std::stoi(c[7]);
        EXPECT_EQ(value, (borrows ? a + 10 : a) - b - carry);
        EXPECT_GE(value, 0);
        carry = borrows ? 1 : 0;
      } else {
        ASSERT_TRUE(std::regex_match(cols[j], c, mul_col)) << cols[j];
        EXPECT_EQ(std::stoi(c[2]), k);
        EXPECT_EQ(std::stoi(c[3]), a);
        EXPECT_EQ(std::stoi(c[4]), k * a);
        EXPECT_EQ(c[5].matched ? std::stoi(c[5]) : 0, carry);
        value = c[6].matched ? std::stoi(c[6]) : std::stoi(c[4]);
        EXPECT_EQ(value, k * a + carry);
        carry = value / 10;
      }
      std::string place = kPlaces[j];
      place[0] = static_cast<char>(place[0] - 'A' + 'a');
      EXPECT_EQ(c[1].str(), place);
      const std::string v = std::to_string(value);
      written = (j + 1 < n ? v.substr(v.size() - 1) : v) + written;
    }
    if (op == '-') written.erase(0, std::min(written.find_first_not_of('0'), written.size() - 1));
    EXPECT_EQ(written, std::to_string(z));
  }
}

}  // namespace
}  // namespace muse::train
