#include "text/jinja_interpreter.h"

#include <algorithm>

#include "text/jinja_ops.h"
#include "text/jinja_parser.h"
#include "text/jinja_unicode.h"

namespace muse::text::jinja {

// Nesting of eval()/exec() frames: bounds the C++ stack (each level is a few hundred bytes, more
// under sanitizers) whatever mix of deep expressions, blocks and macro calls a template uses.
constexpr int kMaxEvalDepth = 1000;

// ---------------------------------------------------------------------------------------------
// Scope
// ---------------------------------------------------------------------------------------------

const Value* Scope::find_local(std::string_view name) const {
  for (const auto& [k, v] : vars_) {
    if (k == name) return &v;
  }
  return nullptr;
}

const Value* Scope::find(std::string_view name) const {
  for (const Scope* s = this; s; s = s->parent_.get()) {
    if (const Value* v = s->find_local(name)) return v;
  }
  return nullptr;
}

void Scope::set(std::string_view name, Value value) {
  for (auto& [k, v] : vars_) {
    if (k == name) {
      v = std::move(value);
      return;
    }
  }
  vars_.emplace_back(std::string(name), std::move(value));
}

void Function::repr(std::string& out) const { out += fmt::format("<built-in function {}>", name_); }

namespace {

// ---------------------------------------------------------------------------------------------
// Runtime objects: macros and the loop object
// ---------------------------------------------------------------------------------------------

class MacroObject : public Object {
 public:
  MacroObject(const MacroDef& def, std::shared_ptr<Scope> closure) : def_(def), closure_(std::move(closure)) {}
  std::string_view type_name() const override { return "Macro"; }
  bool is_callable() const override { return true; }
  Value call(Interpreter& interp, CallArgs& args) override { return interp.invoke_macro(def_, closure_, args); }
  void repr(std::string& out) const override { out += fmt::format("<Macro '{}'>", def_.name); }
  Value get_attr(std::string_view name) override {
    if (name == "name") return Value::string(def_.name);
    if (name == "arguments") {
      std::vector<Value> names;
      for (const auto& p : def_.params) names.push_back(Value::string(p));
      return Value::list(std::move(names), ListFlavor::kTuple);
    }
    if (name == "catch_kwargs") return Value::boolean(def_.uses_kwargs);
    if (name == "catch_varargs") return Value::boolean(def_.uses_varargs);
    if (name == "caller") return Value::boolean(def_.uses_caller);
    return Object::get_attr(name);
  }

 private:
  const MacroDef& def_;
  std::shared_ptr<Scope> closure_;
};

struct LoopState {
  std::vector<Value> items;
  int depth = 1;
  const Stmt* stmt = nullptr;
  std::shared_ptr<Scope> scope;  // where the loop runs, for loop(...) recursion
  bool has_changed = false;
  Value last_changed;
};

class LoopObject : public Object {
 public:
  LoopObject(std::shared_ptr<LoopState> state, size_t index0) : st_(std::move(state)), i_(index0) {}
  std::string_view type_name() const override { return "LoopContext"; }
  bool is_callable() const override { return true; }
  void repr(std::string& out) const override { out += fmt::format("<LoopContext {}/{}>", i_ + 1, st_->items.size()); }

  Value call(Interpreter& interp, CallArgs& args) override {
    if (!st_->stmt->recursive) fail(FailKind::kType, "The loop must be marked as 'recursive' to call it.");
    if (args.args.size() != 1 || !args.kwargs.empty()) fail(FailKind::kType, "loop() takes exactly one argument");
    return interp.run_recursive_loop(*st_->stmt, st_->scope, args.args[0], st_->depth + 1);
  }

