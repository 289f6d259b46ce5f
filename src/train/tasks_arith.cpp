// The add, sub and mul families: multi-digit arithmetic worked the way it is taught on paper.
//
//   add  column addition from the ones up, "Write d, carry c" per column
//   sub  column subtraction with borrows by equal additions: a borrow adds 10 to the top digit of this
//        column and 1 to the bottom digit of the next one, so no column ever shows a negative number
//   mul  long multiplication: split the second factor by place value, multiply the first factor by
//        each part digit by digit (carries), then add the partial products
// Each trace ends with an inverse-operation check ("Let me double-check: 7433 - 2695 = 4738.").
#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "train/tasks_gen.h"

namespace muse::train::detail {

namespace {

std::string zeros_word(int n) { return n == 1 ? "1 zero" : fmt::format("{} zeros", n); }

}  // namespace

Draft generate_add(TaskRng& rng, const Difficulty& d) {
  const int64_t a = random_with_digits(rng, static_cast<int>(rng.range(d.min_digits, d.max_digits)));
  const int64_t b = random_with_digits(rng, static_cast<int>(rng.range(d.min_digits, d.max_digits)));
  const int64_t sum = a + b;
  static const char* const kQuestions[] = {
      "What is {a} + {b}?", "Add {a} and {b}.", "Find the sum of {a} and {b}.", "Compute {a} + {b}.",
      "What do you get when you add {a} and {b}?"};

  Draft out;
  out.question = fmt::format(fmt::runtime(rng.pick(kQuestions)), fmt::arg("a", a), fmt::arg("b", b));
  out.answer = std::to_string(sum);
  out.key = fmt::format("add {} {}", std::min(a, b), std::max(a, b));

  std::string& t = out.trace;
  line(t, fmt::format("We need to add {} and {}.", a, b));
  line(t, "Let me line up the digits and add each column, starting from the ones.");
  const std::vector<int> da = digits_lsb_first(a), db = digits_lsb_first(b);
  const size_t columns = std::max(da.size(), db.size());
  int carry = 0;
  for (size_t i = 0; i < columns; ++i) {
    const int x = i < da.size() ? da[i] : 0;
    const int y = i < db.size() ? db[i] : 0;
    const int s = x + y + carry;
    const std::string work = carry ? fmt::format("{} + {} + {} = {}", x, y, carry, s)
                                   : fmt::format("{} + {} = {}", x, y, s);
    line(t, fmt::format("{}: {}. Write {}, carry {}.", place_title(static_cast<int>(i)), work, s % 10, s / 10));
    carry = s / 10;
  }
  if (carry) line(t, fmt::format("{}: only the carry {}. Write {}.", place_title(static_cast<int>(columns)), carry, carry));
  line(t, fmt::format("So {} + {} = {}.", a, b, sum));
  line(t, fmt::format("Let me double-check: {} - {} = {}. Correct.", sum, b, a));
  line(t, fmt::format("So the result is {}.", sum));
  return out;
}

// Practice for the word problems' divisions (they share out, and divide), which the standard suite has
// only inside stories: a dividend of min_digits..max_digits digits, a divisor of 2..9 that divides it.
Draft generate_div(TaskRng& rng, const Difficulty& d) {
  const int n = static_cast<int>(rng.range(d.min_digits, d.max_digits));
  const int64_t b = rng.range(2, 9);
  const int64_t q_min = std::max<int64_t>(1, (pow10(n - 1) + b - 1) / b), q_max = (pow10(n) - 1) / b;
  const int64_t q = rng.range(q_min, q_max);
  const int64_t a = q * b;
  static const char* const kQuestions[] = {"What is {a} / {b}?", "Compute {a} / {b}.", "Evaluate {a} / {b}."};

  Draft out;
  out.question = fmt::format(fmt::runtime(rng.pick(kQuestions)), fmt::arg("a", a), fmt::arg("b", b));
  out.answer = std::to_string(q);
  out.key = fmt::format("div {} {}", a, b);

  std::string& t = out.trace;
  line(t, fmt::format("We need to find {} / {}.", a, b));
  line(t, worked(a, '/', b) + ".");
  line(t, fmt::format("Let me double-check: {} * {} = {}. Correct.", q, b, a));
  line(t, fmt::format("So the result is {}.", q));
  return out;
}

Draft generate_sub(TaskRng& rng, const Difficulty& d) {
  int64_t a = random_with_digits(rng, static_cast<int>(rng.range(d.min_digits, d.max_digits)));
  int64_t b = random_with_digits(rng, static_cast<int>(rng.range(d.min_digits, d.max_digits)));
  if (a < b) std::swap(a, b);  // the written method needs top >= bottom; negative answers are not taught here
  const int64_t diff = a - b;
  static const char* const kQuestions[] = {"What is {a} - {b}?", "Subtract {b} from {a}.",
                                           "Find the difference {a} - {b}.", "Compute {a} - {b}.",
                                           "Take {b} away from {a}."};

  Draft out;
  out.question = fmt::format(fmt::runtime(rng.pick(kQuestions)), fmt::arg("a", a), fmt::arg("b", b));
  out.answer = std::to_string(diff);
  out.key = fmt::format("sub {} {}", a, b);

  std::string& t = out.trace;
  line(t, fmt::format("We need to subtract {} from {}.", b, a));
  line(t, "Let me line up the digits and subtract each column, starting from the ones.");
  const std::vector<int> da = digits_lsb_first(a), db = digits_lsb_first(b);
  int borrow = 0;
  for (size_t i = 0; i < da.size(); ++i) {
    const int top = da[i];
    const int bottom = i < db.size() ? db[i] : 0;
    std::string s = fmt::format("{}: {} - {}", place_title(static_cast<int>(i)), top, bottom);
    // Equal additions: the borrow of the column before adds 1 to this column's bottom digit.
    int take = bottom;
    if (borrow) {
      take = bottom + 1;
      s += fmt::format(", and 1 more for the borrow: {} + 1 = {}", bottom, take);
    }
    s += ". ";
    int digit;
    if (top < take) {
      digit = top + 10 - take;
      s += fmt::format("{} is less than {}, so borrow 1: {} - {} = {}.", top, take, top + 10, take, digit);
      borrow = 1;
    } else {
      digit = top - take;
      s += fmt::format("{} - {} = {}.", top, take, digit);
      borrow = 0;
    }
    s += fmt::format(" Write {}.", digit);
    line(t, s);
  }
  if (digit_count(diff) < static_cast<int>(da.size())) line(t, kDropZerosLine);
  line(t, fmt::format("So {} - {} = {}.", a, b, diff));
  line(t, fmt::format("Let me double-check: {} + {} = {}. Correct.", diff, b, a));
  line(t, fmt::format("So the result is {}.", diff));
  return out;
}

namespace {

// Multiplies `a` by the single digit `m` digit by digit, writing one line per digit of `a`, and returns
// the product. "8 * 7 = 56. Write 6, carry 5." / "8 * 4 = 32. 32 + 5 = 37. Write 7, carry 3." / last
// digit: "Write 27."
int64_t multiply_by_digit(std::string& t, int64_t a, int m) {
  const std::vector<int> da = digits_lsb_first(a);
  int carry = 0;
  for (size_t i = 0; i < da.size(); ++i) {
    const int p = m * da[i];
    std::string s = fmt::format("{} * {} = {}.", m, da[i], p);
    const int q = p + carry;
    if (carry) s += fmt::format(" {} + {} = {}.", p, carry, q);
    if (i + 1 < da.size()) {
      s += fmt::format(" Write {}, carry {}.", q % 10, q / 10);
      carry = q / 10;
    } else {
      s += fmt::format(" Write {}.", q);
    }
    line(t, s);
  }
  return a * m;
}

}  // namespace

Draft generate_mul(TaskRng& rng, const Difficulty& d) {
  const int na = static_cast<int>(rng.range(d.min_digits, d.max_digits));
  const int nb = static_cast<int>(rng.range(1, std::min(d.max_factor_digits, na)));
  int64_t a = random_with_digits(rng, na);
  int64_t b = random_with_digits(rng, nb);
  if (b == 1) b = 2 + rng.range(0, 7);  // "times 1" teaches nothing
  const int64_t product = a * b;
  // The trace multiplies a by b, b having no more digits than a. Now and then the question names
  // the shorter factor first, and the trace says why it swaps them; equal lengths just come in
  // either order.
  bool swapped = false;
  if (nb < na) {
    swapped = rng.chance(1, 4);
  } else if (rng.chance(1, 2)) {
    std::swap(a, b);
  }
  const int64_t qa = swapped ? b : a, qb = swapped ? a : b;
  static const char* const kQuestions[] = {"What is {a} * {b}?", "Multiply {a} by {b}.",
                                           "Find the product of {a} and {b}.", "Compute {a} * {b}.",
                                           "What is {a} times {b}?"};

  Draft out;
  out.question = fmt::format(fmt::runtime(rng.pick(kQuestions)), fmt::arg("a", qa), fmt::arg("b", qb));
  out.answer = std::to_string(product);
  out.key = fmt::format("mul {} {}", std::min(a, b), std::max(a, b));

  std::string& t = out.trace;
  line(t, fmt::format("We need to multiply {} by {}.", qa, qb));
  if (swapped) line(t, fmt::format("{} has fewer digits, so I will multiply {} by {} instead.", b, a, b));
  const std::vector<int> db = digits_lsb_first(b);
  if (db.size() == 1) {
    line(t, fmt::format("Let me multiply each digit of {} by {}, starting from the ones.", a, b));
    multiply_by_digit(t, a, static_cast<int>(b));
  } else {
    // b = sum over nonzero digits of digit * 10^place, listed from the highest place down.
    std::vector<int> places;
    for (int i = static_cast<int>(db.size()) - 1; i >= 0; --i) {
      if (db[i]) places.push_back(i);
    }
    std::string split;
    for (int p : places) split += fmt::format("{}{}", split.empty() ? "" : " + ", db[p] * pow10(p));
    line(t, fmt::format("Let me split {} by place value: {} = {}.", b, b, split));
    std::vector<int64_t> parts;
    // Work from the ones up, as on paper.
    for (auto it = places.rbegin(); it != places.rend(); ++it) {
      const int p = *it;
      const int m = db[p];
      const int64_t part_factor = m * pow10(p);
      if (p == 0) {
        line(t, fmt::format("{} part: {} * {}.", parts.empty() ? "First" : "Next", a, m));
      } else {
        line(t, fmt::format("{} part: {} * {}. Start with {} * {}.", parts.empty() ? "First" : "Next", a,
                            part_factor, a, m));
      }
      const int64_t small = multiply_by_digit(t, a, m);
      if (p == 0) {
        line(t, fmt::format("So {} * {} = {}.", a, m, small));
      } else {
        line(t, fmt::format("So {} * {} = {}. Add {}: {} * {} = {}.", a, m, small, zeros_word(p), a, part_factor,
                            small * pow10(p)));
      }
      parts.push_back(small * pow10(p));
    }
    if (parts.size() > 1) {
      int64_t running = parts[0] + parts[1];
      line(t, fmt::format("Now add the parts: {}.", worked(parts[0], '+', parts[1])));
      for (size_t i = 2; i < parts.size(); ++i) {
        line(t, fmt::format("Then {}.", worked(running, '+', parts[i])));
        running += parts[i];
      }
    }
  }
  line(t, fmt::format("So {} * {} = {}.", a, b, product));
  line(t, fmt::format("Let me double-check: {} / {} = {}. Correct.", product, b, a));
  line(t, fmt::format("So the result is {}.", product));
  return out;
}

}  // namespace muse::train::detail

