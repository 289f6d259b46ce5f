#include "text/jinja_parser.h"

#include <algorithm>
#include <initializer_list>

#include "text/jinja_lexer.h"

namespace muse::text::jinja {

namespace {

constexpr int kMaxExprDepth = 200;  // height of one expression tree (left-deep chains like a+b+c+...)

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

  Body parse_all() {
    Body body = subparse({});
    if (cur().type != TokenType::kEof) fail_here("unexpected " + describe_token(cur()));
    return body;
  }

 private:
  // ---- token stream ----------------------------------------------------------------------

  const Token& cur() const { return toks_[p_]; }
  const Token& look() const { return toks_[std::min(p_ + 1, toks_.size() - 1)]; }
  void next() {
    if (p_ + 1 < toks_.size()) ++p_;
  }
  bool is_op(std::string_view op) const { return cur().type == TokenType::kOperator && cur().text == op; }
  bool is_name(std::string_view n) const { return cur().type == TokenType::kName && cur().text == n; }
  bool skip_op(std::string_view op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(std::string_view n) {
    if (!is_name(n)) return false;
    next();
    return true;
  }
  [[noreturn]] void fail_here(std::string message) const { fail_at(FailKind::kSyntax, cur().pos, std::move(message)); }
  void expect_op(std::string_view op) {
    if (!skip_op(op)) fail_here(fmt::format("expected token '{}', got {}", op, describe_token(cur())));
  }
  const Token& expect_type(TokenType type, std::string_view what) {
    if (cur().type != type) fail_here(fmt::format("expected token '{}', got {}", what, describe_token(cur())));
    const Token& t = cur();
    next();
    return t;
  }
  const Token& expect_name() { return expect_type(TokenType::kName, "name"); }

  struct DepthGuard {
    explicit DepthGuard(Parser& p) : p(p) {
      if (++p.depth_ > kMaxParseDepth) p.fail_here(fmt::format("template nested deeper than {} levels", kMaxParseDepth));
    }
    ~DepthGuard() { --p.depth_; }
    Parser& p;
  };

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
    DepthGuard guard(*this);
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
    FrameGuard(Parser& p, bool in_loop) : p(p), loop(p.loop_depth_), soft(p.soft_) {
      p.loop_depth_ = in_loop ? loop + 1 : 0;
      p.soft_ = 0;
    }
    ~FrameGuard() {
      p.loop_depth_ = loop;
      p.soft_ = soft;
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
    ++soft_;
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
    --soft_;
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

  // ---- expressions ---------------------------------------------------------------------------

  ExprPtr make(ExprKind kind, SourcePos pos) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->pos = pos;
    return e;
  }

  // Records the subtree height and refuses trees too tall to evaluate safely.
  ExprPtr finish(ExprPtr e) {
    int d = 0;
    for (const auto& o : e->operands) {
      if (o) d = std::max(d, o->depth);
    }
    for (const auto& kw : e->kwargs) d = std::max(d, kw.second->depth);
    if (e->dyn_args) d = std::max(d, e->dyn_args->depth);
    if (e->dyn_kwargs) d = std::max(d, e->dyn_kwargs->depth);
    e->depth = d + 1;
    if (e->depth > kMaxExprDepth) {
      fail_at(FailKind::kSyntax, e->pos, fmt::format("expression nested deeper than {} levels", kMaxExprDepth));
    }
    return e;
  }

  ExprPtr binary(ExprKind kind, SourcePos pos, ExprPtr a, ExprPtr b) {
    auto e = make(kind, pos);
    e->operands.push_back(std::move(a));
    e->operands.push_back(std::move(b));
    return finish(std::move(e));
  }

  ExprPtr parse_expression(bool with_condexpr) {
    DepthGuard guard(*this);
    return with_condexpr ? parse_condexpr() : parse_or();
  }

  ExprPtr parse_condexpr() {
    SourcePos pos = cur().pos;
    ExprPtr expr1 = parse_or();
    while (is_name("if")) {
      next();
      ++soft_;
      ExprPtr cond = parse_or();
      ExprPtr expr3;
      if (skip_name("else")) expr3 = parse_condexpr();
      --soft_;
      auto e = make(ExprKind::kCondExpr, pos);
      e->operands.push_back(std::move(cond));
      e->operands.push_back(std::move(expr1));
      e->operands.push_back(std::move(expr3));
      expr1 = finish(std::move(e));
      pos = cur().pos;
    }
    return expr1;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      const SourcePos pos = cur().pos;
      next();
      left = binary(ExprKind::kOr, pos, std::move(left), parse_and());
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      const SourcePos pos = cur().pos;
      next();
      left = binary(ExprKind::kAnd, pos, std::move(left), parse_not());
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this);
      auto e = make(ExprKind::kNot, cur().pos);
      next();
      e->operands.push_back(parse_not());
      return finish(std::move(e));
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const SourcePos pos = cur().pos;
    ExprPtr expr = parse_math1();
    std::vector<CmpOp> ops;
    std::vector<ExprPtr> operands;
    while (true) {
      CmpOp op;
      if (cur().type == TokenType::kOperator && cur().text == "==") op = CmpOp::kEq;
      else if (is_op("!=")) op = CmpOp::kNe;
      else if (is_op("<")) op = CmpOp::kLt;
      else if (is_op("<=")) op = CmpOp::kLe;
      else if (is_op(">")) op = CmpOp::kGt;
      else if (is_op(">=")) op = CmpOp::kGe;
      else if (is_name("in")) op = CmpOp::kIn;
      else if (is_name("not") && look().type == TokenType::kName && look().text == "in") {
        op = CmpOp::kNotIn;
        next();
      } else {
        break;
      }
      next();
      ops.push_back(op);
      operands.push_back(parse_math1());
    }
    if (ops.empty()) return expr;
    auto e = make(ExprKind::kCompare, pos);
    e->operands.push_back(std::move(expr));
    for (auto& o : operands) e->operands.push_back(std::move(o));
    e->cmp_ops = std::move(ops);
    return finish(std::move(e));
  }

