// word: the test reads each question with its own keyword rules (who does what to whom) and must reach
// the same answer; every number in the question is used; the trace follows the story step by step.
#include <gtest/gtest.h>

#include <optional>
#include <regex>
#include <set>

#include "train/tasks.h"
#include "train/tasks_test_util.h"

namespace muse::train {
namespace {

using testing::check_common;
using testing::describe;
using testing::Evaluator;
using testing::integers_in;
using testing::lines_of;

std::vector<std::string> sentences_of(const std::string& q) {
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 0; i < q.size(); ++i) {
    cur.push_back(q[i]);
    if ((q[i] == '.' || q[i] == '?') && (i + 1 == q.size() || q[i + 1] == ' ')) {
      out.push_back(cur);
      cur.clear();
      if (i + 1 < q.size()) ++i;  // the space
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string first_word(const std::string& s) { return s.substr(0, s.find_first_of(" ,")); }
std::string second_word(const std::string& s) {
  const size_t a = s.find(' ') + 1;
  return s.substr(a, s.find(' ', a) - a);
}
bool has(const std::string& s, const char* w) { return s.find(w) != std::string::npos; }

// Reads a question with keyword rules written for this test (not the generator's tables). Returns the
// final amount, or nullopt (with a failure) when a sentence is not understood.
std::optional<int64_t> interpret(const std::string& question) {
  const std::vector<std::string> ss = sentences_of(question);
  const std::string& ask = ss.back();
  if (ask.rfind("How many ", 0) != 0) {
    ADD_FAILURE() << "last sentence is not a question: " << ask;
    return std::nullopt;
  }
  const size_t does = ask.find(" does ");
  const std::string hero = ask.substr(does + 6, ask.find(' ', does + 6) - does - 6);
  const bool money = has(ask, "dollars");
  std::optional<int64_t> value, other;
  for (size_t i = 0; i + 1 < ss.size(); ++i) {
    std::string s = ss[i];
    if (s.rfind("At first, ", 0) == 0) s = s.substr(10);
    const std::vector<int64_t> n = integers_in(s);
    const std::string subject = first_word(s);
    if (has(s, "times as many") && has(s, "as before")) {
      value = *value * n.at(0);
    } else if (has(s, "equal")) {
      if (*value % n.at(0) != 0) ADD_FAILURE() << "uneven split: " << s;
      value = *value / n.at(0);
    } else if (subject == hero && has(s, " than ")) {
      value = has(s, " more ") ? *other + n.at(0) : *other - n.at(0);
    } else if (subject == hero && has(s, "times as many")) {
      value = *other * n.at(0);
    } else if (subject == hero && (second_word(s) == "has" || second_word(s) == "starts") && n.size() == 1 && !value) {
      value = n[0];
    } else if (subject != hero && second_word(s) == "has" && n.size() == 1) {
      other = n[0];
    } else {
      if (!value) {
        ADD_FAILURE() << "change before any start amount: " << s;
        return std::nullopt;
      }
      const int64_t amount = n.size() == 2 ? n[0] * n[1] : n.at(0);
      bool gain;
      const std::string verb = second_word(s);
      if (subject != hero) {
        gain = true;  // someone else gives to the hero
      } else if (money) {
        static const std::set<std::string> g = {"earns", "finds", "works", "sells"}, l = {"spends", "pays", "buys", "gives"};
        if (!g.count(verb) && !l.count(verb)) {
          ADD_FAILURE() << "unknown money verb '" << verb << "' in: " << s;
          return std::nullopt;
        }
        gain = g.count(verb) > 0;
      } else {
        static const std::set<std::string> g = {"buys", "finds", "gets"}, l = {"gives", "loses", "sells", "uses"};
        if (!g.count(verb) && !l.count(verb)) {
          ADD_FAILURE() << "unknown goods verb '" << verb << "' in: " << s;
          return std::nullopt;
        }
        gain = g.count(verb) > 0;
      }
      value = gain ? *value + amount : *value - amount;
    }
    if (!value && !other) {
      ADD_FAILURE() << "not understood: " << s;
      return std::nullopt;
    }
    if (value && *value < 0) ADD_FAILURE() << "amount went negative at: " << s;
  }
  return value;
}

std::vector<Problem> sample() {
  std::vector<Problem> out;
  for (Level l : {Level::kEasy, Level::kStandard, Level::kHard}) {
    for (uint64_t s = 0; s < 200; ++s) out.push_back(generate(Family::kWord, difficulty_preset(l), 7000 + s));
  }
  return out;
}

TEST(TasksWord, QuestionReadIndependentlyGivesTheAnswer) {
  for (const Problem& p : sample()) {
    SCOPED_TRACE(p.question);
    const auto v = interpret(p.question);
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(p.answer, std::to_string(*v));
  }
}

TEST(TasksWord, FormulaUsesExactlyTheQuestionsNumbers) {
  for (const Problem& p : sample()) {
    SCOPED_TRACE(describe(p));
    ASSERT_EQ(p.key.rfind("word ", 0), 0u);
    const std::string formula = p.key.substr(5);
    EXPECT_EQ(Evaluator::eval(formula), std::optional<int64_t>(std::stoll(p.answer)));
    EXPECT_EQ(integers_in(formula), integers_in(p.question));
    // The trace's closing check quotes that same formula.
    EXPECT_NE(p.trace.find("Let me double-check with one expression: " + formula + " = " + p.answer + "."),
              std::string::npos);
  }
}

TEST(TasksWord, TraceWalksTheStoryAndKeepsTheRunningAmount) {
  const std::regex step(R"(^Step (\d+): .* Now (\w+) has (\d+) )");
  const std::regex result(R"((\d+) [-+*/] (\d+) = (\d+)\. Now \w+ has (\d+) )");
  for (Level l : {Level::kEasy, Level::kStandard, Level::kHard}) {
    const Difficulty d = difficulty_preset(l);
    for (uint64_t s = 0; s < 150; ++s) {
      const Problem p = generate(Family::kWord, d, 90000 + s);
      SCOPED_TRACE(describe(p));
      check_common(p);
      // Steps are numbered 1, 2, ...; each ends with the new amount, which the next step starts from.
      int expect_step = 1;
      std::optional<int64_t> amount;
      for (const std::string& line : lines_of(p.trace)) {
        std::smatch m;
        if (!std::regex_search(line, m, step)) continue;
        EXPECT_EQ(std::stoi(m[1]), expect_step++);
        std::smatch r;
        ASSERT_TRUE(std::regex_search(line, r, result)) << line;
        if (amount) {
          EXPECT_EQ(std::stoll(r[1]), *amount) << "step does not start from the last amount: " << line;
        }
        EXPECT_EQ(r[3], r[4]);
        amount = std::stoll(r[4]);
      }
      // Steps in the question: every sentence but the start and the question; a relative start
      // ("Mia has 12. Leo has 5 more than Mia.") is two sentences and counts as one step.
      const int changes = static_cast<int>(sentences_of(p.question).size()) - 2;
      EXPECT_GE(changes, d.min_steps);
      EXPECT_LE(changes, d.max_steps);
      ASSERT_TRUE(amount.has_value());
      EXPECT_EQ(std::to_string(*amount), p.answer);
    }
  }
}

TEST(TasksWord, WordingVaries) {
  // Several stocks, names and phrasings: a 300-problem sample must not collapse onto a few templates.
  std::set<std::string> first_sentences_shapes, heroes, stocks;
  for (uint64_t s = 0; s < 300; ++s) {
    const Problem p = generate(Family::kWord, difficulty_preset(Level::kStandard), s);
    const std::vector<std::string> ss = sentences_of(p.question);
    const std::string& ask = ss.back();
    const size_t does = ask.find(" does ");
    heroes.insert(ask.substr(does + 6, ask.find(' ', does + 6) - does - 6));
    stocks.insert(ask.substr(9, does - 9));
    for (size_t i = 0; i + 1 < ss.size(); ++i) {
      std::string shape;
      for (char c : ss[i]) shape += (c >= '0' && c <= '9') ? '#' : c;
      // Drop the names: the shape is the rest of the sentence.
      first_sentences_shapes.insert(shape.substr(shape.find(' ')));
    }
  }
  EXPECT_GE(heroes.size(), 15u);
  EXPECT_GE(stocks.size(), 10u);
  EXPECT_GE(first_sentences_shapes.size(), 60u);
}

}  // namespace
}  // namespace muse::train
