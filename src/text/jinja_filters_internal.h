// Helpers shared by the filter implementations (jinja_filters.cpp: strings, numbers, the table;
// jinja_filters_seq.cpp: sequences). Internal to the text module; see jinja_filters.cpp for the
// contract of each filter (jinja2 3.1's behaviour). Pure functions apart from the interpreter's
// step/size budget; failures are jinja::Failure.
#pragma once

#include <string>
#include <vector>

#include "text/jinja_failure.h"
#include "text/jinja_interpreter.h"
#include "text/jinja_ops.h"
#include "text/jinja_unicode.h"
#include "text/jinja_value.h"

namespace muse::text::jinja::filters {

// A one-shot iterator, what jinja2's generator-returning filters give back.
inline Value iterator(std::vector<Value> items) { return Value::list(std::move(items), ListFlavor::kIterator); }

// iter(v) as a list, charging one step per item.
inline std::vector<Value> iterate(Interpreter& in, const Value& v) {
  std::vector<Value> items = py_iterate(v);
  in.charge(items.size());
  return items;
}

// jinja2's ignore_case: strings compare lowercased.
inline Value ignore_case(const Value& v) { return v.is_string() ? Value::string(str_lower(v.s())) : v; }

// make_attrgetter: "a.b.0" walks item["a"]["b"][0] through the sandbox's getitem; `fallback`
// replaces an undefined result.
Value get_path(Interpreter& in, Value item, const Value& attribute, const Value* fallback);

inline std::string text_of(const Value& v) { return py_str(v); }

// Sequence filters (jinja_filters_seq.cpp).
Value f_length(Interpreter& in, const Value& v, CallArgs& args);
Value f_list(Interpreter& in, const Value& v, CallArgs& args);
Value f_first(Interpreter& in, const Value& v, CallArgs& args);
Value f_last(Interpreter& in, const Value& v, CallArgs& args);
Value f_reverse(Interpreter& in, const Value& v, CallArgs& args);
Value f_join(Interpreter& in, const Value& v, CallArgs& args);
Value f_default(Interpreter& in, const Value& v, CallArgs& args);
Value f_items(Interpreter& in, const Value& v, CallArgs& args);
Value f_dictsort(Interpreter& in, const Value& v, CallArgs& args);
Value f_sort(Interpreter& in, const Value& v, CallArgs& args);
Value f_unique(Interpreter& in, const Value& v, CallArgs& args);
Value f_max(Interpreter& in, const Value& v, CallArgs& args);
Value f_min(Interpreter& in, const Value& v, CallArgs& args);
Value f_map(Interpreter& in, const Value& v, CallArgs& args);
Value f_select(Interpreter& in, const Value& v, CallArgs& args);
Value f_reject(Interpreter& in, const Value& v, CallArgs& args);
Value f_selectattr(Interpreter& in, const Value& v, CallArgs& args);
Value f_rejectattr(Interpreter& in, const Value& v, CallArgs& args);
Value f_batch(Interpreter& in, const Value& v, CallArgs& args);
Value f_slice(Interpreter& in, const Value& v, CallArgs& args);
Value f_groupby(Interpreter& in, const Value& v, CallArgs& args);

}  // namespace muse::text::jinja::filters
