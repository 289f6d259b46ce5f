#include "text/jinja_unicode.h"

#include <utf8proc.h>

#include <algorithm>

#include "text/jinja_failure.h"
#include "text/jinja_value.h"

namespace muse::text::jinja {

namespace {

constexpr char32_t kEscapeBase = 0xDC00;  // surrogateescape: bad byte b <-> U+DC00 + b

// Length of the valid UTF-8 sequence at s[i], or 0 when the bytes there are not valid UTF-8
// (overlong forms, encoded surrogates and values past U+10FFFF are invalid, as in Python).
size_t valid_sequence(std::string_view s, size_t i, char32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  size_t n;
  char32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

utf8proc_category_t category(char32_t c) {
  if (c > 0x10FFFF) return UTF8PROC_CATEGORY_CN;
  return utf8proc_category(static_cast<utf8proc_int32_t>(c));
}

// Full case mappings Python applies that utf8proc's one-to-one tables lack.
bool special_upper(char32_t c, std::u32string& out) {
  switch (c) {
    case 0x00DF: out += U"SS"; return true;       // ß
    case 0xFB00: out += U"FF"; return true;       // ﬀ
    case 0xFB01: out += U"FI"; return true;       // ﬁ
    case 0xFB02: out += U"FL"; return true;       // ﬂ
    case 0xFB03: out += U"FFI"; return true;      // ﬃ
    case 0xFB04: out += U"FFL"; return true;      // ﬄ
    case 0xFB05: case 0xFB06: out += U"ST"; return true;  // ﬅ ﬆ
    default: return false;
  }
}

std::u32string map_case(std::u32string_view in, char mode) {
  std::u32string out;
  out.reserve(in.size());
  for (char32_t c : in) {
    if (mode == 'U') {
      if (!special_upper(c, out)) out.push_back(py_upper(c));
    } else if (mode == 'L') {
      if (c == 0x0130) {
        out += U"i\u0307";  // İ lowers to i + combining dot above
      } else {
        out.push_back(py_lower(c));
      }
    } else {  // swapcase
      if (py_isupper_char(c)) {
        out.push_back(py_lower(c));
      } else if (py_islower_char(c)) {
        if (!special_upper(c, out)) out.push_back(py_upper(c));
      } else {
        out.push_back(c);
      }
    }
  }
  return out;
}

bool in_set(char32_t c, std::u32string_view set) { return set.find(c) != std::u32string_view::npos; }

}  // namespace

std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    const size_t n = valid_sequence(s, i, cp);
    if (n == 0) {
      out.push_back(kEscapeBase + static_cast<unsigned char>(s[i]));
      ++i;
    } else {
      out.push_back(cp);
      i += n;
    }
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp >= kEscapeBase + 0x80 && cp <= kEscapeBase + 0xFF) {
    out.push_back(static_cast<char>(cp - kEscapeBase));  // a byte that was not valid UTF-8
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;  // other lone surrogates cannot be encoded
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp <= 0x10FFFF) {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out += "\xEF\xBF\xBD";
  }
}

std::string encode_utf8(std::u32string_view cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t c : cps) append_utf8(out, c);
  return out;
}

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    const size_t k = valid_sequence(s, i, cp);
    i += k == 0 ? 1 : k;
    ++n;
  }
  return n;
}

bool is_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

bool py_isspace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool py_isalpha(char32_t c) {
  switch (category(c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
      return true;
    default:
      return false;
  }
}

bool py_isdecimal(char32_t c) { return category(c) == UTF8PROC_CATEGORY_ND; }

bool py_isdigit(char32_t c) {
  // Numeric_Type=Digit beyond Nd: superscript and subscript digits, the common cases.
  return py_isdecimal(c) || c == 0xB2 || c == 0xB3 || c == 0xB9 || (c >= 0x2070 && c <= 0x2079 && c != 0x2071 &&
         c != 0x2072 && c != 0x2073) || (c >= 0x2080 && c <= 0x2089) || (c >= 0x2460 && c <= 0x2468);
}

bool py_isnumeric(char32_t c) {
  const auto cat = category(c);
  return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_NO;
}

bool py_isalnum(char32_t c) { return py_isalpha(c) || py_isnumeric(c); }

bool py_isprintable(char32_t c) {
  if (c == ' ') return true;
  switch (category(c)) {
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO: case UTF8PROC_CATEGORY_CN: case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP: case UTF8PROC_CATEGORY_ZS:
      return false;
    default:
      return true;
  }
}

bool py_iscased(char32_t c) {
  const auto cat = category(c);
  return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT;
}
bool py_islower_char(char32_t c) { return category(c) == UTF8PROC_CATEGORY_LL; }
bool py_isupper_char(char32_t c) {
  const auto cat = category(c);
  return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LT;
}

char32_t py_upper(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') ? c - 32 : c;
  if (c > 0x10FFFF) return c;
  return static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(c)));
}
char32_t py_lower(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  if (c > 0x10FFFF) return c;
  return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
}
char32_t py_title(char32_t c) {
  if (c < 0x80) return py_upper(c);
  if (c > 0x10FFFF) return c;
  return static_cast<char32_t>(utf8proc_totitle(static_cast<utf8proc_int32_t>(c)));
}

