// The word family: GSM8K in miniature. One person's stock of something (apples, kilograms of rice,
// dollars) changes over 2-4 steps; the question asks how much is left at the end.
//
// A story is a start and a list of steps. Each kind of step has several phrasings per kind of stock
// (goods or money); every number in a question is written in digits, so the multiset of numbers in the
// question is exactly the one in the problem's formula. The trace restates each step in a small fixed
// vocabulary ("This adds 18." / "This takes away 15." / "3 groups of 6 make 3 * 6 = 18.") and ends by
// re-evaluating the whole story as one expression, which is also the problem's key.
#include <fmt/format.h>

#include <algorithm>

#include "train/tasks_gen.h"

namespace muse::train::detail {

namespace {

const char* const kNames[] = {"Anna", "Ben",  "Carla", "David", "Emma", "Finn", "Grace", "Hugo",
                              "Ivy",  "Jack", "Kate",  "Leo",   "Maya", "Noah", "Olivia", "Paul",
                              "Rosa", "Sam",  "Tara",  "Omar",  "Lily", "Max",  "Nina",  "Tom"};

struct Stock {
  const char* noun;    // what is counted, plural: "apples", "kilograms of rice", "dollars"
  const char* thing;   // the stock as a whole: "apples", "rice", "money"
  const char* group;   // goods: the container ("bag"); money: the thing bought ("book")
  const char* groups;  // plural of group
  bool money;
};

const Stock kStocks[] = {
    {"apples", "apples", "bag", "bags", false},
    {"marbles", "marbles", "jar", "jars", false},
    {"stickers", "stickers", "pack", "packs", false},
    {"pencils", "pencils", "box", "boxes", false},
    {"cookies", "cookies", "box", "boxes", false},
    {"cards", "cards", "pack", "packs", false},
    {"shells", "shells", "bucket", "buckets", false},
    {"beads", "beads", "bag", "bags", false},
    {"eggs", "eggs", "carton", "cartons", false},
    {"books", "books", "box", "boxes", false},
    {"kilograms of rice", "rice", "bag", "bags", false},
    {"liters of juice", "juice", "bottle", "bottles", false},
    {"meters of rope", "rope", "roll", "rolls", false},
    {"meters of ribbon", "ribbon", "roll", "rolls", false},
    {"dollars", "money", "book", "books", true},
    {"dollars", "money", "toy", "toys", true},
    {"dollars", "money", "ticket", "tickets", true},
    {"dollars", "money", "pen", "pens", true},
    {"dollars", "money", "cake", "cakes", true},
    {"dollars", "money", "notebook", "notebooks", true},
};

// Placeholders: {N} the person, {O} another person, {obj} the stock noun, {thing} the stock as a
// whole, {c}/{cs} the group word,
// {x} {y} {n} {k} {m} numbers.
const char* const kStartHas[] = {"{N} has {x} {obj}.", "At first, {N} has {x} {obj}.", "{N} starts with {x} {obj}."};
const char* const kStartMore[] = {"{O} has {y} {obj}. {N} has {n} more {obj} than {O}."};
const char* const kStartFewer[] = {"{O} has {y} {obj}. {N} has {n} fewer {obj} than {O}."};
const char* const kStartTimes[] = {"{O} has {y} {obj}. {N} has {k} times as many {obj} as {O}."};

const char* const kGoodsGain[] = {"{N} buys {n} more {obj}.", "{N} finds {n} more {obj}.",
                                  "{O} gives {N} {n} more {obj}.", "{N} gets {n} more {obj} from {O}."};
const char* const kGoodsLose[] = {"{N} gives {n} {obj} to {O}.", "{N} loses {n} {obj}.", "{N} sells {n} {obj}.",
                                  "{N} uses {n} {obj}."};
const char* const kGoodsGroupGain[] = {"{N} buys {k} {cs} with {m} {obj} in each {c}.",
                                       "{O} gives {N} {k} {cs} with {m} {obj} in each {c}."};
const char* const kGoodsGroupLose[] = {"{N} gives {k} friends {m} {obj} each.",
                                       "{N} sells {k} {cs} with {m} {obj} in each {c}."};
const char* const kMoneyGain[] = {"{N} earns {n} more dollars.", "{O} gives {N} {n} more dollars.",
                                  "{N} finds {n} more dollars."};
const char* const kMoneyLose[] = {"{N} spends {n} dollars on a {c}.", "{N} pays {n} dollars for a {c}.",
                                  "{N} gives {n} dollars to {O}."};
const char* const kMoneyGroupGain[] = {"{N} works {k} hours and earns {m} dollars each hour.",
                                       "{N} sells {k} {cs} for {m} dollars each."};
const char* const kMoneyGroupLose[] = {"{N} buys {k} {cs} that cost {m} dollars each.",
                                       "{N} pays for {k} {cs} at {m} dollars each."};
const char* const kTimes[] = {"{N} now has {k} times as many {obj} as before.",
                              "After a week, {N} has {k} times as many {obj} as before."};
const char* const kShare[] = {"{N} splits the {thing} into {k} equal parts and keeps one part.",
                              "{N} shares the {thing} equally among {k} people, {N} included, and keeps one share."};
const char* const kAsk[] = {"How many {obj} does {N} have now?", "How many {obj} does {N} have at the end?"};
const char* const kAskAfterLoss[] = {"How many {obj} does {N} have left?"};

// A start amount has the full operand_digits digits (at least 3), so that losses have room. Amounts
// that change hands are at least 2 ("1 more apples" reads badly and teaches nothing).
int64_t start_amount(TaskRng& rng, int digits) {
  int64_t v;
  do {
    v = random_with_digits(rng, digits);
  } while (v < 3);
  return v;
}

enum class StepKind { kGain, kLose, kGroupGain, kGroupLose, kTimes, kShare };

struct Story {
  const Stock* stock;
  const char* name;
  const char* other;
  std::vector<std::string> sentences;
  std::string trace;
  std::string formula;
  bool formula_additive = false;  // formula's top level is + or - (so * and / need parentheses)
  int64_t value = 0;

