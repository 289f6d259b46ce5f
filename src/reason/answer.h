// Answer extraction and normalization: the final answer an agent gave, in a form that can be compared
// and voted on.
//
// extract_answer() looks, in this order, for:
//   1. a user regex (AnswerOptions::pattern): the last line that matches; capture group 1 if the regex
//      has one, else the whole match;
//   2. the last \boxed{...} (nested braces allowed);
//   3. the text after the last "answer is" / "answer:" (any case) up to the end of its line, which is
//      muse-nano's fixed form "The answer is X." (docs/tasks.md);
//   4. the last number in the text.
// normalize_answer() then makes equal answers equal strings: numbers lose thousands separators, a
// leading '+', leading zeros and trailing fraction zeros ("+1,234.50" -> "1234.5", "-0" -> "0");
// a list of numbers becomes "a, b, c"; an answer that starts with a number ("27 (24 + 3)") is that
// number; other text is trimmed, lower-cased, with inner whitespace collapsed and surrounding
// punctuation, markdown emphasis, quotes and "$" removed.
//
// Pure functions; never throw on model output (it is untrusted). compile_answer_pattern throws
// muse::Error(kInvalidArgument) naming the pattern when it does not compile. The regex is applied
// line by line and skips lines over 4096 bytes (std::regex recursion is unbounded on long input).
#pragma once

#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace muse::reason {

// The numbers in `text`, normalized, in order.
std::vector<std::string> find_numbers(std::string_view text);
// One number token, normalized; nullopt when `token` is not exactly a number.
std::optional<std::string> normalize_number(std::string_view token);

std::string normalize_answer(std::string_view answer);

std::regex compile_answer_pattern(const std::string& pattern);

struct ExtractedAnswer {
  std::string raw;         // the text that was picked
  std::string normalized;  // normalize_answer(raw)
  const char* how = "";    // "regex", "boxed", "answer-is", "last-number"
};

// nullopt when none of the rules finds anything (no number at all, no marker, no match).
std::optional<ExtractedAnswer> extract_answer(std::string_view text, const std::regex* pattern = nullptr);

}  // namespace muse::reason
