// Expression half of the Jinja parser: operator precedence, literals, subscripts, calls, filters
// and tests, exactly as jinja2 3.1's Parser builds them (see jinja_parser_internal.h).
#include "text/jinja_parser_internal.h"

#include <algorithm>

namespace muse::text::jinja::detail {

namespace {
constexpr int kMaxExprDepth = 200;  // height of one expression tree (left-deep chains like a+b+c+...)
}  // namespace

ExprPtr ExprParser::make(ExprKind kind, SourcePos pos) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->pos = pos;
  return e;
}

// Records the subtree height and refuses trees too tall to evaluate safely.
ExprPtr ExprParser::finish(ExprPtr e) {
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

ExprPtr ExprParser::binary(ExprKind kind, SourcePos pos, ExprPtr a, ExprPtr b) {
  auto e = make(kind, pos);
  e->operands.push_back(std::move(a));
  e->operands.push_back(std::move(b));
  return finish(std::move(e));
}

ExprPtr ExprParser::parse_expression(bool with_condexpr) {
  TokenStream::DepthGuard guard(ts_);
  return with_condexpr ? parse_condexpr() : parse_or();
}

ExprPtr ExprParser::parse_condexpr() {
  SourcePos pos = ts_.cur().pos;
  ExprPtr expr1 = parse_or();
  while (ts_.is_name("if")) {
    ts_.next();
    ++ts_.soft;
    ExprPtr cond = parse_or();
    ExprPtr expr3;
    if (ts_.skip_name("else")) expr3 = parse_condexpr();
    --ts_.soft;
    auto e = make(ExprKind::kCondExpr, pos);
    e->operands.push_back(std::move(cond));
    e->operands.push_back(std::move(expr1));
    e->operands.push_back(std::move(expr3));
    expr1 = finish(std::move(e));
    pos = ts_.cur().pos;
  }
  return expr1;
}

ExprPtr ExprParser::parse_or() {
  ExprPtr left = parse_and();
  while (ts_.is_name("or")) {
    const SourcePos pos = ts_.cur().pos;
    ts_.next();
    left = binary(ExprKind::kOr, pos, std::move(left), parse_and());
  }
  return left;
}

ExprPtr ExprParser::parse_and() {
  ExprPtr left = parse_not();
  while (ts_.is_name("and")) {
    const SourcePos pos = ts_.cur().pos;
    ts_.next();
    left = binary(ExprKind::kAnd, pos, std::move(left), parse_not());
  }
  return left;
}

ExprPtr ExprParser::parse_not() {
  if (ts_.is_name("not")) {
    TokenStream::DepthGuard guard(ts_);
    auto e = make(ExprKind::kNot, ts_.cur().pos);
    ts_.next();
    e->operands.push_back(parse_not());
    return finish(std::move(e));
  }
  return parse_compare();
}

ExprPtr ExprParser::parse_compare() {
  const SourcePos pos = ts_.cur().pos;
  ExprPtr expr = parse_math1();
  std::vector<CmpOp> ops;
  std::vector<ExprPtr> operands;
  while (true) {
    CmpOp op;
    if (ts_.cur().type == TokenType::kOperator && ts_.cur().text == "==") op = CmpOp::kEq;
    else if (ts_.is_op("!=")) op = CmpOp::kNe;
    else if (ts_.is_op("<")) op = CmpOp::kLt;
    else if (ts_.is_op("<=")) op = CmpOp::kLe;
    else if (ts_.is_op(">")) op = CmpOp::kGt;
    else if (ts_.is_op(">=")) op = CmpOp::kGe;
    else if (ts_.is_name("in")) op = CmpOp::kIn;
    else if (ts_.is_name("not") && ts_.look().type == TokenType::kName && ts_.look().text == "in") {
      op = CmpOp::kNotIn;
      ts_.next();
    } else {
      break;
    }
    ts_.next();
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

ExprPtr ExprParser::arith(BinOp op, SourcePos pos, ExprPtr a, ExprPtr b) {
  auto e = make(ExprKind::kBinary, pos);
  e->bin_op = op;
  e->operands.push_back(std::move(a));
  e->operands.push_back(std::move(b));
  return finish(std::move(e));
}

ExprPtr ExprParser::parse_math1() {
  ExprPtr left = parse_concat();
  while (ts_.is_op("+") || ts_.is_op("-")) {
    const BinOp op = ts_.cur().text == "+" ? BinOp::kAdd : BinOp::kSub;
    const SourcePos pos = ts_.cur().pos;
    ts_.next();
    left = arith(op, pos, std::move(left), parse_concat());
  }
  return left;
}

ExprPtr ExprParser::parse_concat() {
  const SourcePos pos = ts_.cur().pos;
  ExprPtr first = parse_math2();
  if (!ts_.is_op("~")) return first;
  auto e = make(ExprKind::kConcat, pos);
  e->operands.push_back(std::move(first));
  while (ts_.skip_op("~")) e->operands.push_back(parse_math2());
  return finish(std::move(e));
}

ExprPtr ExprParser::parse_math2() {
  ExprPtr left = parse_pow();
  while (ts_.is_op("*") || ts_.is_op("/") || ts_.is_op("//") || ts_.is_op("%")) {
    const std::string& t = ts_.cur().text;
    const BinOp op = t == "*" ? BinOp::kMul : t == "/" ? BinOp::kDiv : t == "//" ? BinOp::kFloorDiv : BinOp::kMod;
    const SourcePos pos = ts_.cur().pos;
    ts_.next();
    left = arith(op, pos, std::move(left), parse_pow());
  }
  return left;
}

ExprPtr ExprParser::parse_pow() {
  ExprPtr left = parse_unary(true);
  while (ts_.is_op("**")) {  // left-associative in Jinja, unlike Python
    const SourcePos pos = ts_.cur().pos;
    ts_.next();
    left = arith(BinOp::kPow, pos, std::move(left), parse_unary(true));
  }
  return left;
}

ExprPtr ExprParser::parse_unary(bool with_filter) {
  TokenStream::DepthGuard guard(ts_);
  ExprPtr node;
  if (ts_.is_op("-") || ts_.is_op("+")) {
    auto e = make(ts_.is_op("-") ? ExprKind::kNeg : ExprKind::kPos, ts_.cur().pos);
    ts_.next();
    e->operands.push_back(parse_unary(false));
    node = finish(std::move(e));
  } else {
    node = parse_primary();
  }
  node = parse_postfix(std::move(node));
  if (with_filter) node = parse_filter_expr(std::move(node));
  return node;
}

ExprPtr ExprParser::parse_primary() {
  TokenStream::DepthGuard guard(ts_);
  const Token& t = ts_.cur();
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
      ts_.next();
      return e;
    }
    case TokenType::kString: {
      auto e = make(ExprKind::kConst, t.pos);
      std::string s;
      while (ts_.cur().type == TokenType::kString) {  // adjacent literals concatenate
        s += ts_.cur().text;
        ts_.next();
      }
      e->constant = Value::string(std::move(s));
      return e;
    }
    case TokenType::kInteger:
    case TokenType::kFloat: {
      auto e = make(ExprKind::kConst, t.pos);
      e->constant = t.type == TokenType::kInteger ? Value::integer(t.int_value) : Value::real(t.float_value);
      ts_.next();
      return e;
    }
    case TokenType::kOperator:
      if (t.text == "(") {
        ts_.next();
        ExprPtr e = parse_tuple(false, true, {}, true);
        ts_.expect_op(")");
        return e;
      }
      if (t.text == "[") return parse_list();
      if (t.text == "{") return parse_dict();
      break;
    default:
      break;
  }
  ts_.fail_here("unexpected " + describe_token(t));
}

bool ExprParser::is_tuple_end(std::initializer_list<std::string_view> extra_end) const {
  const Token& t = ts_.cur();
  if (t.type == TokenType::kVarEnd || t.type == TokenType::kBlockEnd || t.type == TokenType::kEof) return true;
  if (t.type == TokenType::kOperator && t.text == ")") return true;
  return t.type == TokenType::kName && std::find(extra_end.begin(), extra_end.end(), t.text) != extra_end.end();
}

ExprPtr ExprParser::parse_tuple(bool simplified, bool with_condexpr,
                                std::initializer_list<std::string_view> extra_end, bool explicit_parentheses) {
  const SourcePos pos = ts_.cur().pos;
  std::vector<ExprPtr> args;
  bool is_tuple = false;
  while (true) {
    if (!args.empty()) ts_.expect_op(",");
    if (is_tuple_end(extra_end)) break;
    args.push_back(simplified ? parse_primary() : parse_expression(with_condexpr));
    if (ts_.is_op(",")) {
      is_tuple = true;
    } else {
      break;
    }
  }
  if (!is_tuple) {
    if (!args.empty()) return std::move(args[0]);
    if (!explicit_parentheses) ts_.fail_here("Expected an expression, got " + describe_token(ts_.cur()));
  }
  auto e = make(ExprKind::kTuple, pos);
  e->operands = std::move(args);
  return finish(std::move(e));
}

ExprPtr ExprParser::parse_list() {
  auto e = make(ExprKind::kList, ts_.cur().pos);
  ts_.expect_op("[");
  while (!ts_.is_op("]")) {
    if (!e->operands.empty()) ts_.expect_op(",");
    if (ts_.is_op("]")) break;
    e->operands.push_back(parse_expression(true));
  }
  ts_.expect_op("]");
  return finish(std::move(e));
}

ExprPtr ExprParser::parse_dict() {
  auto e = make(ExprKind::kDict, ts_.cur().pos);
  ts_.expect_op("{");
  while (!ts_.is_op("}")) {
    if (!e->operands.empty()) ts_.expect_op(",");
    if (ts_.is_op("}")) break;
    e->operands.push_back(parse_expression(true));
    ts_.expect_op(":");
    e->operands.push_back(parse_expression(true));
  }
  ts_.expect_op("}");
  return finish(std::move(e));
}

ExprPtr ExprParser::parse_postfix(ExprPtr node) {
  while (true) {
    if (ts_.is_op(".") || ts_.is_op("[")) {
      node = parse_subscript(std::move(node));
    } else if (ts_.is_op("(")) {
      node = parse_call(std::move(node));
    } else {
      return node;
    }
  }
}

ExprPtr ExprParser::parse_filter_expr(ExprPtr node) {
  while (true) {
    if (ts_.is_op("|")) {
      node = parse_filter(std::move(node), false);
    } else if (ts_.is_name("is")) {
      node = parse_test(std::move(node));
    } else if (ts_.is_op("(")) {
      node = parse_call(std::move(node));
    } else {
      return node;
    }
  }
}

ExprPtr ExprParser::parse_subscript(ExprPtr node) {
  const Token& t = ts_.cur();
  const SourcePos pos = t.pos;
  if (t.text == ".") {
    ts_.next();
    const Token& attr = ts_.cur();
    if (attr.type == TokenType::kName) {
      auto e = make(ExprKind::kGetAttr, pos);
      e->name = attr.text;
      e->operands.push_back(std::move(node));
      ts_.next();
      return finish(std::move(e));
    }
    if (attr.type != TokenType::kInteger) ts_.fail_here("expected name or number");
    auto idx = make(ExprKind::kConst, attr.pos);
    idx->constant = Value::integer(attr.int_value);
    ts_.next();
    auto e = make(ExprKind::kGetItem, pos);
    e->operands.push_back(std::move(node));
    e->operands.push_back(std::move(idx));
    return finish(std::move(e));
  }
  ts_.next();  // [
  std::vector<ExprPtr> args;
  while (!ts_.is_op("]")) {
    if (!args.empty()) ts_.expect_op(",");
    args.push_back(parse_subscribed());
  }
  ts_.expect_op("]");
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

ExprPtr ExprParser::parse_subscribed() {
  const SourcePos pos = ts_.cur().pos;
  std::vector<ExprPtr> parts;
  if (ts_.is_op(":")) {
    ts_.next();
    parts.push_back(nullptr);
  } else {
    ExprPtr node = parse_expression(true);
    if (!ts_.is_op(":")) return node;
    ts_.next();
    parts.push_back(std::move(node));
  }
  if (ts_.is_op(":")) {
    parts.push_back(nullptr);
  } else if (!ts_.is_op("]") && !ts_.is_op(",")) {
    parts.push_back(parse_expression(true));
  } else {
    parts.push_back(nullptr);
  }
  if (ts_.is_op(":")) {
    ts_.next();
    parts.push_back(!ts_.is_op("]") && !ts_.is_op(",") ? parse_expression(true) : nullptr);
  } else {
    parts.push_back(nullptr);
  }
  auto e = make(ExprKind::kSlice, pos);
  e->operands = std::move(parts);
  return finish(std::move(e));
}

void ExprParser::parse_call_args(Expr& e) {
  const SourcePos pos = ts_.cur().pos;
  ts_.expect_op("(");
  bool require_comma = false;
  auto ensure = [&](bool ok) {
    if (!ok) fail_at(FailKind::kSyntax, pos, "invalid syntax for function call expression");
  };
  while (!ts_.is_op(")")) {
    if (require_comma) {
      ts_.expect_op(",");
      if (ts_.is_op(")")) break;  // trailing comma
    }
    if (ts_.is_op("*")) {
      ensure(!e.dyn_args && !e.dyn_kwargs);
      ts_.next();
      e.dyn_args = parse_expression(true);
    } else if (ts_.is_op("**")) {
      ensure(!e.dyn_kwargs);
      ts_.next();
      e.dyn_kwargs = parse_expression(true);
    } else if (ts_.cur().type == TokenType::kName && ts_.look().type == TokenType::kOperator && ts_.look().text == "=") {
      ensure(!e.dyn_kwargs);
      std::string key = ts_.cur().text;
      ts_.next();
      ts_.next();
      e.kwargs.emplace_back(std::move(key), parse_expression(true));
    } else {
      ensure(!e.dyn_args && !e.dyn_kwargs && e.kwargs.empty());
      e.operands.push_back(parse_expression(true));
    }
    require_comma = true;
  }
  ts_.expect_op(")");
}

ExprPtr ExprParser::parse_call(ExprPtr node) {
  auto e = make(ExprKind::kCall, node->pos);  // errors point at the start of the call expression
  e->operands.push_back(std::move(node));
  parse_call_args(*e);
  return finish(std::move(e));
}

std::string ExprParser::dotted_name() {
  std::string name = ts_.expect_name().text;
  while (ts_.is_op(".")) {
    ts_.next();
    name += "." + ts_.expect_name().text;
  }
  return name;
}

ExprPtr ExprParser::parse_filter(ExprPtr node, bool start_inline) {
  while (ts_.is_op("|") || start_inline) {
    if (!start_inline) ts_.next();
    start_inline = false;
    const SourcePos pos = ts_.cur().pos;
    auto e = make(ExprKind::kFilter, pos);
    e->name = dotted_name();
    bool known = false;
    e->filter = find_filter(e->name, known);
    if (!known && ts_.soft == 0) fail_at(FailKind::kSyntax, pos, fmt::format("No filter named '{}'.", e->name));
    e->operands.push_back(std::move(node));
    if (ts_.is_op("(")) parse_call_args(*e);
    node = finish(std::move(e));
  }
  return node;
}

ExprPtr ExprParser::parse_test(ExprPtr node) {
  const SourcePos pos = ts_.cur().pos;
  ts_.next();  // is
  const bool negated = ts_.skip_name("not");
  auto e = make(ExprKind::kTest, pos);
  e->name = dotted_name();
  bool known = false;
  e->test = find_test(e->name, known);
  if (!known && ts_.soft == 0) fail_at(FailKind::kSyntax, pos, fmt::format("No test named '{}'.", e->name));
  e->operands.push_back(std::move(node));
  const Token& t = ts_.cur();
  if (ts_.is_op("(")) {
    parse_call_args(*e);
  } else if ((t.type == TokenType::kName || t.type == TokenType::kString || t.type == TokenType::kInteger ||
              t.type == TokenType::kFloat || ts_.is_op("[") || ts_.is_op("{")) &&
             !(t.type == TokenType::kName && (t.text == "else" || t.text == "or" || t.text == "and"))) {
    if (ts_.is_name("is")) ts_.fail_here("You cannot chain multiple tests with is");
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

}  // namespace muse::text::jinja::detail
