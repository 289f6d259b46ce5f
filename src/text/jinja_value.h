// Values of the Jinja interpreter, with Python semantics (chat templates are written against
// Python's jinja2, so `str()`, `==`, truthiness and the container types must behave as in Python).
//
// A Value is a small handle: scalars inline, strings and containers behind shared pointers. Lists and
// dicts are immutable once built (the reference uses jinja2's ImmutableSandboxedEnvironment), so
// sharing them is safe; the only mutable objects are namespaces and per-render helper objects.
// Values belong to one render and are not thread-safe (shared_ptr counts are, the objects are not).
// Errors: operations that Python would reject throw jinja::Failure (see jinja_failure.h); the
// interpreter adds the template position and turns it into a muse::text::TemplateError.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace muse::text::jinja {

class Interpreter;
class Value;

enum class Kind : uint8_t {
  kUndefined,  // jinja2's default Undefined: falsy, empty, iterates as nothing, fails on arithmetic
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,
  kList,       // list, tuple or one-shot iterator (see ListFlavor)
  kDict,
  kNamespace,  // jinja2 namespace(): the one object templates may mutate
  kObject,     // functions, macros, the loop object, bound methods
};

enum class ListFlavor : uint8_t {
  kList,
  kTuple,
  // A Python generator/iterator (what map/select/items... return): always truthy, has no len(),
  // cannot be indexed, and is used up by the first iteration.
  kIterator,
};

// Base of everything a Value points to.
class Heap {
 public:
  virtual ~Heap() = default;
};

class List;
class Dict;
class Namespace;
class Object;
struct CallArgs;

class Value {
 public:
  Value() = default;  // undefined, no hint
  static Value undefined(std::string hint);
  // An attribute the sandbox refuses (list.append, x.__class__): an Undefined whose use raises a
  // SecurityError instead of an UndefinedError.
  static Value unsafe(std::string hint);
  static Value none();
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value real(double f);
  static Value string(std::string s, bool markup = false);
  static Value list(std::vector<Value> items, ListFlavor flavor = ListFlavor::kList);
  static Value dict(std::shared_ptr<Dict> d);
  static Value ns(std::shared_ptr<Namespace> n);
  static Value object(std::shared_ptr<Object> o);
  // Converts JSON (objects keep their key order). Throws Failure past kMaxNesting levels.
  static Value from_json(const nlohmann::ordered_json& j, int depth = 0);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_integral() const { return kind_ == Kind::kInt || kind_ == Kind::kBool; }  // Python int
  bool is_number() const { return is_integral() || kind_ == Kind::kFloat; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_namespace() const { return kind_ == Kind::kNamespace; }
  bool is_object() const { return kind_ == Kind::kObject; }
  bool is_markup() const { return kind_ == Kind::kString && flag_; }
  bool is_unsafe() const { return kind_ == Kind::kUndefined && flag_; }
  bool is_iterator() const;
  bool is_tuple() const;

  bool b() const { return b_; }
  int64_t i() const { return kind_ == Kind::kBool ? (b_ ? 1 : 0) : i_; }  // REQUIRES is_integral()
  double f() const { return f_; }
  double as_double() const { return kind_ == Kind::kFloat ? f_ : static_cast<double>(i()); }
  const std::string& s() const { return *s_; }  // REQUIRES is_string()
  const std::string& undefined_hint() const;     // REQUIRES is_undefined()
  List& list_ref() const;                     // REQUIRES is_list()
  const std::vector<Value>& items() const;    // REQUIRES is_list()
  Dict& dict_ref() const;                     // REQUIRES is_dict()
  Namespace& ns_ref() const;                  // REQUIRES is_namespace()
  Object& obj() const;                        // REQUIRES is_object()
  const std::shared_ptr<Heap>& heap() const { return o_; }
  const std::shared_ptr<const std::string>& string_ptr() const { return s_; }

 private:
  Kind kind_ = Kind::kUndefined;
  bool flag_ = false;  // string: Markup (already escaped); undefined: sandbox refusal
  union {
    bool b_;
    int64_t i_ = 0;
    double f_;
  };

  std::shared_ptr<const std::string> s_;  // string text, or undefined hint
  std::shared_ptr<Heap> o_;
};

class List : public Heap {
 public:
  List(std::vector<Value> items, ListFlavor flavor) : items(std::move(items)), flavor(flavor) {}
  std::vector<Value> items;
  ListFlavor flavor;
  size_t consumed = 0;  // kIterator: items before this index were already taken
};

// An insertion-ordered dict (Python 3.7+ order, which is also the JSON input order).
class Dict : public Heap {
 public:
  const std::vector<std::pair<Value, Value>>& items() const { return items_; }
  size_t size() const { return items_.size(); }
  const Value* find(std::string_view key) const;
  const Value* find(const Value& key) const;  // Python key equality (1 == 1.0 == True)
  // Inserts, or replaces the value in place (keeping the key's position) when the key exists.
  void set(Value key, Value value);

