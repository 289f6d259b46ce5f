// The Jinja interpreter: renders a parsed Program with jinja2's runtime semantics (scoping of set
// inside loops, macros closing over their defining scope, loop objects, the immutable sandbox's
// attribute rules, default Undefined).
//
// One Interpreter renders one Program once; it borrows the Program (which must outlive it) and owns
// all values created during the render. It is not thread-safe; render the same Program from many
// threads with one Interpreter each. Every failure is a jinja::Failure carrying the position of the
// innermost template node that raised it. Safety limits (output size, step budget, recursion
// depth) turn hostile templates into a kLimit failure instead of a hang, an OOM or a stack overflow.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "text/jinja_ast.h"
#include "text/jinja_value.h"

namespace muse::text::jinja {

struct InterpreterOptions {
  // The local wall-clock time strftime_now() formats. Empty = the real local time.
  std::function<std::tm()> clock;
  // Largest rendered output, and largest single string or list built on the way (bytes/items).
  size_t max_output_bytes = 16u << 20;
  // Evaluation steps (nodes evaluated, loop iterations, bytes/64 built): bounds the run time of a
  // hostile template (1e7 steps ~ a second or two); real chat templates use a few thousand.
  uint64_t max_steps = 10'000'000;
  // Nested macro / caller / recursive-loop calls (jinja2 itself stops near Python's limit of 1000
  // frames, which is fewer macro levels than that).
  int max_call_depth = 100;
};

// A variable scope. Loops get a fresh scope per iteration, macros one per call; reads fall through
// to the parent, writes stay local (jinja2's scoping rules).
class Scope {
 public:
  explicit Scope(std::shared_ptr<Scope> parent) : parent_(std::move(parent)) {}
  const Value* find_local(std::string_view name) const;
  const Value* find(std::string_view name) const;  // this scope, then its parents
  void set(std::string_view name, Value value);
  void clear() { vars_.clear(); }
  const std::shared_ptr<Scope>& parent() const { return parent_; }

 private:
  std::shared_ptr<Scope> parent_;
  std::vector<std::pair<std::string, Value>> vars_;
};

class Interpreter {
 public:
  Interpreter(const Program& program, InterpreterOptions options);
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  // Renders with `variables` (a dict: name -> value) as the template's globals.
  std::string render(const Value& variables);

  // ---- services for filters, tests, methods and builtins ----
  const InterpreterOptions& options() const { return options_; }
  // Charges `units` steps to the budget; throws kLimit when it runs out.
  void charge(uint64_t units);
  // Throws kLimit when a string/list about to be built would exceed max_output_bytes.
  void check_size(size_t bytes) const;
  // Throws kLimit when a list about to be built would have more than kMaxItems items.
  void check_items(size_t items) const;
  Value call(const Value& callee, CallArgs& args);
  Value get_attr(const Value& obj, std::string_view name);  // the sandbox's getattr
  Value get_item(const Value& obj, const Value& key);       // the sandbox's getitem
  // Runs a test / filter by name (select, map, selectattr...); throws if jinja2 has no such name.
  bool run_test(std::string_view name, const Value& subject, CallArgs& args);
  Value run_filter(std::string_view name, const Value& subject, CallArgs& args);
  // Namespaces are the only objects a template mutates, so they are where reference cycles can
  // form; the interpreter clears them all after the render to free such cycles.
  Value make_namespace(Dict attrs);
  // Renders a macro or caller body with the given arguments.
  Value invoke_macro(const MacroDef& def, const std::shared_ptr<Scope>& closure, CallArgs& args);
  // Runs a loop body again over `iterable` (a recursive loop's loop(...) call).
  Value run_recursive_loop(const Stmt& loop, const std::shared_ptr<Scope>& scope, const Value& iterable, int depth);

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  Flow exec_body(const Body& body);
  Flow exec(const Stmt& s);
  Flow exec_inner(const Stmt& s);
  Flow exec_for(const Stmt& s, const Value& iterable, int depth);
  void assign(const Target& target, const Value& value);
  std::string capture(const Body& body, const std::shared_ptr<Scope>& scope);
  void emit(std::string_view text);

  Value eval(const Expr& e);
  Value eval_inner(const Expr& e);
  Value eval_name(const Expr& e);
  Value eval_filter(const Expr& e);
  void eval_args(const Expr& e, size_t first, CallArgs& out);
  Value eval_slice(const Value& obj, const Expr& slice);
  bool eval_compare(const Expr& e);

  void register_scope(const std::shared_ptr<Scope>& scope);

  const Program& program_;
  InterpreterOptions options_;
  std::string* out_ = nullptr;
  std::shared_ptr<Scope> root_;
  std::shared_ptr<Scope> scope_;
  uint64_t steps_ = 0;
  int eval_depth_ = 0;
  int call_depth_ = 0;
  const Value* block_subject_ = nullptr;  // the rendered body a {% filter %} / {% set x | f %} filters
  std::vector<std::shared_ptr<Scope>> captured_scopes_;
  std::vector<std::shared_ptr<Namespace>> namespaces_;
};

// Built-in global functions (range, dict, namespace, raise_exception, strftime_now, joiner,
// cycler). Returns an undefined Value when `name` is not a builtin.
Value lookup_builtin(std::string_view name);

// Python methods of str, list, tuple and dict reached through attribute access: `s.strip`.
// Returns undefined when the type has no such attribute, an unsafe undefined for methods the
// immutable sandbox forbids (list.append, dict.update...).
Value lookup_method(const Value& self, std::string_view name);

// A builtin function object.
class Function : public Object {
 public:
  using Fn = std::function<Value(Interpreter&, CallArgs&)>;
  Function(std::string name, Fn fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  std::string_view type_name() const override { return "builtin_function_or_method"; }
  bool is_callable() const override { return true; }
  Value call(Interpreter& interp, CallArgs& args) override { return fn_(interp, args); }
  void repr(std::string& out) const override;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  Fn fn_;
};

}  // namespace muse::text::jinja
