// Tests of the BPE regex pre-tokenizers: the splits of the main families on inputs that separate them,
// Unicode categories, and that every known pre-tokenizer covers any input (valid or not) exactly.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "text/tokenizer_pretokenize.h"

namespace muse::text::detail {
namespace {

std::vector<std::string> split(const std::string& name, const std::string& text) {
  PreTokenizer pre(name, "test");
  SplitScratch scratch;
  std::vector<Span> spans;
  pre.split(text, spans, scratch);
  std::vector<std::string> out;
  for (const Span& s : spans) out.push_back(text.substr(s.begin, s.len));
  return out;
}

using Pieces = std::vector<std::string>;

TEST(PreTokenizer, Gpt2) {
  EXPECT_EQ(split("gpt-2", "Hello world's  123!!"), (Pieces{"Hello", " world", "'s", " ", " 123", "!!"}));
  // Contractions are case-sensitive in GPT-2.
  EXPECT_EQ(split("gpt-2", "I'M"), (Pieces{"I", "'", "M"}));
  EXPECT_EQ(split("gpt-2", "a\n\n b"), (Pieces{"a", "\n\n", " b"}));
}

TEST(PreTokenizer, Llama3AndQwen2Digits) {
  EXPECT_EQ(split("llama-bpe", "1234567"), (Pieces{"123", "456", "7"}));
  EXPECT_EQ(split("qwen2", "1234"), (Pieces{"1", "2", "3", "4"}));
  // Case-insensitive contractions; a symbol may lead a word; newline runs stand alone.
  EXPECT_EQ(split("llama-bpe", "I'M (x)\n\n y"), (Pieces{"I", "'M", " (", "x", ")\n\n", " y"}));
  EXPECT_EQ(split("llama-bpe", "a  \n b"), (Pieces{"a", "  \n", " b"}));
}

TEST(PreTokenizer, UnicodeCategories) {
  // ï and é are letters; a combining acute accent (NFD) is a mark, not a letter.
  EXPECT_EQ(split("gpt-2", "na\xC3\xAFve caf\xC3\xA9"), (Pieces{"na\xC3\xAFve", " caf\xC3\xA9"}));
  EXPECT_EQ(split("gpt-2", "cafe\xCC\x81"), (Pieces{"cafe", "\xCC\x81"}));
  // Ideographic space and no-break space are whitespace; CJK ideographs are letters.
  EXPECT_EQ(split("gpt-2", "a\xE3\x80\x80" "b"), (Pieces{"a", "\xE3\x80\x80", "b"}));
  EXPECT_EQ(split("gpt-2", "\xE4\xBD\xA0\xE5\xA5\xBD!"), (Pieces{"\xE4\xBD\xA0\xE5\xA5\xBD", "!"}));
  // U+180E (Mongolian vowel separator) left White_Space in Unicode 6.3: it is a format character, not
  // a space, so it stays with the symbol run before it (PCRE2's own \s would split it off).
  EXPECT_EQ(split("gpt-2", "-\xE1\xA0\x8E"), (Pieces{"-\xE1\xA0\x8E"}));
  EXPECT_EQ(split("gpt-2", "a\xC2\x85" "b"), (Pieces{"a", "\xC2\x85", "b"}));  // U+0085 NEL is whitespace
  // Arabic-Indic digits are numbers.
  EXPECT_EQ(split("qwen2", "\xD9\xA1\xD9\xA2"), (Pieces{"\xD9\xA1", "\xD9\xA2"}));
}

TEST(PreTokenizer, DeepseekCoderSequence) {
  // Newlines alone, letters with one leading space, punctuation runs, each digit, CJK runs. '=' is a
  // math symbol (Sm), not punctuation: no regex matches it, so it stays in a gap with its spaces.
  EXPECT_EQ(split("deepseek-coder", "x = 12;\n\xE4\xBD\xA0\xE5\xA5\xBD"),
            (Pieces{"x", " = ", "1", "2", ";", "\n", "\xE4\xBD\xA0\xE5\xA5\xBD"}));
  EXPECT_EQ(split("deepseek-coder", "a, b"), (Pieces{"a", ",", " b"}));
}

TEST(PreTokenizer, EveryKnownNameCoversAnyInputExactly) {
  std::mt19937 rng(42);
  const std::vector<std::string> atoms = {"a",  "Z",  " ",  "  ", "\n", "\r\n", "\t", "7",  "'s", "'LL", "!",
                                          "?!", "\xC3\xA9", "\xE4\xBD\xA0", "\xF0\x9F\x98\x80", "\xE2\x80\x8D",
                                          "\xCC\x81", "\xFF", "\xC3", "\x80", "IMGIMGAZ", "<sentinel:3>"};
  for (const std::string& name : PreTokenizer::known_names()) {
    PreTokenizer pre(name, "test");
    SplitScratch scratch;
    for (int round = 0; round < 30; ++round) {
      std::string text;
      for (int i = 0, n = static_cast<int>(rng() % 20); i < n; ++i) text += atoms[rng() % atoms.size()];
      std::vector<Span> spans;
      pre.split(text, spans, scratch);
      std::string joined;
      size_t next = 0;
      for (const Span& s : spans) {
        ASSERT_GT(s.len, 0u) << name;
        ASSERT_EQ(s.begin, next) << name;
        next = s.begin + s.len;
        joined += text.substr(s.begin, s.len);
      }
      ASSERT_EQ(joined, text) << name;
    }
  }
}

TEST(PreTokenizer, UnknownNameIsUnsupported) {
  try {
    PreTokenizer pre("made-up", "m.gguf");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("m.gguf"), std::string::npos);
  }
}

TEST(PreTokenizer, LongRunsStayLinear) {
  // 200k spaces then a letter, and 200k letters: one pass each, no quadratic backtracking blow-up
  // (PCRE2's match limit would turn that into an error).
  const std::string spaces = std::string(200000, ' ') + "x";
  const auto pieces = split("llama-bpe", spaces);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[1], " x");
  EXPECT_EQ(split("gpt-2", std::string(200000, 'a')).size(), 1u);
}

}  // namespace
}  // namespace muse::text::detail
