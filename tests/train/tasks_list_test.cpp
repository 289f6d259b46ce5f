// list: answers recomputed with the standard algorithms from the question's own numbers, and every
// comparison, sort place, running count and digit count in the traces checked.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

#include "train/tasks.h"
#include "train/tasks_gen.h"
#include "train/tasks_test_util.h"

namespace muse::train {
namespace {

using testing::check_common;
using testing::describe;
using testing::integers_in;
using testing::lines_of;

bool has(const std::string& s, const char* w) { return s.find(w) != std::string::npos; }

std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s;
}

// Recomputes the answer from the question's wording and numbers.
std::string expected_answer(const std::string& q) {
  std::vector<int64_t> n = integers_in(q);
  if (has(q, "Sort") || has(q, "order") || has(q, "Arrange")) {
    std::sort(n.begin(), n.end());
    if (has(q, "from largest to smallest")) std::reverse(n.begin(), n.end());
    return join(n);
  }
  if (has(q, "How many") || has(q, "Count")) {
    if (has(q, "even") || has(q, "odd")) {
      const int want = has(q, "even") ? 0 : 1;
      return std::to_string(std::count_if(n.begin(), n.end(), [&](int64_t x) { return x % 2 == want; }));
    }
    // "... greater than K ..." / "... less than K": K is the number right after "than".
    const size_t than = q.find(" than ");
    const int64_t k = integers_in(q.substr(than)).at(0);
    const std::vector<int64_t> list = integers_in(q.substr(0, than));  // every phrasing lists first
    const bool greater = has(q, "greater than");
    return std::to_string(
        std::count_if(list.begin(), list.end(), [&](int64_t x) { return greater ? x > k : x < k; }));
  }
  if (has(q, "larger") || has(q, "smaller")) {
    EXPECT_EQ(n.size(), 2u) << q;
    return std::to_string(has(q, "larger") ? std::max(n[0], n[1]) : std::min(n[0], n[1]));
  }
  if (has(q, "largest")) return std::to_string(*std::max_element(n.begin(), n.end()));
  if (has(q, "smallest")) return std::to_string(*std::min_element(n.begin(), n.end()));
  ADD_FAILURE() << "unknown list question: " << q;
  return "";
}

// Every "a is greater than b" / "a is less than b" / "a is equal to b" / "a and b are equal" /
// "x is (not) greater than k" / "x ends in d, so it is (not) even" / "N has k digits" claim is true.
int check_claims(const std::string& trace) {
  int n = 0;
  static const std::regex rel(R"((\d+) is (not )?(greater than|less than|equal to) (\d+))");
  static const std::regex eq(R"((\d+) and (\d+) are equal)");
  static const std::regex parity(R"((\d+) ends in (\d), so it is (not )?(even|odd))");
  static const std::regex digits(R"((\d+) has (\d+) digits?\b)");
  for (auto it = std::sregex_iterator(trace.begin(), trace.end(), rel); it != std::sregex_iterator(); ++it, ++n) {
    const int64_t a = std::stoll((*it)[1]), b = std::stoll((*it)[4]);
    const std::string r = (*it)[3];
    bool truth = r == "greater than" ? a > b : r == "less than" ? a < b : a == b;
    if ((*it)[2].matched) truth = !truth;
    EXPECT_TRUE(truth) << "false claim: " << it->str();
  }
  for (auto it = std::sregex_iterator(trace.begin(), trace.end(), eq); it != std::sregex_iterator(); ++it, ++n) {
    EXPECT_EQ((*it)[1], (*it)[2]) << it->str();
  }
  for (auto it = std::sregex_iterator(trace.begin(), trace.end(), parity); it != std::sregex_iterator(); ++it, ++n) {
    const int64_t x = std::stoll((*it)[1]);
    EXPECT_EQ(std::stoll((*it)[2]), x % 10) << it->str();
    bool truth = (*it)[4] == "even" ? x % 2 == 0 : x % 2 == 1;
    if ((*it)[3].matched) truth = !truth;
    EXPECT_TRUE(truth) << "false claim: " << it->str();
  }
  for (auto it = std::sregex_iterator(trace.begin(), trace.end(), digits); it != std::sregex_iterator(); ++it, ++n) {
    EXPECT_EQ(std::to_string(std::stoll((*it)[1])).size(), std::stoul((*it)[2])) << it->str();
  }
  return n;
}

std::vector<Problem> sample() {
  std::vector<Problem> out;
  for (Level l : {Level::kEasy, Level::kStandard, Level::kHard}) {
    for (uint64_t s = 0; s < 200; ++s) out.push_back(generate(Family::kList, difficulty_preset(l), 3000 + s));
  }
  return out;
}

TEST(TasksList, AnswersMatchStandardAlgorithms) {
  for (const Problem& p : sample()) {
    SCOPED_TRACE(describe(p));
    EXPECT_EQ(p.answer, expected_answer(p.question));
  }
}

TEST(TasksList, EveryClaimInTheTraceIsTrue) {
  for (const Problem& p : sample()) {
    SCOPED_TRACE(describe(p));
    check_common(p);
    EXPECT_GE(check_claims(p.trace), 1);
  }
}

// A sort trace names the n numbers (A, B, ... in the list's order), then has one round per distinct number.
// Each round walks every name; a number fails when it is not past the round's bound (the number the round
// before took) and says so, the first to pass starts the best, each later one is compared with the best in
// the round's own words, copies are counted, and the round takes the best with its count and says how many
// of the n numbers are sorted; the rounds end when all are. Every claim is checked against the list.
TEST(TasksList, SortTracesTakeTheBestPastTheLastTakenInRounds) {
  static const std::regex round_line(
      R"(^Round (\d+), (smallest|largest)(?: (above|below) (\d+))?: (.*)\. )"
      R"(Take (\d+), count (\d+)\. Sorted (\d+) of (\d+): ([\d, ]+)\.$)");
  static const std::regex part_re(
      R"(^([A-Z]) (\d+) (?:(first)|is not (above|below)|is (?:(not )?(less|greater) than (\d+)(?:, best (\d+))?)"
      R"(|equal to (\d+), count (\d+)))$)");
  int sorts = 0, replaced = 0, copies = 0;
  for (const Problem& p : sample()) {
    if (p.key.rfind("list sort", 0) != 0) continue;
    ++sorts;
    SCOPED_TRACE(describe(p));
    const bool ascending = p.key.rfind("list sort asc", 0) == 0;
    const std::vector<int64_t> list = integers_in(p.key.substr(p.key.find_first_of("0123456789")));
    const std::vector<std::string> lines = lines_of(p.trace);
    std::string names = "Let me name the " + std::to_string(list.size()) + " numbers:";
    for (size_t k = 0; k < list.size(); ++k) {
      names += (k ? ", " : " ") + std::string(1, static_cast<char>('A' + k)) + " is " + std::to_string(list[k]);
    }
    size_t i = 0;
    while (i < lines.size() && lines[i] != names + ".") ++i;
    ASSERT_LT(i, lines.size()) << "no line names the numbers in the list's order: " << names;
    i += 2;  // the names, then the line that says what a round does
    std::vector<int64_t> sorted;
    bool has_bound = false;
    int64_t bound = 0;
    for (size_t round = 1; sorted.size() < list.size(); ++round, ++i) {
      ASSERT_LE(round, list.size()) << "more rounds than numbers";
      ASSERT_LT(i, lines.size()) << "the trace ends before round " << round;
      SCOPED_TRACE(lines[i]);
      std::smatch m;
      ASSERT_TRUE(std::regex_match(lines[i], m, round_line)) << "not a round line";
      EXPECT_EQ(std::stoul(m[1]), round);
      EXPECT_EQ(m[2].str(), ascending ? "smallest" : "largest") << "each round names what it takes";
      ASSERT_EQ(m[3].matched, has_bound) << "every round after the first has the last number taken as its bound";
      if (has_bound) {
        EXPECT_EQ(m[3].str(), ascending ? "above" : "below");
        EXPECT_EQ(std::stoll(m[4]), bound) << "the bound is the number the round before took";
      }
      const std::string walk = m[5].str();
      std::vector<std::string> parts;
      for (size_t from = 0;;) {
        const size_t semi = walk.find("; ", from);
        parts.push_back(walk.substr(from, semi == std::string::npos ? std::string::npos : semi - from));
        if (semi == std::string::npos) break;
        from = semi + 2;
      }
      ASSERT_EQ(parts.size(), list.size()) << "a round walks every name";
      bool found = false;
      int64_t best = 0, count = 0;
      for (size_t k = 0; k < list.size(); ++k) {
        SCOPED_TRACE(parts[k]);
        std::smatch q;
        ASSERT_TRUE(std::regex_match(parts[k], q, part_re));
        EXPECT_EQ(q[1].str(), std::string(1, static_cast<char>('A' + k)));
        EXPECT_EQ(std::stoll(q[2]), list[k]) << "the value of the name";
        const bool passes = !has_bound || (ascending ? list[k] > bound : list[k] < bound);
        if (!passes) {
          EXPECT_EQ(q[4].str(), ascending ? "above" : "below") << "a number not past the bound says so";
          continue;
        }
        EXPECT_FALSE(q[4].matched) << "a number past the bound is not said to fail it";
        if (!found) {
          EXPECT_TRUE(q[3].matched) << "the first number past the bound starts the best";
          found = true;
          best = list[k];
          count = 1;
          continue;
        }
        if (list[k] == best) {
          ASSERT_TRUE(q[9].matched) << "a copy of the best is counted";
          EXPECT_EQ(std::stoll(q[9]), best);
          EXPECT_EQ(std::stoll(q[10]), ++count);
          ++copies;
          continue;
        }
        ASSERT_TRUE(q[6].matched) << "each later number is compared with the best";
        EXPECT_EQ(q[6].str(), ascending ? "less" : "greater") << "the round's own question";
        EXPECT_EQ(std::stoll(q[7]), best) << "compared with the best so far";
        const bool better = ascending ? list[k] < best : list[k] > best;
        EXPECT_EQ(!q[5].matched, better) << "the claim is true";
        EXPECT_EQ(q[8].matched, better) << "the best changes exactly when a number beats it";
        if (better) {
          EXPECT_EQ(std::stoll(q[8]), list[k]);
          best = list[k];
          count = 1;
          ++replaced;
        }
      }
      ASSERT_TRUE(found) << "a round before the end always has a number past its bound";
      EXPECT_EQ(std::stoll(m[6]), best);
      EXPECT_EQ(std::stoll(m[7]), count);
      for (int64_t c = 0; c < count; ++c) sorted.push_back(best);
      EXPECT_EQ(std::stoul(m[8]), sorted.size()) << "how many are sorted";
      EXPECT_EQ(std::stoul(m[9]), list.size()) << "of how many";
      EXPECT_EQ(m[10].str(), join(sorted)) << "the sorted list so far, with the number taken appended count times";
      has_bound = true;
      bound = best;
    }
    EXPECT_EQ(sorted.size(), list.size()) << "every number is taken once";
    EXPECT_TRUE(i < lines.size() && lines[i].rfind("Let me double-check", 0) == 0) << "the rounds end at " << join(sorted);
    EXPECT_EQ(join(sorted), p.answer);
  }
  EXPECT_GE(sorts, 60);     // 600 problems, one kind in five
  EXPECT_GE(replaced, 60);  // the best does change within rounds
  EXPECT_GE(copies, 1);     // and equal numbers do occur
}

TEST(TasksList, CountTracesKeepARunningCount) {
  const std::regex step(R"(\. Count (\d+)\.$)");
  int counts = 0;
  for (const Problem& p : sample()) {
    if (p.key.rfind("list count", 0) != 0) continue;
    ++counts;
    SCOPED_TRACE(describe(p));
    int64_t prev = 0;
    int lines = 0;
    for (const std::string& line : lines_of(p.trace)) {
      std::smatch m;
      if (!std::regex_search(line, m, step)) continue;
      const int64_t c = std::stoll(m[1]);
      // A hit adds one, a miss keeps the count: and a hit is exactly a claim without "not".
      EXPECT_EQ(c - prev, line.find(" not ") == std::string::npos ? 1 : 0) << line;
      prev = c;
      ++lines;
    }
    EXPECT_EQ(std::to_string(prev), p.answer);
    EXPECT_EQ(lines + 0u, integers_in(p.key.substr(p.key.find(':'))).size());
  }
  EXPECT_GE(counts, 60);
}

TEST(TasksList, LengthsFollowTheKnob) {
  for (Level l : {Level::kEasy, Level::kStandard, Level::kHard}) {
    const Difficulty d = difficulty_preset(l);
    for (uint64_t s = 0; s < 100; ++s) {
      const Problem p = generate(Family::kList, d, s);
      if (p.key.rfind("list compare", 0) == 0) continue;
      // Keys: "list max 3, 5, 8", "list sort asc 3, 5, 8", "list count greater than 4 : 3, 5, 8".
      const size_t colon = p.key.find(':');
      const std::vector<int64_t> v = integers_in(colon != std::string::npos ? p.key.substr(colon) : p.key);
      EXPECT_GE(static_cast<int>(v.size()), d.min_list) << p.key;
      EXPECT_LE(static_cast<int>(v.size()), d.max_list) << p.key;
      for (int64_t x : v) EXPECT_LE(std::to_string(x).size(), static_cast<size_t>(d.list_digits)) << p.key;
    }
  }
}

}  // namespace
}  // namespace muse::train
