// Statement half of the Jinja parser: template text, tags and their bodies (jinja2 3.1's
// subparse / parse_statement family). Expressions are parsed by ExprParser (jinja_parser_expr.cpp).
#include "text/jinja_parser.h"

#include <algorithm>
#include <initializer_list>

#include "text/jinja_lexer.h"
#include "text/jinja_parser_internal.h"

namespace muse::text::jinja {

namespace {

using detail::ExprParser;
using detail::TokenStream;

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : ts_(std::move(tokens)) {}

  Body parse_all() {
    Body body = subparse({});
    if (cur().type != TokenType::kEof) fail_here("unexpected " + describe_token(cur()));
    return body;
  }

 private:
  // ---- token stream and expressions (shared with ExprParser) --------------------------------

  const Token& cur() const { return ts_.cur(); }
  const Token& look() const { return ts_.look(); }
  void next() { ts_.next(); }
  bool is_op(std::string_view op) const { return ts_.is_op(op); }
  bool is_name(std::string_view n) const { return ts_.is_name(n); }
  bool skip_op(std::string_view op) { return ts_.skip_op(op); }
  bool skip_name(std::string_view n) { return ts_.skip_name(n); }
  [[noreturn]] void fail_here(std::string message) const { ts_.fail_here(std::move(message)); }
  void expect_op(std::string_view op) { ts_.expect_op(op); }
  const Token& expect_type(TokenType type, std::string_view what) { return ts_.expect_type(type, what); }
  const Token& expect_name() { return ts_.expect_name(); }
  ExprPtr parse_expression(bool with_condexpr) { return ex_.parse_expression(with_condexpr); }
  ExprPtr parse_tuple(bool simplified, bool with_condexpr, std::initializer_list<std::string_view> extra_end,
                      bool explicit_parentheses) {
    return ex_.parse_tuple(simplified, with_condexpr, extra_end, explicit_parentheses);
  }
  ExprPtr parse_primary() { return ex_.parse_primary(); }
  ExprPtr parse_filter(ExprPtr node, bool start_inline) { return ex_.parse_filter(std::move(node), start_inline); }

  // ---- statements ----------------------------------------------------------------------

