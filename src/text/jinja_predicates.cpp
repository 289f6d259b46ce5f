// jinja2 3.1's builtin tests (`x is defined`, `n is divisibleby 3`, `a is equalto b`...).
#include "text/jinja_failure.h"
#include "text/jinja_interpreter.h"
#include "text/jinja_ops.h"
#include "text/jinja_parser.h"
#include "text/jinja_unicode.h"

namespace muse::text::jinja {

namespace {

const Value& one_arg(CallArgs& args, const char* name) {
  if (args.args.size() + args.kwargs.size() != 1) {
    fail(FailKind::kType, "test '{}' takes exactly one argument ({} given)", name, args.args.size() + args.kwargs.size());
  }
  return args.args.empty() ? args.kwargs[0].second : args.args[0];
}

void no_args(CallArgs& args, const char* name) {
  if (!args.args.empty() || !args.kwargs.empty()) fail(FailKind::kType, "test '{}' takes no arguments", name);
}

bool t_defined(Interpreter&, const Value& v, CallArgs& a) { no_args(a, "defined"); return !v.is_undefined(); }
bool t_undefined(Interpreter&, const Value& v, CallArgs& a) { no_args(a, "undefined"); return v.is_undefined(); }
bool t_none(Interpreter&, const Value& v, CallArgs& a) { no_args(a, "none"); return v.is_none(); }
bool t_boolean(Interpreter&, const Value& v, CallArgs& a) { no_args(a, "boolean"); return v.is_bool(); }
bool t_true(Interpreter&, const Value& v, CallArgs& a) { no_args(a, "true"); return v.is_bool() && v.b(); }
bool t_false(Interpreter&, const Value& v, CallArgs& a) { no_args(a, "false"); return v.is_bool() && !v.b(); }
bool t_integer(Interpreter&, const Value& v, CallArgs& a) { no_args(a, "integer"); return v.is_int(); }
bool t_float(Interpreter&, const Value& v, CallArgs& a) { no_args(a, "float"); return v.is_float(); }
bool t_number(Interpreter&, const Value& v, CallArgs& a) { no_args(a, "number"); return v.is_number(); }
bool t_string(Interpreter&, const Value& v, CallArgs& a) { no_args(a, "string"); return v.is_string(); }
bool t_mapping(Interpreter&, const Value& v, CallArgs& a) { no_args(a, "mapping"); return v.is_dict(); }
bool t_iterable(Interpreter&, const Value& v, CallArgs& a) { no_args(a, "iterable"); return py_iterable(v); }
bool t_escaped(Interpreter&, const Value& v, CallArgs& a) { no_args(a, "escaped"); return v.is_markup(); }

bool t_sequence(Interpreter&, const Value& v, CallArgs& a) {
  no_args(a, "sequence");
  // len() and __getitem__ both exist: str, list, tuple, dict, and (quirk) Undefined.
  return v.is_undefined() || v.is_string() || v.is_dict() || (v.is_list() && !v.is_iterator());
}

bool t_callable(Interpreter&, const Value& v, CallArgs& a) {
  no_args(a, "callable");
  // Undefined defines __call__ (to raise), so Python's callable() says True.
  return v.is_undefined() || (v.is_object() && v.obj().is_callable());
}

bool t_odd(Interpreter& in, const Value& v, CallArgs& a) {
  no_args(a, "odd");
  return py_equal(binary_op(in, BinOp::kMod, v, Value::integer(2)), Value::integer(1));
}

bool t_even(Interpreter& in, const Value& v, CallArgs& a) {
  no_args(a, "even");
  return py_equal(binary_op(in, BinOp::kMod, v, Value::integer(2)), Value::integer(0));
}

bool t_divisibleby(Interpreter& in, const Value& v, CallArgs& a) {
  const Value& n = one_arg(a, "divisibleby");
  return py_equal(binary_op(in, BinOp::kMod, v, n), Value::integer(0));
}

bool t_lower(Interpreter&, const Value& v, CallArgs& a) {
  no_args(a, "lower");
  bool any = false;
  for (char32_t c : decode_utf8(py_str(v))) {
    if (py_isupper_char(c)) return false;
    any = any || py_iscased(c);
  }
  return any;
}

bool t_upper(Interpreter&, const Value& v, CallArgs& a) {
  no_args(a, "upper");
  bool any = false;
  for (char32_t c : decode_utf8(py_str(v))) {
    if (py_islower_char(c)) return false;
    any = any || py_iscased(c);
  }
  return any;
}

bool t_eq(Interpreter&, const Value& v, CallArgs& a) { return compare(CmpOp::kEq, v, one_arg(a, "eq")); }
bool t_ne(Interpreter&, const Value& v, CallArgs& a) { return compare(CmpOp::kNe, v, one_arg(a, "ne")); }
bool t_lt(Interpreter&, const Value& v, CallArgs& a) { return compare(CmpOp::kLt, v, one_arg(a, "lt")); }
bool t_le(Interpreter&, const Value& v, CallArgs& a) { return compare(CmpOp::kLe, v, one_arg(a, "le")); }
bool t_gt(Interpreter&, const Value& v, CallArgs& a) { return compare(CmpOp::kGt, v, one_arg(a, "gt")); }
bool t_ge(Interpreter&, const Value& v, CallArgs& a) { return compare(CmpOp::kGe, v, one_arg(a, "ge")); }
bool t_in(Interpreter&, const Value& v, CallArgs& a) { return contains(one_arg(a, "in"), v); }

bool t_sameas(Interpreter&, const Value& v, CallArgs& a) {
  const Value& other = one_arg(a, "sameas");
  // Python identity: singletons and small values compare by value here; containers by object.
  if (v.kind() != other.kind()) return false;
  switch (v.kind()) {
    case Kind::kUndefined: return v.heap() == other.heap() && v.string_ptr() == other.string_ptr();
    case Kind::kNone: return true;
    case Kind::kBool: return v.b() == other.b();
    case Kind::kInt: return v.i() == other.i();
    case Kind::kFloat: return v.f() == other.f();
    case Kind::kString: return v.string_ptr() == other.string_ptr() || v.s() == other.s();
    default: return v.heap() == other.heap();
  }
}

bool t_filter(Interpreter&, const Value& v, CallArgs& a) {
  no_args(a, "filter");
  bool known = false;
  if (v.is_string()) find_filter(v.s(), known);
  return known;
}

bool t_test(Interpreter&, const Value& v, CallArgs& a) {
  no_args(a, "test");
  bool known = false;
  if (v.is_string()) find_test(v.s(), known);
  return known;
}

struct TestEntry {
  std::string_view name;
  TestFn fn;
};

constexpr TestEntry kTests[] = {
    {"boolean", t_boolean}, {"callable", t_callable}, {"defined", t_defined}, {"divisibleby", t_divisibleby},
    {"eq", t_eq}, {"equalto", t_eq}, {"==", t_eq}, {"escaped", t_escaped}, {"even", t_even}, {"false", t_false},
    {"filter", t_filter}, {"float", t_float}, {"ge", t_ge}, {">=", t_ge}, {"gt", t_gt}, {">", t_gt},
    {"greaterthan", t_gt}, {"in", t_in}, {"integer", t_integer}, {"iterable", t_iterable}, {"le", t_le},
    {"<=", t_le}, {"lower", t_lower}, {"lessthan", t_lt}, {"lt", t_lt}, {"<", t_lt}, {"mapping", t_mapping},
    {"ne", t_ne}, {"!=", t_ne}, {"none", t_none}, {"number", t_number}, {"odd", t_odd}, {"sameas", t_sameas},
    {"sequence", t_sequence}, {"string", t_string}, {"test", t_test}, {"true", t_true},
    {"undefined", t_undefined}, {"upper", t_upper},
};

}  // namespace

TestFn find_test(std::string_view name, bool& known) {
  for (const auto& e : kTests) {
    if (e.name == name) {
      known = true;
      return e.fn;
    }
  }
  known = false;
  return nullptr;
}

}  // namespace muse::text::jinja
