// jinja2 3.1's builtin filters (plus transformers' tojson) on strings and numbers, and the filter
// table. Sequence filters live in jinja_filters_seq.cpp.
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "text/jinja_failure.h"
#include "text/jinja_filters_internal.h"
#include "text/jinja_interpreter.h"
#include "text/jinja_json.h"
#include "text/jinja_ops.h"
#include "text/jinja_parser.h"
#include "text/jinja_unicode.h"

namespace muse::text::jinja {

namespace {

using namespace filters;  // helpers and the sequence filters

// ---- strings ----------------------------------------------------------------------------------

Value f_upper(Interpreter&, const Value& v, CallArgs& a) {
  ArgBinder("upper", a, {});
  return Value::string(str_upper(text_of(v)), v.is_markup());
}

Value f_lower(Interpreter&, const Value& v, CallArgs& a) {
  ArgBinder("lower", a, {});
  return Value::string(str_lower(text_of(v)), v.is_markup());
}

Value f_capitalize(Interpreter&, const Value& v, CallArgs& a) {
  ArgBinder("capitalize", a, {});
  return Value::string(str_capitalize(text_of(v)), v.is_markup());
}

// jinja2's title filter: a word starts after any run of - whitespace ( { [ <.
Value f_title(Interpreter&, const Value& v, CallArgs& a) {
  ArgBinder("title", a, {});
  std::string out;
  bool word_start = true;
  for (char32_t c : decode_utf8(text_of(v))) {
    const bool sep = c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || py_isspace(c);
    if (sep) {
      append_utf8(out, c);
      word_start = true;
    } else if (word_start) {
      append_utf8(out, py_upper(c));
      word_start = false;
    } else {
      out += str_lower(encode_utf8(std::u32string(1, c)));
    }
  }
  return Value::string(std::move(out), v.is_markup());
}

Value f_trim(Interpreter&, const Value& v, CallArgs& args) {
  ArgBinder a("trim", args, {"chars"});
  return Value::string(str_strip(text_of(v), a.get_str(0), true, true), v.is_markup());
}

Value f_replace(Interpreter& in, const Value& v, CallArgs& args) {
  ArgBinder a("replace", args, {"old", "new", "count"});
  if (!a.has(0) || !a.has(1)) fail(FailKind::kType, "replace() missing required arguments 'old' and 'new'");
  const std::string s = text_of(v);
  const std::string old = text_of(a.get(0));
  const std::string with = text_of(a.get(1));
  const int64_t count = a.get_int(2).value_or(-1);
  in.check_size(str_replace_result_size(s, old, with, count));
  return Value::string(str_replace(s, old, with, count));
}

Value f_center(Interpreter& in, const Value& v, CallArgs& args) {
  ArgBinder a("center", args, {"width"});
  const int64_t width = a.get_int(0).value_or(80);
  in.check_size(static_cast<size_t>(std::max<int64_t>(width, 0)));
  return Value::string(str_pad(text_of(v), width, ' ', '^'));
}

Value f_indent(Interpreter& in, const Value& v, CallArgs& args) {
  ArgBinder a("indent", args, {"width", "first", "blank"});
  std::string indention;
  if (a.has(0) && a.get(0).is_string()) {
    indention = a.get(0).s();
  } else {
    const int64_t width = a.has(0) ? to_int(a.get(0), "indent() width") : 4;
    in.check_size(static_cast<size_t>(std::max<int64_t>(width, 0)));
    indention.assign(static_cast<size_t>(std::max<int64_t>(width, 0)), ' ');
  }
  const bool first = a.has(1) && truthy(a.get(1));
  const bool blank = a.has(2) && truthy(a.get(2));
  // jinja2 appends "\n" first so that splitlines() keeps a trailing empty line.
  const std::vector<std::string> lines = str_splitlines(text_of(v) + "\n", false);
  in.check_size(text_of(v).size() + lines.size() * indention.size());
  std::string rv;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) rv += '\n';
    if (i > 0 && (blank || !lines[i].empty())) rv += indention;
    rv += lines[i];
  }
  if (first) rv = indention + rv;
  return Value::string(std::move(rv), v.is_markup());
}

