// WordPiece (tokenizer.ggml.model = "bert"), as Hugging Face's BertNormalizer + BertPreTokenizer +
// WordPiece for an uncased vocabulary:
//   normalize: drop NUL, U+FFFD and control characters, NFD, drop non-spacing marks (accents), lower-case
//   split:     on whitespace; every punctuation character and CJK ideograph is a word of its own
//   piece:     greedy longest match from the left; a word that cannot be pieced, or is longer than 100
//              characters, becomes [UNK] as a whole.
// The GGUF vocabulary spells word-initial pieces with a U+2581 prefix and continuation pieces bare (the
// converter rewrote "##x" as "x" and "x" as "▁x"), so the first piece is looked up with the prefix.
#include <utf8proc.h>

#include "text/tokenizer_impl.h"
#include "text/tokenizer_unicode.h"

namespace muse::text::detail {
namespace {

constexpr size_t kMaxWordChars = 100;  // Hugging Face's max_input_chars_per_word

bool is_control(uint32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;  // these count as whitespace
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO: case UTF8PROC_CATEGORY_CN:
      return true;
    default:
      return false;
  }
}

bool is_punctuation(uint32_t cp) {
  // BERT counts all ASCII non-alphanumeric printables ($, +, <, ^, `, |, ~ are symbols in Unicode).
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
    return true;
  }
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS: case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF: case UTF8PROC_CATEGORY_PO:
      return true;
    default:
      return false;
  }
}

bool is_cjk_ideograph(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

void piece_word(const Tokenizer::Impl& t, const std::string& word, size_t n_chars, std::vector<int32_t>& out) {
  const size_t mark = out.size();
  if (n_chars <= kMaxWordChars) {
    std::string key;
    const auto* bytes = reinterpret_cast<const unsigned char*>(word.data());
    size_t pos = 0;
    while (pos < word.size()) {
      const std::string_view prefix = pos == 0 ? kSpmSpace : std::string_view();
      // Candidate ends on character boundaries, longest first, capped by the longest token.
      size_t limit = std::min(word.size(), pos + t.max_token_len);
      int32_t found = -1;
      size_t found_end = 0;
      std::vector<size_t> ends;
      for (size_t e = pos; e < limit;) {
        e += utf8_char_len(bytes + e, word.size() - e);
        if (e <= limit) ends.push_back(e);
      }
      for (auto it = ends.rbegin(); it != ends.rend(); ++it) {
        key.assign(prefix);
        key.append(word, pos, *it - pos);
        if (const int32_t id = t.find_id(key); id >= 0) {
          found = id;
          found_end = *it;
          break;
        }
      }
      if (found < 0) {
        out.resize(mark);
        break;
      }
      out.push_back(found);
      pos = found_end;
    }
  }
  if (out.size() == mark) out.push_back(t.unk);
}

}  // namespace

void wpm_encode(const Tokenizer::Impl& t, std::string_view text, std::vector<int32_t>& out) {
  // Valid code points only: an invalid byte would become U+FFFD, which the normalizer drops anyway.
  std::string clean;
  clean.reserve(text.size());
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  for (size_t i = 0; i < text.size();) {
    const Utf8Step s = utf8_step(bytes + i, text.size() - i);
    if (s.kind == Utf8Step::kValid) clean.append(text.substr(i, s.len));
    i += s.kind == Utf8Step::kValid ? s.len : std::max<size_t>(s.len, 1);
  }
  if (clean.empty()) return;

  // NFD with canonical ordering; utf8proc_decompose reports the size it needs when the buffer is short.
  std::vector<utf8proc_int32_t> cps(clean.size() + 8);
  const auto* src = reinterpret_cast<const utf8proc_uint8_t*>(clean.data());
  auto n = utf8proc_decompose(src, static_cast<utf8proc_ssize_t>(clean.size()), cps.data(),
                              static_cast<utf8proc_ssize_t>(cps.size()), UTF8PROC_DECOMPOSE);
  if (n > static_cast<utf8proc_ssize_t>(cps.size())) {
    cps.resize(static_cast<size_t>(n));
    n = utf8proc_decompose(src, static_cast<utf8proc_ssize_t>(clean.size()), cps.data(),
                           static_cast<utf8proc_ssize_t>(cps.size()), UTF8PROC_DECOMPOSE);
  }
  if (n < 0) return;  // cannot happen on valid UTF-8; treat as nothing to tokenize rather than guess
  cps.resize(static_cast<size_t>(n));

  std::string word;
  size_t word_chars = 0;
  auto finish = [&] {
    if (!word.empty()) piece_word(t, word, word_chars, out);
    word.clear();
    word_chars = 0;
  };
  for (const utf8proc_int32_t c : cps) {
    const auto cp = static_cast<uint32_t>(c);
    if (cp == 0 || cp == kReplacementChar || is_control(cp)) continue;
    if (is_unicode_whitespace(cp)) {
      finish();
      continue;
    }
    if (utf8proc_category(c) == UTF8PROC_CATEGORY_MN) continue;  // strip accents
    const auto lower = static_cast<uint32_t>(utf8proc_tolower(c));
    if (is_punctuation(cp) || is_cjk_ideograph(cp)) {
      finish();
      append_utf8(word, lower);
      word_chars = 1;
      finish();
      continue;
    }
    append_utf8(word, lower);
    ++word_chars;
  }
  finish();
}

}  // namespace muse::text::detail
