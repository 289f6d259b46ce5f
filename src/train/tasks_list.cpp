// The list family: comparison, sorting and counting over short lists of numbers.
//
//   max / min  walk the list keeping the best so far ("87 is greater than 34. Now the largest is 87.")
//   sort       rounds over named numbers, each walking all names and taking the best of those left
//              ("Round 2, smallest, taken C: A 37 first; B 8 is less than 37, best B 8; C taken; D 70 is
//              not less than 8. Take B 8. Sorted: 4, 8.")
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
  // A selection sort in rounds over named numbers. Every round walks all the names in the alphabet's order
  // (so no line copies a list with an item left out, and the place in the walk is a letter, not a
  // position), says "taken" for the numbers earlier rounds took, keeps the best so far with one comparison
  // per number (the max / min walk above, but always asking the round's own question: "is less than" or
  // "is not less than" for the smallest), and appends the number it takes to the sorted list it carries.
  // muse-nano failed sorts that copy lists with an item left out, search a line by content, or resume an
  // unnamed walk (docs/muse-nano.md, stages 10, 11, 13 and 15).
  const char* word = ascending ? "smallest" : "largest";
  std::string names = "Let me name the numbers:";
  for (size_t i = 0; i < v.size(); ++i) names += fmt::format("{} {} is {}", i ? "," : "", sort_name(i), v[i]);
  line(t, fmt::format("We need to sort {} {}.", L, order));
  line(t, names + ".");
  line(t, fmt::format("Each round takes the {} of the numbers not taken yet.", word));
  std::vector<bool> taken(v.size(), false);
  std::string taken_names;  // "D, B"
  std::vector<int64_t> sorted;
  for (size_t round = 1; round <= v.size(); ++round) {
    // The names taken so far, in the order taken, head the round: whether a name is taken is then a
    // look at its own line's header, not at the end of the round before (stage 17: the model copied the
    // previous round's walk and missed the name it had just taken).
    std::string s =
        fmt::format("Round {}, {}, taken {}:", round, word, taken_names.empty() ? "none" : taken_names);
    size_t best = v.size();  // none yet
    for (size_t i = 0; i < v.size(); ++i) {
      s += i ? "; " : " ";
      if (taken[i]) {
        s += sort_name(i) + " taken";
      } else if (best == v.size()) {
        s += fmt::format("{} {} first", sort_name(i), v[i]);
        best = i;
      } else {
        // The comparison asked is the round's own ("is less than" for the smallest), true or not, so
        // that whether the best changes is read off the words just written.
        const bool better = ascending ? v[i] < v[best] : v[i] > v[best];  // equal: the earlier one stays
        s += fmt::format("{} {} is {}{} than {}", sort_name(i), v[i], better ? "" : "not ",
                         ascending ? "less" : "greater", v[best]);
        if (better) {
          s += fmt::format(", best {} {}", sort_name(i), v[i]);
          best = i;
        }
      }
    }
    taken[best] = true;
    taken_names += (taken_names.empty() ? "" : ", ") + sort_name(best);
    sorted.push_back(v[best]);
    line(t, fmt::format("{}. Take {} {}. Sorted: {}.", s, sort_name(best), v[best], join_numbers(sorted)));
  }
  const std::string S = join_numbers(sorted);
  line(t, fmt::format("So the order is {}.", S));
  std::string check = "Let me double-check:";
  for (size_t i = 0; i + 1 < sorted.size(); ++i) check += " " + relation(sorted[i], sorted[i + 1]) + ".";
  check += fmt::format(" The list has {} numbers, and the result has {} numbers. Correct.", v.size(), sorted.size());
  line(t, check);
  line(t, fmt::format("So the result is {}.", S));
  out.answer = S;
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