  Body subparse(std::initializer_list<std::string_view> end_tokens) {
    end_stack_.emplace_back(end_tokens.begin(), end_tokens.end());
    struct Pop {
      std::vector<std::vector<std::string_view>>& s;
      ~Pop() { s.pop_back(); }
    } pop{end_stack_};
    Body body;
    while (cur().type != TokenType::kEof) {
      const Token& t = cur();
      if (t.type == TokenType::kData) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::kText;
        s->pos = t.pos;
        s->text = t.text;
        body.push_back(std::move(s));
        next();
      } else if (t.type == TokenType::kVarBegin) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::kOutput;
        s->pos = t.pos;
        next();
        s->exprs.push_back(parse_tuple(false, true, {}, false));
        expect_type(TokenType::kVarEnd, "end of print statement");
        body.push_back(std::move(s));
      } else if (t.type == TokenType::kBlockBegin) {
        next();
        if (cur().type == TokenType::kName &&
            std::find(end_tokens.begin(), end_tokens.end(), cur().text) != end_tokens.end()) {
          return body;
        }
        body.push_back(parse_statement());
        expect_type(TokenType::kBlockEnd, "end of statement block");
      } else {
        fail_here("unexpected " + describe_token(t));
      }
    }
    return body;
  }

  [[noreturn]] void fail_unknown_tag(const Token& t, std::vector<std::string_view> expected, bool eof) {
    std::string msg = eof ? "Unexpected end of template." : fmt::format("Encountered unknown tag '{}'.", t.text);
    if (expected.size() > 0) {
      std::vector<std::string> names;
      for (auto e : expected) names.push_back("'" + std::string(e) + "'");
      std::string list;
      for (size_t i = 0; i < names.size(); ++i) {
        if (i) list += (i + 1 == names.size()) ? " or " : ", ";
        list += names[i];
      }
      msg += fmt::format(" Jinja was looking for the following tags: {}.", list);
    }
    if (!tag_stack_.empty()) {
      msg += fmt::format(" The innermost block that needs to be closed is '{}'.", tag_stack_.back());
    }
    fail_at(FailKind::kSyntax, t.pos, msg);
  }

  Body parse_statements(std::initializer_list<std::string_view> end_tokens, bool drop_needle) {
    skip_op(":");
    expect_type(TokenType::kBlockEnd, "end of statement block");
    Body body = subparse(end_tokens);
    if (cur().type == TokenType::kEof) fail_unknown_tag(cur(), std::vector<std::string_view>(end_tokens), true);
    if (drop_needle) next();
    return body;
  }

  StmtPtr parse_statement() {
    TokenStream::DepthGuard guard(ts_);
    const Token& t = cur();
    if (t.type != TokenType::kName) fail_here("tag name expected");
    const std::string tag = t.text;
    static constexpr std::string_view kTags[] = {"for", "if", "set", "macro", "call", "filter", "with",
                                                 "block", "print", "break", "continue", "generation"};
    if (std::find(std::begin(kTags), std::end(kTags), tag) == std::end(kTags)) {
      if (tag == "extends" || tag == "include" || tag == "import" || tag == "from" || tag == "autoescape") {
        fail_at(FailKind::kUnsupported, t.pos, fmt::format("the '{}' tag is not supported (templates are standalone)", tag));
      }
      // Like jinja2: an unknown tag inside a block lists what would have closed it.
      fail_unknown_tag(t, end_stack_.empty() ? std::vector<std::string_view>{} : end_stack_.back(), false);
    }
    tag_stack_.push_back(tag);
    StmtPtr s;
    if (tag == "for") s = parse_for();
    else if (tag == "if") s = parse_if();
    else if (tag == "set") s = parse_set();
    else if (tag == "macro") s = parse_macro();
    else if (tag == "call") s = parse_call_block();
    else if (tag == "filter") s = parse_filter_block();
    else if (tag == "with") s = parse_with();
    else if (tag == "block") s = parse_block();
    else if (tag == "print") s = parse_print();
    else if (tag == "generation") s = parse_generation();
    else s = parse_loop_control();
    tag_stack_.pop_back();
    return s;
  }

  StmtPtr make_stmt(StmtKind kind, SourcePos pos) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->pos = pos;
    return s;
  }

  // Bodies of for loops, macros and the like are compiled as new Python frames by jinja2: `break`
  // loses its loop and unknown filters stop being deferred.
  struct FrameGuard {
    FrameGuard(Parser& p, bool in_loop) : p(p), loop(p.loop_depth_), soft(p.ts_.soft) {
      p.loop_depth_ = in_loop ? loop + 1 : 0;
      p.ts_.soft = 0;
    }
    ~FrameGuard() {
      p.loop_depth_ = loop;
      p.ts_.soft = soft;
    }
    Parser& p;
    int loop;
    int soft;
  };

  StmtPtr parse_loop_control() {
    const Token& t = cur();
    if (loop_depth_ == 0) fail_at(FailKind::kSyntax, t.pos, fmt::format("'{}' outside loop", t.text));
    auto s = make_stmt(t.text == "break" ? StmtKind::kBreak : StmtKind::kContinue, t.pos);
    next();
    return s;
  }

  StmtPtr parse_for() {
    auto s = make_stmt(StmtKind::kFor, cur().pos);
    next();
    s->targets.push_back(parse_assign_target(true, false, {"in"}, false));
    if (!skip_name("in")) fail_here(fmt::format("expected token 'in', got {}", describe_token(cur())));
    s->exprs.push_back(parse_tuple(false, false, {"recursive"}, false));
    if (skip_name("if")) {
      s->exprs.push_back(parse_expression(true));
    } else {
      s->exprs.push_back(nullptr);
    }
    s->recursive = skip_name("recursive");
    {
      FrameGuard frame(*this, true);
      s->body = parse_statements({"endfor", "else"}, false);
    }
    if (cur().text == "endfor") {
      next();
    } else {
      next();
      s->else_body = parse_statements({"endfor"}, true);
    }
    return s;
  }

  StmtPtr parse_if() {
    auto s = make_stmt(StmtKind::kIf, cur().pos);
    next();
    ++ts_.soft;
    Stmt* node = s.get();
    while (true) {
      node->exprs.push_back(parse_tuple(false, false, {}, false));
      node->body = parse_statements({"elif", "else", "endif"}, false);
      const Token& t = cur();
      next();
      if (t.text == "elif") {
        auto elif = make_stmt(StmtKind::kIf, t.pos);
        Stmt* raw = elif.get();
        node->else_body.push_back(std::move(elif));
        node = raw;
        continue;
      }
      if (t.text == "else") node->else_body = parse_statements({"endif"}, true);
      break;
    }
    --ts_.soft;
    return s;
  }

  StmtPtr parse_set() {
    const SourcePos pos = cur().pos;
    next();
    Target target = parse_assign_target(true, false, {}, true);
    if (skip_op("=")) {
      auto s = make_stmt(StmtKind::kSet, pos);
      s->targets.push_back(std::move(target));
      s->exprs.push_back(parse_tuple(false, true, {}, false));
      return s;
    }
    auto s = make_stmt(StmtKind::kSetBlock, pos);
    s->targets.push_back(std::move(target));
    s->filter = parse_filter(nullptr, false);
    // The body is rendered into a string, so break/continue cannot reach an enclosing loop.
    FrameGuard frame(*this, false);
    s->body = parse_statements({"endset"}, true);
    return s;
  }

  void parse_signature(MacroDef& def) {
    expect_op("(");
    bool any_default = false;
    while (!is_op(")")) {
      if (!def.params.empty()) expect_op(",");
      const Token& name = expect_name();
      check_assignable(name);
      def.params.push_back(name.text);
      if (skip_op("=")) {
        def.defaults.push_back(parse_expression(true));
        any_default = true;
      } else {
        if (any_default) fail_at(FailKind::kSyntax, name.pos, "non-default argument follows default argument");
        def.defaults.push_back(nullptr);
      }
    }
    expect_op(")");
  }

  StmtPtr parse_macro() {
    auto s = make_stmt(StmtKind::kMacro, cur().pos);
    next();
    s->macro = std::make_unique<MacroDef>();
    s->macro->pos = s->pos;
    const Token& name = expect_name();
    check_assignable(name);
    s->macro->name = name.text;
    parse_signature(*s->macro);
    FrameGuard frame(*this, false);
    s->macro->body = parse_statements({"endmacro"}, true);
    scan_special_names(*s->macro);
    return s;
  }

  StmtPtr parse_call_block() {
    auto s = make_stmt(StmtKind::kCallBlock, cur().pos);
    next();
    s->macro = std::make_unique<MacroDef>();
    s->macro->name = "caller";
    s->macro->pos = s->pos;
    if (is_op("(")) parse_signature(*s->macro);
    ExprPtr call = parse_expression(true);
    if (call->kind != ExprKind::kCall) fail_at(FailKind::kSyntax, s->pos, "expected call");
    s->exprs.push_back(std::move(call));
    FrameGuard frame(*this, false);
    s->macro->body = parse_statements({"endcall"}, true);
    scan_special_names(*s->macro);
    return s;
  }

  StmtPtr parse_filter_block() {
    auto s = make_stmt(StmtKind::kFilterBlock, cur().pos);
    next();
    s->filter = parse_filter(nullptr, true);
    FrameGuard frame(*this, false);
    s->body = parse_statements({"endfilter"}, true);
    return s;
  }

  StmtPtr parse_with() {
    auto s = make_stmt(StmtKind::kWith, cur().pos);
    next();
    while (cur().type != TokenType::kBlockEnd) {
      if (!s->targets.empty()) expect_op(",");
      s->targets.push_back(parse_assign_target(true, false, {}, false));
      expect_op("=");
      s->exprs.push_back(parse_expression(true));
    }
    FrameGuard frame(*this, false);
    frame.p.loop_depth_ = frame.loop;  // the body runs inline: break/continue still reach the loop
    s->body = parse_statements({"endwith"}, true);
    return s;
  }

  StmtPtr parse_block() {
    auto s = make_stmt(StmtKind::kScope, cur().pos);
    next();
    const std::string name = expect_name().text;
    if (is_op("-")) {
      fail_here("Block names in Jinja have to be valid Python identifiers and may not contain hyphens, use an underscore instead.");
    }
    skip_name("scoped");
    skip_name("required");
    FrameGuard frame(*this, false);
    s->body = parse_statements({"endblock"}, true);
    skip_name(name);
    return s;
  }

  StmtPtr parse_generation() {
    // transformers' AssistantTracker tag: marks assistant text for masks; renders its body.
    auto s = make_stmt(StmtKind::kScope, cur().pos);
    next();
    s->body = parse_statements({"endgeneration"}, true);
    return s;
  }

  StmtPtr parse_print() {
    auto s = make_stmt(StmtKind::kOutput, cur().pos);
    next();
    while (cur().type != TokenType::kBlockEnd) {
      if (!s->exprs.empty()) expect_op(",");
      s->exprs.push_back(parse_expression(true));
    }
    return s;
  }

  // ---- assignment targets ------------------------------------------------------------------

  void check_assignable(const Token& name) {
    static constexpr std::string_view kConst[] = {"true", "false", "none", "True", "False", "None"};
    if (std::find(std::begin(kConst), std::end(kConst), name.text) != std::end(kConst)) {
      fail_at(FailKind::kSyntax, name.pos, "can't assign to 'const'");
    }
  }

  Target to_target(const Expr& e) {
    Target t;
    t.pos = e.pos;
    if (e.kind == ExprKind::kName) {
      t.kind = Target::Kind::kName;
      t.name = e.name;
      return t;
    }
    if (e.kind == ExprKind::kTuple) {
      t.kind = Target::Kind::kTuple;
      for (const auto& item : e.operands) t.items.push_back(to_target(*item));
      return t;
    }
    const char* what = e.kind == ExprKind::kConst ? "const" : e.kind == ExprKind::kList ? "list" : "expression";
    fail_at(FailKind::kSyntax, e.pos, fmt::format("can't assign to '{}'", what));
  }

  Target parse_assign_target(bool with_tuple, bool name_only, std::initializer_list<std::string_view> extra_end,
                             bool with_namespace) {
    if (with_namespace && cur().type == TokenType::kName && look().type == TokenType::kOperator && look().text == ".") {
      Target t;
      t.kind = Target::Kind::kNamespaceAttr;
      t.pos = cur().pos;
      t.name = cur().text;
      next();
      next();
      t.attr = expect_name().text;
      return t;
    }
    if (name_only) {
      const Token& n = expect_name();
      check_assignable(n);
      Target t;
      t.name = n.text;
      t.pos = n.pos;
      return t;
    }
    ExprPtr e = with_tuple ? parse_tuple(true, true, extra_end, false) : parse_primary();
    return to_target(*e);
  }

  // ---- macro analysis ------------------------------------------------------------------------

  static void scan_expr(const Expr* e, MacroDef& m) {
    if (!e) return;
    if (e->kind == ExprKind::kName) {
      if (e->name == "caller") m.uses_caller = true;
      if (e->name == "varargs") m.uses_varargs = true;
      if (e->name == "kwargs") m.uses_kwargs = true;
    }
    for (const auto& o : e->operands) scan_expr(o.get(), m);
    for (const auto& kw : e->kwargs) scan_expr(kw.second.get(), m);
    scan_expr(e->dyn_args.get(), m);
    scan_expr(e->dyn_kwargs.get(), m);
  }

  static void scan_body(const Body& body, MacroDef& m) {
    for (const auto& s : body) {
      for (const auto& e : s->exprs) scan_expr(e.get(), m);
      scan_expr(s->filter.get(), m);
      scan_body(s->body, m);
      scan_body(s->else_body, m);
      if (s->macro) {
        for (const auto& d : s->macro->defaults) scan_expr(d.get(), m);
        scan_body(s->macro->body, m);
      }
    }
  }

  static void scan_special_names(MacroDef& m) {
    scan_body(m.body, m);
    for (const auto& d : m.defaults) scan_expr(d.get(), m);
    for (const auto& p : m.params) {  // a parameter of that name is not the special variable
      if (p == "caller") m.uses_caller = false;
      if (p == "varargs") m.uses_varargs = false;
      if (p == "kwargs") m.uses_kwargs = false;
    }
  }

  TokenStream ts_;
  ExprParser ex_{ts_};
  int loop_depth_ = 0;  // enclosing for loops in this frame: where break/continue are allowed
  std::vector<std::string> tag_stack_;
  std::vector<std::vector<std::string_view>> end_stack_;  // the end tags each open block waits for
};

}  // namespace

Program parse_template(std::string_view source, std::string name) {
  Program prog;
  prog.name = std::move(name);
  prog.body = Parser(tokenize(source)).parse_all();
  return prog;
}

}  // namespace muse::text::jinja