std::string str_upper(std::string_view s) {
  if (is_ascii(s)) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(py_upper(static_cast<unsigned char>(c)));
    return out;
  }
  return encode_utf8(map_case(decode_utf8(s), 'U'));
}

std::string str_lower(std::string_view s) {
  if (is_ascii(s)) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(py_lower(static_cast<unsigned char>(c)));
    return out;
  }
  return encode_utf8(map_case(decode_utf8(s), 'L'));
}

std::string str_swapcase(std::string_view s) { return encode_utf8(map_case(decode_utf8(s), 'S')); }

std::string str_capitalize(std::string_view s) {
  std::u32string cps = decode_utf8(s);
  std::u32string out;
  for (size_t i = 0; i < cps.size(); ++i) {
    if (i == 0) {
      out.push_back(py_title(cps[0]));
    } else {
      out += map_case(std::u32string_view(&cps[i], 1), 'L');
    }
  }
  return encode_utf8(out);
}

std::string str_title(std::string_view s) {
  std::u32string out;
  bool previous_cased = false;
  for (char32_t c : decode_utf8(s)) {
    if (previous_cased) {
      out += map_case(std::u32string_view(&c, 1), 'L');
    } else {
      out.push_back(py_title(c));
    }
    previous_cased = py_iscased(c);
  }
  return encode_utf8(out);
}

std::string str_strip(std::string_view s, std::optional<std::string_view> chars, bool left, bool right) {
  if (!chars && is_ascii(s)) {
    size_t lo = 0, hi = s.size();
    if (left) {
      while (lo < hi && py_isspace(static_cast<unsigned char>(s[lo]))) ++lo;
    }
    if (right) {
      while (hi > lo && py_isspace(static_cast<unsigned char>(s[hi - 1]))) --hi;
    }
    return std::string(s.substr(lo, hi - lo));
  }
  const std::u32string cps = decode_utf8(s);
  const std::u32string set = chars ? decode_utf8(*chars) : std::u32string();
  auto strip_it = [&](char32_t c) { return chars ? in_set(c, set) : py_isspace(c); };
  size_t lo = 0, hi = cps.size();
  if (left) {
    while (lo < hi && strip_it(cps[lo])) ++lo;
  }
  if (right) {
    while (hi > lo && strip_it(cps[hi - 1])) --hi;
  }
  return encode_utf8(std::u32string_view(cps).substr(lo, hi - lo));
}

std::vector<std::string> str_split(std::string_view s, std::optional<std::string_view> sep, int64_t maxsplit) {
  std::vector<std::string> out;
  int64_t budget = maxsplit < 0 ? INT64_MAX : maxsplit;
  if (sep) {
    if (sep->empty()) fail(FailKind::kValue, "empty separator");
    size_t start = 0;
    while (budget-- > 0) {
      const size_t at = s.find(*sep, start);
      if (at == std::string_view::npos) break;
      if (out.size() >= kMaxItems) fail(FailKind::kLimit, "split into more than {} parts", kMaxItems);
      out.emplace_back(s.substr(start, at - start));
      start = at + sep->size();
    }
    out.emplace_back(s.substr(start));
    return out;
  }
  const std::u32string cps = decode_utf8(s);
  const size_t n = cps.size();
  size_t i = 0;
  while (budget-- > 0) {
    while (i < n && py_isspace(cps[i])) ++i;
    if (i == n) break;
    const size_t j = i;
    while (i < n && !py_isspace(cps[i])) ++i;
    if (out.size() >= kMaxItems) fail(FailKind::kLimit, "split into more than {} parts", kMaxItems);
    out.push_back(encode_utf8(std::u32string_view(cps).substr(j, i - j)));
  }
  if (i < n) {
    while (i < n && py_isspace(cps[i])) ++i;
    if (i != n) out.push_back(encode_utf8(std::u32string_view(cps).substr(i)));
  }
  return out;
}

