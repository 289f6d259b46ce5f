#include "tools/json_schema.h"

#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/error.h"

namespace muse::tools {
namespace {

using json = nlohmann::json;

// Keywords that only annotate (no effect on validity) or that are handled by their parent.
const std::set<std::string> kAnnotations = {"title", "description", "default", "examples", "$schema", "$id",
                                            "$comment", "deprecated", "readOnly", "writeOnly", "$defs",
                                            "definitions", "strict"};
// Keywords the grammar understands (or partly understands; see the header).
const std::set<std::string> kHandled = {"type", "properties", "required", "additionalProperties", "items",
                                        "minItems", "maxItems", "enum", "const", "anyOf", "oneOf", "allOf", "$ref",
                                        "minLength", "maxLength", "minimum"};

constexpr int kMaxBoundedRepeat = 1024;

class Compiler {
 public:
  Compiler(const json& root, const SchemaOptions& o) : root_(&root), opt_(o) {
    ws_ = make_ws();
  }

  CompiledSchema finish(int32_t top) {
    int32_t root = g_.add_rule("root");
    g_.add_alt(root, {ws(), Sym::ref(top)});
    g_.set_root(root);
    return CompiledSchema{std::move(g_), std::move(notes_)};
  }

  // root ::= ws (before_i value_i after_i | ...), each value_i compiled against its own document.
  CompiledSchema finish_wrapped(const std::vector<WrappedSchema>& choices) {
    int32_t root = g_.add_rule("root");
    for (size_t i = 0; i < choices.size(); ++i) {
      root_ = &choices[i].schema;
      refs_.clear();  // $refs point into the choice's own document
      const int32_t value = compile(choices[i].schema, fmt::format("[{}]", i));
      g_.add_alt(root, {ws(), Sym::lit(choices[i].before), Sym::ref(value), Sym::lit(choices[i].after)});
    }
    g_.set_root(root);
    return CompiledSchema{std::move(g_), std::move(notes_)};
  }

  int32_t compile(const json& s, const std::string& where) {
    if (s.is_boolean()) {
      if (s.get<bool>()) return any_value();
      int32_t never = g_.add_rule("never");  // no alternatives: matches nothing
      return never;
    }
    if (!s.is_object()) fail(ErrorCode::kInvalidArgument, "json schema: at '{}': a schema must be an object or a bool", where);
    for (const auto& [k, v] : s.items()) {
      if (kAnnotations.count(k) == 0 && kHandled.count(k) == 0) {
        notes_.push_back(fmt::format("at '{}': '{}' is not enforced by the grammar", where, k));
      }
      (void)v;
    }
    if (s.contains("$ref")) return ref(s["$ref"], where);
    if (s.contains("const")) return literal(s["const"], "const");
    if (s.contains("enum")) {
      const json& e = s["enum"];
      if (!e.is_array() || e.empty()) fail(ErrorCode::kInvalidArgument, "json schema: at '{}/enum': must be a non-empty array", where);
      int32_t r = g_.add_rule("enum");
      for (const json& v : e) g_.add_alt(r, {Sym::lit(v.dump())});
      return r;
    }
    for (const char* key : {"anyOf", "oneOf"}) {
      if (!s.contains(key)) continue;
      const json& list = s[key];
      if (!list.is_array() || list.empty()) fail(ErrorCode::kInvalidArgument, "json schema: at '{}/{}': must be a non-empty array", where, key);
      if (std::string(key) == "oneOf") notes_.push_back(fmt::format("at '{}': oneOf is treated as anyOf", where));
      int32_t r = g_.add_rule(key);
      for (size_t i = 0; i < list.size(); ++i) {
        json sub = merged(s, list[i], key);
        g_.add_alt(r, {Sym::ref(compile(sub, fmt::format("{}/{}/{}", where, key, i)))});
      }
      return r;
    }
    if (s.contains("allOf")) {
      const json& list = s["allOf"];
      if (!list.is_array() || list.empty()) fail(ErrorCode::kInvalidArgument, "json schema: at '{}/allOf': must be a non-empty array", where);
      if (list.size() > 1) fail(ErrorCode::kUnsupported, "json schema: at '{}/allOf': only one schema is supported", where);
      return compile(merged(s, list[0], "allOf"), where + "/allOf/0");
    }
    if (!s.contains("type")) {
      if (s.contains("properties")) return object(s, where);
      if (s.contains("items")) return array(s, where);
      return any_value();
    }
    const json& t = s["type"];
    if (t.is_string()) return typed(t.get<std::string>(), s, where);
    if (!t.is_array() || t.empty()) fail(ErrorCode::kInvalidArgument, "json schema: at '{}/type': must be a string or a non-empty array", where);
    int32_t r = g_.add_rule("types");
    for (const json& name : t) {
      if (!name.is_string()) fail(ErrorCode::kInvalidArgument, "json schema: at '{}/type': names must be strings", where);
      g_.add_alt(r, {Sym::ref(typed(name.get<std::string>(), s, where))});
    }
    return r;
  }

