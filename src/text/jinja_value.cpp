#include "text/jinja_value.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "text/jinja_failure.h"
#include "text/jinja_unicode.h"

namespace muse::text::jinja {

// ---------------------------------------------------------------------------------------------
// Construction
// ---------------------------------------------------------------------------------------------

Value Value::undefined(std::string hint) {
  Value v;
  v.s_ = std::make_shared<const std::string>(std::move(hint));
  return v;
}

Value Value::unsafe(std::string hint) {
  Value v = undefined(std::move(hint));
  v.flag_ = true;
  return v;
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::kNone;
  return v;
}

Value Value::boolean(bool b) {
  Value v;
  v.kind_ = Kind::kBool;
  v.b_ = b;
  return v;
}

Value Value::integer(int64_t i) {
  Value v;
  v.kind_ = Kind::kInt;
  v.i_ = i;
  return v;
}

Value Value::real(double f) {
  Value v;
  v.kind_ = Kind::kFloat;
  v.f_ = f;
  return v;
}

Value Value::string(std::string s, bool markup) {
  Value v;
  v.kind_ = Kind::kString;
  v.flag_ = markup;
  v.s_ = std::make_shared<const std::string>(std::move(s));
  return v;
}

Value Value::list(std::vector<Value> items, ListFlavor flavor) {
  Value v;
  v.kind_ = Kind::kList;
  v.o_ = std::make_shared<List>(std::move(items), flavor);
  return v;
}

Value Value::dict(std::shared_ptr<Dict> d) {
  Value v;
  v.kind_ = Kind::kDict;
  v.o_ = std::move(d);
  return v;
}

Value Value::ns(std::shared_ptr<Namespace> n) {
  Value v;
  v.kind_ = Kind::kNamespace;
  v.o_ = std::move(n);
  return v;
}

Value Value::object(std::shared_ptr<Object> o) {
  Value v;
  v.kind_ = Kind::kObject;
  v.o_ = std::move(o);
  return v;
}

const std::string& Value::undefined_hint() const {
  static const std::string kEmpty;
  return s_ ? *s_ : kEmpty;
}

Value Value::from_json(const nlohmann::ordered_json& j, int depth) {
  if (depth > kMaxNesting) fail(FailKind::kLimit, "JSON input nested deeper than {} levels", kMaxNesting);
  using T = nlohmann::ordered_json::value_t;
  switch (j.type()) {
    case T::null:
    case T::discarded:
      return none();
    case T::boolean:
      return boolean(j.get<bool>());
    case T::number_integer:
      return integer(j.get<int64_t>());
    case T::number_unsigned: {
      const auto u = j.get<uint64_t>();
      // Python would keep the exact big integer; beyond 64 bits we keep the magnitude as a float.
      if (u > static_cast<uint64_t>(INT64_MAX)) return real(static_cast<double>(u));
      return integer(static_cast<int64_t>(u));
    }
    case T::number_float:
      return real(j.get<double>());
    case T::string:
      return string(j.get<std::string>());
    case T::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json(e, depth + 1));
      return list(std::move(items));
    }
    case T::object: {
      auto d = std::make_shared<Dict>();
      for (const auto& [k, e] : j.items()) d->set(string(k), from_json(e, depth + 1));
      return dict(std::move(d));
    }
    case T::binary:
      break;
  }
  fail(FailKind::kType, "binary JSON values are not supported");
}

// ---------------------------------------------------------------------------------------------
// Dict
// ---------------------------------------------------------------------------------------------

namespace {
constexpr size_t kIndexThreshold = 16;  // below this a linear scan beats hashing
}

const Value* Dict::find(std::string_view key) const {
  if (!index_.empty()) {
    auto it = index_.find(std::string(key));
    return it == index_.end() ? nullptr : &items_[it->second].second;
  }
  for (const auto& [k, v] : items_) {
    if (k.is_string() && k.s() == key) return &v;
  }
  return nullptr;
}

const Value* Dict::find(const Value& key) const {
  if (key.is_string()) return find(std::string_view(key.s()));
  if (key.is_list() && !key.is_tuple()) return nullptr;  // unhashable: never a key
  if (key.is_dict() || key.is_namespace()) return nullptr;
  for (const auto& [k, v] : items_) {
    if (!k.is_string() && py_equal(k, key)) return &v;
  }
  return nullptr;
}

