// Internals of the Jinja parser, shared by its statement half (jinja_parser.cpp) and its expression
// half (jinja_parser_expr.cpp). Not a public interface: use parse_template() from jinja_parser.h.
//
// TokenStream is the cursor over the lexer's tokens plus the two pieces of state both halves need:
// the recursion budget (kMaxParseDepth) and whether unknown filters/tests must wait for run time.
// One parse owns one TokenStream; nothing here is shared between threads. Failures are
// jinja::Failure(kSyntax) at the current token.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "text/jinja_ast.h"
#include "text/jinja_lexer.h"
#include "text/jinja_parser.h"

namespace muse::text::jinja::detail {

class TokenStream {
 public:
  explicit TokenStream(std::vector<Token> tokens) : toks_(std::move(tokens)) {}  // REQUIRES ends with kEof

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

  // Counts one level of parser recursion; refuses templates nested past kMaxParseDepth.
  struct DepthGuard {
    explicit DepthGuard(TokenStream& ts) : ts(ts) {
      if (++ts.depth > kMaxParseDepth) ts.fail_here(fmt::format("template nested deeper than {} levels", kMaxParseDepth));
    }
    ~DepthGuard() { --ts.depth; }
    TokenStream& ts;
  };

  int depth = 0;
  // > 0 inside if-statements and conditional expressions, where jinja2 defers "No filter named ..."
  // to run time.
  int soft = 0;

 private:
  std::vector<Token> toks_;
  size_t p_ = 0;
};

// Expressions, following jinja2's precedence: condexpr < or < and < not < compare < +,- < ~ <
// *,/,//,% < ** (left-associative) < unary -,+ < postfix (. [] ()) and filters/tests.
class ExprParser {
 public:
  explicit ExprParser(TokenStream& ts) : ts_(ts) {}

  ExprPtr parse_expression(bool with_condexpr);
  // Comma-separated expressions; a single one without a comma is returned as is.
  // `simplified` parses primaries only (assignment targets); `extra_end` names end the list.
  ExprPtr parse_tuple(bool simplified, bool with_condexpr, std::initializer_list<std::string_view> extra_end,
                      bool explicit_parentheses);
  ExprPtr parse_primary();
  // `node|f|g(...)`; with start_inline the first filter has no leading pipe ({% filter f %}).
  ExprPtr parse_filter(ExprPtr node, bool start_inline);

 private:
  ExprPtr make(ExprKind kind, SourcePos pos);
  ExprPtr finish(ExprPtr e);
  ExprPtr binary(ExprKind kind, SourcePos pos, ExprPtr a, ExprPtr b);
  ExprPtr parse_condexpr();
  ExprPtr parse_or();
  ExprPtr parse_and();
  ExprPtr parse_not();
  ExprPtr parse_compare();
  ExprPtr arith(BinOp op, SourcePos pos, ExprPtr a, ExprPtr b);
  ExprPtr parse_math1();
  ExprPtr parse_concat();
  ExprPtr parse_math2();
  ExprPtr parse_pow();
  ExprPtr parse_unary(bool with_filter);
  bool is_tuple_end(std::initializer_list<std::string_view> extra_end) const;
  ExprPtr parse_list();
  ExprPtr parse_dict();
  ExprPtr parse_postfix(ExprPtr node);
  ExprPtr parse_filter_expr(ExprPtr node);
  ExprPtr parse_subscript(ExprPtr node);
  ExprPtr parse_subscribed();
  void parse_call_args(Expr& e);
  ExprPtr parse_call(ExprPtr node);
  std::string dotted_name();
  ExprPtr parse_test(ExprPtr node);

  TokenStream& ts_;
};

}  // namespace muse::text::jinja::detail
