// jinja2's sequence filters: which ones return generators, case-insensitive sorting by default,
// attribute paths like "a.b.0", stable sorts with Python's comparison rules.
#include <algorithm>

#include "text/jinja_filters_internal.h"

namespace muse::text::jinja::filters {

Value get_path(Interpreter& in, Value item, const Value& attribute, const Value* fallback) {
  std::vector<Value> parts;
  if (attribute.is_string()) {
    for (const auto& p : str_split(attribute.s(), std::string_view("."), -1)) {
      const bool digits = !p.empty() && p.size() < 18 && p.find_first_not_of("0123456789") == std::string::npos;
      parts.push_back(digits ? Value::integer(std::stoll(p)) : Value::string(p));
    }
  } else {
    parts.push_back(attribute);
  }
  for (const auto& part : parts) {
    item = in.get_item(item, part);
    if (fallback && item.is_undefined()) item = *fallback;
  }
  return item;
}

Value f_length(Interpreter&, const Value& v, CallArgs& a) {
  ArgBinder("length", a, {});
  return Value::integer(static_cast<int64_t>(py_len(v)));
}

Value f_list(Interpreter& in, const Value& v, CallArgs& a) {
  ArgBinder("list", a, {});
  return Value::list(iterate(in, v));
}

Value f_first(Interpreter&, const Value& v, CallArgs& a) {
  ArgBinder("first", a, {});
  if (v.is_iterator()) {
    List& l = v.list_ref();
    if (l.consumed < l.items.size()) return l.items[l.consumed++];
    return Value::undefined("No first item, sequence was empty.");
  }
  std::vector<Value> items = py_iterate(v);
  if (items.empty()) return Value::undefined("No first item, sequence was empty.");
  return items.front();
}

Value f_last(Interpreter&, const Value& v, CallArgs& a) {
  ArgBinder("last", a, {});
  if (v.is_iterator()) fail(FailKind::kType, "'generator' object is not reversible");
  if (!v.is_undefined() && !v.is_string() && !v.is_list() && !v.is_dict()) {
    fail(FailKind::kType, "'{}' object is not reversible", type_name(v));
  }
  std::vector<Value> items = py_iterate(v);
  if (items.empty()) return Value::undefined("No last item, sequence was empty.");
  return items.back();
}

Value f_reverse(Interpreter& in, const Value& v, CallArgs& a) {
  ArgBinder("reverse", a, {});
  if (v.is_string()) {
    std::u32string cps = decode_utf8(v.s());
    std::reverse(cps.begin(), cps.end());
    return Value::string(encode_utf8(cps), v.is_markup());
  }
  std::vector<Value> items = iterate(in, v);
  std::reverse(items.begin(), items.end());
  // reversed(list) is an iterator; a generator input is listed and reversed (a list).
  return v.is_iterator() ? Value::list(std::move(items)) : iterator(std::move(items));
}

Value f_join(Interpreter& in, const Value& v, CallArgs& args) {
  ArgBinder a("join", args, {"d", "attribute"});
  const std::string sep = a.has(0) ? text_of(a.get(0)) : std::string();
  std::string out;
  bool first = true;
  for (const auto& item : iterate(in, v)) {
    if (!first) out += sep;
    first = false;
    py_str(a.has(1) && !a.get(1).is_none() ? get_path(in, item, a.get(1), nullptr) : item, out);
    in.check_size(out.size());
  }
  return Value::string(std::move(out));
}

Value f_default(Interpreter&, const Value& v, CallArgs& args) {
  ArgBinder a("default", args, {"default_value", "boolean"});
  const bool boolean = a.has(1) && truthy(a.get(1));
  if (v.is_undefined() || (boolean && !truthy(v))) return a.get_or(0, Value::string(""));
  return v;
}

Value f_items(Interpreter& in, const Value& v, CallArgs& a) {
  ArgBinder("items", a, {});
  if (v.is_undefined()) return iterator({});
  if (!v.is_dict()) fail(FailKind::kType, "Can only get item pairs from a mapping.");
  std::vector<Value> out;
  in.charge(v.dict_ref().size());
  for (const auto& [k, x] : v.dict_ref().items()) out.push_back(Value::list({k, x}, ListFlavor::kTuple));
  return iterator(std::move(out));
}

Value f_dictsort(Interpreter& in, const Value& v, CallArgs& args) {
  ArgBinder a("dictsort", args, {"case_sensitive", "by", "reverse"});
  const bool case_sensitive = a.has(0) && truthy(a.get(0));
  const std::string by = a.has(1) ? text_of(a.get(1)) : "key";
  const bool reverse = a.has(2) && truthy(a.get(2));
  if (by != "key" && by != "value") fail(FailKind::kValue, "You can only sort by either \"key\" or \"value\"");
  if (!v.is_dict()) fail(FailKind::kType, "dictsort expects a mapping, not {}", type_name(v));
  const size_t pos = by == "key" ? 0 : 1;
  std::vector<std::pair<Value, Value>> keyed;  // (sort key, item)
  in.charge(v.dict_ref().size());
  for (const auto& [k, x] : v.dict_ref().items()) {
    const Value& part = pos == 0 ? k : x;
    keyed.emplace_back(case_sensitive ? part : ignore_case(part), Value::list({k, x}, ListFlavor::kTuple));
  }
  stable_sort_py(keyed, [reverse](const auto& l, const auto& r) {
    return reverse ? py_less(r.first, l.first) : py_less(l.first, r.first);
  });
  std::vector<Value> out;
  for (auto& kv : keyed) out.push_back(std::move(kv.second));
  return Value::list(std::move(out));
}

// Keys for sort/unique/min/max: the item (or attribute path(s)), lowercased unless case-sensitive.
static Value sort_key(Interpreter& in, const Value& item, const Value* attribute, bool case_sensitive, bool multi) {
  if (!attribute || attribute->is_none()) return case_sensitive ? item : ignore_case(item);
  if (multi && attribute->is_string()) {
    std::vector<Value> parts;
    for (const auto& name : str_split(attribute->s(), std::string_view(","), -1)) {
      const Value k = get_path(in, item, Value::string(name), nullptr);
      parts.push_back(case_sensitive ? k : ignore_case(k));
    }
    return Value::list(std::move(parts));
  }
  const Value k = get_path(in, item, *attribute, nullptr);
  return case_sensitive ? k : ignore_case(k);
}

Value f_sort(Interpreter& in, const Value& v, CallArgs& args) {
  ArgBinder a("sort", args, {"reverse", "case_sensitive", "attribute"});
  const bool reverse = a.has(0) && truthy(a.get(0));
  const bool case_sensitive = a.has(1) && truthy(a.get(1));
  const Value* attribute = a.has(2) ? &a.get(2) : nullptr;
  std::vector<std::pair<Value, Value>> keyed;
  for (auto& item : iterate(in, v)) keyed.emplace_back(sort_key(in, item, attribute, case_sensitive, true), item);
  in.charge(keyed.size() * 4);
  stable_sort_py(keyed, [reverse](const auto& l, const auto& r) {
    return reverse ? py_less(r.first, l.first) : py_less(l.first, r.first);
  });
  std::vector<Value> out;
  for (auto& kv : keyed) out.push_back(std::move(kv.second));
  return Value::list(std::move(out));
}

Value f_unique(Interpreter& in, const Value& v, CallArgs& args) {
  ArgBinder a("unique", args, {"case_sensitive", "attribute"});
  const bool case_sensitive = a.has(0) && truthy(a.get(0));
  const Value* attribute = a.has(1) ? &a.get(1) : nullptr;
  std::vector<Value> seen, out;
  for (auto& item : iterate(in, v)) {
    Value key = sort_key(in, item, attribute, case_sensitive, false);
    if ((key.is_list() && !key.is_tuple()) || key.is_dict() || key.is_namespace()) {
      fail(FailKind::kType, "unhashable type: '{}'", type_name(key));
    }
    in.charge(seen.size() / 16);
    bool dup = false;
    for (const auto& s : seen) {
      if (py_equal(s, key)) {
        dup = true;
        break;
      }
    }
    if (!dup) {
      seen.push_back(std::move(key));
      out.push_back(item);
    }
  }
  return iterator(std::move(out));
}

static Value min_or_max(Interpreter& in, const Value& v, CallArgs& args, bool want_max) {
  ArgBinder a(want_max ? "max" : "min", args, {"case_sensitive", "attribute"});
  const bool case_sensitive = a.has(0) && truthy(a.get(0));
  const Value* attribute = a.has(1) ? &a.get(1) : nullptr;
  const std::vector<Value> items = iterate(in, v);
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  size_t best = 0;
  Value best_key = sort_key(in, items[0], attribute, case_sensitive, false);
  for (size_t i = 1; i < items.size(); ++i) {
    Value k = sort_key(in, items[i], attribute, case_sensitive, false);
    if (want_max ? py_less(best_key, k) : py_less(k, best_key)) {
      best = i;
      best_key = std::move(k);
    }
  }
  return items[best];
}
Value f_max(Interpreter& in, const Value& v, CallArgs& a) { return min_or_max(in, v, a, true); }
Value f_min(Interpreter& in, const Value& v, CallArgs& a) { return min_or_max(in, v, a, false); }

Value f_map(Interpreter& in, const Value& v, CallArgs& args) {
  if (!truthy(v)) return iterator({});
  std::vector<Value> out;
  if (args.args.empty()) {
    const Value* attribute = nullptr;
    const Value* fallback = nullptr;
    for (const auto& [k, x] : args.kwargs) {
      if (k == "attribute") attribute = &x;
      else if (k == "default") fallback = &x;
      else fail(FailKind::kValue, "Unexpected keyword argument '{}'", k);
    }
    if (!attribute) fail(FailKind::kValue, "map requires a filter argument");
    for (const auto& item : iterate(in, v)) {
      out.push_back(get_path(in, item, *attribute, fallback && !fallback->is_none() ? fallback : nullptr));
    }
    return iterator(std::move(out));
  }
  const std::string name = text_of(args.args[0]);
  for (const auto& item : iterate(in, v)) {
    CallArgs rest;
    rest.args.assign(args.args.begin() + 1, args.args.end());
    rest.kwargs = args.kwargs;
    out.push_back(in.run_filter(name, item, rest));
  }
  return iterator(std::move(out));
}

static Value select_impl(Interpreter& in, const Value& v, CallArgs& args, bool keep, bool by_attr) {
  if (!truthy(v)) return iterator({});
  size_t off = 0;
  Value attribute;
  if (by_attr) {
    if (args.args.empty()) fail(FailKind::kValue, "Missing parameter for attribute name");
    attribute = args.args[0];
    off = 1;
  }
  const bool has_test = args.args.size() > off;
  const std::string test = has_test ? text_of(args.args[off]) : std::string();
  std::vector<Value> out;
  for (const auto& item : iterate(in, v)) {
    const Value subject = by_attr ? get_path(in, item, attribute, nullptr) : item;
    bool ok;
    if (has_test) {
      CallArgs rest;
      rest.args.assign(args.args.begin() + static_cast<std::ptrdiff_t>(off) + 1, args.args.end());
      rest.kwargs = args.kwargs;
      ok = in.run_test(test, subject, rest);
    } else {
      ok = truthy(subject);
    }
    if (ok == keep) out.push_back(item);
  }
  return iterator(std::move(out));
}
Value f_select(Interpreter& in, const Value& v, CallArgs& a) { return select_impl(in, v, a, true, false); }
Value f_reject(Interpreter& in, const Value& v, CallArgs& a) { return select_impl(in, v, a, false, false); }
Value f_selectattr(Interpreter& in, const Value& v, CallArgs& a) { return select_impl(in, v, a, true, true); }
Value f_rejectattr(Interpreter& in, const Value& v, CallArgs& a) { return select_impl(in, v, a, false, true); }

Value f_batch(Interpreter& in, const Value& v, CallArgs& args) {
  ArgBinder a("batch", args, {"linecount", "fill_with"});
  if (!a.has(0)) fail(FailKind::kType, "batch() missing required argument 'linecount'");
  const int64_t linecount = to_int(a.get(0), "batch() linecount");
  std::vector<Value> out, tmp;
  for (auto& item : iterate(in, v)) {
    if (static_cast<int64_t>(tmp.size()) == linecount) {
      out.push_back(Value::list(std::move(tmp)));
      tmp.clear();
    }
    tmp.push_back(item);
  }
  if (!tmp.empty()) {
    if (a.has(1) && !a.get(1).is_none() && static_cast<int64_t>(tmp.size()) < linecount) {
      in.check_size(static_cast<size_t>(linecount));
      while (static_cast<int64_t>(tmp.size()) < linecount) tmp.push_back(a.get(1));
    }
    out.push_back(Value::list(std::move(tmp)));
  }
  return iterator(std::move(out));
}

Value f_slice(Interpreter& in, const Value& v, CallArgs& args) {
  ArgBinder a("slice", args, {"slices", "fill_with"});
  if (!a.has(0)) fail(FailKind::kType, "slice() missing required argument 'slices'");
  const int64_t slices = to_int(a.get(0), "slice() slices");
  if (slices == 0) fail(FailKind::kZeroDivision, "integer division or modulo by zero");
  const std::vector<Value> seq = iterate(in, v);
  const auto length = static_cast<int64_t>(seq.size());
  if (slices < 0) return iterator({});
  in.check_size(static_cast<size_t>(slices));
  in.charge(static_cast<uint64_t>(slices));
  const int64_t per = length / slices;
  const int64_t extra = length % slices;
  int64_t offset = 0;
  std::vector<Value> out;
  for (int64_t n = 0; n < slices; ++n) {
    const int64_t start = offset + n * per;
    if (n < extra) ++offset;
    const int64_t end = offset + (n + 1) * per;
    std::vector<Value> part(seq.begin() + start, seq.begin() + end);
    if (a.has(1) && !a.get(1).is_none() && n >= extra) part.push_back(a.get(1));
    out.push_back(Value::list(std::move(part)));
  }
  return iterator(std::move(out));
}

Value f_groupby(Interpreter& in, const Value& v, CallArgs& args) {
  ArgBinder a("groupby", args, {"attribute", "default", "case_sensitive"});
  if (!a.has(0)) fail(FailKind::kType, "groupby() missing required argument 'attribute'");
  const Value* fallback = a.has(1) && !a.get(1).is_none() ? &a.get(1) : nullptr;
  const bool case_sensitive = a.has(2) && truthy(a.get(2));
  std::vector<std::pair<Value, Value>> keyed;
  for (auto& item : iterate(in, v)) {
    const Value k = get_path(in, item, a.get(0), fallback);
    keyed.emplace_back(case_sensitive ? k : ignore_case(k), item);
  }
  stable_sort_py(keyed, [](const auto& l, const auto& r) { return py_less(l.first, r.first); });
  std::vector<Value> out;
  for (size_t i = 0; i < keyed.size();) {
    size_t j = i;
    std::vector<Value> group;
    while (j < keyed.size() && py_equal(keyed[j].first, keyed[i].first)) group.push_back(keyed[j++].second);
    // The group's key is the first member's real (not lowercased) value.
    Value key = case_sensitive ? keyed[i].first : get_path(in, group[0], a.get(0), fallback);
    out.push_back(Value::list({std::move(key), Value::list(std::move(group))}, ListFlavor::kTuple));
    i = j;
  }
  return Value::list(std::move(out));
}

}  // namespace muse::text::jinja::filters
