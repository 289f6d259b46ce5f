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

// A uniform number with exactly `digits` decimal digits (1 digit: 0..9 when allow_zero, else 1..9).
int64_t random_with_digits(TaskRng& rng, int digits, bool allow_zero = false);
// A uniform number with 1..max_digits digits, each digit count equally likely, >= min_value.
int64_t random_up_to_digits(TaskRng& rng, int max_digits, int64_t min_value);
// Decimal digits, least significant first (0 -> {0}). REQUIRES: v >= 0.
std::vector<int> digits_lsb_first(int64_t v);
int digit_count(int64_t v);
// "ones", "tens", "hundreds", "thousands", ... for place 0, 1, 2, 3, ...
std::string place_name(int place);
// "Ones", "Tens", ...: place_name with a capital first letter.
std::string place_title(int place);
// "3, 5, 8"
std::string join_numbers(const std::vector<int64_t>& values);

// Appends one line (text + '\n') to a trace.
inline void line(std::string& trace, std::string_view text) {
  trace.append(text);
  trace.push_back('\n');
}

}  // namespace muse::train::detail
