// train::Tasks: names, difficulty presets, seed ranges and the split partition, and the dispatcher.
#include "train/tasks.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <regex>
#include <utility>

#include "core/error.h"
#include "train/tasks_gen.h"
#include "train/tasks_rng.h"

namespace muse::train {

namespace {

std::string family_list() {
  std::string out;
  for (Family f : kAllFamilies) {
    if (!out.empty()) out += ", ";
    out += family_name(f);
  }
  out += " (or 'all'), and for training only: ";
  for (Family f : kPracticeFamilies) {
    out += fmt::format("{}{}", f == kPracticeFamilies[0] ? "" : ", ", family_name(f));
  }
  return out;
}

// Per-mille shares of the key-hash partition: train [0, 900), val [900, 950), test [950, 1000).
constexpr uint64_t kTrainShare = 900;
constexpr uint64_t kValShare = 50;

// Redraw budget per problem. The test share is 5%, so a fresh key lands there with p = 0.05 and 2000
// draws all miss with p = 0.95^2000 < 1e-44; reaching it means a generator has (almost) no keys in
// that split at this difficulty, which is a bug, not bad luck.
constexpr int kMaxRedraws = 2000;

}  // namespace

const char* family_name(Family family) {
  switch (family) {
    case Family::kAdd: return "add";
    case Family::kSub: return "sub";
    case Family::kMul: return "mul";
    case Family::kChain: return "chain";
    case Family::kWord: return "word";
    case Family::kList: return "list";
    case Family::kDiv: return "div";
    case Family::kSort: return "sort";
  }
  return "?";
}

Family parse_family(std::string_view name) {
  for (Family f : kAllFamilies) {
    if (name == family_name(f)) return f;
  }
  for (Family f : kPracticeFamilies) {
    if (name == family_name(f)) return f;
  }
  fail(ErrorCode::kInvalidArgument, "unknown task family '{}'; the families are: {}", name, family_list());
}

std::vector<Family> parse_families(std::string_view spec) {
  if (spec == "all") return {kAllFamilies.begin(), kAllFamilies.end()};
  std::vector<Family> out;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t comma = spec.find(',', start);
    if (comma == std::string_view::npos) comma = spec.size();
    const Family f = parse_family(spec.substr(start, comma - start));
    bool seen = false;
    for (Family g : out) seen = seen || g == f;
    if (!seen) out.push_back(f);
    start = comma + 1;
  }
  return out;
}

const char* level_name(Level level) {
  switch (level) {
    case Level::kEasy: return "easy";
    case Level::kStandard: return "standard";
    case Level::kHard: return "hard";
    case Level::kCustom: return "custom";
  }
  return "?";
}

Level parse_level(std::string_view name) {
  for (Level l : {Level::kEasy, Level::kStandard, Level::kHard}) {
    if (name == level_name(l)) return l;
  }
  fail(ErrorCode::kInvalidArgument, "unknown difficulty '{}'; the levels are: easy, standard, hard", name);
}

Difficulty difficulty_preset(Level level) {
  Difficulty d;
  d.level = level;
  switch (level) {
    case Level::kEasy:
      d.min_digits = 2, d.max_digits = 2, d.max_factor_digits = 1;
      d.min_steps = 2, d.max_steps = 2, d.operand_digits = 1;
      d.min_list = 3, d.max_list = 4, d.list_digits = 2;
      break;
    case Level::kStandard:
    case Level::kCustom:
      d.min_digits = 2, d.max_digits = 4, d.max_factor_digits = 2;
      d.min_steps = 2, d.max_steps = 4, d.operand_digits = 2;
      d.min_list = 4, d.max_list = 7, d.list_digits = 2;
      break;
    case Level::kHard:
      d.min_digits = 5, d.max_digits = 6, d.max_factor_digits = 3;
      d.min_steps = 5, d.max_steps = 5, d.operand_digits = 3;
      d.min_list = 9, d.max_list = 10, d.list_digits = 3;
      break;
  }
  return d;
}