 private:
  // The parent schema's other keywords apply to every branch of anyOf/oneOf/allOf.
  static json merged(const json& parent, const json& branch, const char* key) {
    if (!branch.is_object()) return branch;
    json m = parent;
    m.erase(key);
    for (const auto& [k, v] : branch.items()) m[k] = v;
    return m;
  }

  int32_t typed(const std::string& type, const json& s, const std::string& where) {
    if (type == "object") return object(s, where);
    if (type == "array") return array(s, where);
    if (type == "string") return string_rule(s, where);
    if (type == "integer") {
      bool nonneg = false;
      if (s.contains("minimum") && s["minimum"].is_number() && s["minimum"].get<double>() >= 0) nonneg = true;
      if (s.contains("minimum") && !nonneg) notes_.push_back(fmt::format("at '{}': minimum is not enforced by the grammar", where));
      if (s.contains("minimum") && nonneg && s["minimum"].get<double>() > 0) {
        notes_.push_back(fmt::format("at '{}': minimum > 0 is enforced only as 'no sign'", where));
      }
      return nonneg ? uint_rule() : int_rule();
    }
    if (type == "number") {
      if (s.contains("minimum")) notes_.push_back(fmt::format("at '{}': minimum is not enforced by the grammar", where));
      return number_rule();
    }
    if (type == "boolean") {
      int32_t r = g_.add_rule("boolean");
      g_.add_alt(r, {Sym::lit("true")});
      g_.add_alt(r, {Sym::lit("false")});
      return r;
    }
    if (type == "null") return literal(json(nullptr), "null");
    fail(ErrorCode::kInvalidArgument, "json schema: at '{}/type': unknown type '{}'", where, type);
  }

  int32_t literal(const json& v, const char* name) {
    int32_t r = g_.add_rule(name);
    g_.add_alt(r, {Sym::lit(v.dump())});
    return r;
  }

  int32_t ref(const json& r, const std::string& where) {
    if (!r.is_string()) fail(ErrorCode::kInvalidArgument, "json schema: at '{}/$ref': must be a string", where);
    const std::string path = r.get<std::string>();
    auto it = refs_.find(path);
    if (it != refs_.end()) return it->second;
    if (path.empty() || path[0] != '#') {
      fail(ErrorCode::kUnsupported, "json schema: at '{}/$ref': only references into the same document ('#...') are supported, got '{}'", where, path);
    }
    const json* target = nullptr;
    try {
      json::json_pointer ptr(path.substr(1));
      if (root_->contains(ptr)) target = &root_->at(ptr);
    } catch (const json::exception&) {
    }
    if (target == nullptr) fail(ErrorCode::kInvalidArgument, "json schema: at '{}/$ref': '{}' does not resolve", where, path);
    // The rule exists before its body is compiled, so recursive references terminate.
    int32_t rule = g_.add_rule("ref " + path);
    refs_[path] = rule;
    g_.add_alt(rule, {Sym::ref(compile(*target, path.substr(1)))});
    return rule;
  }

  int32_t make_ws() {
    // ws_k ::= "" | [ \t\n\r] ws_{k-1}: at most max_whitespace bytes.
    int32_t prev = g_.add_rule("ws0");
    g_.add_alt(prev, {});
    for (int k = 1; k <= opt_.max_whitespace; ++k) {
      int32_t r = g_.add_rule(fmt::format("ws{}", k));
      g_.add_alt(r, {});
      g_.add_alt(r, {Sym::cls(byte_set(" \t\n\r")), Sym::ref(prev)});
      prev = r;
    }
    return prev;
  }

