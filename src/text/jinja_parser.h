// Jinja parser: tokens -> Program, following jinja2 3.1's grammar and operator precedence.
//
// Supported tags: if/elif/else, for (else, `if` filter, recursive), set (plain, tuple, namespace
// attribute, block form with filters), macro, call, filter, with, block, raw, break/continue
// (loopcontrols), print, and transformers' generation tag (rendered as its body). extends, include,
// import and from need a template loader and are rejected. Unknown tags, filters and tests are
// errors at parse time, as in jinja2.
// Throws jinja::Failure(kSyntax) with the position of the offending token. Nesting deeper than
// kMaxParseDepth is rejected so hostile input cannot exhaust the stack.
#pragma once

#include <string_view>

#include "text/jinja_ast.h"

namespace muse::text::jinja {

inline constexpr int kMaxParseDepth = 256;  // parser recursion (about 3 levels per nested parenthesis)

Program parse_template(std::string_view source, std::string name);

// Filter and test tables (jinja_filters.cpp, jinja_predicates.cpp). `known` says whether jinja2
// has such a filter/test at all; the function is null for ones OpenMuse does not implement.
FilterFn find_filter(std::string_view name, bool& known);
TestFn find_test(std::string_view name, bool& known);

}  // namespace muse::text::jinja
