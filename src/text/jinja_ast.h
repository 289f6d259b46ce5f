// The parsed form of a Jinja template: expressions and statements, as jinja2's parser builds them.
//
// A Program is immutable after parsing and owns all its nodes; the interpreter only reads it, so one
// Program can be rendered by many threads at once. Filters and tests are resolved to function
// pointers at parse time (an unknown name is a parse error, as in jinja2).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "text/jinja_failure.h"
#include "text/jinja_value.h"

namespace muse::text::jinja {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

enum class ExprKind : uint8_t {
  kConst,     // constant
  kName,      // name
  kList,      // operands = items
  kTuple,     // operands = items
  kDict,      // operands = key0, value0, key1, value1, ...
  kGetAttr,   // operands[0].name
  kGetItem,   // operands[0][operands[1]]
  kSlice,     // operands = start, stop, step (each may be null); only as a kGetItem index
  kCall,      // operands[0](operands[1..], kwargs)
  kFilter,    // operands[0]|name(operands[1..], kwargs); operands[0] null in filter blocks
  kTest,      // operands[0] is name(operands[1..], kwargs)
  kNeg,       // -operands[0]
  kPos,       // +operands[0]
  kNot,       // not operands[0]
  kAnd,       // operands[0] and operands[1]
  kOr,        // operands[0] or operands[1]
  kBinary,    // operands[0] bin_op operands[1]
  kConcat,    // operands joined with ~
  kCompare,   // operands[0] cmp_ops[0] operands[1] cmp_ops[1] operands[2] ... (chained)
  kCondExpr,  // operands[1] if operands[0] else operands[2] (operands[2] may be null)
};

enum class BinOp : uint8_t { kAdd, kSub, kMul, kDiv, kFloorDiv, kMod, kPow };
enum class CmpOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn };

class Interpreter;
using FilterFn = Value (*)(Interpreter&, const Value& subject, CallArgs& args);
using TestFn = bool (*)(Interpreter&, const Value& subject, CallArgs& args);

struct Expr {
  ExprKind kind = ExprKind::kConst;
  SourcePos pos;
  int depth = 1;  // height of this subtree; the parser bounds it so evaluation cannot overflow the stack
  BinOp bin_op = BinOp::kAdd;
  std::vector<CmpOp> cmp_ops;
  std::string name;  // kName, kGetAttr attribute, kFilter/kTest name
  Value constant;    // kConst
  std::vector<ExprPtr> operands;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  ExprPtr dyn_args;    // *args in a call
  ExprPtr dyn_kwargs;  // **kwargs in a call
  FilterFn filter = nullptr;  // kFilter; null = a jinja2 filter OpenMuse does not implement
  TestFn test = nullptr;      // kTest; null likewise
};

// An assignment target: a name, a tuple of targets, or namespace.attr.
struct Target {
  enum class Kind : uint8_t { kName, kTuple, kNamespaceAttr } kind = Kind::kName;
  std::string name;  // kName, or the namespace variable
  std::string attr;  // kNamespaceAttr
  std::vector<Target> items;
  SourcePos pos;
};

// A macro, or the body of a {% call %} block (which is an anonymous macro named "caller").
struct MacroDef {
  std::string name;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // one per param; null = no default
  Body body;
  bool uses_caller = false;   // the body reads `caller`
  bool uses_varargs = false;  // the body reads `varargs`
  bool uses_kwargs = false;   // the body reads `kwargs`
  SourcePos pos;
};

enum class StmtKind : uint8_t {
  kText,       // text
  kOutput,     // exprs printed in order
  kIf,         // if exprs[0]: body else: else_body
  kFor,        // for target in exprs[0] [if exprs[1]] [recursive]: body else: else_body
  kSet,        // target = exprs[0]
  kSetBlock,   // target = rendered body [| filter]
  kMacro,      // macro
  kCallBlock,  // call exprs[0] with macro as `caller`
  kFilterBlock,  // rendered body | filter
  kWith,       // with targets[i] = exprs[i]: body
  kScope,      // a new scope around body ({% block %} without inheritance, {% generation %})
  kBreak,
  kContinue,
};

struct Stmt {
  StmtKind kind = StmtKind::kText;
  SourcePos pos;
  std::string text;
  std::vector<ExprPtr> exprs;
  std::vector<Target> targets;
  Body body;
  Body else_body;
  ExprPtr filter;  // kSetBlock, kFilterBlock: a kFilter chain whose innermost subject is null
  std::unique_ptr<MacroDef> macro;  // kMacro, kCallBlock
  bool recursive = false;           // kFor
};

struct Program {
  std::string name;
  Body body;
};

}  // namespace muse::text::jinja