  ExprPtr arith(BinOp op, SourcePos pos, ExprPtr a, ExprPtr b) {
    auto e = make(ExprKind::kBinary, pos);
    e->bin_op = op;
    e->operands.push_back(std::move(a));
    e->operands.push_back(std::move(b));
    return finish(std::move(e));
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const BinOp op = cur().text == "+" ? BinOp::kAdd : BinOp::kSub;
      const SourcePos pos = cur().pos;
      next();
      left = arith(op, pos, std::move(left), parse_concat());
    }
    return left;
  }

  ExprPtr parse_concat() {
    const SourcePos pos = cur().pos;
    ExprPtr first = parse_math2();
    if (!is_op("~")) return first;
    auto e = make(ExprKind::kConcat, pos);
    e->operands.push_back(std::move(first));
    while (skip_op("~")) e->operands.push_back(parse_math2());
    return finish(std::move(e));
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const std::string& t = cur().text;
      const BinOp op = t == "*" ? BinOp::kMul : t == "/" ? BinOp::kDiv : t == "//" ? BinOp::kFloorDiv : BinOp::kMod;
      const SourcePos pos = cur().pos;
      next();
      left = arith(op, pos, std::move(left), parse_pow());
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {  // left-associative in Jinja, unlike Python
      const SourcePos pos = cur().pos;
      next();
      left = arith(BinOp::kPow, pos, std::move(left), parse_unary(true));
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this);
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      auto e = make(is_op("-") ? ExprKind::kNeg : ExprKind::kPos, cur().pos);
      next();
      e->operands.push_back(parse_unary(false));
      node = finish(std::move(e));
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    DepthGuard guard(*this);
    const Token& t = cur();
    switch (t.type) {
      case TokenType::kName: {
        auto e = make(ExprKind::kConst, t.pos);
        if (t.text == "true" || t.text == "True") {
          e->constant = Value::boolean(true);
        } else if (t.text == "false" || t.text == "False") {
          e->constant = Value::boolean(false);
        } else if (t.text == "none" || t.text == "None") {
          e->constant = Value::none();
        } else {
          e->kind = ExprKind::kName;
          e->name = t.text;
        }
        next();
        return e;
      }
      case TokenType::kString: {
        auto e = make(ExprKind::kConst, t.pos);
        std::string s;
        while (cur().type == TokenType::kString) {  // adjacent literals concatenate
          s += cur().text;
          next();
        }
        e->constant = Value::string(std::move(s));
        return e;
      }
      case TokenType::kInteger:
      case TokenType::kFloat: {
        auto e = make(ExprKind::kConst, t.pos);
        e->constant = t.type == TokenType::kInteger ? Value::integer(t.int_value) : Value::real(t.float_value);
        next();
        return e;
      }
      case TokenType::kOperator:
        if (t.text == "(") {
          next();
          ExprPtr e = parse_tuple(false, true, {}, true);
          expect_op(")");
          return e;
        }
        if (t.text == "[") return parse_list();
        if (t.text == "{") return parse_dict();
        break;
      default:
        break;
    }
    fail_here("unexpected " + describe_token(t));
  }

