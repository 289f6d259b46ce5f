// Python's two string-formatting mini-languages: `fmt % args` and str.format().
#include <cmath>
#include <cstdio>

#include "text/jinja_failure.h"
#include "text/jinja_interpreter.h"
#include "text/jinja_ops.h"
#include "text/jinja_unicode.h"

namespace muse::text::jinja {

namespace {

// ---- shared number rendering -------------------------------------------------------------------

std::string digits_in_base(uint64_t v, int base, bool upper) {
  if (v == 0) return "0";
  const char* table = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  while (v) {
    out.insert(out.begin(), table[v % static_cast<uint64_t>(base)]);
    v /= static_cast<uint64_t>(base);
  }
  return out;
}

uint64_t magnitude(int64_t v) { return v < 0 ? static_cast<uint64_t>(-(v + 1)) + 1 : static_cast<uint64_t>(v); }

// C printf for one double conversion; glibc rounds exactly as CPython does for e/f/g.
std::string c_format_double(double v, char conv, int precision, bool alt) {
  std::string spec = "%";
  if (alt) spec += '#';
  spec += ".*";
  spec += conv;
  char buf[512];
  const int n = std::snprintf(buf, sizeof buf, spec.c_str(), precision, v);
  if (n < 0) return {};
  if (static_cast<size_t>(n) < sizeof buf) return std::string(buf, static_cast<size_t>(n));
  std::string big(static_cast<size_t>(n) + 1, '\0');
  std::snprintf(big.data(), big.size(), spec.c_str(), precision, v);
  big.resize(static_cast<size_t>(n));
  return big;
}

void check_precision(int64_t precision, Interpreter& interp) {
  if (precision > 1000) interp.check_size(static_cast<size_t>(precision));  // absurd precision = huge text
}

// ---- `%` formatting ------------------------------------------------------------------------

struct PercentSpec {
  bool left = false, zero = false, plus = false, space = false, alt = false;
  int64_t width = -1, precision = -1;
};

std::string pad_percent(std::string body, const PercentSpec& sp, bool numeric) {
  const auto len = static_cast<int64_t>(utf8_length(body));
  if (sp.width <= len) return body;
  const auto fill = static_cast<size_t>(sp.width - len);
  if (sp.left) return body + std::string(fill, ' ');
  if (sp.zero && numeric) {
    size_t at = 0;
    if (!body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' ')) at = 1;
    if (body.size() >= at + 2 && body[at] == '0' && (body[at + 1] == 'x' || body[at + 1] == 'X' || body[at + 1] == 'o')) {
      at += 2;
    }
    return body.substr(0, at) + std::string(fill, '0') + body.substr(at);
  }
  return std::string(fill, ' ') + body;
}

std::string sign_prefix(bool negative, bool plus, bool space) {
  if (negative) return "-";
  if (plus) return "+";
  if (space) return " ";
  return "";
}

std::string percent_one(Interpreter& interp, char conv, const PercentSpec& sp, const Value& v, bool markup) {
  switch (conv) {
    case 's':
    case 'r':
    case 'a': {
      std::string s;
      if (conv == 's') {
        py_str(v, s);
      } else {
        py_repr(v, s);
      }
      if (markup && !v.is_markup()) s = html_escape_text(s);
      if (sp.precision >= 0) {
        s = str_slice(s, adjust_slice(static_cast<int64_t>(utf8_length(s)), 0, sp.precision, 1));
      }
      return pad_percent(std::move(s), sp, false);
    }
    case 'c': {
      std::string s;
      if (v.is_integral()) {
        if (v.i() < 0 || v.i() > 0x10FFFF) fail(FailKind::kOverflow, "%c arg not in range(0x110000)");
        append_utf8(s, static_cast<char32_t>(v.i()));
      } else if (v.is_string() && utf8_length(v.s()) == 1) {
        s = v.s();
      } else {
        fail(FailKind::kType, "%c requires int or char");
      }
      return pad_percent(std::move(s), sp, false);
    }
    case 'd': case 'i': case 'u': case 'o': case 'x': case 'X': {
      int64_t n;
      if (v.is_integral()) {
        n = v.i();
      } else if (v.is_float() && (conv == 'd' || conv == 'i' || conv == 'u')) {
        if (!std::isfinite(v.f())) fail(FailKind::kOverflow, "cannot convert float {} to integer", py_float_repr(v.f()));
        if (std::fabs(v.f()) >= 9.2e18) fail(FailKind::kOverflow, "integer does not fit in 64 bits");
        n = static_cast<int64_t>(v.f());  // truncates toward zero, as int() does
      } else {
        fail(FailKind::kType, "%{} format: {} is required, not {}", conv,
             conv == 'o' || conv == 'x' || conv == 'X' ? "an integer" : "a real number", type_name(v));
      }
      const int base = conv == 'o' ? 8 : (conv == 'x' || conv == 'X') ? 16 : 10;
      std::string digits = digits_in_base(magnitude(n), base, conv == 'X');
      if (sp.precision > static_cast<int64_t>(digits.size())) {
        check_precision(sp.precision, interp);
        digits.insert(0, static_cast<size_t>(sp.precision) - digits.size(), '0');
      }
      std::string prefix;
      if (sp.alt && base == 8) prefix = "0o";
      if (sp.alt && base == 16) prefix = conv == 'X' ? "0X" : "0x";
      return pad_percent(sign_prefix(n < 0, sp.plus, sp.space) + prefix + digits, sp, true);
    }
    case 'e': case 'E': case 'f': case 'F': case 'g': case 'G': {
      if (!v.is_number()) fail(FailKind::kType, "must be real number, not {}", type_name(v));
      const double d = v.as_double();
      const int precision = sp.precision < 0 ? 6 : static_cast<int>(std::min<int64_t>(sp.precision, 10000));
      check_precision(precision, interp);
      std::string body = c_format_double(std::fabs(d), conv, precision, sp.alt);
      return pad_percent(sign_prefix(std::signbit(d) && !std::isnan(d), sp.plus, sp.space) + body, sp, std::isfinite(d));
    }
    default:
      fail(FailKind::kValue, "unsupported format character '{}'", conv);
  }
}

}  // namespace