void validate_difficulty(const Difficulty& d) {
  auto check = [](std::string_view knob, int lo, int hi, int min_ok, int max_ok) {
    if (lo < min_ok || hi > max_ok || lo > hi) {
      fail(ErrorCode::kInvalidArgument, "difficulty: {} is {}..{}; it must lie in {}..{} with min <= max",
           knob, lo, hi, min_ok, max_ok);
    }
  };
  check("digits", d.min_digits, d.max_digits, 2, 9);
  check("factor digits", 1, d.max_factor_digits, 1, 9);
  if (d.max_factor_digits > d.min_digits) {
    fail(ErrorCode::kInvalidArgument, "difficulty: factor digits {} exceeds min digits {}",
         d.max_factor_digits, d.min_digits);
  }
  check("steps", d.min_steps, d.max_steps, 1, 8);
  check("operand digits", 1, d.operand_digits, 1, 4);
  check("list length", d.min_list, d.max_list, 2, 20);
  check("list digits", 1, d.list_digits, 1, 6);
}

const char* split_name(Split split) {
  switch (split) {
    case Split::kTrain: return "train";
    case Split::kVal: return "val";
    case Split::kTest: return "test";
  }
  return "?";
}

Split parse_split(std::string_view name) {
  for (Split s : {Split::kTrain, Split::kVal, Split::kTest}) {
    if (name == split_name(s)) return s;
  }
  fail(ErrorCode::kInvalidArgument, "unknown split '{}'; the splits are: train, val, test", name);
}

uint64_t split_seed_base(Split split) { return static_cast<uint64_t>(split) * kSplitSeedSpan; }

Split split_of_seed(uint64_t seed) {
  if (seed < kSplitSeedSpan) return Split::kTrain;
  if (seed < 2 * kSplitSeedSpan) return Split::kVal;
  if (seed < 3 * kSplitSeedSpan) return Split::kTest;
  fail(ErrorCode::kInvalidArgument, "seed {} is past the test range [{}, {})", seed, 2 * kSplitSeedSpan,
       3 * kSplitSeedSpan);
}

Split split_of_key(std::string_view key) {
  const uint64_t bucket = hash_text(key) % 1000;
  if (bucket < kTrainShare) return Split::kTrain;
  if (bucket < kTrainShare + kValShare) return Split::kVal;
  return Split::kTest;
}

const char* checker_name(Checker checker) {
  switch (checker) {
    case Checker::kNumeric: return "numeric";
    case Checker::kExact: return "exact";
    case Checker::kRegex: return "regex";
  }
  return "?";
}

Checker parse_checker(std::string_view name) {
  for (Checker c : {Checker::kNumeric, Checker::kExact, Checker::kRegex}) {
    if (name == checker_name(c)) return c;
  }
  fail(ErrorCode::kInvalidArgument, "unknown checker '{}'; the checkers are: numeric, exact, regex", name);
}

std::string answer_line(std::string_view answer) { return fmt::format("The answer is {}.", answer); }

Problem generate(Family family, const Difficulty& difficulty, uint64_t seed) {
  validate_difficulty(difficulty);
  const Split split = split_of_seed(seed);
  // The stream depends on the family and every knob too, so "add" and "mul" at one seed are unrelated.
  const Difficulty& d = difficulty;
  TaskRng rng(hash_text(fmt::format("{} {} {}-{} {} {}-{} {} {}-{} {}", seed, family_name(family), d.min_digits,
                                    d.max_digits, d.max_factor_digits, d.min_steps, d.max_steps,
                                    d.operand_digits, d.min_list, d.max_list, d.list_digits)));
  for (int attempt = 0; attempt < kMaxRedraws; ++attempt) {
    detail::Draft draft;
    switch (family) {
      case Family::kAdd: draft = detail::generate_add(rng, difficulty); break;
      case Family::kSub: draft = detail::generate_sub(rng, difficulty); break;
      case Family::kMul: draft = detail::generate_mul(rng, difficulty); break;
      case Family::kChain: draft = detail::generate_chain(rng, difficulty); break;
      case Family::kWord: draft = detail::generate_word(rng, difficulty); break;
      case Family::kList: draft = detail::generate_list(rng, difficulty); break;
      case Family::kDiv: draft = detail::generate_div(rng, difficulty); break;
      case Family::kSort: draft = detail::generate_sort(rng, difficulty); break;
    }
    if (split_of_key(draft.key) != split) continue;
    Problem p;
    p.family = family;
    p.level = difficulty.level;
    p.seed = seed;
    p.question = std::move(draft.question);
    p.answer = std::move(draft.answer);
    p.trace = std::move(draft.trace);
    p.short_answer = answer_line(p.answer);
    p.key = std::move(draft.key);
    p.checker = Checker::kNumeric;
    return p;
  }
  fail(ErrorCode::kInvalidArgument, "{} at difficulty {}: no problem of split {} found in {} draws (the "
       "knobs leave too few distinct problems)", family_name(family), level_name(difficulty.level),
       split_name(split), kMaxRedraws);
}

