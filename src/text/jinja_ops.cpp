#include "text/jinja_ops.h"

#include <cmath>

#include "text/jinja_failure.h"
#include "text/jinja_interpreter.h"
#include "text/jinja_unicode.h"

namespace muse::text::jinja {

void fail_undefined(const Value& u) {
  const std::string& hint = u.undefined_hint();
  fail(u.is_unsafe() ? FailKind::kSecurity : FailKind::kUndefined, "{}", hint.empty() ? "value is undefined" : hint);
}

namespace {

const char* op_symbol(BinOp op) {
  switch (op) {
    case BinOp::kAdd: return "+";
    case BinOp::kSub: return "-";
    case BinOp::kMul: return "*";
    case BinOp::kDiv: return "/";
    case BinOp::kFloorDiv: return "//";
    case BinOp::kMod: return "%";
    case BinOp::kPow: return "** or pow()";
  }
  return "?";
}

[[noreturn]] void unsupported(BinOp op, const Value& a, const Value& b) {
  fail(FailKind::kType, "unsupported operand type(s) for {}: '{}' and '{}'", op_symbol(op), type_name(a), type_name(b));
}

[[noreturn]] void int_overflow() {
  fail(FailKind::kOverflow, "integer result does not fit in 64 bits (Python would use a big integer)");
}

int64_t checked_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) int_overflow();
  return r;
}
int64_t checked_sub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) int_overflow();
  return r;
}
int64_t checked_mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) int_overflow();
  return r;
}

// Python float // and %: the quotient is floored and the remainder takes the divisor's sign.
void float_divmod(double a, double b, double& div_out, double& mod_out) {
  double mod = std::fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0.0) {
    if ((b < 0) != (mod < 0)) {
      mod += b;
      div -= 1.0;
    }
  } else {
    mod = std::copysign(0.0, b);
  }
  double floordiv;
  if (div != 0.0) {
    floordiv = std::floor(div);
    if (div - floordiv > 0.5) floordiv += 1.0;
  } else {
    floordiv = std::copysign(0.0, a / b);
  }
  div_out = floordiv;
  mod_out = mod;
}

Value repeat(Interpreter& interp, const Value& seq, int64_t n) {
  if (n < 0) n = 0;
  if (seq.is_string()) {
    const size_t len = seq.s().size();
    if (len != 0 && static_cast<uint64_t>(n) > interp.options().max_output_bytes / len + 1) {
      interp.check_size(SIZE_MAX);
    }
    interp.check_size(len * static_cast<size_t>(n));
    interp.charge(len * static_cast<size_t>(n) / 64);
    std::string out;
    out.reserve(len * static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) out += seq.s();
    return Value::string(std::move(out), seq.is_markup());
  }
  const auto& items = seq.items();
  if (!items.empty() && static_cast<uint64_t>(n) > kMaxItems / items.size() + 1) interp.check_items(SIZE_MAX);
  interp.check_items(items.size() * static_cast<size_t>(n));
  interp.charge(items.size() * static_cast<size_t>(n));
  std::vector<Value> out;
  out.reserve(items.size() * static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) out.insert(out.end(), items.begin(), items.end());
  return Value::list(std::move(out), seq.list_ref().flavor);
}

Value add(Interpreter& interp, const Value& a, const Value& b) {
  if (a.is_integral() && b.is_integral()) return Value::integer(checked_add(a.i(), b.i()));
  if (a.is_number() && b.is_number()) return Value::real(a.as_double() + b.as_double());
  if (a.is_string() && b.is_string()) {
    interp.check_size(a.s().size() + b.s().size());
    interp.charge((a.s().size() + b.s().size()) / 64);
    if (a.is_markup() || b.is_markup()) {
      // Markup + str escapes the plain side (markupsafe's __add__ / __radd__).
      const std::string left = a.is_markup() ? a.s() : html_escape_text(a.s());
      const std::string right = b.is_markup() ? b.s() : html_escape_text(b.s());
      return Value::string(left + right, true);
    }
    std::string out;
    out.reserve(a.s().size() + b.s().size());
    out += a.s();
    out += b.s();
    return Value::string(std::move(out));
  }
  if (a.is_list() && b.is_list() && !a.is_iterator() && !b.is_iterator() &&
      a.list_ref().flavor == b.list_ref().flavor) {
    interp.check_items(a.items().size() + b.items().size());
    interp.charge(a.items().size() + b.items().size());
    std::vector<Value> out;
    out.reserve(a.items().size() + b.items().size());
    out.insert(out.end(), a.items().begin(), a.items().end());
    out.insert(out.end(), b.items().begin(), b.items().end());
    return Value::list(std::move(out), a.list_ref().flavor);
  }
  if (b.is_undefined()) fail_undefined(b);
  if (a.is_string() || (a.is_list() && !a.is_iterator())) {
    fail(FailKind::kType, "can only concatenate {} (not \"{}\") to {}", type_name(a), type_name(b), type_name(a));
  }
  unsupported(BinOp::kAdd, a, b);
}