std::string percent_format(Interpreter& interp, std::string_view fmt, const Value& args, bool markup) {
  std::vector<Value> positional;
  const Value* mapping = nullptr;
  if (args.is_tuple()) {
    positional = args.items();
  } else {
    if (args.is_dict()) mapping = &args;
    positional.push_back(args);
  }
  size_t next_arg = 0;
  bool used_mapping = false;
  std::string out;
  auto take = [&]() -> const Value& {
    if (next_arg >= positional.size()) fail(FailKind::kType, "not enough arguments for format string");
    return positional[next_arg++];
  };
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out.push_back(fmt[i]);
      continue;
    }
    if (++i >= fmt.size()) fail(FailKind::kValue, "incomplete format");
    const Value* keyed = nullptr;
    if (fmt[i] == '(') {
      if (!mapping) fail(FailKind::kType, "format requires a mapping");
      int depth = 1;
      size_t j = i + 1;
      while (j < fmt.size() && depth > 0) {
        if (fmt[j] == '(') ++depth;
        if (fmt[j] == ')') --depth;
        ++j;
      }
      if (depth) fail(FailKind::kValue, "incomplete format key");
      const std::string key(fmt.substr(i + 1, j - i - 2));
      keyed = mapping->dict_ref().find(std::string_view(key));
      if (!keyed) fail(FailKind::kValue, "KeyError: '{}'", key);
      used_mapping = true;
      i = j;
    }
    PercentSpec sp;
    for (; i < fmt.size(); ++i) {
      const char c = fmt[i];
      if (c == '-') sp.left = true;
      else if (c == '0') sp.zero = true;
      else if (c == '+') sp.plus = true;
      else if (c == ' ') sp.space = true;
      else if (c == '#') sp.alt = true;
      else break;
    }
    auto number = [&](int64_t& target) {
      if (i < fmt.size() && fmt[i] == '*') {
        target = to_int(take(), "* wants int");
        ++i;
        return;
      }
      int64_t n = -1;
      while (i < fmt.size() && fmt[i] >= '0' && fmt[i] <= '9') {
        n = (n < 0 ? 0 : n) * 10 + (fmt[i] - '0');
        if (n > 100'000'000) fail(FailKind::kLimit, "format width or precision {}... is too large", n);
        ++i;
      }
      target = n;
    };
    number(sp.width);
    if (sp.width < -1) {
      sp.left = true;
      sp.width = -sp.width;
    }
    if (i < fmt.size() && fmt[i] == '.') {
      ++i;
      number(sp.precision);
      if (sp.precision < 0) sp.precision = 0;
    }
    while (i < fmt.size() && (fmt[i] == 'h' || fmt[i] == 'l' || fmt[i] == 'L')) ++i;
    if (i >= fmt.size()) fail(FailKind::kValue, "incomplete format");
    const char conv = fmt[i];
    if (conv == '%') {
      out.push_back('%');
      continue;
    }
    if (sp.width > 0) interp.check_size(static_cast<size_t>(sp.width));
    out += percent_one(interp, conv, sp, keyed ? *keyed : take(), markup);
    interp.check_size(out.size());
  }
  if (next_arg < positional.size() && !mapping && !used_mapping) {
    fail(FailKind::kType, "not all arguments converted during string formatting");
  }
  return out;
}