Value f_wordcount(Interpreter&, const Value& v, CallArgs& a) {
  ArgBinder("wordcount", a, {});
  int64_t n = 0;
  bool in_word = false;
  for (char32_t c : decode_utf8(text_of(v))) {
    const bool w = py_isalnum(c) || c == '_';
    if (w && !in_word) ++n;
    in_word = w;
  }
  return Value::integer(n);
}

Value f_truncate(Interpreter&, const Value& v, CallArgs& args) {
  ArgBinder a("truncate", args, {"length", "killwords", "end", "leeway"});
  const std::string s = text_of(v);
  const int64_t length = a.get_int(0).value_or(255);
  const bool killwords = a.has(1) && truthy(a.get(1));
  const std::string end = a.has(2) ? text_of(a.get(2)) : "...";
  const int64_t leeway = a.get_int(3).value_or(5);
  const auto end_len = static_cast<int64_t>(utf8_length(end));
  if (length < end_len) fail(FailKind::kValue, "expected length >= {}, got {}", end_len, length);
  if (leeway < 0) fail(FailKind::kValue, "expected leeway >= 0, got {}", leeway);
  const auto len = static_cast<int64_t>(utf8_length(s));
  if (len <= length + leeway) return v.is_string() ? v : Value::string(s);
  std::string head = str_slice(s, adjust_slice(len, 0, length - end_len, 1));
  if (!killwords) head = str_rsplit(head, std::string_view(" "), 1)[0];
  return Value::string(head + end);
}

Value f_striptags(Interpreter&, const Value& v, CallArgs& a) {
  ArgBinder("striptags", a, {});
  std::string s = text_of(v);
  std::string no_tags;
  for (size_t i = 0; i < s.size();) {
    if (s.compare(i, 4, "<!--") == 0) {
      const size_t e = s.find("-->", i + 4);
      if (e != std::string::npos) {
        i = e + 3;
        continue;
      }
    }
    if (s[i] == '<') {
      const size_t e = s.find('>', i + 1);
      if (e != std::string::npos) {
        i = e + 1;
        continue;
      }
    }
    no_tags.push_back(s[i++]);
  }
  std::string joined;
  for (const auto& w : str_split(no_tags, std::nullopt, -1)) {
    if (!joined.empty()) joined += ' ';
    joined += w;
  }
  // html.unescape for the entities markupsafe produces and numeric references.
  std::string out;
  for (size_t i = 0; i < joined.size(); ++i) {
    if (joined[i] == '&') {
      static constexpr std::pair<std::string_view, char> kNamed[] = {
          {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}, {"&#34;", '"'}, {"&apos;", '\''}};
      bool done = false;
      for (const auto& [name, ch] : kNamed) {
        if (joined.compare(i, name.size(), name) == 0) {
          out.push_back(ch);
          i += name.size() - 1;
          done = true;
          break;
        }
      }
      if (done) continue;
      if (i + 2 < joined.size() && joined[i + 1] == '#') {
        const bool hex = joined[i + 2] == 'x' || joined[i + 2] == 'X';
        size_t j = i + (hex ? 3 : 2);
        const size_t start = j;
        while (j < joined.size() && std::isxdigit(static_cast<unsigned char>(joined[j])) && j - start < 8) ++j;
        if (j > start && j < joined.size() && joined[j] == ';') {
          const long cp = std::strtol(joined.substr(start, j - start).c_str(), nullptr, hex ? 16 : 10);
          if (cp > 0 && cp <= 0x10FFFF) {
            append_utf8(out, static_cast<char32_t>(cp));
            i = j;
            continue;
          }
        }
      }
    }
    out.push_back(joined[i]);
  }
  return Value::string(std::move(out));
}