  bool is_tuple_end(std::initializer_list<std::string_view> extra_end) const {
    const Token& t = cur();
    if (t.type == TokenType::kVarEnd || t.type == TokenType::kBlockEnd || t.type == TokenType::kEof) return true;
    if (t.type == TokenType::kOperator && t.text == ")") return true;
    return t.type == TokenType::kName && std::find(extra_end.begin(), extra_end.end(), t.text) != extra_end.end();
  }

  ExprPtr parse_tuple(bool simplified, bool with_condexpr, std::initializer_list<std::string_view> extra_end,
                      bool explicit_parentheses) {
    const SourcePos pos = cur().pos;
    std::vector<ExprPtr> args;
    bool is_tuple = false;
    while (true) {
      if (!args.empty()) expect_op(",");
      if (is_tuple_end(extra_end)) break;
      args.push_back(simplified ? parse_primary() : parse_expression(with_condexpr));
      if (is_op(",")) {
        is_tuple = true;
      } else {
        break;
      }
    }
    if (!is_tuple) {
      if (!args.empty()) return std::move(args[0]);
      if (!explicit_parentheses) fail_here("Expected an expression, got " + describe_token(cur()));
    }
    auto e = make(ExprKind::kTuple, pos);
    e->operands = std::move(args);
    return finish(std::move(e));
  }

  ExprPtr parse_list() {
    auto e = make(ExprKind::kList, cur().pos);
    expect_op("[");
    while (!is_op("]")) {
      if (!e->operands.empty()) expect_op(",");
      if (is_op("]")) break;
      e->operands.push_back(parse_expression(true));
    }
    expect_op("]");
    return finish(std::move(e));
  }

