// tojson as transformers defines it for chat templates: Python's json.dumps(x, ensure_ascii=False,
// indent=None, separators=None, sort_keys=False), which (unlike jinja2's own tojson) does not
// HTML-escape and keeps the key order of the input.
//
// Pure function of its inputs; throws jinja::Failure(kType) for values JSON cannot hold (undefined,
// generators, functions) and kLimit past kMaxNesting levels or the caller's size limit.
#pragma once

#include <optional>
#include <string>

#include "text/jinja_value.h"

namespace muse::text::jinja {

struct JsonOptions {
  bool ensure_ascii = false;             // escape every non-ASCII character as \uXXXX
  std::optional<std::string> indent;     // nullopt = one line; "" = newlines without indentation
  std::string item_separator = ", ";     // json.dumps default; "," when indent is set
  std::string key_separator = ": ";
  bool sort_keys = false;
  size_t max_bytes = SIZE_MAX;           // fail (kLimit) rather than build more than this
};

std::string to_json(const Value& v, const JsonOptions& options);

}  // namespace muse::text::jinja
