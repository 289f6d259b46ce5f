// train::Tasks: procedural generators of reasoning problems whose answers can be checked exactly.
//
// They make muse-nano's training data (SFT on reference traces, then RL with a length penalty) and the
// eval suites `muse eval` reads. Six families (docs/tasks.md has an example of each):
//   add, sub, mul  multi-digit arithmetic with the written method (carries, borrows, partial products)
//   chain          expressions of 2-5 operations (+ - * and parentheses), evaluated step by step
//   word           2-4 step word problems (GSM8K in miniature)
//   list           max/min, sorting, counting with a condition, comparing two numbers
// and two practice families for training only, which "all" leaves out (so every suite, and the vocabulary
// counted from the six, stays as it is):
//   div            a bare division, worked with the method word problems use when they share out
//   sort           the list family's sorting questions only (the same keys, so the same split)
//
// A problem is a pure function of (family, difficulty, seed): same inputs, same bytes, on every
// platform (TaskRng is our own PRNG). Every problem has a question, a reference trace (verbose,
// short templated sentences, every intermediate result written as "a + b = c" and re-checked with
// "Let me double-check: ..."), the canonical answer, and the short answer line for no-thinking
// (Instant) examples. The ONE answer form is the line
//     The answer is <answer>.
// where <answer> is a plain integer ("1234", "-7") or a list of them joined by ", " ("3, 5, 8").
// A thinking-mode target is  trace + "\n" + short_answer;  an Instant target is  short_answer.
// tasks_check.h extracts that form from a model's output (falling back to the last number).
//
// Splits and seed ranges: a problem's split follows from its seed; the ranges are disjoint:
//   train  seeds [0,      2^40)
//   val    seeds [2^40,   2^41)
//   test   seeds [2^41,   2^41 + 2^40)
// Disjoint seeds alone would not keep test questions out of training (two seeds can draw the same
// problem, e.g. there are only 8100 two-digit additions), so the problem space itself is partitioned
// too: every problem has a key (its mathematical core, e.g. "add 47 26"; a word problem's key is its
// formula, whatever the story), and a seed of split S only accepts a problem whose key hashes into S's
// share (train 90%, val 5%, test 5%; it redraws otherwise). So no test question, not even a re-worded
// one, can appear in train or val, at any seed.
//
// Thread-safety: all functions are pure (no global state); call them from any thread.
// Errors: bad names, seeds outside the ranges and invalid Difficulty knobs throw muse::Error
// (kInvalidArgument) with a message naming the value and the accepted ones.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace muse::train {

enum class Family { kAdd, kSub, kMul, kChain, kWord, kList, kDiv, kSort };
// The six families of the suites ("all").
inline constexpr std::array<Family, 6> kAllFamilies = {Family::kAdd,   Family::kSub,  Family::kMul,
                                                       Family::kChain, Family::kWord, Family::kList};
// The practice families, named only explicitly (a training config's data.families).
inline constexpr std::array<Family, 2> kPracticeFamilies = {Family::kDiv, Family::kSort};

const char* family_name(Family family);
// "add" | "sub" | "mul" | "chain" | "word" | "list" | "div" | "sort". Throws kInvalidArgument listing the
// families.
Family parse_family(std::string_view name);
// "all" (the six suite families) or a comma-separated list of family names ("add,mul", "word,div");
// duplicates are kept once, in order.
std::vector<Family> parse_families(std::string_view spec);

// The standard difficulty levels. hard has more digits, steps and list items than standard; muse-nano
// trained on easy and standard only up to stage 14, and on one hard problem in six from stage 15 (docs/
// tasks.md). kCustom marks edited knobs.
enum class Level { kEasy, kStandard, kHard, kCustom };
const char* level_name(Level level);
Level parse_level(std::string_view name);  // "easy" | "standard" | "hard"

// The difficulty knobs. Each [min, max] pair is sampled uniformly per problem.
struct Difficulty {
  Level level = Level::kStandard;
  int min_digits = 2, max_digits = 4;  // add/sub operands, mul first factor, list "compare" numbers (2..9)
  int max_factor_digits = 2;           // mul second factor has 1..this digits (<= the first's)
  int min_steps = 2, max_steps = 4;    // chain operations, word-problem steps (1..8)
  int operand_digits = 2;              // chain operands and word quantities have 1..this digits (1..4)
  int min_list = 4, max_list = 7;      // list length (2..20)
  int list_digits = 2;                 // list numbers have 1..this digits (1..6)
};
// The presets (see docs/tasks.md for the table).
Difficulty difficulty_preset(Level level);
// Throws kInvalidArgument naming the first knob out of its range (the ranges are in the comments above).
void validate_difficulty(const Difficulty& difficulty);