namespace detail {

int64_t random_with_digits(TaskRng& rng, int digits, bool allow_zero) {
  MUSE_ASSERT(digits >= 1 && digits <= 18);
  int64_t lo = 1;
  for (int i = 1; i < digits; ++i) lo *= 10;
  const int64_t hi = lo * 10 - 1;
  if (digits == 1 && allow_zero) lo = 0;
  return rng.range(lo, hi);
}

int64_t random_up_to_digits(TaskRng& rng, int max_digits, int64_t min_value) {
  MUSE_ASSERT(max_digits >= 1);
  int64_t v;
  do {
    v = random_with_digits(rng, static_cast<int>(rng.range(1, max_digits)), true);
  } while (v < min_value);
  return v;
}

std::vector<int> digits_lsb_first(int64_t v) {
  MUSE_ASSERT(v >= 0);
  std::vector<int> out;
  do {
    out.push_back(static_cast<int>(v % 10));
    v /= 10;
  } while (v > 0);
  return out;
}

int digit_count(int64_t v) { return static_cast<int>(digits_lsb_first(v < 0 ? -v : v).size()); }

int64_t pow10(int n) {
  int64_t p = 1;
  while (n-- > 0) p *= 10;
  return p;
}

std::string place_name(int place) {
  static const char* const kNames[] = {"ones",         "tens",          "hundreds",
                                       "thousands",    "ten thousands", "hundred thousands",
                                       "millions",     "ten millions",  "hundred millions",
                                       "billions",     "ten billions",  "hundred billions",
                                       "trillions",    "ten trillions", "hundred trillions",
                                       "quadrillions", "ten quadrillions", "hundred quadrillions",
                                       "quintillions"};  // 19 places: every int64_t
  MUSE_ASSERT(place >= 0 && place < static_cast<int>(std::size(kNames)));
  return kNames[place];
}

std::string place_title(int place) {
  std::string s = place_name(place);
  s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

std::string join_numbers(const std::vector<int64_t>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(values[i]);
  }
  return out;
}

}  // namespace detail
void TraceStyle::validate() const {
  const std::pair<const char*, double> knobs[] = {
      {"drop_lines", drop_lines}, {"one_shot_steps", one_shot_steps}, {"compact_columns", compact_columns},
      {"careful", careful}};
  for (const auto& [name, p] : knobs) {
    if (!(p >= 0.0 && p <= 1.0)) {
      fail(ErrorCode::kInvalidArgument, "trace_style.{}: must be in [0, 1] (got {})", name, p);
    }
  }
}