Value f_format(Interpreter& in, const Value& v, CallArgs& args) {
  if (!args.args.empty() && !args.kwargs.empty()) {
    fail(FailKind::kValue, "can't handle positional and keyword arguments at the same time");
  }
  Value operand;
  if (!args.kwargs.empty()) {
    auto d = std::make_shared<Dict>();
    for (auto& [k, x] : args.kwargs) d->set(Value::string(k), x);
    operand = Value::dict(std::move(d));
  } else {
    operand = Value::list(args.args, ListFlavor::kTuple);
  }
  return Value::string(percent_format(in, text_of(v), operand, v.is_markup()), v.is_markup());
}

Value f_string(Interpreter&, const Value& v, CallArgs& a) {
  ArgBinder("string", a, {});
  if (v.is_string()) return v;
  return Value::string(py_str(v));
}

Value f_safe(Interpreter&, const Value& v, CallArgs& a) {
  ArgBinder("safe", a, {});
  return Value::string(py_str(v), true);
}

Value f_escape(Interpreter&, const Value& v, CallArgs& a) {
  ArgBinder("escape", a, {});
  return html_escape(v);
}

Value f_forceescape(Interpreter&, const Value& v, CallArgs& a) {
  ArgBinder("forceescape", a, {});
  return Value::string(html_escape_text(py_str(v)), true);
}

std::string url_quote(std::string_view s, bool for_qs) {
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '_' || c == '.' || c == '-' || c == '~' || (!for_qs && c == '/')) {
      out.push_back(ch);
    } else if (for_qs && c == ' ') {
      out.push_back('+');
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned>(c));
    }
  }
  return out;
}

Value f_urlencode(Interpreter& in, const Value& v, CallArgs& a) {
  ArgBinder("urlencode", a, {});
  if (v.is_string()) return Value::string(url_quote(v.s(), false));
  std::vector<std::pair<Value, Value>> pairs;
  if (v.is_dict()) {
    pairs = v.dict_ref().items();
  } else {
    for (const auto& item : iterate(in, v)) {
      const auto kv = py_iterate(item);
      if (kv.size() != 2) fail(FailKind::kValue, "urlencode expects pairs");
      pairs.emplace_back(kv[0], kv[1]);
    }
  }
  std::string out;
  for (const auto& [k, x] : pairs) {
    if (!out.empty()) out += '&';
    out += url_quote(py_str(k), true) + "=" + url_quote(py_str(x), true);
  }
  return Value::string(std::move(out));
}

Value f_filesizeformat(Interpreter&, const Value& v, CallArgs& args) {
  ArgBinder a("filesizeformat", args, {"binary"});
  const bool binary = a.has(0) && truthy(a.get(0));
  double bytes;
  if (v.is_number()) {
    bytes = v.as_double();
  } else if (v.is_string()) {
    char* end = nullptr;
    bytes = std::strtod(v.s().c_str(), &end);
    if (end == v.s().c_str()) fail(FailKind::kValue, "could not convert string to float: '{}'", v.s());
  } else {
    fail(FailKind::kType, "float() argument must be a string or a real number, not '{}'", type_name(v));
  }
  const double base = binary ? 1024 : 1000;
  static constexpr const char* kDecimal[] = {"kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  static constexpr const char* kBinary[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"};
  if (bytes == 1) return Value::string("1 Byte");
  if (bytes < base) return Value::string(fmt::format("{} Bytes", static_cast<int64_t>(bytes)));
  double unit = base;
  for (int i = 0; i < 8; ++i) {
    unit = std::pow(base, i + 2);
    if (bytes < unit || i == 7) {
      return Value::string(fmt::format("{:.1f} {}", base * bytes / unit, binary ? kBinary[i] : kDecimal[i]));
    }
  }
  return Value();
}

