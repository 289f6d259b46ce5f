// Jinja lexer: template text -> tokens, with jinja2's exact whitespace rules.
//
// Matches jinja2 3.1's Lexer configured as transformers configures it (trim_blocks, lstrip_blocks,
// keep_trailing_newline=False): newlines are normalised to "\n" and one trailing newline dropped;
// `{%-`/`-%}` strip all whitespace on that side; lstrip_blocks removes spaces and tabs before a
// `{%` or `{#` that starts a line; trim_blocks removes the first newline after `%}` or `#}`;
// `{%+`/`+%}` disable both. Comments vanish, `{% raw %}` bodies become text.
// Pure function; throws jinja::Failure(kSyntax) with the position of the offending character.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "text/jinja_failure.h"

namespace muse::text::jinja {

enum class TokenType : uint8_t {
  kData,        // template text between tags
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,
  kString,      // text holds the decoded value
  kInteger,
  kFloat,
  kOperator,    // text holds the operator, e.g. "//", "(", "|"
  kEof,
};

struct Token {
  TokenType type = TokenType::kEof;
  std::string text;
  int64_t int_value = 0;
  double float_value = 0.0;
  SourcePos pos;
};

struct LexerOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
};

// The last token is always kEof.
std::vector<Token> tokenize(std::string_view source, const LexerOptions& options = {});

// A short human description of a token for error messages ("'endfor'", "end of print statement").
std::string describe_token(const Token& t);

}  // namespace muse::text::jinja
