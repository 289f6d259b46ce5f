#include "text/jinja_json.h"

#include <cmath>

#include "text/jinja_failure.h"
#include "text/jinja_ops.h"
#include "text/jinja_unicode.h"

namespace muse::text::jinja {

namespace {

void append_json_string(std::string& out, std::string_view s, bool ensure_ascii) {
  out.push_back('"');
  auto escape_cp = [&](char32_t c) {
    switch (c) {
      case '"': out += "\\\""; return;
      case '\\': out += "\\\\"; return;
      case '\n': out += "\\n"; return;
      case '\r': out += "\\r"; return;
      case '\t': out += "\\t"; return;
      case '\b': out += "\\b"; return;
      case '\f': out += "\\f"; return;
      default: break;
    }
    if (c < 0x20 || (ensure_ascii && c >= 0x7F)) {
      if (c >= 0x10000 && c <= 0x10FFFF) {  // UTF-16 surrogate pair, as Python writes it
        const char32_t v = c - 0x10000;
        out += fmt::format("\\u{:04x}\\u{:04x}", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
      } else {
        out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
      }
      return;
    }
    append_utf8(out, c);
  };
  if (is_ascii(s)) {
    for (char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (c >= 0x20 && c != '"' && c != '\\' && !(ensure_ascii && c == 0x7F)) {
        out.push_back(ch);
      } else {
        escape_cp(c);
      }
    }
  } else {
    for (char32_t c : decode_utf8(s)) escape_cp(c);
  }
  out.push_back('"');
}

std::string float_json(double f) {
  if (std::isnan(f)) return "NaN";
  if (std::isinf(f)) return f > 0 ? "Infinity" : "-Infinity";
  return py_float_repr(f);
}

class Encoder {
 public:
  explicit Encoder(const JsonOptions& o) : o_(o) {}

  void encode(const Value& v, int depth) {
    if (depth > kMaxNesting) fail(FailKind::kLimit, "tojson: value nested deeper than {} levels", kMaxNesting);
    if (out.size() > o_.max_bytes) fail(FailKind::kLimit, "tojson: output exceeds {} bytes", o_.max_bytes);
    switch (v.kind()) {
      case Kind::kNone:
        out += "null";
        return;
      case Kind::kBool:
        out += v.b() ? "true" : "false";
        return;
      case Kind::kInt:
        out += fmt::format("{}", v.i());
        return;
      case Kind::kFloat:
        out += float_json(v.f());
        return;
      case Kind::kString:
        append_json_string(out, v.s(), o_.ensure_ascii);
        return;
      case Kind::kList:
        if (!v.is_iterator()) {
          encode_list(v.items(), depth);
          return;
        }
        break;
      case Kind::kDict:
        encode_dict(v.dict_ref(), depth);
        return;
      default:
        break;
    }
    fail(FailKind::kType, "Object of type {} is not JSON serializable", type_name(v));
  }

  std::string out;

 private:
  void newline(int level) {
    if (out.size() + static_cast<size_t>(level) * o_.indent->size() > o_.max_bytes) {
      fail(FailKind::kLimit, "tojson: output exceeds {} bytes", o_.max_bytes);
    }
    out.push_back('\n');
    for (int i = 0; i < level; ++i) out += *o_.indent;
  }

  void encode_list(const std::vector<Value>& items, int depth) {
    if (items.empty()) {
      out += "[]";
      return;
    }
    out.push_back('[');
    if (o_.indent) newline(depth + 1);
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) {
        out += o_.item_separator;
        if (o_.indent) newline(depth + 1);
      }
      encode(items[i], depth + 1);
    }
    if (o_.indent) newline(depth);
    out.push_back(']');
  }

  static std::string key_text(const Value& k) {
    switch (k.kind()) {
      case Kind::kString: return k.s();
      case Kind::kInt: return fmt::format("{}", k.i());
      case Kind::kBool: return k.b() ? "true" : "false";
      case Kind::kNone: return "null";
      case Kind::kFloat: return float_json(k.f());
      default:
        fail(FailKind::kType, "keys must be str, int, float, bool or None, not {}", type_name(k));
    }
  }

  void encode_dict(const Dict& d, int depth) {
    if (d.size() == 0) {
      out += "{}";
      return;
    }
    std::vector<const std::pair<Value, Value>*> items;
    items.reserve(d.size());
    for (const auto& kv : d.items()) items.push_back(&kv);
    if (o_.sort_keys) {
      stable_sort_py(items, [](const auto* a, const auto* b) { return py_less(a->first, b->first); });
    }
    out.push_back('{');
    if (o_.indent) newline(depth + 1);
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) {
        out += o_.item_separator;
        if (o_.indent) newline(depth + 1);
      }
      append_json_string(out, key_text(items[i]->first), o_.ensure_ascii);
      out += o_.key_separator;
      encode(items[i]->second, depth + 1);
    }
    if (o_.indent) newline(depth);
    out.push_back('}');
  }

  const JsonOptions& o_;
};

}  // namespace

std::string to_json(const Value& v, const JsonOptions& options) {
  Encoder e(options);
  e.encode(v, 0);
  if (e.out.size() > options.max_bytes) fail(FailKind::kLimit, "tojson: output exceeds {} bytes", options.max_bytes);
  return std::move(e.out);
}

}  // namespace muse::text::jinja