Value power(const Value& a, const Value& b) {
  if (a.is_integral() && b.is_integral() && b.i() >= 0) {
    int64_t base = a.i();
    int64_t exp = b.i();
    int64_t result = 1;
    while (exp > 0) {
      if (exp & 1) result = checked_mul(result, base);
      exp >>= 1;
      if (exp > 0) base = checked_mul(base, base);
    }
    return Value::integer(result);
  }
  const double x = a.as_double();
  const double y = b.as_double();
  if (y == 0.0) return Value::real(1.0);
  if (x == 0.0 && y < 0.0) fail(FailKind::kZeroDivision, "0.0 cannot be raised to a negative power");
  if (x < 0.0 && std::isfinite(y) && std::floor(y) != y) {
    fail(FailKind::kUnsupported, "complex numbers are not supported ({} ** {})", py_float_repr(x), py_float_repr(y));
  }
  const double r = std::pow(x, y);
  if (std::isinf(r) && std::isfinite(x) && std::isfinite(y)) fail(FailKind::kOverflow, "(34, 'Numerical result out of range')");
  return Value::real(r);
}

}  // namespace

Value binary_op(Interpreter& interp, BinOp op, const Value& a, const Value& b) {
  if (a.is_undefined()) fail_undefined(a);
  if (op == BinOp::kAdd) return add(interp, a, b);
  if (op == BinOp::kMod && a.is_string()) return Value::string(percent_format(interp, a.s(), b, a.is_markup()), a.is_markup());
  if (op == BinOp::kMul) {
    if ((a.is_string() || (a.is_list() && !a.is_iterator())) && b.is_integral()) return repeat(interp, a, b.i());
    if ((b.is_string() || (b.is_list() && !b.is_iterator())) && a.is_integral()) return repeat(interp, b, a.i());
  }
  if (b.is_undefined()) fail_undefined(b);
  if (!a.is_number() || !b.is_number()) unsupported(op, a, b);
  const bool ints = a.is_integral() && b.is_integral();
  switch (op) {
    case BinOp::kSub:
      return ints ? Value::integer(checked_sub(a.i(), b.i())) : Value::real(a.as_double() - b.as_double());
    case BinOp::kMul:
      return ints ? Value::integer(checked_mul(a.i(), b.i())) : Value::real(a.as_double() * b.as_double());
    case BinOp::kDiv:
      if (b.as_double() == 0.0) fail(FailKind::kZeroDivision, "{}", ints ? "division by zero" : "float division by zero");
      if (ints) {
        // int / int is correctly rounded in Python; long double keeps both operands exact.
        return Value::real(static_cast<double>(static_cast<long double>(a.i()) / static_cast<long double>(b.i())));
      }
      return Value::real(a.as_double() / b.as_double());
    case BinOp::kFloorDiv:
    case BinOp::kMod:
      if (ints) {
        const int64_t x = a.i(), y = b.i();
        if (y == 0) fail(FailKind::kZeroDivision, "integer division or modulo by zero");
        if (x == INT64_MIN && y == -1) {
          if (op == BinOp::kMod) return Value::integer(0);
          int_overflow();
        }
        int64_t q = x / y, r = x % y;
        if (r != 0 && ((r < 0) != (y < 0))) {
          r += y;
          q -= 1;
        }
        return Value::integer(op == BinOp::kFloorDiv ? q : r);
      } else {
        if (b.as_double() == 0.0) {
          fail(FailKind::kZeroDivision, "{}", op == BinOp::kMod ? "float modulo" : "float floor division by zero");
        }
        double div, mod;
        float_divmod(a.as_double(), b.as_double(), div, mod);
        return Value::real(op == BinOp::kFloorDiv ? div : mod);
      }
    case BinOp::kPow:
      return power(a, b);
    default:
      unsupported(op, a, b);
  }
}

Value unary_minus(const Value& v) {
  if (v.is_undefined()) fail_undefined(v);
  if (v.is_integral()) {
    if (v.i() == INT64_MIN) int_overflow();
    return Value::integer(-v.i());
  }
  if (v.is_float()) return Value::real(-v.f());
  fail(FailKind::kType, "bad operand type for unary -: '{}'", type_name(v));
}

Value unary_plus(const Value& v) {
  if (v.is_undefined()) fail_undefined(v);
  if (v.is_integral()) return Value::integer(v.i());
  if (v.is_float()) return v;
  fail(FailKind::kType, "bad operand type for unary +: '{}'", type_name(v));
}