  Sym ws() const { return Sym::ref(ws_); }

  int32_t char_rule() {
    if (char_ >= 0) return char_;
    char_ = g_.add_rule("char");
    const ByteClass cont = byte_range(0x80, 0xbf);
    ByteClass plain = byte_range(0x20, 0x7f);
    plain.reset('"');
    plain.reset('\\');
    g_.add_alt(char_, {Sym::cls(plain)});
    g_.add_alt(char_, {Sym::cls(byte_range(0xc2, 0xdf)), Sym::cls(cont)});
    g_.add_alt(char_, {Sym::lit("\xe0"), Sym::cls(byte_range(0xa0, 0xbf)), Sym::cls(cont)});
    g_.add_alt(char_, {Sym::cls(byte_range(0xe1, 0xec)), Sym::cls(cont), Sym::cls(cont)});
    g_.add_alt(char_, {Sym::lit("\xed"), Sym::cls(byte_range(0x80, 0x9f)), Sym::cls(cont)});
    g_.add_alt(char_, {Sym::cls(byte_range(0xee, 0xef)), Sym::cls(cont), Sym::cls(cont)});
    g_.add_alt(char_, {Sym::lit("\xf0"), Sym::cls(byte_range(0x90, 0xbf)), Sym::cls(cont), Sym::cls(cont)});
    g_.add_alt(char_, {Sym::cls(byte_range(0xf1, 0xf3)), Sym::cls(cont), Sym::cls(cont), Sym::cls(cont)});
    g_.add_alt(char_, {Sym::lit("\xf4"), Sym::cls(byte_range(0x80, 0x8f)), Sym::cls(cont), Sym::cls(cont)});
    g_.add_alt(char_, {Sym::lit("\\"), Sym::cls(byte_set("\"\\/bfnrt"))});
    ByteClass hex = byte_range('0', '9') | byte_range('a', 'f') | byte_range('A', 'F');
    g_.add_alt(char_, {Sym::lit("\\u"), Sym::cls(hex), Sym::cls(hex), Sym::cls(hex), Sym::cls(hex)});
    return char_;
  }

  // body repeated min..max times (max < 0: unbounded), as a rule.
  int32_t repeat(const std::string& name, const std::vector<Sym>& body, int64_t min, int64_t max) {
    std::vector<Sym> syms;
    for (int64_t i = 0; i < min; ++i) syms.insert(syms.end(), body.begin(), body.end());
    int32_t r = g_.add_rule(name);
    if (max < 0) {
      int32_t star = g_.add_rule(name + "*");
      g_.add_alt(star, {});
      std::vector<Sym> again = body;
      again.push_back(Sym::ref(star));
      g_.add_alt(star, again);
      syms.push_back(Sym::ref(star));
    } else if (max > min) {
      int32_t opt = g_.add_rule(name + "?0");
      g_.add_alt(opt, {});
      for (int64_t k = 1; k <= max - min; ++k) {
        int32_t next = g_.add_rule(fmt::format("{}?{}", name, k));
        g_.add_alt(next, {});
        std::vector<Sym> more = body;
        more.push_back(Sym::ref(opt));
        g_.add_alt(next, more);
        opt = next;
      }
      syms.push_back(Sym::ref(opt));
    }
    g_.add_alt(r, syms);
    return r;
  }

  static int64_t bound(const json& s, const char* key, int64_t fallback, const std::string& where) {
    if (!s.contains(key)) return fallback;
    const json& v = s[key];
    if (!v.is_number_integer() || v.get<int64_t>() < 0) {
      fail(ErrorCode::kInvalidArgument, "json schema: at '{}/{}': must be a non-negative integer", where, key);
    }
    return v.get<int64_t>();
  }

