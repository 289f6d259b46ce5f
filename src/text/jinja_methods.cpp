// Python methods of str, list, tuple and dict, as templates call them (`message.content.strip()`,
// `tool.get('name')`). Mutating methods exist (attribute lookup finds them) but the immutable
// sandbox refuses to call them, exactly like jinja2's ImmutableSandboxedEnvironment.
#include <algorithm>
#include <array>

#include "text/jinja_failure.h"
#include "text/jinja_interpreter.h"
#include "text/jinja_ops.h"
#include "text/jinja_unicode.h"

namespace muse::text::jinja {

namespace {

using Method = Value (*)(Interpreter&, const Value& self, CallArgs& args);

Value make_list(std::vector<std::string> parts) {
  std::vector<Value> items;
  items.reserve(parts.size());
  for (auto& p : parts) items.push_back(Value::string(std::move(p)));
  return Value::list(std::move(items));
}

std::optional<std::string_view> opt_str_arg(const ArgBinder& a, size_t i, std::string_view method) {
  if (!a.has(i) || a.get(i).is_none()) return std::nullopt;
  if (!a.get(i).is_string()) fail(FailKind::kType, "{} arg must be None or str", method);
  return std::string_view(a.get(i).s());
}

std::string_view str_arg(const ArgBinder& a, size_t i, std::string_view method) {
  if (!a.has(i)) fail(FailKind::kType, "{}() missing required argument", method);
  if (!a.get(i).is_string()) {
    fail(FailKind::kType, "{}() argument must be str, not {}", method, type_name(a.get(i)));
  }
  return a.get(i).s();
}

int64_t int_arg(const ArgBinder& a, size_t i, std::string_view method) {
  if (!a.has(i)) fail(FailKind::kType, "{}() missing required argument", method);
  return to_int(a.get(i), method);
}

// ---- str ------------------------------------------------------------------------------------

Value m_strip_impl(const Value& self, CallArgs& args, const char* name, bool left, bool right) {
  ArgBinder a(name, args, {"chars"});
  return Value::string(str_strip(self.s(), opt_str_arg(a, 0, name), left, right), self.is_markup());
}
Value m_strip(Interpreter&, const Value& s, CallArgs& a) { return m_strip_impl(s, a, "strip", true, true); }
Value m_lstrip(Interpreter&, const Value& s, CallArgs& a) { return m_strip_impl(s, a, "lstrip", true, false); }
Value m_rstrip(Interpreter&, const Value& s, CallArgs& a) { return m_strip_impl(s, a, "rstrip", false, true); }

Value m_split_impl(const Value& self, CallArgs& args, bool reverse) {
  ArgBinder a(reverse ? "rsplit" : "split", args, {"sep", "maxsplit"});
  const auto sep = opt_str_arg(a, 0, "split");
  const int64_t maxsplit = a.has(1) ? int_arg(a, 1, "split") : -1;
  return make_list(reverse ? str_rsplit(self.s(), sep, maxsplit) : str_split(self.s(), sep, maxsplit));
}
Value m_split(Interpreter&, const Value& s, CallArgs& a) { return m_split_impl(s, a, false); }
Value m_rsplit(Interpreter&, const Value& s, CallArgs& a) { return m_split_impl(s, a, true); }

Value m_splitlines(Interpreter&, const Value& self, CallArgs& args) {
  ArgBinder a("splitlines", args, {"keepends"});
  return make_list(str_splitlines(self.s(), a.has(0) && truthy(a.get(0))));
}

Value m_affix_impl(const Value& self, CallArgs& args, const char* name, bool at_end) {
  ArgBinder a(name, args, {"prefix", "start", "end"});
  if (!a.has(0)) fail(FailKind::kType, "{}() takes at least 1 argument (0 given)", name);
  const auto start = a.get_int(1);
  const auto end = a.get_int(2);
  const Value& p = a.get(0);
  if (p.is_string()) return Value::boolean(str_startswith(self.s(), p.s(), start, end, at_end));
  if (p.is_tuple()) {
    for (const auto& item : p.items()) {
      if (!item.is_string()) fail(FailKind::kType, "tuple for {} must only contain str, not {}", name, type_name(item));
      if (str_startswith(self.s(), item.s(), start, end, at_end)) return Value::boolean(true);
    }
    return Value::boolean(false);
  }
  fail(FailKind::kType, "{} first arg must be str or a tuple of str, not {}", name, type_name(p));
}
Value m_startswith(Interpreter&, const Value& s, CallArgs& a) { return m_affix_impl(s, a, "startswith", false); }
Value m_endswith(Interpreter&, const Value& s, CallArgs& a) { return m_affix_impl(s, a, "endswith", true); }

Value m_replace(Interpreter& in, const Value& self, CallArgs& args) {
  ArgBinder a("replace", args, {"old", "new", "count"});
  const std::string_view old = str_arg(a, 0, "replace");
  const std::string_view with = str_arg(a, 1, "replace");
  const int64_t count = a.has(2) ? int_arg(a, 2, "replace") : -1;
  in.check_size(str_replace_result_size(self.s(), old, with, count));
  return Value::string(str_replace(self.s(), old, with, count), self.is_markup());
}

Value m_upper(Interpreter&, const Value& s, CallArgs& a) {
  ArgBinder("upper", a, {});
  return Value::string(str_upper(s.s()), s.is_markup());
}
Value m_lower(Interpreter&, const Value& s, CallArgs& a) {
  ArgBinder("lower", a, {});
  return Value::string(str_lower(s.s()), s.is_markup());
}
Value m_title(Interpreter&, const Value& s, CallArgs& a) {
  ArgBinder("title", a, {});
  return Value::string(str_title(s.s()), s.is_markup());
}
Value m_capitalize(Interpreter&, const Value& s, CallArgs& a) {
  ArgBinder("capitalize", a, {});
  return Value::string(str_capitalize(s.s()), s.is_markup());
}
Value m_swapcase(Interpreter&, const Value& s, CallArgs& a) {
  ArgBinder("swapcase", a, {});
  return Value::string(str_swapcase(s.s()), s.is_markup());
}

Value m_find_impl(const Value& self, CallArgs& args, const char* name, bool reverse, bool raise) {
  ArgBinder a(name, args, {"sub", "start", "end"});
  const int64_t r = str_find(self.s(), str_arg(a, 0, name), a.get_int(1), a.get_int(2), reverse);
  if (r < 0 && raise) fail(FailKind::kValue, "substring not found");
  return Value::integer(r);
}
Value m_find(Interpreter&, const Value& s, CallArgs& a) { return m_find_impl(s, a, "find", false, false); }
Value m_rfind(Interpreter&, const Value& s, CallArgs& a) { return m_find_impl(s, a, "rfind", true, false); }
Value m_index(Interpreter&, const Value& s, CallArgs& a) { return m_find_impl(s, a, "index", false, true); }
Value m_rindex(Interpreter&, const Value& s, CallArgs& a) { return m_find_impl(s, a, "rindex", true, true); }

Value m_count(Interpreter&, const Value& self, CallArgs& args) {
  ArgBinder a("count", args, {"sub", "start", "end"});
  return Value::integer(str_count(self.s(), str_arg(a, 0, "count"), a.get_int(1), a.get_int(2)));
}

Value m_join(Interpreter& in, const Value& self, CallArgs& args) {
  ArgBinder a("join", args, {"iterable"});
  if (!a.has(0)) fail(FailKind::kType, "join() takes exactly one argument (0 given)");
  std::string out;
  size_t i = 0;
  for (const auto& item : py_iterate(a.get(0))) {
    if (!item.is_string()) {
      fail(FailKind::kType, "sequence item {}: expected str instance, {} found", i, type_name(item));
    }
    if (i++) out += self.s();
    out += item.s();
    in.check_size(out.size());
  }
  return Value::string(std::move(out));
}

Value m_pad_impl(Interpreter& in, const Value& self, CallArgs& args, const char* name, char align) {
  ArgBinder a(name, args, {"width", "fillchar"});
  const int64_t width = int_arg(a, 0, name);
  char32_t fill = ' ';
  if (a.has(1)) {
    const Value& f = a.get(1);
    if (!f.is_string() || utf8_length(f.s()) != 1) {
      fail(FailKind::kType, "The fill character must be exactly one character long");
    }
    fill = decode_utf8(f.s())[0];
  }
  in.check_size(static_cast<size_t>(std::max<int64_t>(width, 0)) * 4);
  return Value::string(str_pad(self.s(), width, fill, align));
}
Value m_center(Interpreter& in, const Value& s, CallArgs& a) { return m_pad_impl(in, s, a, "center", '^'); }
Value m_ljust(Interpreter& in, const Value& s, CallArgs& a) { return m_pad_impl(in, s, a, "ljust", '<'); }
Value m_rjust(Interpreter& in, const Value& s, CallArgs& a) { return m_pad_impl(in, s, a, "rjust", '>'); }

Value m_zfill(Interpreter& in, const Value& self, CallArgs& args) {
  ArgBinder a("zfill", args, {"width"});
  const int64_t width = int_arg(a, 0, "zfill");
  in.check_size(static_cast<size_t>(std::max<int64_t>(width, 0)));
  return Value::string(str_zfill(self.s(), width));
}

Value m_partition_impl(const Value& self, CallArgs& args, bool reverse) {
  ArgBinder a(reverse ? "rpartition" : "partition", args, {"sep"});
  const std::string_view sep = str_arg(a, 0, "partition");
  if (sep.empty()) fail(FailKind::kValue, "empty separator");
  const std::string& s = self.s();
  const size_t at = reverse ? s.rfind(sep) : s.find(sep);
  std::vector<Value> parts;
  if (at == std::string::npos) {
    if (reverse) {
      parts = {Value::string(""), Value::string(""), Value::string(s)};
    } else {
      parts = {Value::string(s), Value::string(""), Value::string("")};
    }
  } else {
    parts = {Value::string(s.substr(0, at)), Value::string(std::string(sep)), Value::string(s.substr(at + sep.size()))};
  }
  return Value::list(std::move(parts), ListFlavor::kTuple);
}
Value m_partition(Interpreter&, const Value& s, CallArgs& a) { return m_partition_impl(s, a, false); }
Value m_rpartition(Interpreter&, const Value& s, CallArgs& a) { return m_partition_impl(s, a, true); }

Value m_removeprefix(Interpreter&, const Value& self, CallArgs& args) {
  ArgBinder a("removeprefix", args, {"prefix"});
  const std::string_view p = str_arg(a, 0, "removeprefix");
  const std::string& s = self.s();
  return Value::string(s.compare(0, p.size(), p) == 0 ? s.substr(p.size()) : s);
}
Value m_removesuffix(Interpreter&, const Value& self, CallArgs& args) {
  ArgBinder a("removesuffix", args, {"suffix"});
  const std::string_view p = str_arg(a, 0, "removesuffix");
  const std::string& s = self.s();
  const bool ends = !p.empty() && s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
  return Value::string(ends ? s.substr(0, s.size() - p.size()) : s);
}

Value m_expandtabs(Interpreter& in, const Value& self, CallArgs& args) {
  ArgBinder a("expandtabs", args, {"tabsize"});
  const int64_t tab = a.has(0) ? int_arg(a, 0, "expandtabs") : 8;
  std::string out;
  int64_t col = 0;
  for (char32_t c : decode_utf8(self.s())) {
    if (c == '\t') {
      if (tab > 0) {
        const int64_t n = tab - col % tab;
        in.check_size(out.size() + static_cast<size_t>(n));
        out.append(static_cast<size_t>(n), ' ');
        col += n;
      }
    } else {
      append_utf8(out, c);
      col = (c == '\n' || c == '\r') ? 0 : col + 1;
    }
  }
  return Value::string(std::move(out));
}

Value m_format(Interpreter& in, const Value& self, CallArgs& args) { return Value::string(str_format(in, self.s(), args)); }

Value m_format_map(Interpreter& in, const Value& self, CallArgs& args) {
  ArgBinder a("format_map", args, {"mapping"});
  if (!a.has(0) || !a.get(0).is_dict()) fail(FailKind::kType, "format_map() argument must be a mapping");
  CallArgs kw;
  for (const auto& [k, v] : a.get(0).dict_ref().items()) {
    if (k.is_string()) kw.kwargs.emplace_back(k.s(), v);
  }
  return Value::string(str_format(in, self.s(), kw));
}

template <bool (*Pred)(char32_t)>
Value m_is_all(Interpreter&, const Value& self, CallArgs& args) {
  ArgBinder("is", args, {});
  const std::u32string cps = decode_utf8(self.s());
  if (cps.empty()) return Value::boolean(false);
  return Value::boolean(std::all_of(cps.begin(), cps.end(), Pred));
}

Value m_isascii(Interpreter&, const Value& self, CallArgs& args) {
  ArgBinder("isascii", args, {});
  return Value::boolean(is_ascii(self.s()));
}
Value m_isprintable(Interpreter&, const Value& self, CallArgs& args) {
  ArgBinder("isprintable", args, {});
  const std::u32string cps = decode_utf8(self.s());
  return Value::boolean(std::all_of(cps.begin(), cps.end(), py_isprintable));
}

// islower/isupper: every cased character has that case, and there is at least one.
template <bool Lower>
Value m_iscase(Interpreter&, const Value& self, CallArgs& args) {
  ArgBinder("iscase", args, {});
  bool any = false;
  for (char32_t c : decode_utf8(self.s())) {
    if (Lower ? py_isupper_char(c) : py_islower_char(c)) return Value::boolean(false);
    if (py_iscased(c)) any = true;
  }
  return Value::boolean(any);
}

Value m_istitle(Interpreter&, const Value& self, CallArgs& args) {
  ArgBinder("istitle", args, {});
  bool cased = false, previous_cased = false;
  for (char32_t c : decode_utf8(self.s())) {
    if (py_isupper_char(c)) {
      if (previous_cased) return Value::boolean(false);
      previous_cased = cased = true;
    } else if (py_islower_char(c)) {
      if (!previous_cased) return Value::boolean(false);
      previous_cased = cased = true;
    } else {
      previous_cased = false;
    }
  }
  return Value::boolean(cased);
}

Value m_isidentifier(Interpreter&, const Value& self, CallArgs& args) {
  ArgBinder("isidentifier", args, {});
  const std::u32string cps = decode_utf8(self.s());
  if (cps.empty() || !(py_isalpha(cps[0]) || cps[0] == '_')) return Value::boolean(false);
  return Value::boolean(std::all_of(cps.begin(), cps.end(), [](char32_t c) { return py_isalnum(c) || c == '_'; }));
}

// ---- list / tuple / dict -----------------------------------------------------------------------

Value m_list_index(Interpreter&, const Value& self, CallArgs& args) {
  ArgBinder a("index", args, {"value", "start", "stop"});
  if (!a.has(0)) fail(FailKind::kType, "index expected at least 1 argument, got 0");
  const auto& items = self.items();
  const SliceIndices sl = adjust_slice(static_cast<int64_t>(items.size()), a.get_int(1), a.get_int(2), 1);
  for (int64_t i = sl.start; i < sl.stop; ++i) {
    if (py_equal(items[static_cast<size_t>(i)], a.get(0))) return Value::integer(i);
  }
  fail(FailKind::kValue, "{}.index(x): x not in {}", type_name(self), type_name(self));
}

Value m_list_count(Interpreter&, const Value& self, CallArgs& args) {
  ArgBinder a("count", args, {"value"});
  if (!a.has(0)) fail(FailKind::kType, "count() takes exactly one argument (0 given)");
  int64_t n = 0;
  for (const auto& v : self.items()) n += py_equal(v, a.get(0)) ? 1 : 0;
  return Value::integer(n);
}

Value m_list_copy(Interpreter&, const Value& self, CallArgs& args) {
  ArgBinder("copy", args, {});
  return Value::list(self.items(), self.list_ref().flavor);
}

// jinja2's immutable sandbox lists only append/reverse/insert/sort/extend/remove as mutating for
// sequences, so list.pop() and list.clear() do work there; they mutate in place, as in Python.
Value m_list_pop(Interpreter&, const Value& self, CallArgs& args) {
  ArgBinder a("pop", args, {"index"});
  auto& items = self.list_ref().items;
  if (items.empty()) fail(FailKind::kValue, "IndexError: pop from empty list");
  int64_t i = a.has(0) ? to_int(a.get(0), "pop") : -1;
  if (i < 0) i += static_cast<int64_t>(items.size());
  if (i < 0 || i >= static_cast<int64_t>(items.size())) fail(FailKind::kValue, "IndexError: pop index out of range");
  Value v = items[static_cast<size_t>(i)];
  items.erase(items.begin() + i);
  return v;
}

Value m_list_clear(Interpreter&, const Value& self, CallArgs& args) {
  ArgBinder("clear", args, {});
  self.list_ref().items.clear();
  return Value::none();
}

Value m_dict_get(Interpreter&, const Value& self, CallArgs& args) {
  ArgBinder a("get", args, {"key", "default"});
  if (!a.has(0)) fail(FailKind::kType, "get expected at least 1 argument, got 0");
  const Value& key = a.get(0);
  if ((key.is_list() && !key.is_tuple()) || key.is_dict() || key.is_namespace()) {
    fail(FailKind::kType, "unhashable type: '{}'", type_name(key));
  }
  if (const Value* v = self.dict_ref().find(key)) return *v;
  return a.get_or(1, Value::none());
}

Value m_dict_items(Interpreter&, const Value& self, CallArgs& args) {
  ArgBinder("items", args, {});
  std::vector<Value> out;
  out.reserve(self.dict_ref().size());
  for (const auto& [k, v] : self.dict_ref().items()) out.push_back(Value::list({k, v}, ListFlavor::kTuple));
  return Value::list(std::move(out));
}

Value m_dict_keys(Interpreter&, const Value& self, CallArgs& args) {
  ArgBinder("keys", args, {});
  std::vector<Value> out;
  for (const auto& kv : self.dict_ref().items()) out.push_back(kv.first);
  return Value::list(std::move(out));
}

Value m_dict_values(Interpreter&, const Value& self, CallArgs& args) {
  ArgBinder("values", args, {});
  std::vector<Value> out;
  for (const auto& kv : self.dict_ref().items()) out.push_back(kv.second);
  return Value::list(std::move(out));
}

Value m_dict_copy(Interpreter&, const Value& self, CallArgs& args) {
  ArgBinder("copy", args, {});
  return Value::dict(std::make_shared<Dict>(self.dict_ref()));
}

Value m_unsupported(Interpreter&, const Value& self, CallArgs&) {
  fail(FailKind::kUnsupported, "this {} method is not supported by OpenMuse", type_name(self));
}

struct MethodEntry {
  std::string_view name;
  Method fn;  // null = forbidden by the immutable sandbox
};

constexpr MethodEntry kStrMethods[] = {
    {"capitalize", m_capitalize}, {"casefold", m_lower}, {"center", m_center}, {"count", m_count},
    {"encode", m_unsupported}, {"endswith", m_endswith}, {"expandtabs", m_expandtabs}, {"find", m_find},
    {"format", m_format}, {"format_map", m_format_map}, {"index", m_index},
    {"isalnum", m_is_all<py_isalnum>}, {"isalpha", m_is_all<py_isalpha>}, {"isascii", m_isascii},
    {"isdecimal", m_is_all<py_isdecimal>}, {"isdigit", m_is_all<py_isdigit>}, {"isidentifier", m_isidentifier},
    {"islower", m_iscase<true>}, {"isnumeric", m_is_all<py_isnumeric>}, {"isprintable", m_isprintable},
    {"isspace", m_is_all<py_isspace>}, {"istitle", m_istitle}, {"isupper", m_iscase<false>}, {"join", m_join},
    {"ljust", m_ljust}, {"lower", m_lower}, {"lstrip", m_lstrip}, {"maketrans", m_unsupported},
    {"partition", m_partition}, {"removeprefix", m_removeprefix}, {"removesuffix", m_removesuffix},
    {"replace", m_replace}, {"rfind", m_rfind}, {"rindex", m_rindex}, {"rjust", m_rjust},
    {"rpartition", m_rpartition}, {"rsplit", m_rsplit}, {"rstrip", m_rstrip}, {"split", m_split},
    {"splitlines", m_splitlines}, {"startswith", m_startswith}, {"strip", m_strip}, {"swapcase", m_swapcase},
    {"title", m_title}, {"translate", m_unsupported}, {"upper", m_upper}, {"zfill", m_zfill},
};

constexpr MethodEntry kListMethods[] = {
    {"append", nullptr}, {"clear", m_list_clear}, {"copy", m_list_copy}, {"count", m_list_count},
    {"extend", nullptr}, {"index", m_list_index}, {"insert", nullptr}, {"pop", m_list_pop},
    {"remove", nullptr}, {"reverse", nullptr}, {"sort", nullptr},
};

constexpr MethodEntry kTupleMethods[] = {{"count", m_list_count}, {"index", m_list_index}};

constexpr MethodEntry kDictMethods[] = {
    {"clear", nullptr}, {"copy", m_dict_copy}, {"fromkeys", m_unsupported}, {"get", m_dict_get},
    {"items", m_dict_items}, {"keys", m_dict_keys}, {"pop", nullptr}, {"popitem", nullptr},
    {"setdefault", nullptr}, {"update", nullptr}, {"values", m_dict_values},
};

template <size_t N>
const MethodEntry* find_entry(const MethodEntry (&table)[N], std::string_view name) {
  for (const auto& e : table) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

}  // namespace

Value lookup_method(const Value& self, std::string_view name) {
  const MethodEntry* entry = nullptr;
  if (self.is_string()) {
    entry = find_entry(kStrMethods, name);
  } else if (self.is_dict()) {
    entry = find_entry(kDictMethods, name);
  } else if (self.is_list() && !self.is_iterator()) {
    entry = self.is_tuple() ? find_entry(kTupleMethods, name) : find_entry(kListMethods, name);
  }
  if (!entry) return Value();
  if (!entry->fn) {
    return Value::unsafe(fmt::format("access to attribute '{}' of '{}' object is unsafe.", name, type_name(self)));
  }
  const Method fn = entry->fn;
  return Value::object(std::make_shared<Function>(
      std::string(name), [self, fn](Interpreter& in, CallArgs& args) { return fn(in, self, args); }));
}

}  // namespace muse::text::jinja