  Value get_attr(std::string_view name) override {
    const auto n = static_cast<int64_t>(st_->items.size());
    const auto i = static_cast<int64_t>(i_);
    if (name == "index") return Value::integer(i + 1);
    if (name == "index0") return Value::integer(i);
    if (name == "revindex") return Value::integer(n - i);
    if (name == "revindex0") return Value::integer(n - i - 1);
    if (name == "first") return Value::boolean(i == 0);
    if (name == "last") return Value::boolean(i == n - 1);
    if (name == "length") return Value::integer(n);
    if (name == "depth") return Value::integer(st_->depth);
    if (name == "depth0") return Value::integer(st_->depth - 1);
    if (name == "previtem") {
      return i > 0 ? st_->items[i_ - 1] : Value::undefined("there is no previous item");
    }
    if (name == "nextitem") {
      return i + 1 < n ? st_->items[i_ + 1] : Value::undefined("there is no next item");
    }
    if (name == "cycle") {
      const size_t index = i_;
      return Value::object(std::make_shared<Function>("cycle", [index](Interpreter&, CallArgs& a) {
        if (a.args.empty()) fail(FailKind::kType, "no items for cycling given");
        return a.args[index % a.args.size()];
      }));
    }
    if (name == "changed") {
      auto st = st_;
      return Value::object(std::make_shared<Function>("changed", [st](Interpreter&, CallArgs& a) {
        Value now = Value::list(a.args, ListFlavor::kTuple);
        if (st->has_changed && py_equal(now, st->last_changed)) return Value::boolean(false);
        st->has_changed = true;
        st->last_changed = std::move(now);
        return Value::boolean(true);
      }));
    }
    return Object::get_attr(name);
  }

