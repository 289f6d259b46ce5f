#include "reason/answer.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"

namespace muse::reason {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Length of the number token starting at i (a digit, or a sign right before one), 0 if none. A comma
// separates thousands only after a first group of 1-3 digits and before exactly 3 digits.
size_t number_length(std::string_view t, size_t i) {
  size_t j = i;
  if (j < t.size() && (t[j] == '-' || t[j] == '+')) ++j;
  if (j >= t.size() || !is_digit(t[j])) return 0;
  const size_t first = j;
  while (j < t.size() && is_digit(t[j])) ++j;
  if (j - first <= 3) {
    while (j + 3 < t.size() && t[j] == ',' && is_digit(t[j + 1]) && is_digit(t[j + 2]) && is_digit(t[j + 3]) &&
           (j + 4 == t.size() || !is_digit(t[j + 4]))) {
      j += 4;
    }
  }
  if (j + 1 < t.size() && t[j] == '.' && is_digit(t[j + 1])) {
    ++j;
    while (j < t.size() && is_digit(t[j])) ++j;
  }
  return j - i;
}

// Strips markdown emphasis, quotes, "$" and trailing sentence punctuation around an answer.
std::string_view strip_decoration(std::string_view s) {
  for (bool changed = true; changed;) {
    changed = false;
    s = trim(s);
    static constexpr std::string_view kWrap = "*`\"'$_";
    while (!s.empty() && kWrap.find(s.front()) != std::string_view::npos) s.remove_prefix(1), changed = true;
    while (!s.empty() && (kWrap.find(s.back()) != std::string_view::npos || s.back() == '.' || s.back() == '!' ||
                          s.back() == '?' || s.back() == ',' || s.back() == ';')) {
      s.remove_suffix(1), changed = true;
    }
    if (!s.empty() && s.front() == ':') s.remove_prefix(1), changed = true;
  }
  return s;
}

}  // namespace

std::optional<std::string> normalize_number(std::string_view token) {
  token = trim(token);
  if (token.empty() || number_length(token, 0) != token.size()) return std::nullopt;
  bool negative = false;
  if (token[0] == '-' || token[0] == '+') {
    negative = token[0] == '-';
    token.remove_prefix(1);
  }
  std::string whole, frac;
  size_t i = 0;
  for (; i < token.size() && token[i] != '.'; ++i) {
    if (token[i] != ',') whole += token[i];
  }
  if (i < token.size()) frac = std::string(token.substr(i + 1));
  const size_t nz = whole.find_first_not_of('0');
  whole = nz == std::string::npos ? "0" : whole.substr(nz);
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  std::string out = whole;
  if (!frac.empty()) out += "." + frac;
  if (negative && out != "0") out = "-" + out;
  return out;
}

std::vector<std::string> find_numbers(std::string_view t) {
  std::vector<std::string> out;
  for (size_t i = 0; i < t.size();) {
    const bool sign_ok = (t[i] == '-' || t[i] == '+') && (i == 0 || (!is_alnum(t[i - 1]) && t[i - 1] != ')'));
    if (!is_digit(t[i]) && !sign_ok) {
      ++i;
      continue;
    }
    if (is_digit(t[i]) && i > 0 && (is_alnum(t[i - 1]) || t[i - 1] == '.')) {  // inside a word or "x.5"
      while (i < t.size() && (is_digit(t[i]) || t[i] == '.')) ++i;
      continue;
    }
    const size_t n = number_length(t, i);
    if (n == 0) {
      ++i;
      continue;
    }
    if (auto v = normalize_number(t.substr(i, n))) out.push_back(*v);
    i += n;
  }
  return out;
}

std::string normalize_answer(std::string_view answer) {
  std::string_view s = strip_decoration(answer);
  if (auto v = normalize_number(s)) return *v;
  // A list of numbers: only numbers, commas, semicolons, spaces and "and" between them.
  std::vector<std::string> nums = find_numbers(s);
  if (!nums.empty()) {
    std::string rest;
    for (size_t i = 0; i < s.size();) {
      const size_t n = number_length(s, i);
      if (n > 0 && (i == 0 || !is_alnum(s[i - 1]))) {
        i += n;
        rest += ' ';
      } else {
        rest += s[i++];
      }
    }
    std::string words = lower(rest);
    for (char& c : words) {
      if (c == ',' || c == ';') c = ' ';
    }
    bool only_separators = true;
    size_t pos = 0;
    while (pos < words.size()) {
      if (words[pos] == ' ') {
        ++pos;
      } else if (words.compare(pos, 3, "and") == 0 && (pos + 3 == words.size() || words[pos + 3] == ' ')) {
        pos += 3;
      } else {
        only_separators = false;
        break;
      }
    }
    if (only_separators) {
      std::string out;
      for (size_t i = 0; i < nums.size(); ++i) out += (i ? ", " : "") + nums[i];
      return out;
    }
    if (number_length(s, 0) > 0) return nums.front();  // "27 (24 + 3)"
  }
  std::string out;
  for (char c : lower(s)) {
    if (is_space(c)) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  return std::string(trim(out));
}

std::regex compile_answer_pattern(const std::string& pattern) {
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    fail(ErrorCode::kInvalidArgument, "answer pattern '{}' is not a valid ECMAScript regex: {}", pattern, e.what());
  }
}

std::optional<ExtractedAnswer> extract_answer(std::string_view text, const std::regex* pattern) {
  auto make = [](std::string_view raw, const char* how) -> std::optional<ExtractedAnswer> {
    std::string norm = normalize_answer(raw);
    if (norm.empty()) return std::nullopt;
    return ExtractedAnswer{std::string(trim(raw)), std::move(norm), how};
  };
  if (pattern != nullptr) {
    std::vector<std::string_view> lines;
    for (size_t b = 0; b <= text.size();) {
      size_t e = text.find('\n', b);
      if (e == std::string_view::npos) e = text.size();
      lines.push_back(text.substr(b, e - b));
      b = e + 1;
    }
    for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
      const std::string_view line = *it;
      if (line.size() > 4096) continue;
      std::match_results<std::string_view::const_iterator> m;
      if (!std::regex_search(line.begin(), line.end(), m, *pattern)) continue;
      const auto& g = m.size() > 1 && m[1].matched ? m[1] : m[0];
      const size_t off = static_cast<size_t>(g.first - line.begin());
      if (auto a = make(line.substr(off, static_cast<size_t>(g.length())), "regex")) return a;
    }
  }
  if (const size_t at = text.rfind("\\boxed{"); at != std::string_view::npos) {
    const size_t open = at + 7;
    int depth = 1;
    size_t i = open;
    for (; i < text.size() && depth > 0; ++i) {
      if (text[i] == '{') ++depth;
      if (text[i] == '}') --depth;
    }
    if (depth == 0) {
      if (auto a = make(text.substr(open, i - 1 - open), "boxed")) return a;
    }
  }
  const std::string low = lower(text);
  size_t best = std::string::npos, skip = 0;
  for (std::string_view marker : {std::string_view("answer is"), std::string_view("answer:")}) {
    const size_t at = low.rfind(marker);
    if (at != std::string::npos && (best == std::string::npos || at > best)) {
      best = at;
      skip = marker.size();
    }
  }
  if (best != std::string::npos) {
    std::string_view after = text.substr(best + skip);
    after = after.substr(0, after.find('\n'));
    if (auto a = make(after, "answer-is")) return a;
  }
  std::vector<std::string> nums = find_numbers(text);
  if (!nums.empty()) return ExtractedAnswer{nums.back(), nums.back(), "last-number"};
  return std::nullopt;
}

}  // namespace muse::reason
