// Global functions templates can call: jinja2's defaults (range, dict, namespace, joiner, cycler)
// and the two transformers adds (raise_exception, strftime_now).
#include <clocale>
#include <ctime>
#include <locale.h>

#include "text/jinja_failure.h"
#include "text/jinja_interpreter.h"
#include "text/jinja_ops.h"

namespace muse::text::jinja {

namespace {

constexpr int64_t kMaxRange = 100000;  // jinja2.sandbox.MAX_RANGE

Value builtin_range(Interpreter& in, CallArgs& args) {
  if (!args.kwargs.empty()) fail(FailKind::kType, "range() takes no keyword arguments");
  if (args.args.empty() || args.args.size() > 3) {
    fail(FailKind::kType, "range expected at most 3 arguments, got {}", args.args.size());
  }
  int64_t start = 0, stop, step = 1;
  if (args.args.size() == 1) {
    stop = to_int(args.args[0], "range()");
  } else {
    start = to_int(args.args[0], "range()");
    stop = to_int(args.args[1], "range()");
    if (args.args.size() == 3) step = to_int(args.args[2], "range()");
  }
  if (step == 0) fail(FailKind::kValue, "range() arg 3 must not be zero");
  // len(range): ceil((stop - start) / step) when positive; computed in long double to avoid overflow.
  const long double span = static_cast<long double>(stop) - static_cast<long double>(start);
  long double count = step > 0 ? (span + step - 1) / step : (span + step + 1) / step;
  if (count < 0) count = 0;
  if (count > kMaxRange) {
    fail(FailKind::kOverflow, "Range too big. The sandbox blocks ranges larger than MAX_RANGE ({}).", kMaxRange);
  }
  const auto n = static_cast<int64_t>(count);
  in.charge(static_cast<uint64_t>(n) / 8);
  std::vector<Value> items;
  items.reserve(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) items.push_back(Value::integer(start + k * step));
  return Value::list(std::move(items));
}

// dict(*args, **kwargs): a mapping or an iterable of pairs, then keyword items.
Dict build_dict(CallArgs& args, const char* name) {
  if (args.args.size() > 1) fail(FailKind::kType, "{} expected at most 1 argument, got {}", name, args.args.size());
  Dict d;
  if (!args.args.empty()) {
    const Value& src = args.args[0];
    if (src.is_dict()) {
      for (const auto& [k, v] : src.dict_ref().items()) d.set(k, v);
    } else if (src.is_namespace()) {
      for (const auto& [k, v] : src.ns_ref().attrs.items()) d.set(k, v);
    } else {
      size_t i = 0;
      for (const auto& pair : py_iterate(src)) {
        const std::vector<Value> kv = py_iterate(pair);
        if (kv.size() != 2) {
          fail(FailKind::kValue, "dictionary update sequence element #{} has length {}; 2 is required", i, kv.size());
        }
        d.set(kv[0], kv[1]);
        ++i;
      }
    }
  }
  for (auto& [k, v] : args.kwargs) d.set(Value::string(k), v);
  return d;
}

Value builtin_dict(Interpreter&, CallArgs& args) { return Value::dict(std::make_shared<Dict>(build_dict(args, "dict"))); }

Value builtin_namespace(Interpreter& in, CallArgs& args) { return in.make_namespace(build_dict(args, "namespace")); }

Value builtin_raise_exception(Interpreter&, CallArgs& args) {
  // transformers: raise TemplateError(message); its text is the template's own and must stay verbatim.
  const std::string message = args.args.empty() ? std::string() : py_str(args.args[0]);
  throw Failure(FailKind::kRaised, message);
}

// C-locale strftime with Python datetime's extra directives for a naive time: %f (microseconds,
// always 000000 here), %z and %Z (empty).
std::string format_time(std::string_view format, const std::tm& tm) {
  std::string fmt;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] == '%' && i + 1 < format.size()) {
      const char c = format[i + 1];
      if (c == 'f') {
        fmt += "000000";
        ++i;
        continue;
      }
      if (c == 'z' || c == 'Z') {
        ++i;
        continue;
      }
      fmt += format[i];
      fmt += c;
      ++i;
      continue;
    }
    fmt += format[i];
  }
  if (fmt.empty()) return {};
  locale_t c_locale = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(nullptr));
  std::string out;
  for (size_t cap = 64 + fmt.size() * 4; cap <= (1u << 20); cap *= 4) {
    out.assign(cap, '\0');
    // A leading space makes "result is empty" distinguishable from "buffer too small".
    const std::string padded = " " + fmt;
    const size_t n = c_locale ? strftime_l(out.data(), cap, padded.c_str(), &tm, c_locale)
                              : std::strftime(out.data(), cap, padded.c_str(), &tm);
    if (n > 0) {
      out.resize(n);
      out.erase(0, 1);
      if (c_locale) freelocale(c_locale);
      return out;
    }
  }
  if (c_locale) freelocale(c_locale);
  fail(FailKind::kLimit, "strftime_now() result too long");
}