void Dict::set(Value key, Value value) {
  if (key.is_string()) {
    if (!index_.empty()) {
      auto it = index_.find(key.s());
      if (it != index_.end()) {
        items_[it->second].second = std::move(value);
        return;
      }
    } else {
      for (auto& [k, v] : items_) {
        if (k.is_string() && k.s() == key.s()) {
          v = std::move(value);
          return;
        }
      }
    }
  } else {
    for (auto& [k, v] : items_) {
      if (!k.is_string() && py_equal(k, key)) {
        v = std::move(value);
        return;
      }
    }
  }
  items_.emplace_back(std::move(key), std::move(value));
  if (items_.size() == kIndexThreshold) {
    for (size_t i = 0; i < items_.size(); ++i) {
      if (items_[i].first.is_string()) index_.emplace(items_[i].first.s(), i);
    }
  } else if (items_.size() > kIndexThreshold && items_.back().first.is_string()) {
    index_.emplace(items_.back().first.s(), items_.size() - 1);
  }
}

// ---------------------------------------------------------------------------------------------
// Object defaults
// ---------------------------------------------------------------------------------------------

Value Object::get_attr(std::string_view name) {
  return Value::undefined(fmt::format("'{} object' has no attribute '{}'", type_name(), name));
}

Value Object::call(Interpreter&, CallArgs&) { fail(FailKind::kType, "'{}' object is not callable", type_name()); }

void Object::repr(std::string& out) const { out += fmt::format("<{} object>", type_name()); }

// ---------------------------------------------------------------------------------------------
// Python semantics
// ---------------------------------------------------------------------------------------------

bool truthy(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return v.b();
    case Kind::kInt:
      return v.i() != 0;
    case Kind::kFloat:
      return v.f() != 0.0;
    case Kind::kString:
      return !v.s().empty();
    case Kind::kList:
      return v.is_iterator() || !v.items().empty();
    case Kind::kDict:
      return v.dict_ref().size() != 0;
    case Kind::kNamespace:
    case Kind::kObject:
      return true;
  }
  return false;
}

namespace {

// Exact comparison of a 64-bit integer with a double: long double holds every int64 exactly.
int compare_int_float(int64_t i, double f) {
  const long double a = static_cast<long double>(i);
  const long double b = static_cast<long double>(f);
  return a < b ? -1 : (a > b ? 1 : 0);
}

}  // namespace

bool py_equal(const Value& a, const Value& b, int depth) {
  if (depth > kMaxNesting) fail(FailKind::kLimit, "values nested deeper than {} levels", kMaxNesting);
  if (a.is_number() && b.is_number()) {
    if (a.is_float() && b.is_float()) return a.f() == b.f();
    if (a.is_float()) return !std::isnan(a.f()) && compare_int_float(b.i(), a.f()) == 0;
    if (b.is_float()) return !std::isnan(b.f()) && compare_int_float(a.i(), b.f()) == 0;
    return a.i() == b.i();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::kUndefined:
    case Kind::kNone:
      return true;
    case Kind::kString:
      return a.s() == b.s();
    case Kind::kList: {
      const List& la = a.list_ref();
      const List& lb = b.list_ref();
      if (&la == &lb) return true;
      if (la.flavor != lb.flavor || la.flavor == ListFlavor::kIterator) return false;
      if (la.items.size() != lb.items.size()) return false;
      for (size_t i = 0; i < la.items.size(); ++i) {
        if (!py_equal(la.items[i], lb.items[i], depth + 1)) return false;
      }
      return true;
    }
    case Kind::kDict: {
      const Dict& da = a.dict_ref();
      const Dict& db = b.dict_ref();
      if (&da == &db) return true;
      if (da.size() != db.size()) return false;
      for (const auto& [k, v] : da.items()) {
        const Value* other = db.find(k);
        if (!other || !py_equal(v, *other, depth + 1)) return false;
      }
      return true;
    }
    default:
      return a.heap() == b.heap();
  }
}