namespace muse::train::detail {

std::string worked(int64_t x, char op, int64_t y) {
  MUSE_ASSERT(x >= 0 && y >= 0);
  std::string s = fmt::format("{} {} {}", x, op, y);
  int64_t z = 0;
  std::string cols;
  auto col = [&](int place, const std::string& work) {
    cols += fmt::format("{}{} {}", cols.empty() ? "" : ", ", place_name(place), work);
  };
  if (op == '+') {
    z = x + y;
    if (x >= 10 || y >= 10) {
      const std::vector<int> dx = digits_lsb_first(x), dy = digits_lsb_first(y);
      const size_t n = std::max(dx.size(), dy.size());
      int carry = 0;
      for (size_t i = 0; i < n; ++i) {
        const int a = i < dx.size() ? dx[i] : 0, b = i < dy.size() ? dy[i] : 0;
        const int sum = a + b + carry;
        col(static_cast<int>(i), carry ? fmt::format("{}+{}+{}={}", a, b, carry, sum) : fmt::format("{}+{}={}", a, b, sum));
        carry = sum / 10;
      }
    }
  } else if (op == '-') {
    MUSE_ASSERT(x >= y);
    z = x - y;
    if (x >= 10) {
      const std::vector<int> dx = digits_lsb_first(x), dy = digits_lsb_first(y);
      int borrow = 0;
      for (size_t i = 0; i < dx.size(); ++i) {
        const int b = i < dy.size() ? dy[i] : 0;
        // The column's digits come first and the borrow is decided after them, where they can be
        // read: "tens 6-7-1, borrow: 16-7-1=8" (not "tens 16-7-1=8", which decides at its first token).
        const auto digits = [&](int top) { return fmt::format("{}-{}{}", top, b, borrow ? "-1" : ""); };
        if (dx[i] < b + borrow) {
          col(static_cast<int>(i),
              fmt::format("{}, borrow: {}={}", digits(dx[i]), digits(dx[i] + 10), dx[i] + 10 - b - borrow));
          borrow = 1;
        } else {
          col(static_cast<int>(i), fmt::format("{}={}", digits(dx[i]), dx[i] - b - borrow));
          borrow = 0;
        }
      }
    }
  } else if (op == '*') {
    MUSE_ASSERT(x <= 9 || y <= 9);
    z = x * y;
    const int64_t k = x <= 9 ? x : y, m = x <= 9 ? y : x;
    if (m >= 10 && k > 0) {  // times 0 is a fact too
      const std::vector<int> dm = digits_lsb_first(m);
      int carry = 0;
      for (size_t i = 0; i < dm.size(); ++i) {
        const int p = static_cast<int>(k) * dm[i];
        col(static_cast<int>(i), carry ? fmt::format("{}*{}={}, {}+{}={}", k, dm[i], p, p, carry, p + carry)
                                       : fmt::format("{}*{}={}", k, dm[i], p));
        carry = (p + carry) / 10;
      }
    }
  } else {
    MUSE_ASSERT(op == '/' && y >= 2 && y <= 9 && x % y == 0);
    z = x / y;
    // Division from the top. Each step finds its quotient digit by subtracting the divisor again and
    // again, counting, until what is left is less than the divisor; every subtraction reads only the
    // number just written, and the count runs like a list count:
    //   "17/3: 17-3=14 count 1, 14-3=11 count 2, 11-3=8 count 3, 8-3=5 count 4, 5-3=2 count 5,
    //    2 is less than 3, so 5, left 2"
    // When a digit will be brought down, the dividend's digits are first listed by place ("hundreds 5,
    // tens 3, ones 0; "), and each later step brings its digit down by that name ("; down tens 3:
    // 3/5: ..."): the digit is looked up by its place's name, not counted off from the left.
    if (x >= y) {
      const std::string digits = std::to_string(x);
      const int n = static_cast<int>(digits.size());
      size_t first = 0;  // the last digit of the first partial dividend: "15/4", not "1/4"
      for (int64_t lead = digits[0] - '0'; lead < y && first + 1 < digits.size();) {
        lead = lead * 10 + (digits[++first] - '0');
      }
      if (first + 1 < digits.size()) {
        for (int i = 0; i < n; ++i) {
          cols += fmt::format("{}{} {}", i ? ", " : "", place_name(n - 1 - i), digits[i]);
        }
        cols += "; ";
      }
      int64_t cur = 0;
      for (size_t i = 0; i < digits.size(); ++i) {
        cur = cur * 10 + (digits[i] - '0');
        if (i < first) continue;
        const int64_t q = cur / y, r = cur % y;
        if (i > first) {
          cols += fmt::format("; down {} {}: ", place_name(n - 1 - static_cast<int>(i)), digits[i]);
        }
        cols += fmt::format("{}/{}: ", cur, y);
        for (int64_t k = 1, left = cur; k <= q; ++k, left -= y) {
          cols += fmt::format("{}-{}={} count {}, ", left, y, left - y, k);
        }
        cols += fmt::format("{} is less than {}, so {}, left {}", r, y, q, r);
        cur = r;
      }
    }
  }
  if (cols.empty()) return fmt::format("{} = {}", s, z);
  return fmt::format("{}: {}, so {} = {}", s, cols, s, z);
}

}  // namespace muse::train::detail
