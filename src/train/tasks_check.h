// The answer checker of train::Tasks: did a model's output get the problem right?
//
// Used as the reward of RL (GRPO) and by `muse eval`. When the output has a "</think>", only the text
// after the last one is read (unless it is blank): the answer, not the thoughts. Extraction, in order:
//   1. the fixed form: the text after the LAST "answer is" or "answer:" (any case) up to the end of
//      that line ("The answer is 1234.", "so the answer is **1,234**", "Answer: 3, 5, 8");
//   2. if there is no such marker (or no number after it): the last number of the output, or, for a
//      list reference, every number on the last line that has one.
// Numbers are normalised before an exact comparison: thousands separators go ("1,234" == "1234": a
// comma is a separator only between a 1-3 digit group and exactly 3 digits with no space), leading
// zeros and a leading '+' go, "-0" == "0", and trailing fraction zeros go ("2.50" == "2.5", "3.0" ==
// "3"). List items are separated by commas with spaces, "and", or anything else that is not part of a
// number; lists compare element by element, same length, same order. A single-number reference takes
// the FIRST number after the marker ("The answer is 27 (24 + 3)." gives 27).
//
// Pure functions, thread-safe, no allocation beyond the returned strings. Never throws on any output
// text (it is untrusted); a bad reference (kNumeric without a number, kRegex that does not compile)
// throws muse::Error (kInvalidArgument) naming it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "train/tasks.h"

namespace muse::train {

// The numbers in `text`, each normalised (see above), in order.
std::vector<std::string> extract_numbers(std::string_view text);

// Normalises one number token ("+01,234.50" -> "1234.5"); nullopt when it is not a number.
std::optional<std::string> normalize_number(std::string_view token);

// The text after the last answer marker up to the end of its line, trimmed; nullopt when the output
// has no marker.
std::optional<std::string> extract_answer_text(std::string_view output);

// The answer the checker reads from `output` for a reference of `reference_count` numbers (1 for a
// single number), normalised; empty when the output holds no number at all.
std::vector<std::string> extract_answer_numbers(std::string_view output, size_t reference_count);

// True when `output` answers `reference` correctly under `checker`:
//   kNumeric  numbers as above; `reference` is a number or a list ("3, 5, 8")
//   kExact    the answer text (fixed form, else the last non-empty line), trimmed, without a final
//             period and surrounding '*' or quotes, equals `reference` ignoring ASCII case
//   kRegex    `reference` is an ECMAScript regex that must match that whole answer text (an answer
//             text over 1000 bytes never matches)
bool check_answer(std::string_view output, std::string_view reference, Checker checker);

}  // namespace muse::train