std::vector<std::string> str_rsplit(std::string_view s, std::optional<std::string_view> sep, int64_t maxsplit) {
  std::vector<std::string> out;
  int64_t budget = maxsplit < 0 ? INT64_MAX : maxsplit;
  if (sep) {
    if (sep->empty()) fail(FailKind::kValue, "empty separator");
    size_t end = s.size();
    while (budget-- > 0) {
      if (end < sep->size()) break;
      const size_t at = s.rfind(*sep, end - sep->size());
      if (at == std::string_view::npos) break;
      if (out.size() >= kMaxItems) fail(FailKind::kLimit, "split into more than {} parts", kMaxItems);
      out.emplace_back(s.substr(at + sep->size(), end - at - sep->size()));
      end = at;
    }
    out.emplace_back(s.substr(0, end));
    std::reverse(out.begin(), out.end());
    return out;
  }
  const std::u32string cps = decode_utf8(s);
  int64_t i = static_cast<int64_t>(cps.size()) - 1;
  while (budget-- > 0) {
    while (i >= 0 && py_isspace(cps[static_cast<size_t>(i)])) --i;
    if (i < 0) break;
    const int64_t j = i;
    while (i >= 0 && !py_isspace(cps[static_cast<size_t>(i)])) --i;
    if (out.size() >= kMaxItems) fail(FailKind::kLimit, "split into more than {} parts", kMaxItems);
    out.push_back(encode_utf8(std::u32string_view(cps).substr(static_cast<size_t>(i + 1), static_cast<size_t>(j - i))));
  }
  if (i >= 0) {
    while (i >= 0 && py_isspace(cps[static_cast<size_t>(i)])) --i;
    if (i >= 0) out.push_back(encode_utf8(std::u32string_view(cps).substr(0, static_cast<size_t>(i + 1))));
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<std::string> str_splitlines(std::string_view s, bool keepends) {
  const std::u32string cps = decode_utf8(s);
  std::vector<std::string> out;
  const size_t n = cps.size();
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    auto is_break = [](char32_t c) {
      return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E ||
             c == 0x85 || c == 0x2028 || c == 0x2029;
    };
    while (j < n && !is_break(cps[j])) ++j;
    size_t eol = j;
    if (j < n) {
      eol = (cps[j] == '\r' && j + 1 < n && cps[j + 1] == '\n') ? j + 2 : j + 1;
    }
    if (out.size() >= kMaxItems) fail(FailKind::kLimit, "split into more than {} lines", kMaxItems);
    out.push_back(encode_utf8(std::u32string_view(cps).substr(i, (keepends ? eol : j) - i)));
    i = eol;
  }
  return out;
}

size_t str_replace_result_size(std::string_view s, std::string_view old, std::string_view with, int64_t count) {
  if (old.empty()) {
    const size_t slots = utf8_length(s) + 1;
    const size_t k = count < 0 ? slots : std::min<size_t>(slots, static_cast<size_t>(count));
    return s.size() + k * with.size();
  }
  size_t hits = 0;
  for (size_t at = s.find(old); at != std::string_view::npos && (count < 0 || hits < static_cast<size_t>(count));
       at = s.find(old, at + old.size())) {
    ++hits;
  }
  return s.size() - hits * old.size() + hits * with.size();
}

std::string str_replace(std::string_view s, std::string_view old, std::string_view with, int64_t count) {
  std::string out;
  if (old.empty()) {
    // Python inserts `with` before every code point and at the end, up to `count` times.
    const std::u32string cps = decode_utf8(s);
    int64_t left = count < 0 ? INT64_MAX : count;
    for (char32_t c : cps) {
      if (left > 0) {
        out += with;
        --left;
      }
      append_utf8(out, c);
    }
    if (left > 0) out += with;
    return out;
  }
  size_t start = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    const size_t at = s.find(old, start);
    if (at == std::string_view::npos) break;
    out.append(s.substr(start, at - start));
    out.append(with);
    start = at + old.size();
    ++done;
  }
  out.append(s.substr(start));
  return out;
}

SliceIndices adjust_slice(int64_t len, std::optional<int64_t> start, std::optional<int64_t> stop,
                          std::optional<int64_t> step) {
  SliceIndices r;
  r.step = step.value_or(1);
  if (r.step == 0) fail(FailKind::kValue, "slice step cannot be zero");
  auto norm = [&](std::optional<int64_t> v, int64_t def) {
    if (!v) return def;
    int64_t x = *v;
    if (x < 0) {
      x += len;
      if (x < 0) x = r.step < 0 ? -1 : 0;
    } else if (x >= len) {
      x = r.step < 0 ? len - 1 : len;
    }
    return x;
  };
  r.start = norm(start, r.step < 0 ? len - 1 : 0);
  r.stop = norm(stop, r.step < 0 ? -1 : len);
  if (r.step < 0) {
    r.count = r.stop < r.start ? (r.start - r.stop - 1) / (-r.step) + 1 : 0;
  } else {
    r.count = r.start < r.stop ? (r.stop - r.start - 1) / r.step + 1 : 0;
  }
  return r;
}

