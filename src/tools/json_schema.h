// JSON Schema -> Grammar (for constrained decoding) and a JSON Schema validator (for checking tool
// arguments and testing the grammar).
//
// compile_json_schema() turns a schema into a byte-level Grammar whose documents are valid JSON that
// matches the schema. The grammar is the "canonical" subset of the valid documents:
//   - object properties appear in the schema's declared order; required ones always, optional ones may
//     be left out; properties not declared are only allowed when additionalProperties is true or a
//     schema (default false, like OpenAI's strict mode), and then after the declared ones;
//   - whitespace before the value and between tokens is limited to options.max_whitespace bytes per
//     gap (0: compact JSON), none after the value (it ends the document),
//     so a model cannot loop on blank space;
//   - strings are valid UTF-8 (no overlong forms, no surrogates) with JSON escapes.
// Supported: type (incl. lists), properties, required, additionalProperties, items, minItems, maxItems,
// enum, const, anyOf, oneOf (as anyOf), allOf of one schema, $ref into the same document ("#",
// "#/$defs/..", "#/definitions/.."; recursion works), minLength/maxLength (up to 1024), integer
// minimum >= 0 (no sign), the empty schema (any JSON). Keywords that only annotate are ignored;
// keywords that constrain values in a way the grammar does not (pattern, numeric bounds, format,
// uniqueItems, ...) are listed in CompiledSchema::notes and must be checked with validate_json().
//
// Errors: a schema that is not an object/bool, a bad $ref, a type name that is not one of JSON
// Schema's, or an empty enum throws muse::Error(kInvalidArgument) naming the JSON pointer.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/grammar.h"

namespace muse::tools {

struct SchemaOptions {
  int max_whitespace = 2;  // whitespace bytes allowed per gap between JSON tokens
};

struct CompiledSchema {
  Grammar grammar;
  std::vector<std::string> notes;  // "at /properties/x: pattern is not enforced by the grammar", ...
};

CompiledSchema compile_json_schema(const nlohmann::json& schema, const SchemaOptions& options = {});

// A document of fixed text around one JSON value: up to max_whitespace blank bytes, then one of the
// choices: its `before` text, a value matching its schema, its `after` text. A tool call is one
// (tools::call_choices): before = `<tool_call>\n{"name": "f", "arguments": `, schema = f's parameters,
// after = `}\n</tool_call>`; a choice with empty texts is a plain JSON document, so "a call or a JSON
// answer" is one grammar. Each schema's $refs resolve in that schema. Throws like
// compile_json_schema, and kInvalidArgument for no choices.
struct WrappedSchema {
  std::string before;
  nlohmann::json schema;
  std::string after;
};
CompiledSchema compile_wrapped_json(const std::vector<WrappedSchema>& choices, const SchemaOptions& options = {});

// The grammar of any JSON value (what response_format {"type": "json_object"} asks for).
CompiledSchema any_json_grammar(const SchemaOptions& options = {});

// Standard JSON Schema semantics for the keywords above plus minimum/maximum/exclusiveMinimum/
// exclusiveMaximum (additionalProperties absent = allowed, property order free). Returns "" when `doc`
// is valid, else the first violation, e.g. "$.items[2]: expected integer". Never throws for a bad
// document; throws kInvalidArgument for a bad schema as compile_json_schema does.
std::string validate_json(const nlohmann::json& schema, const nlohmann::json& doc);

}  // namespace muse::tools