Value builtin_strftime_now(Interpreter& in, CallArgs& args) {
  ArgBinder a("strftime_now", args, {"format"});
  if (!a.has(0) || !a.get(0).is_string()) fail(FailKind::kType, "strftime_now() argument must be str");
  std::tm tm{};
  if (in.options().clock) {
    tm = in.options().clock();
  } else {
    const std::time_t now = std::time(nullptr);
    localtime_r(&now, &tm);
  }
  return Value::string(format_time(a.get(0).s(), tm));
}

Value builtin_joiner(Interpreter&, CallArgs& args) {
  ArgBinder a("joiner", args, {"sep"});
  const std::string sep = a.has(0) ? py_str(a.get(0)) : std::string(", ");
  auto used = std::make_shared<bool>(false);
  return Value::object(std::make_shared<Function>("joiner", [sep, used](Interpreter&, CallArgs&) {
    if (!*used) {
      *used = true;
      return Value::string("");
    }
    return Value::string(sep);
  }));
}

class Cycler : public Object {
 public:
  explicit Cycler(std::vector<Value> items) : st_(std::make_shared<State>()) { st_->items = std::move(items); }
  std::string_view type_name() const override { return "Cycler"; }
  Value get_attr(std::string_view name) override {
    if (name == "current") return st_->items[st_->pos];
    auto st = st_;  // the bound methods share the state, so they stay valid on their own
    if (name == "next") {
      return Value::object(std::make_shared<Function>("next", [st](Interpreter&, CallArgs&) {
        Value v = st->items[st->pos];
        st->pos = (st->pos + 1) % st->items.size();
        return v;
      }));
    }
    if (name == "reset") {
      return Value::object(std::make_shared<Function>("reset", [st](Interpreter&, CallArgs&) {
        st->pos = 0;
        return Value::none();
      }));
    }
    return Object::get_attr(name);
  }

 private:
  struct State {
    std::vector<Value> items;
    size_t pos = 0;
  };
  std::shared_ptr<State> st_;
};

Value builtin_cycler(Interpreter&, CallArgs& args) {
  if (args.args.empty()) fail(FailKind::kType, "at least one item has to be provided");
  return Value::object(std::make_shared<Cycler>(args.args));
}

Value builtin_lipsum(Interpreter&, CallArgs&) {
  fail(FailKind::kUnsupported, "lipsum() is not supported by OpenMuse (its output is random)");
}

}  // namespace

Value lookup_builtin(std::string_view name) {
  Function::Fn fn;
  if (name == "range") fn = builtin_range;
  else if (name == "dict") fn = builtin_dict;
  else if (name == "namespace") fn = builtin_namespace;
  else if (name == "raise_exception") fn = builtin_raise_exception;
  else if (name == "strftime_now") fn = builtin_strftime_now;
  else if (name == "joiner") fn = builtin_joiner;
  else if (name == "cycler") fn = builtin_cycler;
  else if (name == "lipsum") fn = builtin_lipsum;
  else return Value();
  return Value::object(std::make_shared<Function>(std::string(name), std::move(fn)));
}

}  // namespace muse::text::jinja
