// Property tests on the real vocabularies of ${MUSE_SHARED_DATA}/tokenizer: for random Unicode text,
// decode(encode(s)) == s, streaming adds up to decode(), and control tokens never come out of text
// unless parse_special is set. With rapidcheck (MUSE_HAVE_RAPIDCHECK) the inputs are generated and
// shrunk by it; without it a seeded generator runs the same properties.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#ifdef MUSE_HAVE_RAPIDCHECK
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#endif

#include "gguf/gguf.h"
#include "text/tokenizer.h"
#include "text/tokenizer_unicode.h"

namespace muse::text {
namespace {

const Tokenizer& vocab(const std::string& name) {
  // Loaded once per test program: each load parses a few MB of metadata.
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& slot = cache[name];
  if (!slot) {
    auto file = gguf::File::open(std::string(MUSE_SHARED_DATA) + "/tokenizer/ggml-vocab-" + name + ".gguf");
    slot = Tokenizer::from_gguf(*file);
  }
  return *slot;
}

const std::vector<std::string> kLossless = {"llama-spm", "phi-3", "gpt-2", "deepseek-coder"};

// Code points from the classes that stress tokenizers: ASCII, whitespace of every kind, Latin-1,
// combining marks, CJK, Hangul, emoji with ZWJ/VS16, and anything valid up to U+10FFFF.
uint32_t pick_code_point(uint32_t cls, uint32_t r) {
  static const uint32_t spaces[] = {' ', '\t', '\n', '\r', 0x0B, 0x85, 0xA0, 0x2000, 0x3000, 0x200D, 0xFE0F, 0x2581};
  switch (cls % 9) {
    case 0: case 1: return 0x20 + r % 95;
    case 2: return spaces[r % (sizeof(spaces) / sizeof(spaces[0]))];
    case 3: return 0xA1 + r % 0x15F;
    case 4: return 0x300 + r % 0x70;
    case 5: return 0x4E00 + r % 0x5200;
    case 6: return 0xAC00 + r % 0x2BA4;
    case 7: return 0x1F300 + r % 0x400;
    default: {
      uint32_t cp = r % 0x110000;
      return (cp >= 0xD800 && cp <= 0xDFFF) ? cp - 0x800 : cp;  // no surrogates: they are not UTF-8
    }
  }
}

std::string to_utf8(const std::vector<uint32_t>& cps) {
  std::string s;
  for (uint32_t cp : cps) detail::append_utf8(s, cp);
  return s;
}

// The properties; each returns "" or a description of the failure.
// SPM writes spaces as U+2581, so a literal U+2581 in the text comes back as a space (as in SentencePiece).
bool spm_space_in(const Tokenizer& t, const std::string& text) {
  return t.kind() == TokenizerKind::kSpm && text.find("\xE2\x96\x81") != std::string::npos;
}

std::string check_round_trip(const std::string& text) {
  for (const std::string& name : kLossless) {
    const Tokenizer& t = vocab(name);
    const auto ids = t.encode(text, false, false);
    if (t.decode(ids) != text && !spm_space_in(t, text)) return name + ": decode(encode(s)) != s";
    for (int32_t id : ids) {
      if (t.is_control(id)) return name + ": control token " + std::to_string(id) + " from plain text";
    }
    StreamDecoder stream(t, {.skip_special = false, .text_start = true});
    std::string joined;
    for (int32_t id : ids) {
      const std::string part = stream.push(id);
      if (sanitize_utf8(part) != part) return name + ": stream emitted broken UTF-8";
      joined += part;
    }
    joined += stream.flush();
    if (joined != t.decode(ids)) return name + ": stream != decode";
  }
  return "";
}

// Whether every byte of `bytes` has a normal token of its own in `t` (deepseek-coder spells C0, C1 and
// F5..FF, which never occur in valid UTF-8, with added tokens that decode to their text instead).
bool bytes_representable(const Tokenizer& t, const std::string& bytes) {
  for (unsigned char b : bytes) {
    if (b < 0x80) continue;
    const auto ids = t.encode(std::string(1, static_cast<char>(b)), false, false);
    if (ids.empty() || t.token_type(ids.back()) == TokenType::kUserDefined) return false;
  }
  return true;
}

// Invalid UTF-8 too: byte-level BPE and SPM byte fallback lose nothing the vocabulary can spell.
std::string check_bytes_round_trip(const std::string& bytes) {
  for (const std::string& name : kLossless) {
    const Tokenizer& t = vocab(name);
    if (!bytes_representable(t, bytes) || spm_space_in(t, bytes)) continue;
    if (t.decode(t.encode(bytes, false, false)) != bytes) return name + ": bytes not preserved";
  }
  return "";
}

// Special-token text in the input: plain encoding never yields a control token; with parse_special the
// byte-level vocabs still round-trip (their control tokens decode to their own text).
std::string check_special_text(const std::string& text) {
  for (const std::string& name : kLossless) {
    const Tokenizer& t = vocab(name);
    for (int32_t id : t.encode(text, false, false)) {
      if (t.is_control(id)) return name + ": control token " + std::to_string(id) + " without parse_special";
    }
  }
  for (const std::string& name : {std::string("gpt-2"), std::string("deepseek-coder")}) {
    const Tokenizer& t = vocab(name);
    if (t.decode(t.encode(text, false, true)) != text) return name + ": parse_special round trip";
  }
  return "";
}

const std::vector<std::string> kSpecialTexts = {"<s>", "</s>", "<unk>", "<|endoftext|>", "<|end|>", "<|user|>",
                                                "<｜begin▁of▁sentence｜>", "<|EOT|>", "<", "|>", "[PAD32011]"};

#ifdef MUSE_HAVE_RAPIDCHECK

rc::Gen<std::string> unicode_text() {
  return rc::gen::map(rc::gen::container<std::vector<std::pair<uint32_t, uint32_t>>>(
                          rc::gen::pair(rc::gen::arbitrary<uint32_t>(), rc::gen::arbitrary<uint32_t>())),
                      [](const std::vector<std::pair<uint32_t, uint32_t>>& v) {
                        std::vector<uint32_t> cps;
                        for (const auto& [cls, r] : v) cps.push_back(pick_code_point(cls, r));
                        return to_utf8(cps);
                      });
}

RC_GTEST_PROP(TokenizerProperty, RandomUnicodeRoundTrips, ()) {
  const std::string text = *unicode_text();
  const std::string failure = check_round_trip(text);
  RC_ASSERT(failure == "");
}

RC_GTEST_PROP(TokenizerProperty, RandomBytesRoundTrip, (const std::vector<uint8_t>& raw)) {
  const std::string failure = check_bytes_round_trip(std::string(raw.begin(), raw.end()));
  RC_ASSERT(failure == "");
}

RC_GTEST_PROP(TokenizerProperty, SpecialTextIsTextUnlessParsed, ()) {
  const auto parts = *rc::gen::container<std::vector<std::string>>(
      rc::gen::oneOf(rc::gen::elementOf(kSpecialTexts), unicode_text()));
  std::string text;
  for (const auto& p : parts) text += p;
  const std::string failure = check_special_text(text);
  RC_ASSERT(failure == "");
}

#else

TEST(TokenizerProperty, SeededRandomInputs) {
  std::mt19937 rng(2024);
  for (int round = 0; round < 200; ++round) {
    std::vector<uint32_t> cps;
    for (int i = 0, n = static_cast<int>(rng() % 40); i < n; ++i) cps.push_back(pick_code_point(rng(), rng()));
    const std::string text = to_utf8(cps);
    ASSERT_EQ(check_round_trip(text), "") << text;
    std::string bytes;
    for (int i = 0, n = static_cast<int>(rng() % 40); i < n; ++i) bytes += static_cast<char>(rng());
    ASSERT_EQ(check_bytes_round_trip(bytes), "");
    std::string special;
    for (int i = 0, n = static_cast<int>(rng() % 6); i < n; ++i) {
      special += rng() % 2 ? kSpecialTexts[rng() % kSpecialTexts.size()] : to_utf8({pick_code_point(rng(), rng())});
    }
    ASSERT_EQ(check_special_text(special), "") << special;
  }
}

#endif

}  // namespace
}  // namespace muse::text