namespace {

// ---- str.format ---------------------------------------------------------------------------

struct FormatSpec {
  char32_t fill = ' ';
  char align = 0;  // < > = ^
  char sign = 0;   // + - space
  bool no_neg_zero = false;
  bool alt = false;
  int64_t width = -1;
  char grouping = 0;  // , or _
  int64_t precision = -1;
  char type = 0;
};

FormatSpec parse_format_spec(std::string_view spec) {
  FormatSpec f;
  const std::u32string s = decode_utf8(spec);
  size_t i = 0;
  auto is_align = [](char32_t c) { return c == '<' || c == '>' || c == '=' || c == '^'; };
  if (s.size() >= 2 && is_align(s[1])) {
    f.fill = s[0];
    f.align = static_cast<char>(s[1]);
    i = 2;
  } else if (!s.empty() && is_align(s[0])) {
    f.align = static_cast<char>(s[0]);
    i = 1;
  }
  if (i < s.size() && (s[i] == '+' || s[i] == '-' || s[i] == ' ')) f.sign = static_cast<char>(s[i++]);
  if (i < s.size() && s[i] == 'z') {
    f.no_neg_zero = true;
    ++i;
  }
  if (i < s.size() && s[i] == '#') {
    f.alt = true;
    ++i;
  }
  if (i < s.size() && s[i] == '0') {
    if (!f.align) {
      f.fill = '0';
      f.align = '=';
    }
    ++i;
  }
  auto number = [&]() {
    int64_t n = -1;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      n = (n < 0 ? 0 : n) * 10 + static_cast<int64_t>(s[i] - '0');
      if (n > 100'000'000) fail(FailKind::kLimit, "format width or precision {}... is too large", n);
      ++i;
    }
    return n;
  };
  f.width = number();
  if (i < s.size() && (s[i] == ',' || s[i] == '_')) f.grouping = static_cast<char>(s[i++]);
  if (i < s.size() && s[i] == '.') {
    ++i;
    f.precision = number();
    if (f.precision < 0) fail(FailKind::kValue, "Format specifier missing precision");
  }
  if (i < s.size()) f.type = static_cast<char>(s[i++]);
  if (i != s.size()) fail(FailKind::kValue, "Invalid format specifier");
  return f;
}

std::string group_digits(const std::string& digits, char sep, size_t every) {
  if (!sep) return digits;
  std::string out;
  const size_t n = digits.size();
  for (size_t k = 0; k < n; ++k) {
    if (k && (n - k) % every == 0) out.push_back(sep);
    out.push_back(digits[k]);
  }
  return out;
}

// Applies width/fill/alignment; `sign_len` leading chars stay left of '=' padding.
std::string align_field(const std::string& body, const FormatSpec& f, char default_align, size_t sign_len) {
  const auto len = static_cast<int64_t>(utf8_length(body));
  if (f.width <= len) return body;
  const int64_t fill_count = f.width - len;
  std::string fill;
  append_utf8(fill, f.fill);
  auto repeat = [&](int64_t n) {
    std::string r;
    for (int64_t k = 0; k < n; ++k) r += fill;
    return r;
  };
  const char align = f.align ? f.align : default_align;
  switch (align) {
    case '<': return body + repeat(fill_count);
    case '^': return repeat(fill_count / 2) + body + repeat(fill_count - fill_count / 2);
    case '=': return body.substr(0, sign_len) + repeat(fill_count) + body.substr(sign_len);
    default: return repeat(fill_count) + body;
  }
}