  int32_t string_rule(const json& s, const std::string& where) {
    int64_t min = bound(s, "minLength", 0, where);
    int64_t max = bound(s, "maxLength", -1, where);
    if (max >= 0 && max < min) fail(ErrorCode::kInvalidArgument, "json schema: at '{}': maxLength < minLength", where);
    if (min > kMaxBoundedRepeat || max > kMaxBoundedRepeat) {
      notes_.push_back(fmt::format("at '{}': string lengths over {} are not enforced by the grammar", where, kMaxBoundedRepeat));
      min = 0;
      max = -1;
    }
    if (min == 0 && max < 0) {
      if (string_ >= 0) return string_;
      int32_t chars = repeat("chars", {Sym::ref(char_rule())}, 0, -1);
      string_ = g_.add_rule("string");
      g_.add_alt(string_, {Sym::lit("\""), Sym::ref(chars), Sym::lit("\"")});
      return string_;
    }
    int32_t chars = repeat(fmt::format("chars{{{},{}}}", min, max), {Sym::ref(char_rule())}, min, max);
    int32_t r = g_.add_rule("string");
    g_.add_alt(r, {Sym::lit("\""), Sym::ref(chars), Sym::lit("\"")});
    return r;
  }

  int32_t digits_rule() {
    if (digits_ >= 0) return digits_;
    digits_ = repeat("digits", {Sym::cls(byte_range('0', '9'))}, 0, -1);
    return digits_;
  }

  int32_t uint_rule() {
    if (uint_ >= 0) return uint_;
    uint_ = g_.add_rule("uint");
    g_.add_alt(uint_, {Sym::lit("0")});
    g_.add_alt(uint_, {Sym::cls(byte_range('1', '9')), Sym::ref(digits_rule())});
    return uint_;
  }

  int32_t int_rule() {
    if (int_ >= 0) return int_;
    int_ = g_.add_rule("integer");
    g_.add_alt(int_, {Sym::ref(uint_rule())});
    g_.add_alt(int_, {Sym::lit("-"), Sym::ref(uint_rule())});
    return int_;
  }

  int32_t number_rule() {
    if (number_ >= 0) return number_;
    const Sym digit = Sym::cls(byte_range('0', '9'));
    int32_t frac = g_.add_rule("frac");
    g_.add_alt(frac, {});
    g_.add_alt(frac, {Sym::lit("."), digit, Sym::ref(digits_rule())});
    int32_t exp = g_.add_rule("exp");
    g_.add_alt(exp, {});
    g_.add_alt(exp, {Sym::cls(byte_set("eE")), Sym::ref(digits_rule()), digit});
    g_.add_alt(exp, {Sym::cls(byte_set("eE")), Sym::cls(byte_set("+-")), Sym::ref(digits_rule()), digit});
    number_ = g_.add_rule("number");
    g_.add_alt(number_, {Sym::ref(int_rule()), Sym::ref(frac), Sym::ref(exp)});
    return number_;
  }

  int32_t any_value() {
    if (value_ >= 0) return value_;
    value_ = g_.add_rule("value");
    // object ::= "{" ws "}" | "{" ws member (ws "," ws member)* ws "}" ; member ::= string ws ":" ws value
    int32_t member = g_.add_rule("member");
    g_.add_alt(member, {Sym::ref(string_rule(json::object(), "")), ws(), Sym::lit(":"), ws(), Sym::ref(value_)});
    int32_t members = repeat("members", {ws(), Sym::lit(","), ws(), Sym::ref(member)}, 0, -1);
    int32_t obj = g_.add_rule("object");
    g_.add_alt(obj, {Sym::lit("{"), ws(), Sym::lit("}")});
    g_.add_alt(obj, {Sym::lit("{"), ws(), Sym::ref(member), Sym::ref(members), ws(), Sym::lit("}")});
    int32_t elems = repeat("elements", {ws(), Sym::lit(","), ws(), Sym::ref(value_)}, 0, -1);
    int32_t arr = g_.add_rule("array");
    g_.add_alt(arr, {Sym::lit("["), ws(), Sym::lit("]")});
    g_.add_alt(arr, {Sym::lit("["), ws(), Sym::ref(value_), Sym::ref(elems), ws(), Sym::lit("]")});
    g_.add_alt(value_, {Sym::ref(obj)});
    g_.add_alt(value_, {Sym::ref(arr)});
    g_.add_alt(value_, {Sym::ref(string_rule(json::object(), ""))});
    g_.add_alt(value_, {Sym::ref(number_rule())});
    g_.add_alt(value_, {Sym::lit("true")});
    g_.add_alt(value_, {Sym::lit("false")});
    g_.add_alt(value_, {Sym::lit("null")});
    return value_;
  }