bool py_less(const Value& a, const Value& b, std::string_view op, int depth) {
  if (depth > kMaxNesting) fail(FailKind::kLimit, "values nested deeper than {} levels", kMaxNesting);
  if (a.is_undefined() || b.is_undefined()) {
    const Value& u = a.is_undefined() ? a : b;
    fail(u.is_unsafe() ? FailKind::kSecurity : FailKind::kUndefined, "{}", u.undefined_hint());
  }
  if (a.is_number() && b.is_number()) {
    if (a.is_float() && b.is_float()) return a.f() < b.f();
    if (a.is_float()) return !std::isnan(a.f()) && compare_int_float(b.i(), a.f()) > 0;
    if (b.is_float()) return !std::isnan(b.f()) && compare_int_float(a.i(), b.f()) < 0;
    return a.i() < b.i();
  }
  if (a.is_string() && b.is_string()) return a.s() < b.s();  // UTF-8 byte order = code point order
  if (a.is_list() && b.is_list() && a.list_ref().flavor == b.list_ref().flavor &&
      a.list_ref().flavor != ListFlavor::kIterator) {
    const auto& x = a.items();
    const auto& y = b.items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!py_equal(x[i], y[i], depth + 1)) return py_less(x[i], y[i], op, depth + 1);
    }
    return x.size() < y.size();
  }
  fail(FailKind::kType, "'{}' not supported between instances of '{}' and '{}'", op, type_name(a), type_name(b));
}

std::string_view type_name(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return v.is_markup() ? "Markup" : "str";
    case Kind::kList:
      switch (v.list_ref().flavor) {
        case ListFlavor::kList: return "list";
        case ListFlavor::kTuple: return "tuple";
        case ListFlavor::kIterator: return "generator";
      }
      return "list";
    case Kind::kDict: return "dict";
    case Kind::kNamespace: return "Namespace";
    case Kind::kObject: return v.obj().type_name();
  }
  return "object";
}

std::string object_type_repr(const Value& v) {
  if (v.is_none()) return "None";
  return fmt::format("{} object", type_name(v));
}

std::string py_float_repr(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  // Shortest round-trip digits, then Python's layout: fixed for 1e-4 <= |f| < 1e16, else exponent.
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific);
  std::string_view sv(buf, static_cast<size_t>(res.ptr - buf));
  std::string out;
  if (sv[0] == '-') {
    out.push_back('-');
    sv.remove_prefix(1);
  }
  const size_t e = sv.find('e');
  std::string digits(1, sv[0]);
  if (e > 1) digits.append(sv.substr(2, e - 2));
  int exp = 0;
  std::from_chars(sv.data() + e + 1 + (sv[e + 1] == '+' ? 1 : 0), sv.data() + sv.size(), exp);
  if (exp >= -4 && exp < 16) {
    if (exp >= 0) {
      const size_t int_len = static_cast<size_t>(exp) + 1;
      if (digits.size() <= int_len) {
        out += digits;
        out.append(int_len - digits.size(), '0');
        out += ".0";
      } else {
        out += digits.substr(0, int_len);
        out += '.';
        out += digits.substr(int_len);
      }
    } else {
      out += "0.";
      out.append(static_cast<size_t>(-exp - 1), '0');
      out += digits;
    }
  } else {
    out += digits[0];
    if (digits.size() > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += fmt::format("e{}{:02d}", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
  }
  return out;
}

void py_repr_string(std::string_view s, std::string& out) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';
  out.push_back(quote);
  if (is_ascii(s)) {  // fast path: only quotes, backslashes and control characters change
    for (char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (c >= 0x20 && c < 0x7F && c != '\\' && ch != quote) {
        out.push_back(ch);
      } else if (c == '\t') {
        out += "\\t";
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == '\\' || ch == quote) {
        out.push_back('\\');
        out.push_back(ch);
      } else {
        out += fmt::format("\\x{:02x}", static_cast<unsigned>(c));
      }
    }
    out.push_back(quote);
    return;
  }
  for (char32_t c : decode_utf8(s)) {
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7F) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned>(c));
    } else if (c < 0x7F) {
      out.push_back(static_cast<char>(c));
    } else if (py_isprintable(c)) {
      append_utf8(out, c);
    } else if (c <= 0xFF) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned>(c));
    } else if (c <= 0xFFFF) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    } else {
      out += fmt::format("\\U{:08x}", static_cast<unsigned>(c));
    }
  }
  out.push_back(quote);
}