std::string sign_of(bool negative, char sign) {
  if (negative) return "-";
  if (sign == '+') return "+";
  if (sign == ' ') return " ";
  return "";
}

std::string format_float(Interpreter& interp, double d, const FormatSpec& f) {
  char type = f.type;
  int64_t precision = f.precision;
  check_precision(precision, interp);
  bool negative = std::signbit(d) && !std::isnan(d);
  double a = std::fabs(d);
  std::string body;
  if (type == 0 && precision < 0) {
    body = py_float_repr(a);
  } else if (type == 0) {
    body = c_format_double(a, 'g', static_cast<int>(precision == 0 ? 1 : precision), f.alt);
    if (std::isfinite(a) && body.find_first_of(".e") == std::string::npos) body += ".0";
  } else if (type == '%') {
    body = c_format_double(a * 100.0, 'f', static_cast<int>(precision < 0 ? 6 : precision), f.alt) + "%";
  } else {
    if (type == 'n') type = 'g';
    body = c_format_double(a, type, static_cast<int>(precision < 0 ? 6 : precision), f.alt);
  }
  if (f.no_neg_zero && negative && std::isfinite(a) &&
      body.substr(0, body.find_first_of("eE")).find_first_of("123456789") == std::string::npos) {
    negative = false;  // 'z': a value that rounds to zero prints without its minus sign
  }
  if (f.grouping && std::isfinite(a)) {
    const size_t int_end = body.find_first_not_of("0123456789");
    body = group_digits(body.substr(0, int_end), f.grouping, 3) + (int_end == std::string::npos ? "" : body.substr(int_end));
  }
  const std::string sign = sign_of(negative, f.sign);
  return align_field(sign + body, f, '>', sign.size());
}

std::string format_value(Interpreter& interp, const Value& v, std::string_view spec_text) {
  if (spec_text.empty()) return py_str(v);
  const FormatSpec f = parse_format_spec(spec_text);
  if (f.width > 0) interp.check_size(static_cast<size_t>(f.width));
  if (v.is_integral()) {
    const char t = f.type;
    if (t == 'e' || t == 'E' || t == 'f' || t == 'F' || t == 'g' || t == 'G' || t == '%') {
      return format_float(interp, static_cast<double>(v.i()), f);
    }
    if (f.precision >= 0) fail(FailKind::kValue, "Precision not allowed in integer format specifier");
    if (t == 'c') {
      std::string s;
      if (v.i() < 0 || v.i() > 0x10FFFF) fail(FailKind::kOverflow, "%c arg not in range(0x110000)");
      append_utf8(s, static_cast<char32_t>(v.i()));
      return align_field(s, f, '<', 0);
    }
    const int base = t == 'b' ? 2 : t == 'o' ? 8 : (t == 'x' || t == 'X') ? 16 : 10;
    if (!(t == 0 || t == 'd' || t == 'n' || base != 10)) {
      fail(FailKind::kValue, "Unknown format code '{}' for object of type 'int'", t);
    }
    std::string digits = group_digits(digits_in_base(magnitude(v.i()), base, t == 'X'), f.grouping, base == 10 ? 3 : 4);
    std::string prefix;
    if (f.alt && base != 10) prefix = t == 'b' ? "0b" : t == 'o' ? "0o" : t == 'X' ? "0X" : "0x";
    const std::string sign = sign_of(v.i() < 0, f.sign) + prefix;
    return align_field(sign + digits, f, '>', sign.size());
  }
  if (v.is_float()) return format_float(interp, v.f(), f);
  if (v.is_string()) {
    if (f.type && f.type != 's') fail(FailKind::kValue, "Unknown format code '{}' for object of type 'str'", f.type);
    if (f.sign) fail(FailKind::kValue, "Sign not allowed in string format specifier");
    if (f.align == '=') fail(FailKind::kValue, "'=' alignment not allowed in string format specifier");
    std::string s = v.s();
    if (f.precision >= 0) s = str_slice(s, adjust_slice(static_cast<int64_t>(utf8_length(s)), 0, f.precision, 1));
    return align_field(s, f, '<', 0);
  }
  fail(FailKind::kType, "unsupported format string passed to {}.__format__", type_name(v));
}

}  // namespace

