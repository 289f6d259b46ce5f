// Internal to train::Tasks: the per-family generators and the small text helpers they share.
//
// Each generator draws one candidate problem from `rng` at difficulty `d` (already validated) and
// returns it as a Draft; tasks.cpp redraws until the draft's key falls into the seed's split. A
// generator only ever consumes `rng`, so a draft is a pure function of the rng state.
// Not thread-safe per rng; never throws (all inputs are generator-made); REQUIREs are MUSE_ASSERTs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "train/tasks.h"
#include "train/tasks_rng.h"

namespace muse::train::detail {

struct Draft {
  std::string question;
  std::string answer;
  std::string trace;
  std::string key;
};

Draft generate_add(TaskRng& rng, const Difficulty& d);
Draft generate_sub(TaskRng& rng, const Difficulty& d);
Draft generate_mul(TaskRng& rng, const Difficulty& d);
Draft generate_chain(TaskRng& rng, const Difficulty& d);
Draft generate_word(TaskRng& rng, const Difficulty& d);
Draft generate_list(TaskRng& rng, const Difficulty& d);
// The practice families: a bare division (2..9 into a number of min_digits..max_digits digits, exact),
// and one of generate_list's sorting questions.
Draft generate_div(TaskRng& rng, const Difficulty& d);
Draft generate_sort(TaskRng& rng, const Difficulty& d);

// A uniform number with exactly `digits` decimal digits (1 digit: 0..9 when allow_zero, else 1..9).
int64_t random_with_digits(TaskRng& rng, int digits, bool allow_zero = false);
// A uniform number with 1..max_digits digits, each digit count equally likely, >= min_value.
int64_t random_up_to_digits(TaskRng& rng, int max_digits, int64_t min_value);
// Decimal digits, least significant first (0 -> {0}). REQUIRES: v >= 0.
std::vector<int> digits_lsb_first(int64_t v);
int digit_count(int64_t v);
// 10 to the power n (n >= 0, small enough for int64_t).
int64_t pow10(int n);
// "ones", "tens", "hundreds", "thousands", ... for place 0, 1, 2, 3, ...
std::string place_name(int place);
// "Ones", "Tens", ...: place_name with a capital first letter.
std::string place_title(int place);
// The line that ends subtraction's written method when the difference has fewer digits.
inline constexpr std::string_view kDropZerosLine = "Drop the zeros in front.";
// One arithmetic step written out the compact written way, for the families that use arithmetic
// inside a bigger problem (chain, word, mul's sum of parts). `op` is '+', '-', '*' or '/'.
// Multi-digit operands go column by column from the ones, each column on its place name, a carry or
// borrow shown as the next column's "+1" / "-1" and the last column written whole. A column that
// borrows writes its digits first and then the borrow, so the decision follows what it depends on:
//   "648 + 2160: ones 8+0=8, tens 4+6=10, hundreds 6+1+1=8, thousands 0+2=2, so 648 + 2160 = 2808"
//   "53 - 27: ones 3-7, borrow: 13-7=6, tens 5-2-1=2, so 53 - 27 = 26"
//   "7 * 95: ones 7*5=35, tens 7*9=63, 63+3=66, so 7 * 95 = 665"
// Division goes from the top; each step subtracts the divisor, counting, until less than it is left
// (the count is the quotient digit, what is left the remainder); when a digit will be brought down,
// the dividend's digits are first listed by place, and each later step names the digit it brings down
// by its place:
//   "56 / 7: 56/7: 56-7=49 count 1, ..., 7-7=0 count 8, 0 is less than 7, so 8, left 0, so 56 / 7 = 8"
//   "156 / 4: hundreds 1, tens 5, ones 6; 15/4: 15-4=11 count 1, 11-4=7 count 2, 7-4=3 count 3, 3 is
//    less than 4, so 3, left 3; down ones 6: 36/4: 36-4=32 count 1, ..., 4-4=0 count 9, 0 is less
//    than 4, so 9, left 0, so 156 / 4 = 39"
// A single-digit fact stays one equation: "7 + 5 = 12", "7 * 8 = 56", "0 * 95 = 0", "0 / 7 = 0".
// REQUIRES: x, y >= 0; for '-' x >= y; for '*' a factor <= 9; for '/' 2 <= y <= 9 dividing x.
std::string worked(int64_t x, char op, int64_t y);
// "3, 5, 8"
std::string join_numbers(const std::vector<int64_t>& values);

// Appends one line (text + '\n') to a trace.
inline void line(std::string& trace, std::string_view text) {
  trace.append(text);
  trace.push_back('\n');
}

}  // namespace muse::train::detail