namespace {

const char* cmp_symbol(CmpOp op) {
  switch (op) {
    case CmpOp::kLt: return "<";
    case CmpOp::kLe: return "<=";
    case CmpOp::kGt: return ">";
    case CmpOp::kGe: return ">=";
    default: return "==";
  }
}

template <typename T>
bool apply(CmpOp op, const T& x, const T& y) {
  switch (op) {
    case CmpOp::kLt: return x < y;
    case CmpOp::kLe: return x <= y;
    case CmpOp::kGt: return x > y;
    case CmpOp::kGe: return x >= y;
    default: return false;
  }
}

bool order(CmpOp op, const Value& a, const Value& b, int depth) {
  if (depth > kMaxNesting) fail(FailKind::kLimit, "values nested deeper than {} levels", kMaxNesting);
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
  if (a.is_number() && b.is_number()) {
    if (a.is_integral() && b.is_integral()) return apply(op, a.i(), b.i());
    if (std::isnan(a.as_double()) || std::isnan(b.as_double())) return false;
    // long double holds every int64 and double exactly, so mixed comparisons are exact.
    const long double x = a.is_float() ? static_cast<long double>(a.f()) : static_cast<long double>(a.i());
    const long double y = b.is_float() ? static_cast<long double>(b.f()) : static_cast<long double>(b.i());
    return apply(op, x, y);
  }
  if (a.is_string() && b.is_string()) return apply(op, a.s(), b.s());
  if (a.is_list() && b.is_list() && !a.is_iterator() && a.list_ref().flavor == b.list_ref().flavor) {
    const auto& x = a.items();
    const auto& y = b.items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!py_equal(x[i], y[i], depth + 1)) return order(op, x[i], y[i], depth + 1);
    }
    return apply(op, x.size(), y.size());
  }
  fail(FailKind::kType, "'{}' not supported between instances of '{}' and '{}'", cmp_symbol(op), type_name(a),
       type_name(b));
}

}  // namespace

bool compare(CmpOp op, const Value& a, const Value& b) {
  switch (op) {
    case CmpOp::kEq: return py_equal(a, b);
    case CmpOp::kNe: return !py_equal(a, b);
    case CmpOp::kIn: return contains(b, a);
    case CmpOp::kNotIn: return !contains(b, a);
    default: return order(op, a, b, 0);
  }
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Kind::kUndefined:
      if (container.is_unsafe()) fail_undefined(container);
      return false;
    case Kind::kString:
      if (!item.is_string()) {
        fail(FailKind::kType, "'in <string>' requires string as left operand, not {}", type_name(item));
      }
      return container.s().find(item.s()) != std::string::npos;
    case Kind::kList: {
      if (container.is_iterator()) {
        // Python consumes the generator up to the first match.
        List& l = container.list_ref();
        while (l.consumed < l.items.size()) {
          if (py_equal(l.items[l.consumed++], item)) return true;
        }
        return false;
      }
      for (const auto& v : container.items()) {
        if (py_equal(v, item)) return true;
      }
      return false;
    }
    case Kind::kDict:
      if ((item.is_list() && !item.is_tuple()) || item.is_dict() || item.is_namespace()) {
        fail(FailKind::kType, "unhashable type: '{}'", type_name(item));
      }
      return container.dict_ref().find(item) != nullptr;
    default:
      fail(FailKind::kType, "argument of type '{}' is not iterable", type_name(container));
  }
}

std::string html_escape_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

Value html_escape(const Value& v) {
  if (v.is_markup()) return v;
  return Value::string(html_escape_text(py_str(v)), true);
}

int64_t to_int(const Value& v, std::string_view what) {
  if (v.is_integral()) return v.i();
  if (v.is_undefined()) fail_undefined(v);
  fail(FailKind::kType, "{}: '{}' object cannot be interpreted as an integer", what, type_name(v));
}

ArgBinder::ArgBinder(std::string_view function, const CallArgs& args, std::initializer_list<std::string_view> params)
    : function_(function) {
  size_t n = 0;
  for (auto p : params) names_[n++] = p;
  if (args.args.size() > n) {
    fail(FailKind::kType, "{}() takes at most {} argument{} ({} given)", function, n, n == 1 ? "" : "s",
         args.args.size());
  }
  for (size_t i = 0; i < args.args.size(); ++i) slots_[i] = &args.args[i];
  for (const auto& [key, value] : args.kwargs) {
    size_t k = 0;
    while (k < n && names_[k] != key) ++k;
    if (k == n) fail(FailKind::kType, "{}() got an unexpected keyword argument '{}'", function, key);
    if (slots_[k]) fail(FailKind::kType, "{}() got multiple values for argument '{}'", function, key);
    slots_[k] = &value;
  }
}

const Value& ArgBinder::get(size_t i) const { return *slots_[i]; }

std::optional<int64_t> ArgBinder::get_int(size_t i) const {
  if (!has(i) || get(i).is_none()) return std::nullopt;
  return to_int(get(i), fmt::format("{}() argument '{}'", function_, names_[i]));
}

std::optional<std::string_view> ArgBinder::get_str(size_t i) const {
  if (!has(i) || get(i).is_none()) return std::nullopt;
  if (!get(i).is_string()) {
    fail(FailKind::kType, "{}() argument '{}' must be str, not {}", function_, names_[i], type_name(get(i)));
  }
  return std::string_view(get(i).s());
}

}  // namespace muse::text::jinja
