// Python operators and argument binding for the Jinja interpreter: + - * / // % ** on Python
// ints/floats/strings/lists, comparisons, `in`, Markup escaping, and the `%` / str.format
// formatting mini-languages.
//
// Integers are 64-bit: where Python would grow a big integer these throw kOverflow rather than wrap.
// All functions are pure apart from the step/size budget they charge to the Interpreter; failures
// are jinja::Failure with Python's exception class.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "text/jinja_ast.h"
#include "text/jinja_value.h"

namespace muse::text::jinja {

class Interpreter;

// Raises the error an operation on an undefined value raises (UndefinedError, or SecurityError
// for an attribute the sandbox refused).
[[noreturn]] void fail_undefined(const Value& undefined);

Value binary_op(Interpreter& interp, BinOp op, const Value& a, const Value& b);
Value unary_minus(const Value& v);
Value unary_plus(const Value& v);
bool compare(CmpOp op, const Value& a, const Value& b);
bool contains(const Value& container, const Value& item);  // `item in container`

// markupsafe.escape: & < > " ' become entities; Markup passes through. Returns Markup.
Value html_escape(const Value& v);
std::string html_escape_text(std::string_view s);

// `fmt % args` (printf-style, as Python's str.__mod__). `args` is a tuple, a dict (for %(name)s)
// or a single value. With `markup`, %s arguments are HTML-escaped (Markup.__mod__).
std::string percent_format(Interpreter& interp, std::string_view fmt, const Value& args, bool markup);
// fmt.format(*args, **kwargs) (Python's format mini-language).
std::string str_format(Interpreter& interp, std::string_view fmt, const CallArgs& args);

// Stable merge sort using only `less(a, b)` (Python's sort contract). Unlike std::sort it stays
// in bounds even for an inconsistent ordering (NaN), and a throwing `less` just aborts the sort.
template <typename T, typename Less>
void stable_sort_py(std::vector<T>& v, Less less) {
  std::vector<T> buf(v.size());
  for (size_t width = 1; width < v.size(); width *= 2) {
    for (size_t lo = 0; lo < v.size(); lo += 2 * width) {
      const size_t mid = std::min(lo + width, v.size());
      const size_t hi = std::min(lo + 2 * width, v.size());
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) buf[k++] = less(v[j], v[i]) ? v[j++] : v[i++];
      while (i < mid) buf[k++] = v[i++];
      while (j < hi) buf[k++] = v[j++];
    }
    v.swap(buf);
  }
}

// An integer argument (Python int or bool), or TypeError naming `what`.
int64_t to_int(const Value& v, std::string_view what);

// Python-style binding of call arguments to named parameters (positional first, then keywords).
class ArgBinder {
 public:
  // REQUIRES params.size() <= kMax.
  ArgBinder(std::string_view function, const CallArgs& args, std::initializer_list<std::string_view> params);
  bool has(size_t i) const { return slots_[i] != nullptr; }
  const Value& get(size_t i) const;  // REQUIRES has(i)
  Value get_or(size_t i, Value fallback) const { return has(i) ? get(i) : std::move(fallback); }
  std::optional<int64_t> get_int(size_t i) const;  // nullopt when absent or None
  std::optional<std::string_view> get_str(size_t i) const;  // nullopt when absent or None

  static constexpr size_t kMax = 8;

 private:
  std::string_view function_;
  std::string_view names_[kMax];
  const Value* slots_[kMax] = {};
};

}  // namespace muse::text::jinja