namespace {

// A line of a written method: "Ones: ...", "Ten thousands: ...", kDropZerosLine (addition, subtraction)
// or "8 * 4 = 32. Write 2, carry 3." (a digit of a multiplication).
bool is_column_line(std::string_view l) {
  static const std::regex kDigit(R"(^\d \* \d = \d+\. )");
  if (l == detail::kDropZerosLine) return true;
  for (int place = 0; place < 19; ++place) {
    const std::string head = detail::place_title(place) + ": ";
    if (l.rfind(head, 0) == 0) return true;
  }
  return std::regex_search(l.begin(), l.end(), kDigit);
}

// Column lines followed by "So x op y = z.rest" become "<worked x op y>.rest" (with probability p).
void compact_written_methods(std::vector<std::string>& lines, double p, const std::function<bool(double)>& coin) {
  static const std::regex kSo(R"(^So (\d{1,18}) ([-+*]) (\d{1,18}) = (\d+)\.(.*)$)");
  std::vector<std::string> out;
  for (std::string& l : lines) {
    std::smatch m;
    size_t cols = 0;
    while (cols < out.size() && is_column_line(out[out.size() - 1 - cols])) ++cols;
    if (cols > 0 && std::regex_match(l, m, kSo) && coin(p)) {
      const std::string w = detail::worked(std::stoll(m[1].str()), m[2].str()[0], std::stoll(m[3].str()));
      const std::string tail = "so " + m[1].str() + " " + m[2].str() + " " + m[3].str() + " = " + m[4].str();
      if (w.size() >= tail.size() && w.compare(w.size() - tail.size(), tail.size(), tail) == 0) {
        out.resize(out.size() - cols);
        out.push_back(w + "." + m[5].str());
        continue;
      }
    }
    out.push_back(std::move(l));
  }
  lines = std::move(out);
}

}  // namespace

std::string restyle_trace(std::string_view trace, const TraceStyle& style, uint64_t seed) {
  style.validate();
  if (style.drop_lines == 0.0 && style.one_shot_steps == 0.0 && style.compact_columns == 0.0 &&
      style.careful == 0.0) {
    return std::string(trace);
  }
  // The lines that restate, announce or re-check: what a terse reasoner leaves out.
  static const char* const kOptional[] = {"We need ",
                                          "Let me line up ",
                                          "Let me multiply each digit ",
                                          "Let me go through ",
                                          "Let me sort by the ",
                                          "Let me check each number ",
                                          "They have the same number of digits",
                                          "The rule: ",
                                          "Let me restate the problem",
                                          "The question asks ",
                                          "Let me double-check"};
  // A worked-out step as detail::worked writes it: "x op y: columns, so x op y = z".
  static const std::regex kWorked(R"((\d+ [-+*/] \d+): [^\n]*?, so \1 = (\d+))");
  TaskRng rng(seed ^ 0x5D1E7A11C0FFEEull);
  const auto coin = [&](double p) { return p > 0.0 && static_cast<double>(rng.range(0, 999999)) < p * 1e6; };
  std::vector<std::string> lines;
  for (size_t start = 0; start < trace.size();) {
    size_t nl = trace.find('\n', start);
    if (nl == std::string_view::npos) nl = trace.size();
    lines.emplace_back(trace.substr(start, nl - start));
    start = nl + 1;
  }
  const auto is_optional = [](std::string_view l) {
    bool optional = false;
    for (const char* p : kOptional) optional = optional || l.rfind(p, 0) == 0;
    return optional;
  };
  if (coin(style.careful)) {
    std::string out(kCarefulLine);
    out += '\n';
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::string& l = lines[i];
      out += l;
      out += '\n';
      const bool step = i + 1 < lines.size() && !is_optional(l) &&
                        std::any_of(l.begin(), l.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (step) {
        out += kCheckPrefix;
        out += l;
        out += '\n';
      }
    }
    if (!trace.empty() && trace.back() != '\n') out.pop_back();
    return out;
  }
  if (style.compact_columns > 0.0) compact_written_methods(lines, style.compact_columns, coin);
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string_view l = lines[i];
    const bool last = i + 1 == lines.size();
    if (is_optional(l) && !last && coin(style.drop_lines)) continue;
    std::string text(l);
    if (style.one_shot_steps > 0.0 && text.find(", so ") != std::string::npos) {
      std::string shortened;
      size_t done = 0;
      for (std::sregex_iterator it(text.begin(), text.end(), kWorked), end; it != end; ++it) {
        const std::smatch& m = *it;
        shortened.append(text, done, static_cast<size_t>(m.position(0)) - done);
        shortened += coin(style.one_shot_steps) ? m[1].str() + " = " + m[2].str() : m[0].str();
        done = static_cast<size_t>(m.position(0) + m.length(0));
      }
      shortened.append(text, done, std::string::npos);
      text = std::move(shortened);
    }
    out += text;
    out += '\n';
  }
  if (!trace.empty() && trace.back() != '\n') out.pop_back();
  return out;
}

}  // namespace muse::train
