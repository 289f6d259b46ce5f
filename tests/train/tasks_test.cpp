// train::Tasks core: determinism, the PRNG, names and their errors, seed ranges and split disjointness,
// and that the difficulty knobs do what they say.
#include "train/tasks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/error.h"
#include "train/tasks_check.h"
#include "train/tasks_rng.h"
#include "train/tasks_suite.h"
#include "train/tasks_test_util.h"

#ifdef MUSE_HAVE_RAPIDCHECK
#include <rapidcheck/gtest.h>
#endif

namespace muse::train {
namespace {

using testing::integers_in;

bool same(const Problem& a, const Problem& b) {
  return a.question == b.question && a.answer == b.answer && a.trace == b.trace && a.short_answer == b.short_answer &&
         a.key == b.key && a.seed == b.seed && a.family == b.family && a.level == b.level;
}

TEST(TasksRng, MatchesThePublishedAlgorithms) {
  // splitmix64's first output for state 0 is the value every port of it is tested against.
  uint64_t x = 0;
  EXPECT_EQ(splitmix64(x), 0xE220A8397B1DCDAFull);
  // xoshiro256** written out again from the paper, seeded the same way.
  uint64_t seed = 42, s[4];
  for (uint64_t& w : s) w = splitmix64(seed);
  auto rotl = [](uint64_t v, int k) { return (v << k) | (v >> (64 - k)); };
  TaskRng rng(42);
  for (int i = 0; i < 100; ++i) {
    const uint64_t want = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t, s[3] = rotl(s[3], 45);
    ASSERT_EQ(rng.next(), want) << "draw " << i;
  }
}

TEST(TasksRng, RangeIsInBoundsAndRoughlyUniform) {
  TaskRng rng(7);
  int hist[7] = {};
  const int n = 70000;
  for (int i = 0; i < n; ++i) {
    const int64_t v = rng.range(-3, 3);
    ASSERT_GE(v, -3);
    ASSERT_LE(v, 3);
    ++hist[v + 3];
  }
  // Each bucket expects 10000 with sd ~93; 600 is > 6 sd, so a failure means bias, not bad luck.
  for (int h : hist) EXPECT_NEAR(h, n / 7, 600);
  EXPECT_EQ(rng.range(5, 5), 5);
}

TEST(Tasks, SameSeedSameProblem) {
  for (Family f : kAllFamilies) {
    for (Level l : {Level::kEasy, Level::kStandard, Level::kHard}) {
      const Difficulty d = difficulty_preset(l);
      const Problem a = generate(f, d, 12345);
      generate(f, d, 999);  // no hidden state between calls
      const Problem b = generate(f, d, 12345);
      EXPECT_TRUE(same(a, b)) << family_name(f) << " " << level_name(l);
      EXPECT_EQ(a.seed, 12345u);
      EXPECT_EQ(a.family, f);
      EXPECT_EQ(a.level, l);
    }
  }
}

TEST(Tasks, DifferentSeedsDifferentProblems) {
  for (Family f : kAllFamilies) {
    std::set<std::string> questions;
    for (uint64_t s = 0; s < 200; ++s) questions.insert(generate(f, difficulty_preset(Level::kStandard), s).question);
    // Standard levels have millions of problems: 200 seeds collide at most a handful of times.
    EXPECT_GE(questions.size(), 195u) << family_name(f);
  }
}

TEST(Tasks, FamiliesAtOneSeedAreUnrelated) {
  std::set<std::string> answers;
  for (Family f : kAllFamilies) answers.insert(generate(f, difficulty_preset(Level::kStandard), 77).question);
  EXPECT_EQ(answers.size(), kAllFamilies.size());
}

TEST(Tasks, NamesRoundTripAndBadNamesListTheChoices) {
  for (Family f : kAllFamilies) EXPECT_EQ(parse_family(family_name(f)), f);
  EXPECT_EQ(parse_families("all").size(), 6u);
  EXPECT_EQ(parse_families("mul,add,mul"), (std::vector<Family>{Family::kMul, Family::kAdd}));
  try {
    parse_family("division");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("'division'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("add, sub, mul, chain, word, list"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_families("add,"), Error);
  EXPECT_THROW(parse_families(""), Error);
  EXPECT_THROW(parse_level("medium"), Error);
  EXPECT_THROW(parse_split("dev"), Error);
  EXPECT_THROW(parse_checker("fuzzy"), Error);
  for (Level l : {Level::kEasy, Level::kStandard, Level::kHard}) EXPECT_EQ(parse_level(level_name(l)), l);
  for (Split s : {Split::kTrain, Split::kVal, Split::kTest}) EXPECT_EQ(parse_split(split_name(s)), s);
}

// The practice families (div, sort) are named only explicitly: "all" stays the six suite families, so
// every suite and the vocabulary counted from them are unchanged by their existence.
TEST(TasksPractice, FamiliesAreNamedOnlyExplicitly) {
  for (Family f : kPracticeFamilies) {
    EXPECT_EQ(parse_family(family_name(f)), f);
    for (Family g : parse_families("all")) EXPECT_NE(g, f);
  }
  EXPECT_EQ(parse_families("word,div,sort"),
            (std::vector<Family>{Family::kWord, Family::kDiv, Family::kSort}));
  try {
    parse_family("divide");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("for training only: div, sort"), std::string::npos) << e.what();
  }
}

// div: an exact division by 2..9 of a number with the knobs' digit count, worked in one line by the
// method word problems use (every subtraction in it re-checked by check_common's equation check), whose
// dividend's digits are listed by place when a digit is brought down.
TEST(TasksPractice, DivisionsAreExactAndWorkedFromTheTop) {
  int listed = 0;
  for (Level l : {Level::kEasy, Level::kStandard, Level::kHard}) {
    const Difficulty d = difficulty_preset(l);
    for (uint64_t i = 0; i < 200; ++i) {
      const Problem p = generate(Family::kDiv, d, 70000 + i);
      testing::check_common(p);
      const std::vector<int64_t> q = integers_in(p.question);
      ASSERT_EQ(q.size(), 2u) << p.question;
      const int64_t a = q[0], b = q[1];
      EXPECT_GE(b, 2);
      EXPECT_LE(b, 9);
      ASSERT_EQ(a % b, 0) << p.question;
      EXPECT_EQ(p.answer, std::to_string(a / b));
      const int digits = static_cast<int>(std::to_string(a).size());
      EXPECT_GE(digits, d.min_digits) << p.question;
      EXPECT_LE(digits, d.max_digits) << p.question;
      EXPECT_EQ(p.key, "div " + std::to_string(a) + " " + std::to_string(b));
      EXPECT_EQ(split_of_key(p.key), Split::kTrain);
      const std::vector<std::string> ls = testing::lines_of(p.trace);
      ASSERT_GE(ls.size(), 2u);
      const std::string head = std::to_string(a) + " / " + std::to_string(b) + ": ";
      EXPECT_EQ(ls[1].rfind(head, 0), 0u) << p.trace;
      EXPECT_NE(ls[1].find(", so " + std::to_string(a) + " / " + std::to_string(b) + " = " + p.answer + "."),
                std::string::npos)
          << p.trace;
      // 2..9 into a number of two or more digits always brings a digit down after the first step.
      if (ls[1].find("; down ") != std::string::npos) {
        static const char* const kLeading[] = {"", "", "tens ", "hundreds ", "thousands ", "ten thousands ",
                                               "hundred thousands "};
        ASSERT_LE(digits, 6);
        const std::string first_listed = head + kLeading[digits] + std::to_string(a).substr(0, 1) + ", ";
        EXPECT_EQ(ls[1].rfind(first_listed, 0), 0u) << p.trace;
        ++listed;
      }
    }
  }
  EXPECT_GT(listed, 400);
}

// sort: exactly the list family's sorting questions (their keys, so their share of the split), at the
// knobs' list length.
TEST(TasksPractice, SortsAreTheListFamilysSortingQuestions) {
  const Difficulty d = difficulty_preset(Level::kStandard);
  int asc = 0;
  for (uint64_t i = 0; i < 200; ++i) {
    const Problem p = generate(Family::kSort, d, 80000 + i);
    testing::check_common(p);
    EXPECT_EQ(p.key.rfind("list sort ", 0), 0u) << p.key;
    EXPECT_EQ(split_of_key(p.key), Split::kTrain);
    std::vector<int64_t> v = integers_in(p.question);
    ASSERT_GE(static_cast<int>(v.size()), d.min_list) << p.question;
    ASSERT_LE(static_cast<int>(v.size()), d.max_list) << p.question;
    const bool ascending = p.question.find("from smallest to largest") != std::string::npos;
    asc += ascending;
    std::sort(v.begin(), v.end());
    if (!ascending) std::reverse(v.begin(), v.end());
    std::string want;
    for (int64_t x : v) want += (want.empty() ? "" : ", ") + std::to_string(x);
    EXPECT_EQ(p.answer, want) << p.question;
  }
  EXPECT_GT(asc, 60);
  EXPECT_LT(asc, 140);
  // A test-split seed draws a test-split sort, as the list family does.
  for (uint64_t i = 0; i < 20; ++i) {
    EXPECT_EQ(split_of_key(generate(Family::kSort, d, split_seed_base(Split::kTest) + i).key), Split::kTest);
  }
}

TEST(Tasks, SeedRangesAreDisjointAndCoverEachSplit) {
  EXPECT_EQ(split_of_seed(0), Split::kTrain);
  EXPECT_EQ(split_of_seed(kSplitSeedSpan - 1), Split::kTrain);
  EXPECT_EQ(split_of_seed(kSplitSeedSpan), Split::kVal);
  EXPECT_EQ(split_of_seed(2 * kSplitSeedSpan - 1), Split::kVal);
  EXPECT_EQ(split_of_seed(2 * kSplitSeedSpan), Split::kTest);
  EXPECT_EQ(split_of_seed(3 * kSplitSeedSpan - 1), Split::kTest);
  EXPECT_THROW(split_of_seed(3 * kSplitSeedSpan), Error);
  EXPECT_THROW(generate(Family::kAdd, difficulty_preset(Level::kEasy), ~uint64_t{0}), Error);
  for (Split s : {Split::kTrain, Split::kVal, Split::kTest}) EXPECT_EQ(split_of_seed(split_seed_base(s)), s);
}

TEST(Tasks, EveryProblemsKeyBelongsToItsSeedsSplit) {
  for (Family f : kAllFamilies) {
    for (Split s : {Split::kTrain, Split::kVal, Split::kTest}) {
      for (uint64_t i = 0; i < 30; ++i) {
        const Problem p = generate(f, difficulty_preset(Level::kEasy), split_seed_base(s) + i);
        EXPECT_EQ(split_of_key(p.key), s) << p.key;
      }
    }
  }
}

// The acceptance check: no question of a 2000-problem train sample is in the test suite. Easy
// is the level where it matters: it has so few distinct problems (8100 two-digit additions) that
// disjoint seeds alone would collide all the time.
TEST(Tasks, TrainSampleSharesNoQuestionWithTheTestSuite) {
  for (Level l : {Level::kEasy, Level::kStandard}) {
    SuiteSpec train;
    train.families = {kAllFamilies.begin(), kAllFamilies.end()};
    train.difficulty = difficulty_preset(l);
    train.split = Split::kTrain;
    train.count = 2000;
    SuiteSpec test = train;
    test.split = Split::kTest;
    test.count = 600;
    SuiteSpec val = test;
    val.split = Split::kVal;
    std::set<std::string> train_q, train_keys;
    for (const Problem& p : generate_suite(train)) train_q.insert(p.question), train_keys.insert(p.key);
    for (const Problem& p : generate_suite(test)) {
      EXPECT_EQ(train_q.count(p.question), 0u) << level_name(l) << ": " << p.question;
      EXPECT_EQ(train_keys.count(p.key), 0u) << level_name(l) << ": " << p.key;
    }
    for (const Problem& p : generate_suite(val)) EXPECT_EQ(train_keys.count(p.key), 0u) << p.key;
  }
}

TEST(Tasks, SplitSharesAreCloseTo90_5_5) {
  int counts[3] = {};
  for (int i = 0; i < 20000; ++i) ++counts[static_cast<int>(split_of_key("k" + std::to_string(i)))];
  // Binomial sd for 5% of 20000 is ~31; 200 is over 6 sd.
  EXPECT_NEAR(counts[0], 18000, 200);
  EXPECT_NEAR(counts[1], 1000, 200);
  EXPECT_NEAR(counts[2], 1000, 200);
}

struct Shape {
  double add_digits = 0, mul_factor_digits = 0, chain_ops = 0, word_steps = 0, list_len = 0;
};

Shape measure(Level l) {
  const Difficulty d = difficulty_preset(l);
  Shape s;
  const int n = 60;
  for (uint64_t i = 0; i < n; ++i) {
    for (int64_t v : integers_in(generate(Family::kAdd, d, i).question)) s.add_digits += std::to_string(v).size() / 2.0;
    const std::vector<int64_t> m = integers_in(generate(Family::kMul, d, i).question);
    s.mul_factor_digits += std::to_string(std::min(m[0], m[1])).size();
    const std::string c = generate(Family::kChain, d, i).question;
    for (char ch : c) s.chain_ops += ch == '+' || ch == '-' || ch == '*';
    const std::string w = generate(Family::kWord, d, i).trace;
    for (size_t at = w.find("Step "); at != std::string::npos; at = w.find("Step ", at + 1)) s.word_steps += 1;
    const Problem lp = generate(Family::kList, d, i);
    if (lp.key.rfind("list compare", 0) != 0) {
      const size_t colon = lp.key.find(':');
      s.list_len += integers_in(colon == std::string::npos ? lp.key : lp.key.substr(colon)).size();
    }
  }
  return s;
}

TEST(Tasks, HarderLevelsHaveMoreDigitsStepsAndItems) {
  const Shape e = measure(Level::kEasy), s = measure(Level::kStandard), h = measure(Level::kHard);
  EXPECT_LT(e.add_digits, s.add_digits);
  EXPECT_LT(s.add_digits, h.add_digits);
  EXPECT_LT(e.mul_factor_digits, s.mul_factor_digits);
  EXPECT_LT(s.mul_factor_digits, h.mul_factor_digits);
  EXPECT_LT(e.chain_ops, s.chain_ops);
  EXPECT_LT(s.chain_ops, h.chain_ops);
  EXPECT_LT(e.word_steps, s.word_steps);
  EXPECT_LT(s.word_steps, h.word_steps);
  EXPECT_LT(e.list_len, s.list_len);
  EXPECT_LT(s.list_len, h.list_len);
}

TEST(Tasks, HardExceedsWhatTrainingLevelsReach) {
  const Difficulty s = difficulty_preset(Level::kStandard), h = difficulty_preset(Level::kHard);
  EXPECT_GT(h.min_digits, s.max_digits);
  EXPECT_GT(h.min_steps, s.max_steps);
  EXPECT_GT(h.min_list, s.max_list);
  EXPECT_GT(h.operand_digits, s.operand_digits);
}

TEST(Tasks, OperandDigitsStayInsideTheKnob) {
  for (Level l : {Level::kEasy, Level::kStandard, Level::kHard}) {
    const Difficulty d = difficulty_preset(l);
    for (uint64_t i = 0; i < 100; ++i) {
      for (Family f : {Family::kAdd, Family::kSub, Family::kMul}) {
        const std::vector<int64_t> v = integers_in(generate(f, d, i).question);
        ASSERT_EQ(v.size(), 2u);
        const int la = static_cast<int>(std::to_string(std::max(v[0], v[1])).size());
        const int lb = static_cast<int>(std::to_string(std::min(v[0], v[1])).size());
        EXPECT_GE(la, d.min_digits);
        EXPECT_LE(la, d.max_digits);
        if (f == Family::kMul) {
          EXPECT_LE(lb, d.max_factor_digits);
        } else {
          EXPECT_GE(lb, d.min_digits);
        }
      }
    }
  }
}

TEST(Tasks, InvalidKnobsAreRejectedWithTheirName) {
  Difficulty d = difficulty_preset(Level::kStandard);
  d.level = Level::kCustom;
  d.min_steps = 5;
  d.max_steps = 3;
  try {
    generate(Family::kChain, d, 1);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("steps"), std::string::npos) << e.what();
  }
  d = difficulty_preset(Level::kStandard);
  d.max_digits = 12;
  EXPECT_THROW(validate_difficulty(d), Error);
  d = difficulty_preset(Level::kStandard);
  d.max_factor_digits = 3;  // more than min_digits 2
  EXPECT_THROW(validate_difficulty(d), Error);
  d = difficulty_preset(Level::kStandard);
  d.min_list = 1;
  EXPECT_THROW(validate_difficulty(d), Error);
}

TEST(Tasks, CustomKnobsAtTheEdgesStillGenerateCorrectProblems) {
  Difficulty d;
  d.level = Level::kCustom;
  d.min_digits = d.max_digits = 9;
  d.max_factor_digits = 9;
  d.min_steps = d.max_steps = 8;
  d.operand_digits = 4;
  d.min_list = d.max_list = 20;
  d.list_digits = 6;
  for (Family f : kAllFamilies) {
    for (uint64_t i = 0; i < 5; ++i) {
      const Problem p = generate(f, d, split_seed_base(Split::kTest) + i);
      testing::check_common(p);
      EXPECT_TRUE(check_answer(p.trace + p.short_answer, p.answer, Checker::kNumeric)) << testing::describe(p);
    }
  }
}

#ifdef MUSE_HAVE_RAPIDCHECK
// Any valid combination of knobs gives correct problems in every family (under UBSan this also hunts
// overflow at the large ends of the ranges).
RC_GTEST_PROP(TasksProp, AnyValidKnobsGiveCorrectProblems, ()) {
  Difficulty d;
  d.level = Level::kCustom;
  d.min_digits = *rc::gen::inRange(2, 10);
  d.max_digits = *rc::gen::inRange(d.min_digits, 10);
  d.max_factor_digits = *rc::gen::inRange(1, d.min_digits + 1);
  d.min_steps = *rc::gen::inRange(1, 9);
  d.max_steps = *rc::gen::inRange(d.min_steps, 9);
  d.operand_digits = *rc::gen::inRange(1, 5);
  d.min_list = *rc::gen::inRange(2, 21);
  d.max_list = *rc::gen::inRange(d.min_list, 21);
  d.list_digits = *rc::gen::inRange(1, 7);
  const uint64_t seed = *rc::gen::inRange<uint64_t>(0, 3 * kSplitSeedSpan);
  for (Family f : kAllFamilies) {
    const Problem p = generate(f, d, seed);
    RC_ASSERT(p.trace.find("So the result is " + p.answer + ".\n") != std::string::npos);
    RC_ASSERT(check_answer(p.short_answer, p.answer, Checker::kNumeric));
    RC_ASSERT(split_of_key(p.key) == split_of_seed(seed));
    testing::check_common(p);
  }
}
#endif

TEST(Tasks, TracesAndShortAnswersPassTheChecker) {
  for (Family f : kAllFamilies) {
    for (Level l : {Level::kEasy, Level::kStandard, Level::kHard}) {
      for (uint64_t i = 0; i < 40; ++i) {
        const Problem p = generate(f, difficulty_preset(l), 40000 + i);
        EXPECT_TRUE(check_answer(p.trace + p.short_answer, p.answer, Checker::kNumeric)) << testing::describe(p);
        EXPECT_TRUE(check_answer(p.short_answer, p.answer, Checker::kNumeric)) << p.short_answer;
        // The trace alone ends with the result, so even without the answer line it reads right.
        EXPECT_TRUE(check_answer(p.trace, p.answer, Checker::kNumeric)) << testing::describe(p);
      }
    }
  }
}

// restyle_trace: the verbosity knob of the SFT data (what RL with a length penalty can then compress).
TEST(Tasks, RestyledTracesDropOnlyOptionalLinesAndStayCorrect) {
  const TraceStyle none, all{1.0, 1.0}, half{0.5, 0.5};
  int64_t full_chars = 0, terse_chars = 0;
  for (Family f : kAllFamilies) {
    for (uint64_t i = 0; i < 60; ++i) {
      const Problem p = generate(f, difficulty_preset(Level::kStandard), 50000 + i);
      SCOPED_TRACE(testing::describe(p));
      EXPECT_EQ(restyle_trace(p.trace, none, i), p.trace);
      const std::string terse = restyle_trace(p.trace, all, i);
      // Nothing that only restates, announces or re-checks is left, and no step is worked out.
      for (const char* gone : {"We need ", "Let me line up", "Let me multiply each", "Let me go through", "Let me take out",
                               "Let me check each", "Let me restate", "Let me double-check", "The rule: ",
                               "The question asks ", ": ones "}) {
        EXPECT_EQ(terse.find(gone), std::string::npos) << gone << " in\n" << terse;
      }
      // What stays is still true, in order, and still ends with the result.
      testing::check_equations(terse, testing::describe(p));
      EXPECT_TRUE(check_answer(terse, p.answer, Checker::kNumeric)) << terse;
      EXPECT_EQ(terse.substr(terse.rfind("So the result is")), p.trace.substr(p.trace.rfind("So the result is")));
      std::vector<std::string> kept = testing::lines_of(terse), all_lines = testing::lines_of(p.trace);
      size_t j = 0;  // every kept line is a line of the original, or one with its worked steps shortened
      for (const std::string& l : kept) {
        while (j < all_lines.size() && all_lines[j] != l && all_lines[j].find(l.substr(0, 12)) != 0) ++j;
        EXPECT_LT(j, all_lines.size()) << "not from the original trace: " << l;
        ++j;
      }
      full_chars += static_cast<int64_t>(p.trace.size());
      terse_chars += static_cast<int64_t>(terse.size());
      // Partial styles are a function of the seed, and seeds differ.
      EXPECT_EQ(restyle_trace(p.trace, half, 7), restyle_trace(p.trace, half, 7));
    }
  }
  EXPECT_LT(terse_chars, full_chars * 3 / 4) << "the terse traces are much shorter";
  std::set<std::string> variants;
  const Problem w = generate(Family::kWord, difficulty_preset(Level::kStandard), 3);
  for (uint64_t s = 0; s < 20; ++s) variants.insert(restyle_trace(w.trace, half, s));
  EXPECT_GE(variants.size(), 5u);
  EXPECT_THROW(restyle_trace(w.trace, TraceStyle{-0.1, 0.0}, 1), Error);
}

TEST(Tasks, CompactColumnsWriteEachWrittenMethodAsOneWorkedLine) {
  const TraceStyle compact{0.0, 0.0, 1.0}, tersest{1.0, 0.0, 1.0};
  for (Family f : kAllFamilies) {
    int64_t full_chars = 0, compact_chars = 0, tersest_chars = 0;
    for (uint64_t i = 0; i < 60; ++i) {
      const Problem p = generate(f, difficulty_preset(Level::kStandard), 70000 + i);
      SCOPED_TRACE(testing::describe(p));
      const std::string c = restyle_trace(p.trace, compact, i);
      // No column line of a written method is left; each became "x op y: ones ..., so x op y = z.".
      // (List comparisons also go "Tens: 8 is less than 9": not a written method, so they stay.)
      const bool written = f == Family::kAdd || f == Family::kSub || f == Family::kMul;
      for (const std::string& l : written ? testing::lines_of(c) : std::vector<std::string>{}) {
        EXPECT_NE(l.rfind("Ones: ", 0), 0u) << l;
        EXPECT_NE(l.rfind("Tens: ", 0), 0u) << l;
        EXPECT_FALSE(l.size() > 10 && l[1] == ' ' && l[2] == '*' && l.find(". Write ") != std::string::npos) << l;
      }
      if (written) {
        EXPECT_NE(c.find(", so "), std::string::npos) << c;
        EXPECT_LT(c.size(), p.trace.size()) << c;
      }
      testing::check_equations(c, testing::describe(p));
      EXPECT_TRUE(check_answer(c, p.answer, Checker::kNumeric)) << c;
      const std::string t = restyle_trace(p.trace, tersest, i);
      testing::check_equations(t, testing::describe(p));
      EXPECT_TRUE(check_answer(t, p.answer, Checker::kNumeric)) << t;
      full_chars += static_cast<int64_t>(p.trace.size());
      compact_chars += static_cast<int64_t>(c.size());
      tersest_chars += static_cast<int64_t>(t.size());
    }
    std::printf("[ restyle  ] %-5s compact columns %.0f%%, and without optional lines %.0f%% of the characters\n",
                family_name(f), 100.0 * static_cast<double>(compact_chars) / static_cast<double>(full_chars),
                100.0 * static_cast<double>(tersest_chars) / static_cast<double>(full_chars));
    if (f == Family::kAdd || f == Family::kSub) {
      EXPECT_LT(compact_chars, full_chars * 4 / 5);  // in characters; in tokens the ratio is lower
    }
  }
  EXPECT_THROW(restyle_trace("x", TraceStyle{0.0, 0.0, 1.5}, 1), Error);
}

TEST(Tasks, CarefulTracesCheckEveryStepTwice) {
  const TraceStyle careful{0.0, 0.0, 0.0, 1.0}, mixed{1.0, 0.0, 0.0, 0.5};
  int careful_seen = 0, terse_seen = 0;
  for (Family f : kAllFamilies) {
    for (uint64_t i = 0; i < 40; ++i) {
      const Problem p = generate(f, difficulty_preset(Level::kStandard), 80000 + i);
      SCOPED_TRACE(testing::describe(p));
      const std::string c = restyle_trace(p.trace, careful, i);
      const std::vector<std::string> lines = testing::lines_of(c), ref = testing::lines_of(p.trace);
      ASSERT_FALSE(lines.empty());
      EXPECT_EQ(lines[0], kCarefulLine);
      // Removing the opening line and the check lines gives back the reference trace, and every check
      // line repeats the line before it.
      std::vector<std::string> rest;
      int checks = 0;
      for (size_t j = 1; j < lines.size(); ++j) {
        if (lines[j].rfind(kCheckPrefix, 0) == 0) {
          EXPECT_EQ(lines[j].substr(kCheckPrefix.size()), lines[j - 1]);
          ++checks;
        } else {
          rest.push_back(lines[j]);
        }
      }
      EXPECT_EQ(rest, ref);
      EXPECT_GE(checks, 1) << c;
      EXPECT_EQ(lines.back(), ref.back());
      EXPECT_TRUE(check_answer(c, p.answer, Checker::kNumeric)) << c;
      // A mixed style writes either a careful trace or a terse one, never a blend.
      const std::string m = restyle_trace(p.trace, mixed, i);
      if (m.rfind(kCarefulLine, 0) == 0) {
        EXPECT_EQ(m, c);
        ++careful_seen;
      } else {
        EXPECT_EQ(m.find(kCheckPrefix), std::string::npos) << m;
        EXPECT_EQ(m.find("Let me double-check"), std::string::npos) << m;
        ++terse_seen;
      }
    }
  }
  EXPECT_GT(careful_seen, 80);  // 240 traces, each careful with probability 0.5
  EXPECT_GT(terse_seen, 80);
  EXPECT_THROW(restyle_trace("x", TraceStyle{0.0, 0.0, 0.0, -1.0}, 1), Error);
}

TEST(Tasks, TraceVocabularyIsSmall) {
  // The model is tiny: the traces of all families together must stay within a small word list.
  std::set<std::string> words;
  for (Family f : kAllFamilies) {
    for (uint64_t i = 0; i < 300; ++i) {
      const std::string t = generate(f, difficulty_preset(Level::kStandard), i).trace;
      std::string w;
      for (char c : t + " ") {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
          w += c;
        } else if (!w.empty()) {
          words.insert(w);
          w.clear();
        }
      }
    }
  }
  EXPECT_LE(words.size(), 300u);
}

}  // namespace
}  // namespace muse::train