// ---- numbers --------------------------------------------------------------------------------

// Python int(str, base): surrounding whitespace, a sign, `_` between digits, an optional prefix
// matching the base. Returns false where Python raises ValueError.
bool parse_python_int(std::string_view text, int base, int64_t& out) {
  std::string s = str_strip(text, std::nullopt, true, true);
  bool neg = false;
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  if (i + 1 < s.size() && s[i] == '0') {
    const char p = static_cast<char>(s[i + 1] | 0x20);
    if ((p == 'x' && (base == 16 || base == 0)) || (p == 'o' && (base == 8 || base == 0)) ||
        (p == 'b' && (base == 2 || base == 0))) {
      if (base == 0) base = p == 'x' ? 16 : p == 'o' ? 8 : 2;
      i += 2;
      if (i < s.size() && s[i] == '_') ++i;
    }
  }
  if (base == 0) base = 10;
  if (i >= s.size()) return false;
  uint64_t acc = 0;
  bool last_underscore = true;  // no leading underscore
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '_') {
      if (last_underscore) return false;
      last_underscore = true;
      continue;
    }
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') d = (c | 0x20) - 'a' + 10;
    else return false;
    if (d >= base) return false;
    if (acc > (UINT64_MAX - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) {
      fail(FailKind::kOverflow, "integer '{}' does not fit in 64 bits", text);
    }
    acc = acc * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
    last_underscore = false;
  }
  if (last_underscore) return false;
  if (acc > static_cast<uint64_t>(INT64_MAX) + (neg ? 1 : 0)) fail(FailKind::kOverflow, "integer '{}' does not fit in 64 bits", text);
  out = neg ? static_cast<int64_t>(0 - acc) : static_cast<int64_t>(acc);
  return true;
}

// Python float(str): whitespace, `_` between digits, inf/nan spellings.
bool parse_python_float(std::string_view text, double& out) {
  std::string s = str_strip(text, std::nullopt, true, true);
  std::string lower = str_lower(s);
  std::string_view body = lower;
  bool neg = false;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    neg = body[0] == '-';
    body.remove_prefix(1);
  }
  if (body == "inf" || body == "infinity") {
    out = neg ? -HUGE_VAL : HUGE_VAL;
    return true;
  }
  if (body == "nan") {
    out = std::nan("");
    return true;
  }
  std::string clean;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_') {
      if (i == 0 || i + 1 >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i - 1])) ||
          !std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
        return false;
      }
      continue;
    }
    clean.push_back(s[i]);
  }
  if (clean.empty() || clean.find_first_not_of("0123456789+-.eE") != std::string::npos) return false;
  char* end = nullptr;
  out = std::strtod(clean.c_str(), &end);
  return end == clean.c_str() + clean.size();
}

int64_t float_to_int(double f) {
  if (std::isnan(f)) fail(FailKind::kValue, "cannot convert float NaN to integer");
  if (std::isinf(f)) fail(FailKind::kOverflow, "cannot convert float infinity to integer");
  if (std::fabs(f) >= 9.2233720368547758e18) fail(FailKind::kOverflow, "integer does not fit in 64 bits");
  return static_cast<int64_t>(f);
}

Value f_int(Interpreter&, const Value& v, CallArgs& args) {
  ArgBinder a("int", args, {"default", "base"});
  const Value fallback = a.get_or(0, Value::integer(0));
  const int64_t base = a.get_int(1).value_or(10);
  if (v.is_undefined()) fail_undefined(v);
  if (v.is_integral()) return Value::integer(v.i());
  if (v.is_float()) {
    if (std::isnan(v.f())) return fallback;  // ValueError -> int(float(x)) -> ValueError -> default
    return Value::integer(float_to_int(v.f()));
  }
  if (v.is_string()) {
    int64_t out;
    if (base >= 0 && base <= 36 && base != 1 && parse_python_int(v.s(), static_cast<int>(base), out)) {
      return Value::integer(out);
    }
    // jinja2 then tries int(float(value)) so that "42.23"|int gives 42.
    double d;
    if (parse_python_float(v.s(), d)) {
      if (std::isnan(d)) return fallback;
      return Value::integer(float_to_int(d));
    }
  }
  return fallback;
}