enum class Split { kTrain, kVal, kTest };
const char* split_name(Split split);
Split parse_split(std::string_view name);  // "train" | "val" | "test"

inline constexpr uint64_t kSplitSeedSpan = uint64_t{1} << 40;
// First seed of a split's range; the range is [base, base + kSplitSeedSpan).
uint64_t split_seed_base(Split split);
// The split a seed belongs to. Throws kInvalidArgument for seeds past the test range.
Split split_of_seed(uint64_t seed);
// The split a problem key belongs to (the 90/5/5 hash partition described above).
Split split_of_key(std::string_view key);

// How `muse eval` compares an extracted answer with the reference (tasks_check.h). Every family here
// uses kNumeric; the others exist for suites written by hand.
enum class Checker { kNumeric, kExact, kRegex };
const char* checker_name(Checker checker);
Checker parse_checker(std::string_view name);  // "numeric" | "exact" | "regex"

struct Problem {
  Family family = Family::kAdd;
  Level level = Level::kStandard;
  uint64_t seed = 0;
  std::string question;      // natural text, one paragraph
  std::string answer;        // canonical: "1234" or "3, 5, 8"
  std::string trace;         // reference reasoning, one sentence group per line, ends with the result
  std::string short_answer;  // "The answer is <answer>."
  std::string key;           // the problem's mathematical core (split partition, dedup)
  Checker checker = Checker::kNumeric;
};

// Generates the problem of `family` at `difficulty` for `seed`; its split is split_of_seed(seed).
// Throws kInvalidArgument for an invalid difficulty or a seed outside every split range.
Problem generate(Family family, const Difficulty& difficulty, uint64_t seed);

// The one fixed answer form: "The answer is " + answer + ".".
std::string answer_line(std::string_view answer);

// Varied verbosity for SFT traces, so that the model's own samples differ in length and RL with a length
// penalty has shorter ones to reinforce (docs/thought-compression.md). restyle_trace drops each line that
// only restates the problem, announces a method or re-checks the work ("We need to ...", "Let me line up
// ...", "The rule: ...", "Let me double-check ...") with probability drop_lines, and writes each worked-out
// step ("45 + 18: ones 5+8=13, tens 4+1+1=6, so 45 + 18 = 63") as its one-line result ("45 + 18 = 63")
// with probability one_shot_steps. With probability compact_columns, a written method's column lines
// ("Ones: 4 + 1 = 5. Write 5, carry 0." ... or "8 * 4 = 32. Write 2, carry 3." ...) and the "So x op y = z."
// that closes them become one worked-out line ("x op y: ones 4+1=5, ..., so x op y = z."): the same
// digit facts in a third of the tokens. The last line (the result) always stays, and so does every
// equation's truth.
// With probability `careful` (drawn once per trace, before the other knobs), the trace is instead
// written the careful, verbose way: the reference trace, opened by kCarefulLine, with every step line
// (each line that holds a digit, other than the optional lines and the last line) checked a second time
// on the next line as kCheckPrefix + the same line. The other knobs then do not apply. A mix of careful
// and terse traces gives a start policy with two ways to reason that reach the same answer, one about
// twice as long: what RL with a length penalty has to find (docs/thought-compression.md).
// Deterministic in `seed`; all-zero probabilities return the trace unchanged.
inline constexpr std::string_view kCarefulLine = "I will be careful and check every step twice.";
inline constexpr std::string_view kCheckPrefix = "Check: ";
struct TraceStyle {
  double drop_lines = 0.0;
  double one_shot_steps = 0.0;
  double compact_columns = 0.0;
  double careful = 0.0;
  void validate() const;  // each in [0, 1]; throws kInvalidArgument naming the field
};
std::string restyle_trace(std::string_view trace, const TraceStyle& style, uint64_t seed);

}  // namespace muse::train