std::string str_format(Interpreter& interp, std::string_view fmt, const CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  bool used_auto = false, used_manual = false;
  for (size_t i = 0; i < fmt.size(); ++i) {
    const char c = fmt[i];
    if (c == '}') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}') {
        out.push_back('}');
        ++i;
        continue;
      }
      fail(FailKind::kValue, "Single '}}' encountered in format string");
    }
    if (c != '{') {
      out.push_back(c);
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out.push_back('{');
      ++i;
      continue;
    }
    // Find the matching '}' (format specs may nest one level of {fields}).
    size_t j = i + 1;
    int depth = 1;
    while (j < fmt.size() && depth > 0) {
      if (fmt[j] == '{') ++depth;
      if (fmt[j] == '}') --depth;
      if (depth > 0) ++j;
    }
    if (depth) fail(FailKind::kValue, "expected '}}' before end of string");
    std::string_view field = fmt.substr(i + 1, j - i - 1);
    i = j;
    // field_name[!conv][:spec]
    size_t name_end = 0;
    while (name_end < field.size() && field[name_end] != '!' && field[name_end] != ':') {
      if (field[name_end] == '[') {
        const size_t close = field.find(']', name_end);
        if (close == std::string_view::npos) fail(FailKind::kValue, "Missing ']' in format string");
        name_end = close;
      }
      ++name_end;
    }
    std::string_view name = field.substr(0, name_end);
    char conv = 0;
    std::string spec;
    size_t k = name_end;
    if (k < field.size() && field[k] == '!') {
      if (k + 1 >= field.size()) fail(FailKind::kValue, "end of string while looking for conversion specifier");
      conv = field[k + 1];
      k += 2;
      if (k < field.size() && field[k] != ':') fail(FailKind::kValue, "expected ':' after conversion specifier");
    }
    if (k < field.size() && field[k] == ':') spec = std::string(field.substr(k + 1));
    if (spec.find('{') != std::string::npos) spec = str_format(interp, spec, args);  // nested fields
    // The first part of the name selects the argument.
    size_t first_end = 0;
    while (first_end < name.size() && name[first_end] != '.' && name[first_end] != '[') ++first_end;
    const std::string_view head = name.substr(0, first_end);
    Value value;
    if (head.empty()) {
      if (used_manual) fail(FailKind::kValue, "cannot switch from manual field specification to automatic field numbering");
      used_auto = true;
      if (auto_index >= args.args.size()) fail(FailKind::kValue, "Replacement index {} out of range for positional args tuple", auto_index);
      value = args.args[auto_index++];
    } else if (head.find_first_not_of("0123456789") == std::string_view::npos) {
      if (used_auto) fail(FailKind::kValue, "cannot switch from automatic field numbering to manual field specification");
      used_manual = true;
      const size_t idx = head.size() > 9 ? SIZE_MAX : std::stoul(std::string(head));
      if (idx >= args.args.size()) fail(FailKind::kValue, "Replacement index {} out of range for positional args tuple", head);
      value = args.args[idx];
    } else {
      const Value* found = nullptr;
      for (const auto& [kw, v] : args.kwargs) {
        if (kw == head) found = &v;
      }
      if (!found) fail(FailKind::kValue, "KeyError: '{}'", head);
      value = *found;
    }
    // .attr and [key] accessors, through the sandbox.
    for (size_t p = first_end; p < name.size();) {
      if (name[p] == '.') {
        size_t e = p + 1;
        while (e < name.size() && name[e] != '.' && name[e] != '[') ++e;
        value = interp.get_attr(value, name.substr(p + 1, e - p - 1));
        p = e;
      } else {
        const size_t close = name.find(']', p);
        const std::string_view key = name.substr(p + 1, close - p - 1);
        Value k = key.find_first_not_of("0123456789") == std::string_view::npos && !key.empty() && key.size() < 18
                      ? Value::integer(std::stoll(std::string(key)))
                      : Value::string(std::string(key));
        value = interp.get_item(value, k);
        p = close + 1;
      }
    }
    if (conv == 'r' || conv == 'a') {
      std::string r;
      py_repr(value, r);
      value = Value::string(std::move(r));
    } else if (conv == 's') {
      value = Value::string(py_str(value));
    } else if (conv) {
      fail(FailKind::kValue, "Unknown conversion specifier {}", conv);
    }
    out += format_value(interp, value, spec);
    interp.check_size(out.size());
  }
  return out;
}

}  // namespace muse::text::jinja