  ExprPtr parse_dict() {
    auto e = make(ExprKind::kDict, cur().pos);
    expect_op("{");
    while (!is_op("}")) {
      if (!e->operands.empty()) expect_op(",");
      if (is_op("}")) break;
      e->operands.push_back(parse_expression(true));
      expect_op(":");
      e->operands.push_back(parse_expression(true));
    }
    expect_op("}");
    return finish(std::move(e));
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (is_op(".") || is_op("[")) {
        node = parse_subscript(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_op("|")) {
        node = parse_filter(std::move(node), false);
      } else if (is_name("is")) {
        node = parse_test(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr node) {
    const Token& t = cur();
    const SourcePos pos = t.pos;
    if (t.text == ".") {
      next();
      const Token& attr = cur();
      if (attr.type == TokenType::kName) {
        auto e = make(ExprKind::kGetAttr, pos);
        e->name = attr.text;
        e->operands.push_back(std::move(node));
        next();
        return finish(std::move(e));
      }
      if (attr.type != TokenType::kInteger) fail_here("expected name or number");
      auto idx = make(ExprKind::kConst, attr.pos);
      idx->constant = Value::integer(attr.int_value);
      next();
      auto e = make(ExprKind::kGetItem, pos);
      e->operands.push_back(std::move(node));
      e->operands.push_back(std::move(idx));
      return finish(std::move(e));
    }
    next();  // [
    std::vector<ExprPtr> args;
    while (!is_op("]")) {
      if (!args.empty()) expect_op(",");
      args.push_back(parse_subscribed());
    }
    expect_op("]");
    ExprPtr index;
    if (args.size() == 1) {
      index = std::move(args[0]);
    } else {
      index = make(ExprKind::kTuple, pos);
      index->operands = std::move(args);
      index = finish(std::move(index));
    }
    auto e = make(ExprKind::kGetItem, pos);
    e->operands.push_back(std::move(node));
    e->operands.push_back(std::move(index));
    return finish(std::move(e));
  }

  ExprPtr parse_subscribed() {
    const SourcePos pos = cur().pos;
    std::vector<ExprPtr> parts;
    if (is_op(":")) {
      next();
      parts.push_back(nullptr);
    } else {
      ExprPtr node = parse_expression(true);
      if (!is_op(":")) return node;
      next();
      parts.push_back(std::move(node));
    }
    if (is_op(":")) {
      parts.push_back(nullptr);
    } else if (!is_op("]") && !is_op(",")) {
      parts.push_back(parse_expression(true));
    } else {
      parts.push_back(nullptr);
    }
    if (is_op(":")) {
      next();
      parts.push_back(!is_op("]") && !is_op(",") ? parse_expression(true) : nullptr);
    } else {
      parts.push_back(nullptr);
    }
    auto e = make(ExprKind::kSlice, pos);
    e->operands = std::move(parts);
    return finish(std::move(e));
  }

  void parse_call_args(Expr& e) {
    const SourcePos pos = cur().pos;
    expect_op("(");
    bool require_comma = false;
    auto ensure = [&](bool ok) {
      if (!ok) fail_at(FailKind::kSyntax, pos, "invalid syntax for function call expression");
    };
    while (!is_op(")")) {
      if (require_comma) {
        expect_op(",");
        if (is_op(")")) break;  // trailing comma
      }
      if (is_op("*")) {
        ensure(!e.dyn_args && !e.dyn_kwargs);
        next();
        e.dyn_args = parse_expression(true);
      } else if (is_op("**")) {
        ensure(!e.dyn_kwargs);
        next();
        e.dyn_kwargs = parse_expression(true);
      } else if (cur().type == TokenType::kName && look().type == TokenType::kOperator && look().text == "=") {
        ensure(!e.dyn_kwargs);
        std::string key = cur().text;
        next();
        next();
        e.kwargs.emplace_back(std::move(key), parse_expression(true));
      } else {
        ensure(!e.dyn_args && !e.dyn_kwargs && e.kwargs.empty());
        e.operands.push_back(parse_expression(true));
      }
      require_comma = true;
    }
    expect_op(")");
  }

  ExprPtr parse_call(ExprPtr node) {
    auto e = make(ExprKind::kCall, node->pos);  // errors point at the start of the call expression
    e->operands.push_back(std::move(node));
    parse_call_args(*e);
    return finish(std::move(e));
  }

  std::string dotted_name() {
    std::string name = expect_name().text;
    while (is_op(".")) {
      next();
      name += "." + expect_name().text;
    }
    return name;
  }

  ExprPtr parse_filter(ExprPtr node, bool start_inline) {
    while (is_op("|") || start_inline) {
      if (!start_inline) next();
      start_inline = false;
      const SourcePos pos = cur().pos;
      auto e = make(ExprKind::kFilter, pos);
      e->name = dotted_name();
      bool known = false;
      e->filter = find_filter(e->name, known);
      if (!known && soft_ == 0) fail_at(FailKind::kSyntax, pos, fmt::format("No filter named '{}'.", e->name));
      e->operands.push_back(std::move(node));
      if (is_op("(")) parse_call_args(*e);
      node = finish(std::move(e));
    }
    return node;
  }

  ExprPtr parse_test(ExprPtr node) {
    const SourcePos pos = cur().pos;
    next();  // is
    const bool negated = skip_name("not");
    auto e = make(ExprKind::kTest, pos);
    e->name = dotted_name();
    bool known = false;
    e->test = find_test(e->name, known);
    if (!known && soft_ == 0) fail_at(FailKind::kSyntax, pos, fmt::format("No test named '{}'.", e->name));
    e->operands.push_back(std::move(node));
    const Token& t = cur();
    if (is_op("(")) {
      parse_call_args(*e);
    } else if ((t.type == TokenType::kName || t.type == TokenType::kString || t.type == TokenType::kInteger ||
                t.type == TokenType::kFloat || is_op("[") || is_op("{")) &&
               !(t.type == TokenType::kName && (t.text == "else" || t.text == "or" || t.text == "and"))) {
      if (is_name("is")) fail_here("You cannot chain multiple tests with is");
      e->operands.push_back(parse_postfix(parse_primary()));
    }
    ExprPtr result = finish(std::move(e));
    if (negated) {
      auto n = make(ExprKind::kNot, pos);
      n->operands.push_back(std::move(result));
      result = finish(std::move(n));
    }
    return result;
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

  std::vector<Token> toks_;
  size_t p_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
  int soft_ = 0;  // inside if/conditional expressions jinja2 defers unknown filters/tests to run time
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
