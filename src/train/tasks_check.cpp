// The answer checker: extraction of the fixed answer form, number normalisation, comparison.
#include "train/tasks_check.h"

#include <regex>

#include "core/error.h"

namespace muse::train {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

constexpr size_t kMaxRegexAnswer = 1000;  // bytes of answer text a kRegex reference is matched against
constexpr std::string_view kUnicodeMinus = "\xE2\x88\x92";  // U+2212, what some models print for '-'

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

size_t digit_run(std::string_view s, size_t i) {
  size_t j = i;
  while (j < s.size() && is_digit(s[j])) ++j;
  return j - i;
}

// A number token starting at s[i] (a digit, or a sign right before one): returns its length in bytes,
// 0 if none starts there. Grammar: [sign] digits [(,ddd)+ when the first group has 1-3 digits] [.digits]
size_t number_length(std::string_view s, size_t i) {
  size_t j = i;
  if (s[j] == '-' || s[j] == '+') {
    ++j;
  } else if (s.substr(j, kUnicodeMinus.size()) == kUnicodeMinus) {
    j += kUnicodeMinus.size();
  }
  if (j != i) {
    // A sign only counts when it is not a binary operator: "3-4" and "x -4"-like spans stay "3", "4".
    if (i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == ')')) return 0;
  }
  const size_t first = digit_run(s, j);
  if (first == 0) return 0;
  j += first;
  if (first <= 3) {
    while (j + 4 <= s.size() && s[j] == ',' && digit_run(s, j + 1) == 3) j += 4;
  }
  if (j + 1 < s.size() && s[j] == '.' && is_digit(s[j + 1])) j += 1 + digit_run(s, j + 1);
  return j - i;
}

std::vector<std::string> numbers_in(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    // Digits glued to a letter before them ("x2", "H2O") are still numbers; only signs are picky.
    const size_t n = number_length(text, i);
    if (n == 0) {
      ++i;
      continue;
    }
    if (auto v = normalize_number(text.substr(i, n))) out.push_back(std::move(*v));
    i += n;
  }
  return out;
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

// The answer text for kExact / kRegex, without a final period and without markdown emphasis or
// quotes around it.
std::string clean_answer(std::string_view s) {
  s = trim(s);
  bool changed = true;
  while (changed && !s.empty()) {
    changed = false;
    if (s.back() == '.') {
      s.remove_suffix(1);
      changed = true;
    }
    for (char q : {'*', '"', '\'', '`', '_'}) {
      if (s.size() >= 1 && s.front() == q) s.remove_prefix(1), changed = true;
      if (s.size() >= 1 && s.back() == q) s.remove_suffix(1), changed = true;
    }
    s = trim(s);
  }
  return std::string(s);
}

std::string last_nonempty_line(std::string_view output) {
  std::string_view rest = output;
  while (!rest.empty()) {
    const size_t nl = rest.rfind('\n');
    const std::string_view ln = nl == std::string_view::npos ? rest : rest.substr(nl + 1);
    if (!trim(ln).empty()) return std::string(trim(ln));
    if (nl == std::string_view::npos) break;
    rest = rest.substr(0, nl);
  }
  return {};
}

// A thinking model's output is "<think>...</think> answer": the answer lives after the last
// "</think>", whatever the thoughts said on the way. Outputs without one are read whole.
std::string_view answer_region(std::string_view output) {
  constexpr std::string_view kEndThink = "</think>";
  const size_t at = output.rfind(kEndThink);
  if (at == std::string_view::npos) return output;
  const std::string_view after = output.substr(at + kEndThink.size());
  return trim(after).empty() ? output : after;
}

}  // namespace