void py_repr(const Value& v, std::string& out, int depth) {
  if (depth > kMaxNesting) fail(FailKind::kLimit, "values nested deeper than {} levels", kMaxNesting);
  if (out.size() > kMaxReprBytes) fail(FailKind::kLimit, "printed value exceeds {} bytes", kMaxReprBytes);
  switch (v.kind()) {
    case Kind::kUndefined:
      out += "Undefined";
      return;
    case Kind::kString:
      if (v.is_markup()) {
        out += "Markup(";
        py_repr_string(v.s(), out);
        out += ")";
      } else {
        py_repr_string(v.s(), out);
      }
      return;
    case Kind::kList: {
      const List& l = v.list_ref();
      if (l.flavor == ListFlavor::kIterator) {
        out += "<generator object>";
        return;
      }
      const bool tuple = l.flavor == ListFlavor::kTuple;
      out += tuple ? '(' : '[';
      for (size_t i = 0; i < l.items.size(); ++i) {
        if (i) out += ", ";
        py_repr(l.items[i], out, depth + 1);
      }
      if (tuple && l.items.size() == 1) out += ',';
      out += tuple ? ')' : ']';
      return;
    }
    case Kind::kDict: {
      out += '{';
      bool first = true;
      for (const auto& [k, e] : v.dict_ref().items()) {
        if (!first) out += ", ";
        first = false;
        py_repr(k, out, depth + 1);
        out += ": ";
        py_repr(e, out, depth + 1);
      }
      out += '}';
      return;
    }
    case Kind::kNamespace:
      out += "<Namespace ";
      py_repr(Value::dict(std::shared_ptr<Dict>(v.heap(), &v.ns_ref().attrs)), out, depth + 1);
      out += ">";
      return;
    case Kind::kObject:
      v.obj().repr(out);
      return;
    default:
      py_str(v, out);
      return;
  }
}

void py_str(const Value& v, std::string& out) {
  switch (v.kind()) {
    case Kind::kUndefined:
      return;
    case Kind::kNone:
      out += "None";
      return;
    case Kind::kBool:
      out += v.b() ? "True" : "False";
      return;
    case Kind::kInt:
      out += fmt::format("{}", v.i());
      return;
    case Kind::kFloat:
      out += py_float_repr(v.f());
      return;
    case Kind::kString:
      out += v.s();
      return;
    default:
      py_repr(v, out);
      return;
  }
}

std::string py_str(const Value& v) {
  if (v.is_string()) return v.s();
  std::string out;
  py_str(v, out);
  return out;
}

size_t py_len(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
      return 0;
    case Kind::kString:
      return utf8_length(v.s());
    case Kind::kList:
      if (!v.is_iterator()) return v.items().size();
      break;
    case Kind::kDict:
      return v.dict_ref().size();
    default:
      break;
  }
  fail(FailKind::kType, "object of type '{}' has no len()", type_name(v));
}

bool py_iterable(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
    case Kind::kString:
    case Kind::kList:
    case Kind::kDict:
      return true;
    default:
      return false;
  }
}

std::vector<Value> py_iterate(const Value& v) {
  std::vector<Value> out;
  switch (v.kind()) {
    case Kind::kUndefined:
      if (v.is_unsafe()) fail(FailKind::kSecurity, "{}", v.undefined_hint());
      return out;
    case Kind::kString: {
      const std::string& s = v.s();
      if (s.size() > kMaxItems && utf8_length(s) > kMaxItems) {
        fail(FailKind::kLimit, "iterating a string of more than {} characters", kMaxItems);
      }
      if (is_ascii(s)) {
        out.reserve(s.size());
        for (char c : s) out.push_back(Value::string(std::string(1, c)));
      } else {
        for (char32_t c : decode_utf8(s)) {
          std::string one;
          append_utf8(one, c);
          out.push_back(Value::string(std::move(one)));
        }
      }
      return out;
    }
    case Kind::kList: {
      List& l = v.list_ref();
      if (l.flavor != ListFlavor::kIterator) return l.items;
      out.assign(l.items.begin() + static_cast<std::ptrdiff_t>(l.consumed), l.items.end());
      l.consumed = l.items.size();
      return out;
    }
    case Kind::kDict:
      out.reserve(v.dict_ref().size());
      for (const auto& kv : v.dict_ref().items()) out.push_back(kv.first);
      return out;
    default:
      break;
  }
  fail(FailKind::kType, "'{}' object is not iterable", type_name(v));
}

const char* fail_kind_name(FailKind kind) {
  switch (kind) {
    case FailKind::kSyntax: return "TemplateSyntaxError";
    case FailKind::kType: return "TypeError";
    case FailKind::kValue: return "ValueError";
    case FailKind::kUndefined: return "UndefinedError";
    case FailKind::kSecurity: return "SecurityError";
    case FailKind::kZeroDivision: return "ZeroDivisionError";
    case FailKind::kOverflow: return "OverflowError";
    case FailKind::kRaised: return "TemplateError";
    case FailKind::kLimit: return "LimitExceeded";
    case FailKind::kUnsupported: return "Unsupported";
  }
  return "Error";
}

}  // namespace muse::text::jinja
