// The list family: comparison, sorting and counting over short lists of numbers.
//
//   max / min  walk the list keeping the best so far ("87 is greater than 34. Now the largest is 87.")
//   sort       rounds over named numbers, each taking the best number past the last one taken
//              ("Round 2, smallest above 4: A 37 first; B 8 is less than 37, best 8; C 4 is not above;
//              D 70 is not less than 8. Take 8, count 1. Sorted 2 of 4: 4, 8.")
//   count      check each number against the condition (greater/less than k, even, odd) with a count
//   compare    the larger/smaller of two numbers: digit counts first, then digit by digit from the left
// Every comparison in a trace is spelled "a is greater than b" / "a is less than b" / "a is equal to b".
#include <fmt/format.h>

#include <algorithm>

#include "train/tasks_gen.h"

namespace muse::train::detail {

namespace {

std::string relation(int64_t a, int64_t b) {
  if (a > b) return fmt::format("{} is greater than {}", a, b);
  if (a < b) return fmt::format("{} is less than {}", a, b);
  return fmt::format("{} is equal to {}", a, b);
}

std::string digits_word(int n) { return n == 1 ? "1 digit" : fmt::format("{} digits", n); }

Draft extreme(TaskRng& rng, const std::vector<int64_t>& v, bool largest) {
  const std::string L = join_numbers(v);
  const char* word = largest ? "largest" : "smallest";
  static const char* const kQuestions[] = {"What is the {w} number in the list {L}?", "Find the {w} number: {L}.",
                                           "Which number is the {w}: {L}?"};
  Draft out;
  out.question = fmt::format(fmt::runtime(rng.pick(kQuestions)), fmt::arg("w", word), fmt::arg("L", L));
  out.key = fmt::format("list {} {}", largest ? "max" : "min", L);
  std::string& t = out.trace;
  line(t, fmt::format("We need the {} number in the list {}.", word, L));
  line(t, fmt::format("Let me go through the list and keep the {} number so far.", word));
  int64_t best = v[0];
  line(t, fmt::format("Start with {}.", best));
  for (size_t i = 1; i < v.size(); ++i) {
    const bool better = largest ? v[i] > best : v[i] < best;
    if (better) {
      line(t, fmt::format("{}. Now the {} is {}.", relation(v[i], best), word, v[i]));
      best = v[i];
    } else {
      line(t, fmt::format("{}. Keep {}.", relation(v[i], best), best));
    }
  }
  line(t, fmt::format("Let me double-check: the list has {} numbers, and none of them is {} than {}. Correct.",
                      v.size(), largest ? "greater" : "less", best));
  line(t, fmt::format("So the result is {}.", best));
  out.answer = std::to_string(best);
  return out;
}

// The name of the i-th number of a sort ("A", "B", ...): a single token, so each round can walk the
// numbers by name, in the alphabet's order, and find each value by its name (an exact key).
std::string sort_name(size_t i) { return std::string(1, static_cast<char>('A' + i)); }

Draft sort(TaskRng& rng, const std::vector<int64_t>& v, bool ascending) {
  const std::string L = join_numbers(v);
  const char* order = ascending ? "from smallest to largest" : "from largest to smallest";
  static const char* const kQuestions[] = {"Sort these numbers {o}: {L}.", "Put {L} in order {o}.",
                                           "Arrange the numbers {L} {o}."};
  Draft out;
  out.question = fmt::format(fmt::runtime(rng.pick(kQuestions)), fmt::arg("o", order), fmt::arg("L", L));
  out.key = fmt::format("list sort {} {}", ascending ? "asc" : "desc", L);
  std::string& t = out.trace;
  // A selection sort in rounds over named numbers, with no record of which numbers are taken: round r
  // takes the smallest number above the one round r - 1 took (all its copies, counted), so every decision
  // in a round is a comparison with a number written in that very line, the round's bound or the best so
  // far. Every round walks all the names in the alphabet's order (no line copies a list with an item left
  // out, and the place in the walk is a letter); the rounds end when all n numbers are sorted. muse-nano failed sorts that copy lists with an item left out, search a line by content,
  // resume an unnamed walk, or mark the numbers taken by earlier rounds (docs/muse-nano.md, stages 10-17).
  const char* word = ascending ? "smallest" : "largest";
  const char* bound_word = ascending ? "above" : "below";
  const char* better_word = ascending ? "less" : "greater";
  const size_t n = v.size();
  std::string names = fmt::format("Let me name the {} numbers:", n);
  for (size_t i = 0; i < n; ++i) names += fmt::format("{} {} is {}", i ? "," : "", sort_name(i), v[i]);
  line(t, names + ".");
  line(t, fmt::format("Each round takes the {} number {} the last one taken, with its copies.", word, bound_word));
  std::vector<int64_t> sorted;
  bool has_bound = false;
  int64_t bound = 0;
  for (size_t round = 1; sorted.size() < n; ++round) {
    std::string s = has_bound ? fmt::format("Round {}, {} {} {}:", round, word, bound_word, bound)
                              : fmt::format("Round {}, {}:", round, word);
    bool found = false;
    int64_t best = 0, count = 0;
    for (size_t i = 0; i < n; ++i) {
      s += fmt::format("{}{} {} ", i ? "; " : " ", sort_name(i), v[i]);
      const bool passes = !has_bound || (ascending ? v[i] > bound : v[i] < bound);
      if (!passes) {
        s += fmt::format("is not {}", bound_word);  // the bound heads this very line
      } else if (!found) {
        s += "first";
        found = true;
        best = v[i];
        count = 1;
      } else if (v[i] == best) {
        // The comparison asked is the round's own ("less than" for the smallest), true or not; copies are
        // counted, so that a round takes every copy of its number. (Only failing the bound is written out,
        // and without the bound, which keeps a 7-number sort inside the 1024-token context.)
        s += fmt::format("is equal to {}, count {}", best, ++count);
      } else if (ascending ? v[i] < best : v[i] > best) {
        s += fmt::format("is {} than {}, best {}", better_word, best, v[i]);
        best = v[i];
        count = 1;
      } else {
        s += fmt::format("is not {} than {}", better_word, best);
      }
    }
    for (int64_t c = 0; c < count; ++c) sorted.push_back(best);
    // How many are sorted, of how many, ends the rounds: a local count (the last one plus this count).
    line(t, fmt::format("{}. Take {}, count {}. Sorted {} of {}: {}.", s, best, count, sorted.size(), n,
                        join_numbers(sorted)));
    has_bound = true;
    bound = best;
  }
  line(t, fmt::format("Let me double-check: the result has {} numbers, like the list. Correct.", sorted.size()));
  line(t, fmt::format("So the result is {}.", join_numbers(sorted)));
  out.answer = join_numbers(sorted);
  return out;
}

Draft count(TaskRng& rng, const std::vector<int64_t>& v) {
  const std::string L = join_numbers(v);
  const int64_t kind = rng.range(0, 3);  // greater than, less than, even, odd
  int64_t k = 0;
  std::string cond;  // "greater than 40", "even"
  if (kind <= 1) {
    // A threshold inside the list's range, so the count is rarely all or nothing.
    k = rng.range(*std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()));
    cond = fmt::format("{} than {}", kind == 0 ? "greater" : "less", k);
  } else {
    cond = kind == 2 ? "even" : "odd";
  }
  static const char* const kThanQuestions[] = {"How many numbers in the list {L} are {c}?",
                                               "Count the numbers in the list {L} that are {c}."};
  static const char* const kParityQuestions[] = {"How many {c} numbers are in the list {L}?",
                                                 "Count the {c} numbers in the list {L}."};
  Draft out;
  out.question = fmt::format(fmt::runtime(kind <= 1 ? rng.pick(kThanQuestions) : rng.pick(kParityQuestions)),
                             fmt::arg("c", cond), fmt::arg("L", L));
  out.key = fmt::format("list count {} : {}", cond, L);
  std::string& t = out.trace;
  line(t, fmt::format("We need to count the numbers in the list {} that are {}.", L, cond));
  line(t, "Let me check each number and keep a count.");
  int64_t c = 0;
  std::vector<int64_t> matches;
  for (int64_t x : v) {
    bool hit;
    std::string why;
    if (kind <= 1) {
      hit = kind == 0 ? x > k : x < k;
      why = fmt::format("{} is {}{}", x, hit ? "" : "not ", cond);
    } else {
      const bool even = x % 2 == 0;
      hit = kind == 2 ? even : !even;
      why = fmt::format("{} ends in {}, so it is {}{}", x, x % 10, hit ? "" : "not ", cond);
    }
    if (hit) {
      ++c;
      matches.push_back(x);
    }
    line(t, fmt::format("{}. Count {}.", why, c));
  }
  if (matches.empty()) {
    line(t, fmt::format("Let me double-check: no number in the list is {}. That is 0 numbers. Correct.", cond));
  } else {
    line(t, fmt::format("Let me double-check: the numbers that are {} are {}. That is {} {}. Correct.", cond,
                        join_numbers(matches), c, c == 1 ? "number" : "numbers"));
  }
  line(t, fmt::format("So the result is {}.", c));
  out.answer = std::to_string(c);
  return out;
}

Draft compare(TaskRng& rng, const Difficulty& d) {
  const int na = static_cast<int>(rng.range(d.min_digits, d.max_digits));
  const int64_t a = random_with_digits(rng, na);
  int64_t b;
  if (rng.chance(1, 2)) {
    // Same length and a shared prefix, so the digit-by-digit walk has something to do: keep the
    // digits left of position p, change digit p, draw the rest.
    std::vector<int> digs = digits_lsb_first(a);
    const int p = static_cast<int>(rng.range(0, na - 1));  // from the left
    const int idx = na - 1 - p;
    int nd;
    do {
      nd = static_cast<int>(rng.range(p == 0 ? 1 : 0, 9));
    } while (nd == digs[idx]);
    digs[idx] = nd;
    for (int i = idx - 1; i >= 0; --i) digs[i] = static_cast<int>(rng.range(0, 9));
    b = 0;
    for (int i = na - 1; i >= 0; --i) b = b * 10 + digs[i];
  } else {
    do {
      b = random_with_digits(rng, static_cast<int>(rng.range(d.min_digits, d.max_digits)));
    } while (b == a);
  }
  const bool larger = rng.chance(1, 2);
  const char* word = larger ? "larger" : "smaller";
  static const char* const kQuestions[] = {"Which number is {w}, {a} or {b}?", "Which is {w}: {a} or {b}?",
                                           "Of {a} and {b}, which number is {w}?"};
  Draft out;
  out.question = fmt::format(fmt::runtime(rng.pick(kQuestions)), fmt::arg("w", word), fmt::arg("a", a),
                             fmt::arg("b", b));
  out.key = fmt::format("list compare {} {} {}", word, a, b);
  std::string& t = out.trace;
  const int64_t big = std::max(a, b), small = std::min(a, b);
  line(t, fmt::format("We need the {} of {} and {}.", word, a, b));
  const int nb = digit_count(b);
  line(t, fmt::format("{} has {}. {} has {}.", a, digits_word(na), b, digits_word(nb)));
  if (na != nb) {
    line(t, fmt::format("More digits means a greater number, so {}.", relation(a, b)));
  } else {
    line(t, "They have the same number of digits, so let me compare digit by digit from the left.");
    const std::vector<int> da = digits_lsb_first(a), db = digits_lsb_first(b);
    for (int i = na - 1; i >= 0; --i) {
      if (da[i] == db[i]) {
        line(t, fmt::format("{}: {} and {} are equal.", place_title(i), da[i], db[i]));
      } else {
        line(t, fmt::format("{}: {}, so {}.", place_title(i), relation(da[i], db[i]), relation(a, b)));
        break;
      }
    }
  }
  line(t, fmt::format("Let me double-check: {} - {} = {}, which is greater than 0. Correct.", big, small, big - small));
  const int64_t result = larger ? big : small;
  line(t, fmt::format("The {} number is {}.", word, result));
  line(t, fmt::format("So the result is {}.", result));
  out.answer = std::to_string(result);
  return out;
}

// A list of min_list..max_list numbers of 1..list_digits digits each.
std::vector<int64_t> random_list(TaskRng& rng, const Difficulty& d) {
  std::vector<int64_t> v(static_cast<size_t>(rng.range(d.min_list, d.max_list)));
  for (int64_t& x : v) x = random_up_to_digits(rng, d.list_digits, 1);
  return v;
}

}  // namespace

Draft generate_list(TaskRng& rng, const Difficulty& d) {
  const int64_t kind = rng.range(0, 4);
  if (kind == 4) return compare(rng, d);
  const std::vector<int64_t> v = random_list(rng, d);
  if (kind == 0) return extreme(rng, v, rng.chance(1, 2));
  if (kind == 1) return sort(rng, v, rng.chance(1, 2));
  return count(rng, v);
}

Draft generate_sort(TaskRng& rng, const Difficulty& d) {
  const std::vector<int64_t> v = random_list(rng, d);  // drawn before the order, as generate_list does
  return sort(rng, v, rng.chance(1, 2));
}

}  // namespace muse::train::detail
