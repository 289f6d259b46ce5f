// jinja::Failure: the exception the Jinja lexer, parser and interpreter throw internally.
//
// It carries the Python exception class the reference (jinja2) would raise, the message, and the
// template position once known. It never leaves the text module: ChatTemplate converts it into a
// muse::text::TemplateError (a muse::Error) naming the template, line and column.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <exception>
#include <string>
#include <utility>

namespace muse::text::jinja {

struct SourcePos {
  uint32_t line = 0;  // 1-based; 0 = unknown
  uint32_t col = 0;   // 1-based, in characters
};

enum class FailKind {
  kSyntax,     // TemplateSyntaxError / TemplateAssertionError: the template does not parse
  kType,       // TypeError
  kValue,      // ValueError
  kUndefined,  // UndefinedError: arithmetic, attribute or call on an undefined value
  kSecurity,   // SecurityError: the immutable sandbox refused (list.append, x.__class__)
  kZeroDivision,
  kOverflow,   // OverflowError, and integers beyond 64 bits
  kRaised,     // the template called raise_exception(msg): the message is the template's own text
  kLimit,      // an OpenMuse safety limit (output size, steps, recursion depth)
  kUnsupported,  // valid jinja2 that OpenMuse does not implement
};

const char* fail_kind_name(FailKind kind);  // "TypeError", "UndefinedError", ...

class Failure : public std::exception {
 public:
  Failure(FailKind kind, std::string message) : kind(kind), message(std::move(message)) {}
  const char* what() const noexcept override { return message.c_str(); }

  FailKind kind;
  std::string message;
  SourcePos pos;
  bool located = false;  // pos was filled in by the innermost node that saw the failure
};

template <typename... Args>
[[noreturn]] void fail(FailKind kind, fmt::format_string<Args...> format, Args&&... args) {
  throw Failure(kind, fmt::format(format, std::forward<Args>(args)...));
}

[[noreturn]] inline void fail_at(FailKind kind, SourcePos pos, std::string message) {
  Failure f(kind, std::move(message));
  f.pos = pos;
  f.located = true;
  throw f;
}

}  // namespace muse::text::jinja