  int32_t object(const json& s, const std::string& where) {
    std::vector<std::pair<std::string, const json*>> props;
    static const json kEmpty = json::object();
    if (s.contains("properties")) {
      const json& p = s["properties"];
      if (!p.is_object()) fail(ErrorCode::kInvalidArgument, "json schema: at '{}/properties': must be an object", where);
      // nlohmann::json keeps keys sorted, so the declared order is the key order of the parsed object.
      for (const auto& [k, v] : p.items()) props.emplace_back(k, &v);
    }
    std::set<std::string> required;
    if (s.contains("required")) {
      const json& r = s["required"];
      if (!r.is_array()) fail(ErrorCode::kInvalidArgument, "json schema: at '{}/required': must be an array", where);
      for (const json& name : r) {
        if (!name.is_string()) fail(ErrorCode::kInvalidArgument, "json schema: at '{}/required': names must be strings", where);
        required.insert(name.get<std::string>());
      }
    }
    for (const std::string& name : required) {
      bool found = false;
      for (const auto& p : props) found = found || p.first == name;
      if (!found) {
        // Required but undeclared: any value under that name, as a declared property.
        props.emplace_back(name, &kEmpty);
      }
    }
    int32_t extra = -1;  // kv rule for additional properties
    if (s.contains("additionalProperties")) {
      const json& a = s["additionalProperties"];
      if (!(a.is_boolean() && !a.get<bool>())) {
        int32_t value = a.is_boolean() ? any_value() : compile(a, where + "/additionalProperties");
        extra = g_.add_rule("extra-member");
        g_.add_alt(extra, {Sym::ref(string_rule(json::object(), "")), ws(), Sym::lit(":"), ws(), Sym::ref(value)});
      }
    }
    const size_t n = props.size();
    std::vector<int32_t> kv(n);
    std::vector<bool> optional(n);
    for (size_t i = 0; i < n; ++i) {
      const auto& [name, sub] = props[i];
      int32_t value = compile(*sub, where + "/properties/" + name);
      kv[i] = g_.add_rule("member " + name);
      g_.add_alt(kv[i], {Sym::lit(json(name).dump()), ws(), Sym::lit(":"), ws(), Sym::ref(value)});
      optional[i] = required.count(name) == 0;
    }
    // rest_i: the members after the first present one, from property i on; first_i: a non-empty member
    // list whose first member is property i or a later one.
    std::vector<int32_t> rest(n + 1), first(n + 1);
    rest[n] = g_.add_rule("rest-extra");
    g_.add_alt(rest[n], {});
    first[n] = g_.add_rule("first-extra");
    if (extra >= 0) {
      g_.add_alt(rest[n], {ws(), Sym::lit(","), ws(), Sym::ref(extra), Sym::ref(rest[n])});
      g_.add_alt(first[n], {Sym::ref(extra), Sym::ref(rest[n])});
    }
    for (size_t i = n; i-- > 0;) {
      rest[i] = g_.add_rule("rest " + props[i].first);
      g_.add_alt(rest[i], {ws(), Sym::lit(","), ws(), Sym::ref(kv[i]), Sym::ref(rest[i + 1])});
      if (optional[i]) g_.add_alt(rest[i], {Sym::ref(rest[i + 1])});
      first[i] = g_.add_rule("first " + props[i].first);
      g_.add_alt(first[i], {Sym::ref(kv[i]), Sym::ref(rest[i + 1])});
      if (optional[i]) g_.add_alt(first[i], {Sym::ref(first[i + 1])});
    }
    int32_t r = g_.add_rule("object");
    g_.add_alt(r, {Sym::lit("{"), ws(), Sym::ref(first[0]), ws(), Sym::lit("}")});
    if (required.empty()) g_.add_alt(r, {Sym::lit("{"), ws(), Sym::lit("}")});
    return r;
  }

