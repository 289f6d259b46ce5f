// UTF-8 and Unicode helpers for the tokenizers (internal to src/text).
//
// Pure functions over caller-owned bytes: no allocation beyond the strings they return, no shared state,
// safe from any thread. Nothing here throws; invalid UTF-8 is reported through return values.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace muse::text::detail {

inline constexpr uint32_t kReplacementChar = 0xFFFD;

// Result of reading one UTF-8 sequence at the start of a byte range.
struct Utf8Step {
  enum Kind : uint8_t { kValid, kIncomplete, kInvalid } kind;
  uint8_t len;  // kValid: sequence length; kIncomplete: bytes present (a valid prefix that the range cut
                // short); kInvalid: length of the maximal invalid subpart (>= 1) to replace by one U+FFFD
  uint32_t cp;  // kValid only
};
Utf8Step utf8_step(const unsigned char* p, size_t n);

// Length of a valid sequence at p, or 1 for a byte that does not start one (so a loop always advances).
inline size_t utf8_char_len(const unsigned char* p, size_t n) {
  Utf8Step s = utf8_step(p, n);
  return s.kind == Utf8Step::kValid ? s.len : 1;
}

void append_utf8(std::string& out, uint32_t cp);

// GPT-2's byte-level alphabet: every byte maps to a printable code point. Printable Latin-1 bytes
// ('!'..'~', 0xA1..0xAC, 0xAE..0xFF) map to themselves; the other 68 bytes, in byte order, to 256, 257, ...
struct ByteLevelTables {
  std::array<uint32_t, 256> byte_to_cp;
  std::array<int16_t, 324> cp_to_byte;  // -1 for code points that are not in the alphabet
};
const ByteLevelTables& byte_level_tables();

// Whitespace as the Unicode White_Space property defines it (what \s means to the reference regexes).
bool is_unicode_whitespace(uint32_t cp);

}  // namespace muse::text::detail