std::optional<std::string> normalize_number(std::string_view token) {
  bool negative = false;
  if (!token.empty() && (token[0] == '-' || token[0] == '+')) {
    negative = token[0] == '-';
    token.remove_prefix(1);
  } else if (token.substr(0, kUnicodeMinus.size()) == kUnicodeMinus) {
    negative = true;
    token.remove_prefix(kUnicodeMinus.size());
  }
  std::string int_part, frac_part;
  const size_t dot = token.find('.');
  std::string_view ip = token.substr(0, dot);
  if (dot != std::string_view::npos) {
    std::string_view fp = token.substr(dot + 1);
    if (fp.empty()) return std::nullopt;
    for (char c : fp) {
      if (!is_digit(c)) return std::nullopt;
    }
    frac_part.assign(fp);
  }
  // Integer part: digits, or 1-3 digits then groups of ",ddd".
  size_t group = 0;
  bool seen_comma = false;
  for (size_t i = 0; i < ip.size(); ++i) {
    const char c = ip[i];
    if (is_digit(c)) {
      int_part.push_back(c);
      ++group;
    } else if (c == ',') {
      if ((!seen_comma && (group == 0 || group > 3)) || (seen_comma && group != 3)) return std::nullopt;
      seen_comma = true;
      group = 0;
    } else {
      return std::nullopt;
    }
  }
  if (seen_comma && group != 3) return std::nullopt;
  if (int_part.empty() && frac_part.empty()) return std::nullopt;
  size_t nz = 0;
  while (nz + 1 < int_part.size() && int_part[nz] == '0') ++nz;
  int_part.erase(0, nz);
  if (int_part.empty()) int_part = "0";
  while (!frac_part.empty() && frac_part.back() == '0') frac_part.pop_back();
  std::string out = int_part;
  if (!frac_part.empty()) out += "." + frac_part;
  if (negative && out != "0") out.insert(out.begin(), '-');
  return out;
}

std::vector<std::string> extract_numbers(std::string_view text) { return numbers_in(text); }

std::optional<std::string> extract_answer_text(std::string_view output) {
  const std::string low = lower_ascii(output);
  size_t best = std::string::npos, best_end = 0;
  for (std::string_view marker : {std::string_view("answer is"), std::string_view("answer:")}) {
    const size_t at = low.rfind(marker);
    if (at != std::string::npos && (best == std::string::npos || at > best)) {
      best = at;
      best_end = at + marker.size();
    }
  }
  if (best == std::string::npos) return std::nullopt;
  std::string_view rest = output.substr(best_end);
  const size_t nl = rest.find('\n');
  if (nl != std::string_view::npos) rest = rest.substr(0, nl);
  return std::string(trim(rest));
}

std::vector<std::string> extract_answer_numbers(std::string_view output, size_t reference_count) {
  output = answer_region(output);
  if (auto fixed = extract_answer_text(output)) {
    std::vector<std::string> nums = numbers_in(*fixed);
    if (!nums.empty()) {
      if (reference_count <= 1) nums.resize(1);
      return nums;
    }
  }
  if (reference_count <= 1) {
    std::vector<std::string> nums = numbers_in(output);
    if (nums.empty()) return {};
    return {nums.back()};
  }
  std::string_view rest = output;
  while (!rest.empty()) {
    const size_t nl = rest.rfind('\n');
    std::vector<std::string> nums = numbers_in(nl == std::string_view::npos ? rest : rest.substr(nl + 1));
    if (!nums.empty()) return nums;
    if (nl == std::string_view::npos) break;
    rest = rest.substr(0, nl);
  }
  return {};
}

bool check_answer(std::string_view output, std::string_view reference, Checker checker) {
  switch (checker) {
    case Checker::kNumeric: {
      const std::vector<std::string> ref = numbers_in(reference);
      if (ref.empty()) {
        fail(ErrorCode::kInvalidArgument, "checker numeric: the reference '{}' holds no number", reference);
      }
      return extract_answer_numbers(output, ref.size()) == ref;
    }
    case Checker::kExact:
    case Checker::kRegex: {
      const std::string_view region = answer_region(output);
      const std::optional<std::string> fixed = extract_answer_text(region);
      const std::string got = clean_answer(fixed && !fixed->empty() ? *fixed : last_nonempty_line(region));
      if (checker == Checker::kExact) return lower_ascii(got) == lower_ascii(clean_answer(reference));
      // libstdc++'s regex matcher recurses once per character; an "answer" this long is rambling, not
      // an answer, and matching it could exhaust the stack.
      if (got.size() > kMaxRegexAnswer) return false;
      std::regex re;
      try {
        re = std::regex(std::string(reference), std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        fail(ErrorCode::kInvalidArgument, "checker regex: the reference '{}' is not a valid regex: {}", reference,
             e.what());
      }
      return std::regex_match(got, re);
    }
  }
  return false;
}

}  // namespace muse::train