Value f_float(Interpreter&, const Value& v, CallArgs& args) {
  ArgBinder a("float", args, {"default"});
  if (v.is_undefined()) fail_undefined(v);
  if (v.is_number()) return Value::real(v.as_double());
  double d;
  if (v.is_string() && parse_python_float(v.s(), d)) return Value::real(d);
  return a.get_or(0, Value::real(0.0));
}

Value f_abs(Interpreter&, const Value& v, CallArgs& a) {
  ArgBinder("abs", a, {});
  if (v.is_integral()) {
    if (v.i() == INT64_MIN) fail(FailKind::kOverflow, "integer does not fit in 64 bits");
    return Value::integer(v.i() < 0 ? -v.i() : v.i());
  }
  if (v.is_float()) return Value::real(std::fabs(v.f()));
  if (v.is_undefined()) fail_undefined(v);
  fail(FailKind::kType, "bad operand type for abs(): '{}'", type_name(v));
}

// Python's round(x, n) for floats: exact decimal rounding, half to even. glibc's printf rounds the
// exact binary value the same way.
double python_round(double x, int64_t ndigits) {
  if (!std::isfinite(x) || ndigits > 323) return x;
  if (ndigits >= 0) {
    char buf[512];
    std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(ndigits), x);
    return std::strtod(buf, nullptr);
  }
  const double scale = std::pow(10.0, static_cast<double>(-ndigits));
  if (!std::isfinite(scale)) return std::copysign(0.0, x);
  return std::nearbyint(x / scale) * scale;
}

Value f_round(Interpreter&, const Value& v, CallArgs& args) {
  ArgBinder a("round", args, {"precision", "method"});
  const int64_t precision = a.get_int(0).value_or(0);
  const std::string method = a.has(1) ? text_of(a.get(1)) : "common";
  if (method != "common" && method != "ceil" && method != "floor") {
    fail(FailKind::kValue, "method must be common, ceil or floor");
  }
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_number()) fail(FailKind::kType, "type {} doesn't define __round__ method", type_name(v));
  if (method == "common") {
    if (v.is_integral()) {
      if (precision >= 0) return Value::integer(v.i());
      if (precision < -18) return Value::integer(0);
      int64_t p = 1;
      for (int64_t k = 0; k < -precision; ++k) p *= 10;
      const int64_t x = v.i();
      int64_t q = x / p, r = x % p;
      if (r < 0) {
        r += p;
        q -= 1;
      }
      if (2 * r > p || (2 * r == p && (q & 1))) q += 1;  // half to even
      return Value::integer(q * p);
    }
    return Value::real(python_round(v.f(), precision));
  }
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double x = v.as_double() * scale;
  return Value::real((method == "ceil" ? std::ceil(x) : std::floor(x)) / scale);
}

Value f_sum(Interpreter& in, const Value& v, CallArgs& args) {
  ArgBinder a("sum", args, {"attribute", "start"});
  Value total = a.get_or(1, Value::integer(0));
  if (total.is_string()) fail(FailKind::kType, "sum() can't sum strings [use ''.join(seq) instead]");
  for (const auto& item : iterate(in, v)) {
    total = binary_op(in, BinOp::kAdd, total, a.has(0) && !a.get(0).is_none() ? get_path(in, item, a.get(0), nullptr) : item);
  }
  return total;
}

