#include "text/jinja_lexer.h"

#include <charconv>

#include "text/jinja_unicode.h"

namespace muse::text::jinja {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

// Python's `\s` on str patterns: any Unicode whitespace. Returns its byte length at s[i], or 0.
size_t space_at(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return py_isspace(c) ? 1 : 0;
  // Multi-byte: decode just this code point.
  size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  const std::u32string cp = decode_utf8(s.substr(i, n));
  return (cp.size() == 1 && py_isspace(cp[0])) ? n : 0;
}

size_t skip_spaces(std::string_view s, size_t i) {
  while (i < s.size()) {
    const size_t n = space_at(s, i);
    if (n == 0) break;
    i += n;
  }
  return i;
}

// Python's str.rstrip() (Unicode whitespace) on a UTF-8 string.
std::string_view rstrip(std::string_view s) {
  if (is_ascii(s)) {
    size_t hi = s.size();
    while (hi > 0 && py_isspace(static_cast<unsigned char>(s[hi - 1]))) --hi;
    return s.substr(0, hi);
  }
  const std::string stripped = str_strip(s, std::nullopt, false, true);
  return s.substr(0, stripped.size());  // rstrip only drops a suffix
}

// `(\d+_)*\d+` at s[i]: digits with single underscores between them. Returns the end, or i.
size_t digit_run(std::string_view s, size_t i) {
  if (i >= s.size() || !is_digit(s[i])) return i;
  size_t j = i;
  while (true) {
    while (j < s.size() && is_digit(s[j])) ++j;
    if (j + 1 < s.size() && s[j] == '_' && is_digit(s[j + 1])) {
      ++j;
      continue;
    }
    return j;
  }
}

// jinja2's float_re: (?<!\.)D((\.D)?e[+-]?D|\.D), case-insensitive. Returns the end, or i.
size_t match_float(std::string_view s, size_t i) {
  if (i > 0 && s[i - 1] == '.') return i;
  const size_t d = digit_run(s, i);
  if (d == i) return i;
  auto exponent = [&](size_t at) -> size_t {
    if (at < s.size() && (s[at] == 'e' || s[at] == 'E')) {
      size_t k = at + 1;
      if (k < s.size() && (s[k] == '+' || s[k] == '-')) ++k;
      const size_t e = digit_run(s, k);
      if (e != k) return e;
    }
    return 0;
  };
  if (d < s.size() && s[d] == '.') {
    const size_t f = digit_run(s, d + 1);
    if (f != d + 1) {
      if (const size_t e = exponent(f)) return e;
      return f;
    }
  }
  if (const size_t e = exponent(d)) return e;
  return i;
}

// jinja2's integer_re (binary, octal, hex, decimal, zero; `_` separators). Returns the end, or i.
size_t match_integer(std::string_view s, size_t i, int& base) {
  auto run = [&](size_t j, auto ok) {  // (_?X)+
    size_t end = j;
    while (true) {
      size_t k = end;
      if (k < s.size() && s[k] == '_') ++k;
      if (k < s.size() && ok(s[k])) {
        end = k + 1;
      } else {
        return end;
      }
    }
  };
  if (s[i] == '0' && i + 1 < s.size()) {
    const char p = static_cast<char>(s[i + 1] | 0x20);
    if (p == 'b' || p == 'o' || p == 'x') {
      base = p == 'b' ? 2 : p == 'o' ? 8 : 16;
      const size_t e = run(i + 2, [&](char c) {
        if (base == 2) return c == '0' || c == '1';
        if (base == 8) return c >= '0' && c <= '7';
        return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
      });
      if (e != i + 2) return e;
    }
  }
  base = 10;
  if (s[i] >= '1' && s[i] <= '9') return run(i + 1, is_digit);
  if (s[i] == '0') return run(i + 1, [](char c) { return c == '0'; });
  return i;
}

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  c = static_cast<char>(c | 0x20);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// jinja2 decodes string literals with Python's "unicode-escape" after backslash-escaping every
// non-ASCII character; doing the same two steps reproduces its quirks exactly.
std::string decode_string_literal(std::string_view body, SourcePos pos) {
  std::string ascii;
  for (char32_t c : decode_utf8(body)) {
    if (c < 0x80) {
      ascii.push_back(static_cast<char>(c));
    } else if (c <= 0xFF) {
      ascii += fmt::format("\\x{:02x}", static_cast<unsigned>(c));
    } else if (c <= 0xFFFF) {
      ascii += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    } else {
      ascii += fmt::format("\\U{:08x}", static_cast<unsigned>(c));
    }
  }
  std::string out;
  for (size_t i = 0; i < ascii.size(); ++i) {
    if (ascii[i] != '\\') {
      out.push_back(ascii[i]);
      continue;
    }
    if (i + 1 >= ascii.size()) fail_at(FailKind::kSyntax, pos, "\\ at end of string");
    const char e = ascii[++i];
    switch (e) {
      case '\n': break;
      case '\\': out.push_back('\\'); break;
      case '\'': out.push_back('\''); break;
      case '"': out.push_back('"'); break;
      case 'a': out.push_back('\a'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'v': out.push_back('\v'); break;
      case 'x': case 'u': case 'U': {
        const int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        uint32_t cp = 0;
        for (int k = 0; k < n; ++k) {
          const int h = i + 1 + static_cast<size_t>(k) < ascii.size() ? hex_value(ascii[i + 1 + static_cast<size_t>(k)]) : -1;
          if (h < 0) fail_at(FailKind::kSyntax, pos, fmt::format("truncated \\{}{} escape", e, std::string(n, 'X')));
          cp = cp * 16 + static_cast<uint32_t>(h);
        }
        if (cp > 0x10FFFF) fail_at(FailKind::kSyntax, pos, "illegal Unicode character");
        i += static_cast<size_t>(n);
        append_utf8(out, cp);
        break;
      }
      case 'N':
        fail_at(FailKind::kUnsupported, pos, "\\N{...} escapes in string literals are not supported");
      default:
        if (e >= '0' && e <= '7') {
          uint32_t cp = static_cast<uint32_t>(e - '0');
          for (int k = 0; k < 2 && i + 1 < ascii.size() && ascii[i + 1] >= '0' && ascii[i + 1] <= '7'; ++k) {
            cp = cp * 8 + static_cast<uint32_t>(ascii[++i] - '0');
          }
          append_utf8(out, cp);
        } else {
          out.push_back('\\');  // unknown escapes stay as written
          out.push_back(e);
        }
    }
  }
  return out;
}

// Newlines normalised to "\n" and one trailing newline removed (keep_trailing_newline=False).
std::string normalize_source(std::string_view src) {
  std::string out;
  out.reserve(src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    if (src[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < src.size() && src[i + 1] == '\n') ++i;
    } else {
      out.push_back(src[i]);
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class Lexer {
 public:
  Lexer(std::string src, const LexerOptions& options) : src_(std::move(src)), opt_(options) {}

  std::vector<Token> run() {
    size_t pos = 0;
    bool line_starting = true;
    while (pos < src_.size()) {
      const size_t tag = find_tag(pos);
      if (tag == std::string::npos) {
        emit_data(pos, src_.size());
        break;
      }
      const char kind = src_[tag + 1];  // '{', '%' or '#'
      size_t raw_end = 0;
      const bool raw = kind == '%' && match_raw_begin(tag, raw_end);
      const char sign = tag + 2 < src_.size() && (src_[tag + 2] == '-' || src_[tag + 2] == '+') ? src_[tag + 2] : 0;
      std::string_view text(src_.data() + pos, tag - pos);
      text = apply_strip(text, sign, kind != '{', line_starting);
      if (!text.empty()) push(TokenType::kData, std::string(text), pos);
      if (raw) {
        pos = lex_raw_body(raw_end, src_[raw_end - 1] == '\n', tag);
        line_starting = src_[pos - 1] == '\n';
        continue;
      }
      const size_t after = tag + 2 + (sign ? 1 : 0);
      if (kind == '#') {
        pos = lex_comment(after, tag);
      } else {
        push(kind == '{' ? TokenType::kVarBegin : TokenType::kBlockBegin, {}, tag);
        pos = lex_tag(after, kind == '{');
      }
      line_starting = pos > 0 && src_[pos - 1] == '\n';
    }
    push(TokenType::kEof, {}, src_.size());
    return std::move(tokens_);
  }

 private:
  size_t find_tag(size_t from) const {
    for (size_t i = src_.find('{', from); i != std::string::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return std::string::npos;
  }

  // `{%(-|+)?\s*raw\s*(-%}\s*|%})` at `at`; sets `end` past the match.
  bool match_raw_begin(size_t at, size_t& end) const {
    size_t i = at + 2;
    if (i < src_.size() && (src_[i] == '-' || src_[i] == '+')) ++i;
    i = skip_spaces(src_, i);
    if (src_.compare(i, 3, "raw") != 0) return false;
    i = skip_spaces(src_, i + 3);
    if (src_.compare(i, 3, "-%}") == 0) {
      end = skip_spaces(src_, i + 3);
      return true;
    }
    if (src_.compare(i, 2, "%}") == 0) {
      end = i + 2;
      return true;
    }
    return false;
  }

  // The whitespace control jinja2 applies to the text before a tag (OptionalLStrip rules).
  std::string_view apply_strip(std::string_view text, char sign, bool lstrip_allowed, bool line_starting) const {
    if (sign == '-') return rstrip(text);
    if (sign != '+' && opt_.lstrip_blocks && lstrip_allowed) {
      const size_t nl = text.rfind('\n');
      const size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
      if (l_pos > 0 || line_starting) {
        if (text.find_first_not_of(" \t", l_pos) == std::string_view::npos) return text.substr(0, l_pos);
      }
    }
    return text;
  }

  // A block end at i: `+%}`, `-%}\s*` or `%}\n?` (or the `}}` forms). Returns the end, or 0.
  size_t match_end(size_t i, bool variable) const {
    const char* close = variable ? "}}" : "%}";
    if (src_.compare(i, 2, close) == 0) {
      size_t e = i + 2;
      if (!variable && opt_.trim_blocks && e < src_.size() && src_[e] == '\n') ++e;
      return e;
    }
    if (src_[i] == '-' && src_.compare(i + 1, 2, close) == 0) return skip_spaces(src_, i + 3);
    if (!variable && src_[i] == '+' && src_.compare(i + 1, 2, close) == 0) return i + 3;
    return 0;
  }

  size_t lex_comment(size_t start, size_t tag) {
    for (size_t q = src_.find("#}", start); q != std::string::npos; q = src_.find("#}", q + 1)) {
      if (q > start && src_[q - 1] == '-') return skip_spaces(src_, q + 2);
      if (q > start && src_[q - 1] == '+') return q + 2;
      size_t e = q + 2;
      if (opt_.trim_blocks && e < src_.size() && src_[e] == '\n') ++e;
      return e;
    }
    fail_at(FailKind::kSyntax, position(tag), "Missing end of comment tag");
  }

  size_t lex_raw_body(size_t start, bool line_starting, size_t tag) {
    for (size_t p = src_.find("{%", start); p != std::string::npos; p = src_.find("{%", p + 1)) {
      size_t i = p + 2;
      const char sign = i < src_.size() && (src_[i] == '-' || src_[i] == '+') ? src_[i] : 0;
      if (sign) ++i;
      i = skip_spaces(src_, i);
      if (src_.compare(i, 6, "endraw") != 0) continue;
      i = skip_spaces(src_, i + 6);
      const size_t e = match_end(i, false);
      if (e == 0) continue;
      std::string_view text(src_.data() + start, p - start);
      text = apply_strip(text, sign, true, line_starting);
      if (!text.empty()) push(TokenType::kData, std::string(text), start);
      return e;
    }
    fail_at(FailKind::kSyntax, position(tag), "Missing end of raw directive");
  }

  // Tokens inside {{ }} or {% %} up to and including the end marker.
  size_t lex_tag(size_t i, bool variable) {
    std::vector<char> balance;
    while (i < src_.size()) {
      if (balance.empty()) {
        if (const size_t e = match_end(i, variable)) {
          push(variable ? TokenType::kVarEnd : TokenType::kBlockEnd, {}, i);
          return e;
        }
      }
      if (const size_t n = space_at(src_, i)) {
        i = skip_spaces(src_, i + n);
        continue;
      }
      const char c = src_[i];
      if (size_t e = match_float(src_, i); e != i) {
        Token& t = push(TokenType::kFloat, {}, i);
        std::string digits;
        for (size_t k = i; k < e; ++k) {
          if (src_[k] != '_') digits.push_back(src_[k]);
        }
        std::from_chars(digits.data(), digits.data() + digits.size(), t.float_value);
        i = e;
        continue;
      }
      int base = 10;
      if (size_t e = match_integer(src_, i, base); e != i) {
        Token& t = push(TokenType::kInteger, {}, i);
        std::string digits;
        for (size_t k = i + (base == 10 ? 0 : 2); k < e; ++k) {
          if (src_[k] != '_') digits.push_back(src_[k]);
        }
        const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), t.int_value, base);
        if (r.ec != std::errc()) {
          fail_at(FailKind::kUnsupported, t.pos, "integer literal does not fit in 64 bits");
        }
        i = e;
        continue;
      }
      if (is_name_start(c)) {
        size_t e = i + 1;
        while (e < src_.size() && is_name_char(src_[e])) ++e;
        push(TokenType::kName, src_.substr(i, e - i), i);
        i = e;
        continue;
      }
      if (c == '\'' || c == '"') {
        size_t e = i + 1;
        while (e < src_.size() && src_[e] != c) e += src_[e] == '\\' ? 2 : 1;
        if (e >= src_.size()) {
          fail_at(FailKind::kSyntax, position(i), fmt::format("unexpected char {} at {}", quoted(std::string(1, c)), i));
        }
        const SourcePos pos = position(i);
        push(TokenType::kString, decode_string_literal(std::string_view(src_).substr(i + 1, e - i - 1), pos), i);
        i = e + 1;
        continue;
      }
      static constexpr std::string_view kTwo[] = {"//", "**", "==", "!=", ">=", "<="};
      std::string op;
      for (std::string_view two : kTwo) {
        if (src_.compare(i, 2, two) == 0) op = two;
      }
      if (op.empty() && std::string_view("+-/*%~[](){}><=.:|,;").find(c) != std::string_view::npos) op = c;
      if (op.empty()) {
        std::string shown;
        append_utf8(shown, decode_utf8(std::string_view(src_).substr(i, 4))[0]);
        fail_at(FailKind::kSyntax, position(i), fmt::format("unexpected char {} at {}", quoted(shown), i));
      }
      if (op == "{" || op == "(" || op == "[") {
        balance.push_back(op == "{" ? '}' : op == "(" ? ')' : ']');
      } else if (op == "}" || op == ")" || op == "]") {
        if (balance.empty()) fail_at(FailKind::kSyntax, position(i), fmt::format("unexpected '{}'", op));
        if (balance.back() != op[0]) {
          fail_at(FailKind::kSyntax, position(i), fmt::format("unexpected '{}', expected '{}'", op, balance.back()));
        }
        balance.pop_back();
      }
      push(TokenType::kOperator, op, i);
      i += op.size();
    }
    return i;  // end of template inside a tag: the parser reports it
  }

  static std::string quoted(const std::string& s) { return s == "'" ? "\"'\"" : "'" + s + "'"; }

  void emit_data(size_t from, size_t to) {
    if (to > from) push(TokenType::kData, src_.substr(from, to - from), from);
  }

  Token& push(TokenType type, std::string text, size_t offset) {
    Token t;
    t.type = type;
    t.text = std::move(text);
    t.pos = position(offset);
    tokens_.push_back(std::move(t));
    return tokens_.back();
  }

  // Line and column of a byte offset; offsets arrive almost always in increasing order, so a
  // forward-moving cursor keeps this linear overall.
  SourcePos position(size_t offset) {
    if (offset < cursor_) {
      cursor_ = 0;
      cursor_pos_ = {1, 1};
    }
    for (; cursor_ < offset && cursor_ < src_.size(); ++cursor_) {
      const auto c = static_cast<unsigned char>(src_[cursor_]);
      if (c == '\n') {
        ++cursor_pos_.line;
        cursor_pos_.col = 1;
      } else if ((c & 0xC0) != 0x80) {
        ++cursor_pos_.col;
      }
    }
    return cursor_pos_;
  }

  std::string src_;
  LexerOptions opt_;
  std::vector<Token> tokens_;
  size_t cursor_ = 0;
  SourcePos cursor_pos_{1, 1};
};

}  // namespace

std::vector<Token> tokenize(std::string_view source, const LexerOptions& options) {
  return Lexer(normalize_source(source), options).run();
}

std::string describe_token(const Token& t) {
  switch (t.type) {
    case TokenType::kData: return "template data";
    case TokenType::kVarBegin: return "begin of print statement";
    case TokenType::kVarEnd: return "end of print statement";
    case TokenType::kBlockBegin: return "begin of statement block";
    case TokenType::kBlockEnd: return "end of statement block";
    case TokenType::kName: return "'" + t.text + "'";
    case TokenType::kString: return "string";
    case TokenType::kInteger: return "integer";
    case TokenType::kFloat: return "float";
    case TokenType::kOperator: return "'" + t.text + "'";
    case TokenType::kEof: return "end of template";
  }
  return "token";
}

}  // namespace muse::text::jinja