 private:
  std::vector<std::pair<Value, Value>> items_;
  std::unordered_map<std::string, size_t> index_;  // string keys -> position, once the dict is large
};

class Namespace : public Heap {
 public:
  Dict attrs;
};

struct CallArgs {
  std::vector<Value> args;
  std::vector<std::pair<std::string, Value>> kwargs;
};

// Host objects: builtins, bound methods, macros, the loop object.
class Object : public Heap {
 public:
  virtual std::string_view type_name() const = 0;  // Python's type(x).__name__, for messages
  virtual Value get_attr(std::string_view name);   // default: undefined attribute
  virtual bool is_callable() const { return false; }
  virtual Value call(Interpreter& interp, CallArgs& args);  // default: "not callable" TypeError
  virtual void repr(std::string& out) const;                 // default: <type object>
};

inline List& Value::list_ref() const { return static_cast<List&>(*o_); }
inline const std::vector<Value>& Value::items() const { return list_ref().items; }
inline Dict& Value::dict_ref() const { return static_cast<Dict&>(*o_); }
inline Namespace& Value::ns_ref() const { return static_cast<Namespace&>(*o_); }
inline Object& Value::obj() const { return static_cast<Object&>(*o_); }
inline bool Value::is_iterator() const { return is_list() && list_ref().flavor == ListFlavor::kIterator; }
inline bool Value::is_tuple() const { return is_list() && list_ref().flavor == ListFlavor::kTuple; }

// Deepest nesting of containers the interpreter converts, prints, compares or serialises; deeper
// structures fail cleanly instead of exhausting the stack.
inline constexpr int kMaxNesting = 256;
// Largest list (or string iteration, or split) a render may build: at ~50 bytes per Value this keeps
// one list near 50 MB. Chat templates handle a few hundred items.
inline constexpr size_t kMaxItems = size_t{1} << 20;
// repr()/str() of a container stops with kLimit past this many bytes, before the caller's own
// (smaller) output limit applies, so that printing [s] * 1000000 cannot exhaust memory.
inline constexpr size_t kMaxReprBytes = size_t{64} << 20;

// Python semantics.
bool truthy(const Value& v);
bool py_equal(const Value& a, const Value& b, int depth = 0);
// a < b as Python does it; throws TypeError ("'<' not supported between ...") for unorderable
// types. `op` is the operator spelled in messages.
bool py_less(const Value& a, const Value& b, std::string_view op = "<", int depth = 0);
std::string_view type_name(const Value& v);  // "str", "int", "NoneType", "dict", ...
// jinja2's object_type_repr: "dict object", "None", for "'x' has no attribute" messages.
std::string object_type_repr(const Value& v);
void py_str(const Value& v, std::string& out);  // str(v)
std::string py_str(const Value& v);
void py_repr(const Value& v, std::string& out, int depth = 0);  // repr(v)
void py_repr_string(std::string_view s, std::string& out);
std::string py_float_repr(double f);
// len(v), or throws TypeError ("object of type 'int' has no len()").
size_t py_len(const Value& v);
// iter(v) as a list of items: str -> characters, dict -> keys, undefined -> nothing. Consumes
// iterators. Throws TypeError ("'int' object is not iterable").
std::vector<Value> py_iterate(const Value& v);
bool py_iterable(const Value& v);

}  // namespace muse::text::jinja