Value f_attr(Interpreter& in, const Value& v, CallArgs& args) {
  ArgBinder a("attr", args, {"name"});
  if (!a.has(0)) fail(FailKind::kType, "attr() missing required argument 'name'");
  const std::string name = text_of(a.get(0));
  if (v.is_undefined()) fail_undefined(v);
  // getattr only: dict keys are not attributes.
  if (v.is_dict() || v.is_string() || v.is_list()) {
    Value m = lookup_method(v, name);
    if (!m.is_undefined() || m.is_unsafe()) return m;
    return Value::undefined(fmt::format("'{}' has no attribute '{}'", object_type_repr(v), name));
  }
  return in.get_attr(v, name);
}

Value f_tojson(Interpreter& in, const Value& v, CallArgs& args) {
  ArgBinder a("tojson", args, {"ensure_ascii", "indent", "separators", "sort_keys"});
  JsonOptions o;
  o.ensure_ascii = a.has(0) && truthy(a.get(0));
  if (a.has(1) && !a.get(1).is_none()) {
    const Value& ind = a.get(1);
    if (ind.is_string()) {
      o.indent = ind.s();
    } else {
      const int64_t n = to_int(ind, "tojson() indent");
      in.check_size(static_cast<size_t>(std::max<int64_t>(n, 0)));
      o.indent = std::string(static_cast<size_t>(std::max<int64_t>(n, 0)), ' ');
    }
    o.item_separator = ",";
  }
  if (a.has(2) && !a.get(2).is_none()) {
    const std::vector<Value> seps = py_iterate(a.get(2));
    if (seps.size() != 2 || !seps[0].is_string() || !seps[1].is_string()) {
      fail(FailKind::kValue, "tojson() separators must be a pair of strings");
    }
    o.item_separator = seps[0].s();
    o.key_separator = seps[1].s();
  }
  o.sort_keys = a.has(3) && truthy(a.get(3));
  o.max_bytes = in.options().max_output_bytes;
  std::string out = to_json(v, o);
  in.charge(out.size() / 64);
  return Value::string(std::move(out));
}

struct FilterEntry {
  std::string_view name;
  FilterFn fn;  // null: a jinja2 filter OpenMuse does not implement
};

constexpr FilterEntry kFilters[] = {
    {"abs", f_abs}, {"attr", f_attr}, {"batch", f_batch}, {"capitalize", f_capitalize}, {"center", f_center},
    {"count", f_length}, {"d", f_default}, {"default", f_default}, {"dictsort", f_dictsort}, {"e", f_escape},
    {"escape", f_escape}, {"filesizeformat", f_filesizeformat}, {"first", f_first}, {"float", f_float},
    {"forceescape", f_forceescape}, {"format", f_format}, {"groupby", f_groupby}, {"indent", f_indent},
    {"int", f_int}, {"items", f_items}, {"join", f_join}, {"last", f_last}, {"length", f_length},
    {"list", f_list}, {"lower", f_lower}, {"map", f_map}, {"max", f_max}, {"min", f_min}, {"pprint", nullptr},
    {"random", nullptr}, {"reject", f_reject}, {"rejectattr", f_rejectattr}, {"replace", f_replace},
    {"reverse", f_reverse}, {"round", f_round}, {"safe", f_safe}, {"select", f_select},
    {"selectattr", f_selectattr}, {"slice", f_slice}, {"sort", f_sort}, {"string", f_string},
    {"striptags", f_striptags}, {"sum", f_sum}, {"title", f_title}, {"tojson", f_tojson}, {"trim", f_trim},
    {"truncate", f_truncate}, {"unique", f_unique}, {"upper", f_upper}, {"urlencode", f_urlencode},
    {"urlize", nullptr}, {"wordcount", f_wordcount}, {"wordwrap", nullptr}, {"xmlattr", nullptr},
};

}  // namespace

FilterFn find_filter(std::string_view name, bool& known) {
  for (const auto& e : kFilters) {
    if (e.name == name) {
      known = true;
      return e.fn;
    }
  }
  known = false;
  return nullptr;
}

}  // namespace muse::text::jinja
