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

// A sort trace finds each number's place: one line per number of the question's list, in its order,
// walking the whole list with a running count of the numbers that go before it (less / greater, or
// equal and earlier), then the places gathered in order.
// Checks the bucket lines of one place that start at lines[i] (bucket_lines in tasks_list.cpp): a line
// with each number's digit at that place, then one line per digit in the sort's order, each naming
// exactly the numbers of `list` with that digit at `place`, in the list's order; a bucket of several numbers
// is sorted on its line or, with three or more numbers above the tens place, bucketed again by the next place
// and closed by "So <place> <digit> gives ...". Returns the buckets joined and moves i past them.
struct BucketCheck {
  const std::vector<std::string>& lines;
  bool ascending;
  int sorted_on_line = 0, nested = 0;

  std::vector<int64_t> run(size_t& i, const std::vector<int64_t>& list, int place) {
    static const std::regex bucket_line(R"(^([A-Z][a-z]+) (\d): (none|[\d, ]+?)(?:, so ([\d, ]+))?\.$)");
    static const std::regex nest_line(
        R"(^([A-Z][a-z]+) (\d): ([\d, ]+)\. Let me sort them by the ([a-z]+) digit\.$)");
    static const std::regex close_line(R"(^So ([a-z]+) (\d) gives ([\d, ]+)\.$)");
    int64_t unit = 1;
    for (int k = 0; k < place; ++k) unit *= 10;
    std::string scan = "The " + detail::place_name(place) + " digits:";
    for (size_t k = 0; k < list.size(); ++k) {
      scan += (k ? ", " : " ") + std::to_string(list[k]) + " has " + std::to_string(list[k] / unit % 10);
    }
    EXPECT_TRUE(i < lines.size() && lines[i] == scan + ".")
        << "each level starts with every number's digit, in the list's order: "
        << (i < lines.size() ? lines[i] : "");
    ++i;
    std::vector<int64_t> joined;
    for (int b = 0; b < 10; ++b, ++i) {
      const int64_t digit = ascending ? b : 9 - b;
      std::vector<int64_t> want;
      for (const int64_t x : list) {
        if (x / unit % 10 == digit) want.push_back(x);
      }
      std::vector<int64_t> in_order = want;
      std::sort(in_order.begin(), in_order.end());
      if (!ascending) std::reverse(in_order.begin(), in_order.end());
      if (i >= lines.size()) {
        ADD_FAILURE() << "the trace ends before the bucket of " << detail::place_name(place) << " digit "
                      << digit;
        return joined;
      }
      SCOPED_TRACE(lines[i]);
      std::smatch m;
      if (std::regex_match(lines[i], m, nest_line)) {
        ++nested;
        EXPECT_EQ(m[1].str(), detail::place_title(place));
        EXPECT_EQ(std::stoll(m[2]), digit) << "one line per digit, in the sort's order";
        EXPECT_EQ(m[3].str(), join(want));
        EXPECT_GE(want.size(), 3u) << "only a bucket of three or more is bucketed again";
        EXPECT_GE(place, 2) << "only above the tens place";
        EXPECT_EQ(m[4].str(), detail::place_name(place - 1));
        ++i;
        const std::vector<int64_t> inner = run(i, want, place - 1);
        EXPECT_EQ(inner, in_order);
        std::smatch c;
        EXPECT_TRUE(i < lines.size() && std::regex_match(lines[i], c, close_line) &&
                    c[1].str() == detail::place_name(place) && std::stoll(c[2]) == digit &&
                    c[3].str() == join(inner))
            << "the nested buckets close with their join: " << (i < lines.size() ? lines[i] : "(end)");
      } else if (std::regex_match(lines[i], m, bucket_line)) {
        EXPECT_EQ(m[1].str(), detail::place_title(place));
        EXPECT_EQ(std::stoll(m[2]), digit) << "one line per digit, in the sort's order";
        if (want.empty()) {
          EXPECT_EQ(m[3].str(), "none");
        } else {
          EXPECT_EQ(m[3].str(), join(want));
          EXPECT_FALSE(want.size() >= 3 && place >= 2)
              << "a bucket this big above the tens place is bucketed again";
          EXPECT_EQ(m[4].matched, want.size() > 1) << "only a bucket of several numbers is sorted";
          if (m[4].matched) {
            EXPECT_EQ(m[4].str(), join(in_order));
            ++sorted_on_line;
          }
        }
      } else {
        ADD_FAILURE() << "not a bucket line";
      }
      joined.insert(joined.end(), in_order.begin(), in_order.end());
    }
    return joined;
  }
};

TEST(TasksList, SortTracesBucketByTheLeadingDigit) {
  int sorts = 0, sorted_on_line = 0, nested = 0;
  for (const Problem& p : sample()) {
    if (p.key.rfind("list sort", 0) != 0) continue;
    ++sorts;
    SCOPED_TRACE(describe(p));
    const bool ascending = p.key.rfind("list sort asc", 0) == 0;
    const std::vector<int64_t> list = integers_in(p.key.substr(p.key.find_first_of("0123456789")));
    int top = 0;
    for (const int64_t x : list) top = std::max(top, static_cast<int>(std::to_string(x).size()) - 1);
    const std::vector<std::string> lines = lines_of(p.trace);
    const std::string intro = "Let me sort by the " + detail::place_name(top) + " digit";
    size_t i = 0;
    while (i < lines.size() && lines[i].rfind(intro, 0) != 0) ++i;
    ASSERT_LT(i, lines.size()) << "no line starts the sort by the leading place";
    BucketCheck check{lines, ascending};
    const std::vector<int64_t> joined = check.run(++i, list, top);
    sorted_on_line += check.sorted_on_line;
    nested += check.nested;
    EXPECT_EQ(joined.size(), list.size()) << "every number in one bucket";
    EXPECT_TRUE(i < lines.size() && lines[i] == "So the order is " + join(joined) + ".");
    EXPECT_EQ(join(joined), p.answer);
  }
  EXPECT_GE(sorts, 60);  // 600 problems, one kind in five
  EXPECT_GE(sorted_on_line, 10);  // buckets of several numbers do occur
  EXPECT_GE(nested, 5);           // and hard lists' big buckets are bucketed again
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