  std::string fill(const char* tpl, int64_t x = 0, int64_t y = 0, int64_t n = 0, int64_t k = 0, int64_t m = 0) const {
    return fmt::format(fmt::runtime(tpl), fmt::arg("N", name), fmt::arg("O", other), fmt::arg("obj", stock->noun), fmt::arg("thing", stock->thing),
                       fmt::arg("c", stock->group), fmt::arg("cs", stock->groups), fmt::arg("x", x),
                       fmt::arg("y", y), fmt::arg("n", n), fmt::arg("k", k), fmt::arg("m", m));
  }
  void now(std::string& s) const { s += fmt::format(" Now {} has {} {}.", name, value, stock->noun); }
};

}  // namespace

Draft generate_word(TaskRng& rng, const Difficulty& d) {
  int64_t max_amount = 1;
  for (int i = 0; i < d.operand_digits; ++i) max_amount *= 10;
  --max_amount;                                     // largest amount with operand_digits digits
  const int64_t times_limit = (max_amount + 1) * 100;  // "k times as many" only while below this

  Story st;
  st.stock = &rng.pick(kStocks);
  st.name = rng.pick(kNames);
  do {
    st.other = rng.pick(kNames);
  } while (st.other == st.name);
  const bool money = st.stock->money;
  std::string& t = st.trace;

  int steps_left = static_cast<int>(rng.range(d.min_steps, d.max_steps));
  line(t, "Let me restate the problem step by step.");
  // The start: a plain amount, or (counting as one step) an amount relative to someone else's.
  const int64_t start_kind = steps_left >= 1 ? rng.range(0, 5) : 0;
  if (start_kind <= 2) {
    st.value = start_amount(rng, d.operand_digits);
    st.sentences.push_back(st.fill(rng.pick(kStartHas), st.value));
    st.formula = std::to_string(st.value);
    line(t, fmt::format("{} starts with {} {}.", st.name, st.value, st.stock->noun));
  } else {
    --steps_left;
    const int64_t y = start_amount(rng, d.operand_digits);
    std::string s = fmt::format("{} has {} {}. ", st.other, y, st.stock->noun);
    if (start_kind == 3) {
      const int64_t n = rng.range(2, max_amount);
      st.value = y + n;
      st.sentences.push_back(st.fill(rng.pick(kStartMore), 0, y, n));
      st.formula = fmt::format("{} + {}", y, n);
      st.formula_additive = true;
      s += fmt::format("{} has {} more, so {}.", st.name, n, worked(y, '+', n));
    } else if (start_kind == 4) {
      const int64_t n = rng.range(2, y - 1);
      st.value = y - n;
      st.sentences.push_back(st.fill(rng.pick(kStartFewer), 0, y, n));
      st.formula = fmt::format("{} - {}", y, n);
      st.formula_additive = true;
      s += fmt::format("{} has {} fewer, so {}.", st.name, n, worked(y, '-', n));
    } else {
      const int64_t k = rng.range(2, 4);
      st.value = y * k;
      st.sentences.push_back(st.fill(rng.pick(kStartTimes), 0, y, 0, k));
      st.formula = fmt::format("{} * {}", y, k);
      s += fmt::format("{} has {} times as many, so {}.", st.name, k, worked(y, '*', k));
    }
    st.now(s);
    line(t, s);
  }

  bool last_was_loss = false;
  for (int step = 1; step <= steps_left; ++step) {
    // Draw a kind of step until one fits the current amount (a loss needs something to lose, a
    // share needs a divisor). A gain always fits, so this ends.
    for (;;) {
      const int64_t r = rng.range(0, 99);
      const StepKind kind = r < 25   ? StepKind::kGain
                            : r < 50 ? StepKind::kLose
                            : r < 65 ? StepKind::kGroupGain
                            : r < 80 ? StepKind::kGroupLose
                            : r < 90 ? StepKind::kTimes
                                     : StepKind::kShare;
      const int64_t cur = st.value;
      std::string s = fmt::format("Step {}: ", step);
      if (kind == StepKind::kGain) {
        const int64_t n = random_up_to_digits(rng, d.operand_digits, 2);
        st.sentences.push_back(st.fill(money ? rng.pick(kMoneyGain) : rng.pick(kGoodsGain), 0, 0, n));
        st.value = cur + n;
        st.formula += fmt::format(" + {}", n);
        s += fmt::format("This adds {}. {}.", n, worked(cur, '+', n));
      } else if (kind == StepKind::kLose) {
        if (cur < 3) continue;
        const int64_t n = rng.range(2, std::min(cur - 1, max_amount));
        st.sentences.push_back(st.fill(money ? rng.pick(kMoneyLose) : rng.pick(kGoodsLose), 0, 0, n));
        st.value = cur - n;
        st.formula += fmt::format(" - {}", n);
        s += fmt::format("This takes away {}. {}.", n, worked(cur, '-', n));
      } else if (kind == StepKind::kGroupGain || kind == StepKind::kGroupLose) {
        const bool gain = kind == StepKind::kGroupGain;
        int64_t k, m;
        if (gain) {
          k = rng.range(2, 9);
          m = random_up_to_digits(rng, d.operand_digits, 2);
        } else {
          // k * m < cur, so something is left.
          if (cur < 5) continue;
          k = rng.range(2, std::min<int64_t>(9, (cur - 1) / 2));
          m = rng.range(2, std::min(max_amount, (cur - 1) / k));
        }
        const char* tpl = money ? (gain ? rng.pick(kMoneyGroupGain) : rng.pick(kMoneyGroupLose))
                                : (gain ? rng.pick(kGoodsGroupGain) : rng.pick(kGoodsGroupLose));
        st.sentences.push_back(st.fill(tpl, 0, 0, 0, k, m));
        const int64_t p = k * m;
        st.value = gain ? cur + p : cur - p;
        st.formula += fmt::format(" {} {} * {}", gain ? '+' : '-', k, m);
        s += fmt::format("{} groups of {} make {}. ", k, m, worked(k, '*', m));
        s += gain ? fmt::format("This adds {}. {}.", p, worked(cur, '+', p))
                  : fmt::format("This takes away {}. {}.", p, worked(cur, '-', p));
      } else if (kind == StepKind::kTimes) {
        const int64_t k = rng.range(2, 4);
        if (cur * k > times_limit) continue;
        st.sentences.push_back(st.fill(rng.pick(kTimes), 0, 0, 0, k));
        st.value = cur * k;
        st.formula = st.formula_additive ? fmt::format("({}) * {}", st.formula, k) : fmt::format("{} * {}", st.formula, k);
        s += fmt::format("{} has {} times as many. {}.", st.name, k, worked(cur, '*', k));
      } else {
        std::vector<int64_t> divisors;
        for (int64_t k = 2; k <= 5; ++k) {
          if (cur % k == 0) divisors.push_back(k);
        }
        if (divisors.empty()) continue;
        const int64_t k = divisors[rng.index(divisors.size())];
        st.sentences.push_back(st.fill(rng.pick(kShare), 0, 0, 0, k));
        st.value = cur / k;
        st.formula = st.formula_additive ? fmt::format("({}) / {}", st.formula, k) : fmt::format("{} / {}", st.formula, k);
        s += fmt::format("{} keeps 1 of {} equal parts. {}.", st.name, k, worked(cur, '/', k));
      }
      if (kind == StepKind::kGain || kind == StepKind::kLose || kind == StepKind::kGroupGain ||
          kind == StepKind::kGroupLose) {
        st.formula_additive = true;
      } else {
        st.formula_additive = false;
      }
      last_was_loss = kind == StepKind::kLose || kind == StepKind::kGroupLose;
      // Restate the sentence of the question this step comes from, then the math.
      s.insert(s.find(':') + 2, st.sentences.back() + " ");
      st.now(s);
      line(t, s);
      break;
    }
  }
  const char* ask = last_was_loss && rng.chance(1, 3) ? rng.pick(kAskAfterLoss) : rng.pick(kAsk);
  st.sentences.push_back(st.fill(ask));
  line(t, fmt::format("The question asks how many {} {} has at the end.", st.stock->noun, st.name));
  line(t, fmt::format("Let me double-check with one expression: {} = {}. Correct.", st.formula, st.value));
  line(t, fmt::format("So the result is {}.", st.value));

  Draft out;
  for (const std::string& s : st.sentences) out.question += (out.question.empty() ? "" : " ") + s;
  out.answer = std::to_string(st.value);
  out.key = "word " + st.formula;
  out.trace = std::move(st.trace);
  return out;
}

}  // namespace muse::train::detail