  int32_t array(const json& s, const std::string& where) {
    int64_t min = bound(s, "minItems", 0, where);
    int64_t max = bound(s, "maxItems", -1, where);
    if (max >= 0 && max < min) fail(ErrorCode::kInvalidArgument, "json schema: at '{}': maxItems < minItems", where);
    if (min > kMaxBoundedRepeat || max > kMaxBoundedRepeat) {
      notes_.push_back(fmt::format("at '{}': item counts over {} are not enforced by the grammar", where, kMaxBoundedRepeat));
      min = 0;
      max = -1;
    }
    int32_t item = s.contains("items") ? compile(s["items"], where + "/items") : any_value();
    int32_t r = g_.add_rule("array");
    if (min == 0) g_.add_alt(r, {Sym::lit("["), ws(), Sym::lit("]")});
    if (max != 0) {
      int32_t more = repeat("items", {ws(), Sym::lit(","), ws(), Sym::ref(item)}, min > 0 ? min - 1 : 0,
                            max < 0 ? -1 : max - 1);
      g_.add_alt(r, {Sym::lit("["), ws(), Sym::ref(item), Sym::ref(more), ws(), Sym::lit("]")});
    }
    return r;
  }

  const json* root_;  // the document $refs resolve in
  SchemaOptions opt_;
  Grammar g_;
  std::vector<std::string> notes_;
  std::map<std::string, int32_t> refs_;
  int32_t ws_ = -1, char_ = -1, string_ = -1, digits_ = -1, uint_ = -1, int_ = -1, number_ = -1, value_ = -1;
};

// ---- validator ----

std::string type_of(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "number";
    case json::value_t::string: return "string";
    case json::value_t::array: return "array";
    case json::value_t::object: return "object";
    default: return "unknown";
  }
}

bool has_type(const json& v, const std::string& t) {
  if (t == "number") return v.is_number();
  if (t == "integer") {
    if (v.is_number_integer()) return true;
    if (v.is_number_float()) {
      const double d = v.get<double>();  // 1.0 and 1e30 are integers in JSON Schema
      return std::isfinite(d) && std::floor(d) == d;
    }
    return false;
  }
  if (t == "null" || t == "boolean" || t == "string" || t == "array" || t == "object") return type_of(v) == t;
  fail(ErrorCode::kInvalidArgument, "json schema: unknown type '{}'", t);
}

size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

class Validator {
 public:
  explicit Validator(const json& root) : root_(root) {}

