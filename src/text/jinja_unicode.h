// Python `str` semantics over UTF-8 bytes, for the Jinja interpreter.
//
// Python strings are sequences of code points: len(), indexing, slicing, strip(chars), center() and
// friends count code points, and whitespace/case follow Unicode. These helpers give the same
// results on UTF-8 std::strings. Invalid UTF-8 (possible only in template text, never in JSON input)
// is carried through unchanged: each bad byte b decodes to the lone surrogate U+DC00+b, as Python's
// "surrogateescape" does, and encodes back to b.
// Pure functions; thread-safe; they throw jinja::Failure only where Python raises (empty separator).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace muse::text::jinja {

std::u32string decode_utf8(std::string_view s);
void append_utf8(std::string& out, char32_t cp);
std::string encode_utf8(std::u32string_view cps);
size_t utf8_length(std::string_view s);  // number of code points
bool is_ascii(std::string_view s);

// Character classes as Python's str methods define them (approximated with utf8proc's Unicode data
// where Python uses properties utf8proc lacks).
bool py_isspace(char32_t c);
bool py_isalpha(char32_t c);
bool py_isdecimal(char32_t c);
bool py_isdigit(char32_t c);
bool py_isnumeric(char32_t c);
bool py_isalnum(char32_t c);
bool py_isprintable(char32_t c);
bool py_iscased(char32_t c);
bool py_islower_char(char32_t c);
bool py_isupper_char(char32_t c);
char32_t py_upper(char32_t c);
char32_t py_lower(char32_t c);
char32_t py_title(char32_t c);

std::string str_upper(std::string_view s);
std::string str_lower(std::string_view s);
std::string str_swapcase(std::string_view s);
std::string str_capitalize(std::string_view s);  // str.capitalize()
std::string str_title(std::string_view s);       // str.title() (not jinja's |title filter)

// str.strip/lstrip/rstrip: `chars` = nullopt strips whitespace.
std::string str_strip(std::string_view s, std::optional<std::string_view> chars, bool left, bool right);
// str.split / str.rsplit: sep = nullopt splits on runs of whitespace; maxsplit < 0 = no limit.
std::vector<std::string> str_split(std::string_view s, std::optional<std::string_view> sep, int64_t maxsplit);
std::vector<std::string> str_rsplit(std::string_view s, std::optional<std::string_view> sep, int64_t maxsplit);
std::vector<std::string> str_splitlines(std::string_view s, bool keepends);
// str.replace(old, new, count); count < 0 = all. REQUIRES: caller bounds the result size.
std::string str_replace(std::string_view s, std::string_view old, std::string_view with, int64_t count);
size_t str_replace_result_size(std::string_view s, std::string_view old, std::string_view with, int64_t count);
// str.find / rfind / count / startswith / endswith, with optional start/end in code points.
int64_t str_find(std::string_view s, std::string_view sub, std::optional<int64_t> start, std::optional<int64_t> end,
                 bool reverse);
int64_t str_count(std::string_view s, std::string_view sub, std::optional<int64_t> start, std::optional<int64_t> end);
bool str_startswith(std::string_view s, std::string_view prefix, std::optional<int64_t> start,
                    std::optional<int64_t> end, bool at_end);
// Padding: str.center / ljust / rjust (width in code points, fill one code point), str.zfill.
std::string str_pad(std::string_view s, int64_t width, char32_t fill, char align /* '<' '>' '^' */);
std::string str_zfill(std::string_view s, int64_t width);
// Python's slice.indices(len): normalised start/stop/step and the number of selected items.
// Throws ValueError for a zero step.
struct SliceIndices {
  int64_t start = 0, stop = 0, step = 1, count = 0;
};
SliceIndices adjust_slice(int64_t len, std::optional<int64_t> start, std::optional<int64_t> stop,
                          std::optional<int64_t> step);
std::string str_slice(std::string_view s, const SliceIndices& sl);
std::string str_char_at(std::string_view s, int64_t index);  // REQUIRES 0 <= index < length

}  // namespace muse::text::jinja