 private:
  std::shared_ptr<LoopState> st_;
  size_t i_;
};

struct DepthGuard {
  explicit DepthGuard(int& depth) : d(depth) {
    if (++d > kMaxEvalDepth) fail(FailKind::kLimit, "template evaluation nested deeper than {} levels", kMaxEvalDepth);
  }
  ~DepthGuard() { --d; }
  int& d;
};

// Restores the output buffer and scope on every exit path.
struct FrameSwap {
  FrameSwap(std::string*& out, std::string* new_out, std::shared_ptr<Scope>& scope, std::shared_ptr<Scope> new_scope)
      : out_ref(out), saved_out(out), scope_ref(scope), saved_scope(scope) {
    if (new_out) out = new_out;
    scope = std::move(new_scope);
  }
  ~FrameSwap() {
    out_ref = saved_out;
    scope_ref = std::move(saved_scope);
  }
  std::string*& out_ref;
  std::string* saved_out;
  std::shared_ptr<Scope>& scope_ref;
  std::shared_ptr<Scope> saved_scope;
};

void locate(Failure& f, SourcePos pos) {
  if (!f.located) {
    f.pos = pos;
    f.located = true;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Interpreter: setup and services
// ---------------------------------------------------------------------------------------------

Interpreter::Interpreter(const Program& program, InterpreterOptions options)
    : program_(program), options_(std::move(options)) {}

Interpreter::~Interpreter() {
  // Break reference cycles (a macro stored in the scope it closes over, a namespace holding itself).
  for (auto& s : captured_scopes_) s->clear();
  for (auto& n : namespaces_) n->attrs = Dict();
}

std::string Interpreter::render(const Value& variables) {
  root_ = std::make_shared<Scope>(nullptr);
  if (variables.is_dict()) {
    for (const auto& [k, v] : variables.dict_ref().items()) {
      if (k.is_string()) root_->set(k.s(), v);
    }
  }
  std::string out;
  FrameSwap frame(out_, &out, scope_, root_);
  exec_body(program_.body);
  return out;
}

void Interpreter::charge(uint64_t units) {
  steps_ += units;
  if (steps_ > options_.max_steps) {
    fail(FailKind::kLimit, "template exceeded its budget of {} evaluation steps", options_.max_steps);
  }
}

void Interpreter::check_size(size_t bytes) const {
  if (bytes > options_.max_output_bytes) {
    fail(FailKind::kLimit, "a value of more than {} bytes (or items) would be built", options_.max_output_bytes);
  }
}

void Interpreter::check_items(size_t items) const {
  if (items > kMaxItems) fail(FailKind::kLimit, "a list of more than {} items would be built", kMaxItems);
}

void Interpreter::emit(std::string_view text) {
  out_->append(text);
  if (out_->size() > options_.max_output_bytes) {
    fail(FailKind::kLimit, "rendered output exceeds {} bytes", options_.max_output_bytes);
  }
  charge(text.size() / 64);
}

void Interpreter::register_scope(const std::shared_ptr<Scope>& scope) {
  if (captured_scopes_.empty() || captured_scopes_.back() != scope) captured_scopes_.push_back(scope);
}

Value Interpreter::make_namespace(Dict attrs) {
  auto ns = std::make_shared<Namespace>();
  ns->attrs = std::move(attrs);
  namespaces_.push_back(ns);
  return Value::ns(std::move(ns));
}

Value Interpreter::call(const Value& callee, CallArgs& args) {
  if (callee.is_undefined()) fail_undefined(callee);
  if (callee.is_object() && callee.obj().is_callable()) return callee.obj().call(*this, args);
  fail(FailKind::kType, "'{}' object is not callable", type_name(callee));
}

bool Interpreter::run_test(std::string_view name, const Value& subject, CallArgs& args) {
  bool known = false;
  TestFn fn = find_test(name, known);
  if (!known) fail(FailKind::kUnsupported, "No test named '{}'.", name);
  if (!fn) fail(FailKind::kUnsupported, "the jinja2 test '{}' is not supported by OpenMuse", name);
  return fn(*this, subject, args);
}

Value Interpreter::run_filter(std::string_view name, const Value& subject, CallArgs& args) {
  bool known = false;
  FilterFn fn = find_filter(name, known);
  if (!known) fail(FailKind::kUnsupported, "No filter named '{}'.", name);
  if (!fn) fail(FailKind::kUnsupported, "the jinja2 filter '{}' is not supported by OpenMuse", name);
  return fn(*this, subject, args);
}

// ---------------------------------------------------------------------------------------------
// Attribute and item access (jinja2.sandbox semantics)
// ---------------------------------------------------------------------------------------------

namespace {

bool is_dunder(std::string_view name) { return name.size() > 4 && name.substr(0, 2) == "__" && name.substr(name.size() - 2) == "__"; }

Value unsafe_attr(const Value& obj, std::string_view name) {
  return Value::unsafe(fmt::format("access to attribute '{}' of '{}' object is unsafe.", name, type_name(obj)));
}

Value no_attr(const Value& obj, std::string_view name) {
  return Value::undefined(fmt::format("'{}' has no attribute '{}'", object_type_repr(obj), name));
}

}  // namespace

Value Interpreter::get_attr(const Value& obj, std::string_view name) {
  if (obj.is_undefined()) fail_undefined(obj);
  if (is_dunder(name)) return unsafe_attr(obj, name);
  switch (obj.kind()) {
    case Kind::kDict: {
      // Python looks up attributes before keys: d.items is the method even if "items" is a key.
      Value m = lookup_method(obj, name);
      if (!m.is_undefined() || m.is_unsafe()) return m;
      if (const Value* v = obj.dict_ref().find(name)) return *v;
      return no_attr(obj, name);
    }
    case Kind::kNamespace:
      if (const Value* v = obj.ns_ref().attrs.find(name)) return *v;
      return no_attr(obj, name);
    case Kind::kObject:
      return obj.obj().get_attr(name);
    case Kind::kString:
    case Kind::kList: {
      Value m = lookup_method(obj, name);
      if (!m.is_undefined() || m.is_unsafe()) return m;
      return no_attr(obj, name);
    }
    default:
      return no_attr(obj, name);
  }
}

Value Interpreter::get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) fail_undefined(obj);
  auto missing = [&]() {
    if (key.is_string()) return no_attr(obj, key.s());
    std::string k;
    py_repr(key, k);
    return Value::undefined(fmt::format("'{}' has no element {}", object_type_repr(obj), k));
  };
  switch (obj.kind()) {
    case Kind::kDict:
      if (const Value* v = obj.dict_ref().find(key)) return *v;
      break;
    case Kind::kList:
      if (key.is_integral() && !obj.is_iterator()) {
        const auto& items = obj.items();
        int64_t i = key.i();
        if (i < 0) i += static_cast<int64_t>(items.size());
        if (i >= 0 && i < static_cast<int64_t>(items.size())) return items[static_cast<size_t>(i)];
        return missing();
      }
      break;
    case Kind::kString:
      if (key.is_integral()) {
        const auto len = static_cast<int64_t>(utf8_length(obj.s()));
        int64_t i = key.i();
        if (i < 0) i += len;
        if (i >= 0 && i < len) return Value::string(str_char_at(obj.s(), i));
        return missing();
      }
      break;
    default:
      break;
  }
  // obj[key] failed; a string key falls back to the attribute of that name.
  if (key.is_string()) {
    if (obj.is_namespace() || obj.is_object() || obj.is_dict() || obj.is_string() || obj.is_list()) {
      return get_attr(obj, key.s());
    }
  }
  return missing();
}

// ---------------------------------------------------------------------------------------------
// Statements
// ---------------------------------------------------------------------------------------------

Interpreter::Flow Interpreter::exec_body(const Body& body) {
  for (const auto& s : body) {
    const Flow f = exec(*s);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::exec(const Stmt& s) {
  DepthGuard guard(eval_depth_);
  charge(1);
  try {
    return exec_inner(s);
  } catch (Failure& f) {
    locate(f, s.pos);
    throw;
  }
}

std::string Interpreter::capture(const Body& body, const std::shared_ptr<Scope>& scope) {
  std::string buf;
  FrameSwap frame(out_, &buf, scope_, scope);
  exec_body(body);
  return buf;
}

Interpreter::Flow Interpreter::exec_inner(const Stmt& s) {
  switch (s.kind) {
    case StmtKind::kText:
      emit(s.text);
      return Flow::kNormal;
    case StmtKind::kOutput:
      for (const auto& e : s.exprs) {
        const Value v = eval(*e);
        if (v.is_string()) {
          emit(v.s());
        } else {
          emit(py_str(v));
        }
      }
      return Flow::kNormal;
    case StmtKind::kIf:
      return exec_body(truthy(eval(*s.exprs[0])) ? s.body : s.else_body);
    case StmtKind::kFor:
      return exec_for(s, eval(*s.exprs[0]), 1);
    case StmtKind::kSet:
      assign(s.targets[0], eval(*s.exprs[0]));
      return Flow::kNormal;
    case StmtKind::kSetBlock: {
      Value v = Value::string(capture(s.body, std::make_shared<Scope>(scope_)));
      if (s.filter) {
        const Value* saved = block_subject_;
        block_subject_ = &v;
        Value filtered = eval(*s.filter);
        block_subject_ = saved;
        v = std::move(filtered);
      }
      assign(s.targets[0], v);
      return Flow::kNormal;
    }
    case StmtKind::kMacro:
      register_scope(scope_);
      scope_->set(s.macro->name, Value::object(std::make_shared<MacroObject>(*s.macro, scope_)));
      return Flow::kNormal;
    case StmtKind::kCallBlock: {
      register_scope(scope_);
      const Expr& call_expr = *s.exprs[0];
      const Value callee = eval(*call_expr.operands[0]);
      CallArgs args;
      eval_args(call_expr, 1, args);
      args.kwargs.emplace_back("caller", Value::object(std::make_shared<MacroObject>(*s.macro, scope_)));
      const Value v = call(callee, args);
      emit(py_str(v));
      return Flow::kNormal;
    }
    case StmtKind::kFilterBlock: {
      const Value body = Value::string(capture(s.body, std::make_shared<Scope>(scope_)));
      const Value* saved = block_subject_;
      block_subject_ = &body;
      const Value v = eval(*s.filter);
      block_subject_ = saved;
      emit(py_str(v));
      return Flow::kNormal;
    }
    case StmtKind::kWith: {
      auto inner = std::make_shared<Scope>(scope_);
      std::vector<Value> values;
      for (const auto& e : s.exprs) values.push_back(eval(*e));  // evaluated in the outer scope
      FrameSwap frame(out_, nullptr, scope_, inner);
      for (size_t i = 0; i < values.size(); ++i) assign(s.targets[i], values[i]);
      return exec_body(s.body);
    }
    case StmtKind::kScope: {
      FrameSwap frame(out_, nullptr, scope_, std::make_shared<Scope>(scope_));
      return exec_body(s.body);
    }
    case StmtKind::kBreak:
      return Flow::kBreak;
    case StmtKind::kContinue:
      return Flow::kContinue;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::exec_for(const Stmt& s, const Value& iterable, int depth) {
  const Target& target = s.targets[0];
  std::vector<Value> items = py_iterate(iterable);
  const std::shared_ptr<Scope> parent = scope_;
  if (const Expr* filter = s.exprs[1].get()) {
    std::vector<Value> kept;
    auto probe = std::make_shared<Scope>(parent);
    FrameSwap frame(out_, nullptr, scope_, probe);
    for (auto& v : items) {
      charge(1);
      probe->clear();
      assign(target, v);
      if (truthy(eval(*filter))) kept.push_back(std::move(v));
    }
    items = std::move(kept);
  }
  auto state = std::make_shared<LoopState>();
  state->items = std::move(items);
  state->depth = depth;
  state->stmt = &s;
  state->scope = parent;
  bool completed_one = false;  // jinja2 runs `else` unless some iteration reached the end of the body
  for (size_t i = 0; i < state->items.size(); ++i) {
    charge(1);
    FrameSwap frame(out_, nullptr, scope_, std::make_shared<Scope>(parent));
    assign(target, state->items[i]);
    scope_->set("loop", Value::object(std::make_shared<LoopObject>(state, i)));
    const Flow f = exec_body(s.body);
    if (f == Flow::kBreak) break;
    if (f == Flow::kNormal) completed_one = true;
  }
  if (!completed_one && !s.else_body.empty()) return exec_body(s.else_body);
  return Flow::kNormal;
}

Value Interpreter::run_recursive_loop(const Stmt& loop, const std::shared_ptr<Scope>& scope, const Value& iterable,
                                      int depth) {
  if (++call_depth_ > options_.max_call_depth) {
    --call_depth_;
    fail(FailKind::kLimit, "recursive loop deeper than {} levels", options_.max_call_depth);
  }
  std::string buf;
  try {
    FrameSwap frame(out_, &buf, scope_, scope);
    exec_for(loop, iterable, depth);
  } catch (...) {
    --call_depth_;
    throw;
  }
  --call_depth_;
  return Value::string(std::move(buf));
}

void Interpreter::assign(const Target& target, const Value& value) {
  switch (target.kind) {
    case Target::Kind::kName:
      scope_->set(target.name, value);
      return;
    case Target::Kind::kNamespaceAttr: {
      const Value* ns = scope_->find(target.name);
      if (!ns || !ns->is_namespace()) {
        fail_at(FailKind::kType, target.pos, "cannot assign attribute on non-namespace object");
      }
      ns->ns_ref().attrs.set(Value::string(target.attr), value);
      return;
    }
    case Target::Kind::kTuple: {
      const std::vector<Value> items = py_iterate(value);
      const size_t want = target.items.size();
      if (items.size() > want) fail(FailKind::kValue, "too many values to unpack (expected {})", want);
      if (items.size() < want) {
        fail(FailKind::kValue, "not enough values to unpack (expected {}, got {})", want, items.size());
      }
      for (size_t i = 0; i < want; ++i) assign(target.items[i], items[i]);
      return;
    }
  }
}

Value Interpreter::invoke_macro(const MacroDef& def, const std::shared_ptr<Scope>& closure, CallArgs& args) {
  if (call_depth_ + 1 > options_.max_call_depth) {
    fail(FailKind::kLimit, "macro calls nested deeper than {} levels", options_.max_call_depth);
  }
  auto scope = std::make_shared<Scope>(closure);
  const size_t n = def.params.size();
  const size_t given = std::min(args.args.size(), n);
  std::vector<bool> bound(n, false);
  for (size_t i = 0; i < given; ++i) {
    scope->set(def.params[i], args.args[i]);
    bound[i] = true;
  }
  // Like jinja2's Macro.__call__: keywords only fill the parameters positional arguments left open.
  std::vector<std::pair<std::string, Value>> rest;
  for (auto& [key, value] : args.kwargs) {
    auto it = std::find(def.params.begin() + static_cast<std::ptrdiff_t>(given), def.params.end(), key);
    if (it != def.params.end() && !bound[static_cast<size_t>(it - def.params.begin())]) {
      const auto idx = static_cast<size_t>(it - def.params.begin());
      scope->set(def.params[idx], value);
      bound[idx] = true;
    } else {
      rest.emplace_back(key, value);
    }
  }
  if (def.uses_caller) {
    Value caller = Value::undefined("No caller defined");
    for (auto it = rest.begin(); it != rest.end(); ++it) {
      if (it->first == "caller") {
        caller = it->second;
        rest.erase(it);
        break;
      }
    }
    scope->set("caller", caller);
  }
  if (def.uses_kwargs) {
    auto d = std::make_shared<Dict>();
    for (auto& [k, v] : rest) d->set(Value::string(k), v);
    scope->set("kwargs", Value::dict(std::move(d)));
  } else if (!rest.empty()) {
    if (rest.front().first == "caller") {
      fail(FailKind::kType, "macro '{}' was invoked with two values for the special caller argument", def.name);
    }
    fail(FailKind::kType, "macro '{}' takes no keyword argument '{}'", def.name, rest.front().first);
  }
  if (def.uses_varargs) {
    std::vector<Value> extra;
    for (size_t i = n; i < args.args.size(); ++i) extra.push_back(args.args[i]);
    scope->set("varargs", Value::list(std::move(extra), ListFlavor::kTuple));
  } else if (args.args.size() > n) {
    fail(FailKind::kType, "macro '{}' takes not more than {} argument(s)", def.name, n);
  }
  ++call_depth_;
  std::string buf;
  try {
    FrameSwap frame(out_, &buf, scope_, scope);
    for (size_t i = 0; i < n; ++i) {
      if (bound[i]) continue;
      scope->set(def.params[i], def.defaults[i] ? eval(*def.defaults[i])
                                                : Value::undefined(fmt::format("parameter '{}' was not provided", def.params[i])));
    }
    exec_body(def.body);
  } catch (...) {
    --call_depth_;
    throw;
  }
  --call_depth_;
  return Value::string(std::move(buf));
}

// ---------------------------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------------------------

Value Interpreter::eval(const Expr& e) {
  DepthGuard guard(eval_depth_);
  charge(1);
  try {
    return eval_inner(e);
  } catch (Failure& f) {
    locate(f, e.pos);
    throw;
  }
}

Value Interpreter::eval_name(const Expr& e) {
  if (const Value* v = scope_->find(e.name)) return *v;
  Value builtin = lookup_builtin(e.name);
  if (!builtin.is_undefined()) return builtin;
  return Value::undefined(fmt::format("'{}' is undefined", e.name));
}

void Interpreter::eval_args(const Expr& e, size_t first, CallArgs& out) {
  for (size_t i = first; i < e.operands.size(); ++i) out.args.push_back(eval(*e.operands[i]));
  for (const auto& [key, expr] : e.kwargs) out.kwargs.emplace_back(key, eval(*expr));
  if (e.dyn_args) {
    for (auto& v : py_iterate(eval(*e.dyn_args))) out.args.push_back(std::move(v));
  }
  if (e.dyn_kwargs) {
    const Value d = eval(*e.dyn_kwargs);
    if (!d.is_dict()) fail(FailKind::kType, "argument after ** must be a mapping, not {}", type_name(d));
    for (const auto& [k, v] : d.dict_ref().items()) {
      if (!k.is_string()) fail(FailKind::kType, "keywords must be strings");
      out.kwargs.emplace_back(k.s(), v);
    }
  }
}

Value Interpreter::eval_filter(const Expr& e) {
  Value subject;
  if (e.operands[0]) {
    subject = eval(*e.operands[0]);
  } else if (block_subject_) {
    subject = *block_subject_;
  }
  CallArgs args;
  eval_args(e, 1, args);
  if (!e.filter) {
    bool known = false;
    find_filter(e.name, known);
    if (!known) fail(FailKind::kUnsupported, "No filter named '{}' found.", e.name);
    fail(FailKind::kUnsupported, "the jinja2 filter '{}' is not supported by OpenMuse", e.name);
  }
  return e.filter(*this, subject, args);
}

Value Interpreter::eval_slice(const Value& obj, const Expr& slice) {
  std::optional<int64_t> parts[3];
  for (int k = 0; k < 3; ++k) {
    if (!slice.operands[static_cast<size_t>(k)]) continue;
    const Value v = eval(*slice.operands[static_cast<size_t>(k)]);
    if (v.is_none()) continue;
    if (!v.is_integral()) return Value::undefined("slice indices must be integers or None");
    parts[k] = v.i();
  }
  if (obj.is_undefined()) fail_undefined(obj);
  if (obj.is_string()) {
    const SliceIndices sl = adjust_slice(static_cast<int64_t>(utf8_length(obj.s())), parts[0], parts[1], parts[2]);
    return Value::string(str_slice(obj.s(), sl), obj.is_markup());
  }
  if (obj.is_list() && !obj.is_iterator()) {
    const auto& items = obj.items();
    const SliceIndices sl = adjust_slice(static_cast<int64_t>(items.size()), parts[0], parts[1], parts[2]);
    std::vector<Value> out;
    out.reserve(static_cast<size_t>(sl.count));
    for (int64_t k = 0, i = sl.start; k < sl.count; ++k, i += sl.step) out.push_back(items[static_cast<size_t>(i)]);
    return Value::list(std::move(out), obj.list_ref().flavor);
  }
  return Value::undefined(fmt::format("'{}' has no element slice", object_type_repr(obj)));
}

bool Interpreter::eval_compare(const Expr& e) {
  Value left = eval(*e.operands[0]);
  for (size_t i = 0; i < e.cmp_ops.size(); ++i) {
    Value right = eval(*e.operands[i + 1]);
    if (!compare(e.cmp_ops[i], left, right)) return false;
    left = std::move(right);
  }
  return true;
}

Value Interpreter::eval_inner(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kConst:
      return e.constant;
    case ExprKind::kName:
      return eval_name(e);
    case ExprKind::kList:
    case ExprKind::kTuple: {
      std::vector<Value> items;
      items.reserve(e.operands.size());
      for (const auto& o : e.operands) items.push_back(eval(*o));
      return Value::list(std::move(items), e.kind == ExprKind::kList ? ListFlavor::kList : ListFlavor::kTuple);
    }
    case ExprKind::kDict: {
      auto d = std::make_shared<Dict>();
      for (size_t i = 0; i + 1 < e.operands.size(); i += 2) {
        Value key = eval(*e.operands[i]);
        Value value = eval(*e.operands[i + 1]);
        if ((key.is_list() && !key.is_tuple()) || key.is_dict() || key.is_namespace() || key.is_undefined()) {
          if (key.is_undefined()) fail_undefined(key);
          fail(FailKind::kType, "unhashable type: '{}'", type_name(key));
        }
        d->set(std::move(key), std::move(value));
      }
      return Value::dict(std::move(d));
    }
    case ExprKind::kGetAttr:
      return get_attr(eval(*e.operands[0]), e.name);
    case ExprKind::kGetItem: {
      const Value obj = eval(*e.operands[0]);
      const Expr& index = *e.operands[1];
      if (index.kind == ExprKind::kSlice) return eval_slice(obj, index);
      return get_item(obj, eval(index));
    }
    case ExprKind::kSlice:
      fail(FailKind::kSyntax, "a slice is only valid inside []");
    case ExprKind::kCall: {
      const Value callee = eval(*e.operands[0]);
      CallArgs args;
      eval_args(e, 1, args);
      return call(callee, args);
    }
    case ExprKind::kFilter:
      return eval_filter(e);
    case ExprKind::kTest: {
      const Value subject = eval(*e.operands[0]);
      CallArgs args;
      eval_args(e, 1, args);
      if (!e.test) {
        bool known = false;
        find_test(e.name, known);
        if (!known) fail(FailKind::kUnsupported, "No test named '{}' found.", e.name);
        fail(FailKind::kUnsupported, "the jinja2 test '{}' is not supported by OpenMuse", e.name);
      }
      return Value::boolean(e.test(*this, subject, args));
    }
    case ExprKind::kNeg:
      return unary_minus(eval(*e.operands[0]));
    case ExprKind::kPos:
      return unary_plus(eval(*e.operands[0]));
    case ExprKind::kNot:
      return Value::boolean(!truthy(eval(*e.operands[0])));
    case ExprKind::kAnd: {
      Value a = eval(*e.operands[0]);
      if (!truthy(a)) return a;
      return eval(*e.operands[1]);
    }
    case ExprKind::kOr: {
      Value a = eval(*e.operands[0]);
      if (truthy(a)) return a;
      return eval(*e.operands[1]);
    }
    case ExprKind::kBinary: {
      const Value a = eval(*e.operands[0]);
      const Value b = eval(*e.operands[1]);
      return binary_op(*this, e.bin_op, a, b);
    }
    case ExprKind::kConcat: {
      std::string s;
      for (const auto& o : e.operands) {
        py_str(eval(*o), s);
        check_size(s.size());
      }
      charge(s.size() / 64);
      return Value::string(std::move(s));
    }
    case ExprKind::kCompare:
      return Value::boolean(eval_compare(e));
    case ExprKind::kCondExpr:
      if (truthy(eval(*e.operands[0]))) return eval(*e.operands[1]);
      if (e.operands[2]) return eval(*e.operands[2]);
      return Value::undefined(fmt::format(
          "the inline if-expression on line {} evaluated to false and no else section was defined.", e.pos.line));
  }
  return Value();
}

}  // namespace muse::text::jinja