  std::string check(const json& s, const json& v, const std::string& at, int depth) {
    if (depth > 256) return at + ": schema nesting too deep";
    if (s.is_boolean()) return s.get<bool>() ? "" : at + ": no value is allowed here";
    if (!s.is_object()) fail(ErrorCode::kInvalidArgument, "json schema: a schema must be an object or a bool");
    if (s.contains("$ref")) {
      const std::string path = s["$ref"].get<std::string>();
      if (path.empty() || path[0] != '#') fail(ErrorCode::kUnsupported, "json schema: $ref '{}' is not into this document", path);
      json::json_pointer ptr(path.substr(1));
      if (!root_.contains(ptr)) fail(ErrorCode::kInvalidArgument, "json schema: $ref '{}' does not resolve", path);
      std::string e = check(root_.at(ptr), v, at, depth + 1);
      if (!e.empty()) return e;
    }
    if (s.contains("type")) {
      const json& t = s["type"];
      bool ok = false;
      if (t.is_string()) {
        ok = has_type(v, t.get<std::string>());
      } else {
        for (const json& name : t) ok = ok || has_type(v, name.get<std::string>());
      }
      if (!ok) return fmt::format("{}: expected {}, got {}", at, t.is_string() ? t.get<std::string>() : t.dump(), type_of(v));
    }
    if (s.contains("const") && s["const"] != v) return fmt::format("{}: expected {}", at, s["const"].dump());
    if (s.contains("enum")) {
      bool ok = false;
      for (const json& e : s["enum"]) ok = ok || e == v;
      if (!ok) return fmt::format("{}: {} is not one of {}", at, v.dump(), s["enum"].dump());
    }
    for (const char* key : {"anyOf", "oneOf"}) {
      if (!s.contains(key)) continue;
      int matches = 0;
      std::string first_err;
      for (const json& sub : s[key]) {
        std::string e = check(sub, v, at, depth + 1);
        if (e.empty()) {
          ++matches;
        } else if (first_err.empty()) {
          first_err = e;
        }
      }
      if (matches == 0) return fmt::format("{}: matches none of {} ({})", at, key, first_err);
      if (std::string(key) == "oneOf" && matches > 1) return fmt::format("{}: matches {} schemas of oneOf", at, matches);
    }
    if (s.contains("allOf")) {
      for (const json& sub : s["allOf"]) {
        std::string e = check(sub, v, at, depth + 1);
        if (!e.empty()) return e;
      }
    }
    if (v.is_number()) {
      const double d = v.get<double>();
      if (s.contains("minimum") && d < s["minimum"].get<double>()) return fmt::format("{}: below minimum {}", at, s["minimum"].dump());
      if (s.contains("maximum") && d > s["maximum"].get<double>()) return fmt::format("{}: above maximum {}", at, s["maximum"].dump());
      if (s.contains("exclusiveMinimum") && s["exclusiveMinimum"].is_number() && d <= s["exclusiveMinimum"].get<double>()) {
        return fmt::format("{}: not above {}", at, s["exclusiveMinimum"].dump());
      }
      if (s.contains("exclusiveMaximum") && s["exclusiveMaximum"].is_number() && d >= s["exclusiveMaximum"].get<double>()) {
        return fmt::format("{}: not below {}", at, s["exclusiveMaximum"].dump());
      }
    }
    if (v.is_string()) {
      const size_t n = utf8_length(v.get<std::string>());
      if (s.contains("minLength") && n < s["minLength"].get<size_t>()) return fmt::format("{}: shorter than {}", at, s["minLength"].dump());
      if (s.contains("maxLength") && n > s["maxLength"].get<size_t>()) return fmt::format("{}: longer than {}", at, s["maxLength"].dump());
    }
    if (v.is_array()) {
      if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>()) return fmt::format("{}: fewer than {} items", at, s["minItems"].dump());
      if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>()) return fmt::format("{}: more than {} items", at, s["maxItems"].dump());
      if (s.contains("items")) {
        for (size_t i = 0; i < v.size(); ++i) {
          std::string e = check(s["items"], v[i], fmt::format("{}[{}]", at, i), depth + 1);
          if (!e.empty()) return e;
        }
      }
    }
    if (v.is_object()) {
      if (s.contains("required")) {
        for (const json& name : s["required"]) {
          if (!v.contains(name.get<std::string>())) return fmt::format("{}: missing required property '{}'", at, name.get<std::string>());
        }
      }
      const json props = s.value("properties", json::object());
      for (const auto& [k, val] : v.items()) {
        if (props.contains(k)) {
          std::string e = check(props[k], val, at + "." + k, depth + 1);
          if (!e.empty()) return e;
        } else if (s.contains("additionalProperties")) {
          std::string e = check(s["additionalProperties"], val, at + "." + k, depth + 1);
          if (!e.empty()) return s["additionalProperties"] == json(false) ? fmt::format("{}: unexpected property '{}'", at, k) : e;
        }
      }
    }
    return "";
  }

 private:
  const json& root_;
};

}  // namespace

CompiledSchema compile_json_schema(const nlohmann::json& schema, const SchemaOptions& options) {
  if (options.max_whitespace < 0 || options.max_whitespace > 64) {
    fail(ErrorCode::kInvalidArgument, "json schema: max_whitespace {} is outside [0, 64]", options.max_whitespace);
  }
  Compiler c(schema, options);
  // Blank space may lead (SentencePiece pieces often start with one) but not trail: once the value is
  // complete the document is finished and generation stops.
  return c.finish(c.compile(schema, ""));
}

CompiledSchema compile_wrapped_json(const std::vector<WrappedSchema>& choices, const SchemaOptions& options) {
  if (choices.empty()) fail(ErrorCode::kInvalidArgument, "json schema: compile_wrapped_json needs at least one choice");
  if (options.max_whitespace < 0 || options.max_whitespace > 64) {
    fail(ErrorCode::kInvalidArgument, "json schema: max_whitespace {} is outside [0, 64]", options.max_whitespace);
  }
  Compiler c(choices.front().schema, options);
  return c.finish_wrapped(choices);
}

CompiledSchema any_json_grammar(const SchemaOptions& options) {
  return compile_json_schema(json::object(), options);
}

std::string validate_json(const nlohmann::json& schema, const nlohmann::json& doc) {
  Validator v(schema);
  return v.check(schema, doc, "$", 0);
}

}  // namespace muse::tools