std::string str_slice(std::string_view s, const SliceIndices& sl) {
  if (is_ascii(s)) {
    std::string out;
    out.reserve(static_cast<size_t>(sl.count));
    for (int64_t k = 0, i = sl.start; k < sl.count; ++k, i += sl.step) out.push_back(s[static_cast<size_t>(i)]);
    return out;
  }
  const std::u32string cps = decode_utf8(s);
  std::string out;
  for (int64_t k = 0, i = sl.start; k < sl.count; ++k, i += sl.step) append_utf8(out, cps[static_cast<size_t>(i)]);
  return out;
}

std::string str_char_at(std::string_view s, int64_t index) {
  if (is_ascii(s)) return std::string(1, s[static_cast<size_t>(index)]);
  const std::u32string cps = decode_utf8(s);
  std::string out;
  append_utf8(out, cps[static_cast<size_t>(index)]);
  return out;
}

namespace {

// Python's find/count window: s[start:end] after slice normalisation.
void window(int64_t len, std::optional<int64_t> start, std::optional<int64_t> end, int64_t& lo, int64_t& hi) {
  const SliceIndices sl = adjust_slice(len, start, end, 1);
  lo = sl.start;
  hi = std::max(sl.start, sl.stop);
  if (start && *start > len) lo = hi = len + 1;  // past the end: nothing can match, not even ""
}

}  // namespace

int64_t str_find(std::string_view s, std::string_view sub, std::optional<int64_t> start, std::optional<int64_t> end,
                 bool reverse) {
  const std::u32string cps = decode_utf8(s);
  const std::u32string needle = decode_utf8(sub);
  int64_t lo, hi;
  window(static_cast<int64_t>(cps.size()), start, end, lo, hi);
  if (lo > static_cast<int64_t>(cps.size())) return -1;
  const std::u32string_view hay = std::u32string_view(cps).substr(static_cast<size_t>(lo), static_cast<size_t>(hi - lo));
  const size_t at = reverse ? hay.rfind(needle) : hay.find(needle);
  return at == std::u32string_view::npos ? -1 : lo + static_cast<int64_t>(at);
}

int64_t str_count(std::string_view s, std::string_view sub, std::optional<int64_t> start, std::optional<int64_t> end) {
  const std::u32string cps = decode_utf8(s);
  const std::u32string needle = decode_utf8(sub);
  int64_t lo, hi;
  window(static_cast<int64_t>(cps.size()), start, end, lo, hi);
  if (lo > static_cast<int64_t>(cps.size())) return 0;
  if (needle.empty()) return hi - lo + 1;
  const std::u32string_view hay = std::u32string_view(cps).substr(static_cast<size_t>(lo), static_cast<size_t>(hi - lo));
  int64_t n = 0;
  for (size_t at = hay.find(needle); at != std::u32string_view::npos; at = hay.find(needle, at + needle.size())) ++n;
  return n;
}

bool str_startswith(std::string_view s, std::string_view prefix, std::optional<int64_t> start,
                    std::optional<int64_t> end, bool at_end) {
  if (!start && !end) {
    if (prefix.size() > s.size()) return false;
    return at_end ? s.substr(s.size() - prefix.size()) == prefix : s.substr(0, prefix.size()) == prefix;
  }
  const std::u32string cps = decode_utf8(s);
  const std::u32string p = decode_utf8(prefix);
  int64_t lo, hi;
  window(static_cast<int64_t>(cps.size()), start, end, lo, hi);
  if (lo > static_cast<int64_t>(cps.size())) return false;
  const std::u32string_view hay = std::u32string_view(cps).substr(static_cast<size_t>(lo), static_cast<size_t>(hi - lo));
  if (p.size() > hay.size()) return false;
  return at_end ? hay.substr(hay.size() - p.size()) == p : hay.substr(0, p.size()) == p;
}

std::string str_pad(std::string_view s, int64_t width, char32_t fill, char align) {
  const auto len = static_cast<int64_t>(utf8_length(s));
  if (width <= len) return std::string(s);
  const int64_t marg = width - len;
  int64_t left = 0;
  if (align == '>') {
    left = marg;
  } else if (align == '^') {
    left = marg / 2 + (marg & width & 1);  // CPython's rounding for str.center
  }
  std::string pad_char;
  append_utf8(pad_char, fill);
  std::string out;
  out.reserve(s.size() + static_cast<size_t>(marg) * pad_char.size());
  for (int64_t k = 0; k < left; ++k) out += pad_char;
  out += s;
  for (int64_t k = 0; k < marg - left; ++k) out += pad_char;
  return out;
}

std::string str_zfill(std::string_view s, int64_t width) {
  const auto len = static_cast<int64_t>(utf8_length(s));
  if (width <= len) return std::string(s);
  std::string out(static_cast<size_t>(width - len), '0');
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    return std::string(1, s[0]) + out + std::string(s.substr(1));
  }
  return out + std::string(s);
}

}  // namespace muse::text::jinja
