// Unit tests of text::Tokenizer on hand-built vocabularies: each algorithm against a naive reference
// implementation, special-token rules, metadata defaults, streaming, and errors on bad vocabularies.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "text/tokenizer.h"
#include "text/tokenizer_unicode.h"

namespace muse::text {
namespace {

const std::string kSp = "\xE2\x96\x81";  // U+2581

std::string hex_byte(int b) {
  static const char* digits = "0123456789ABCDEF";
  return std::string("<0x") + digits[b >> 4] + digits[b & 15] + ">";
}

// SPM vocab: <unk> <s> </s>, 256 byte tokens (ids 3..258) if `bytes`, then `pieces` as normal tokens.
VocabData spm_vocab(const std::vector<std::pair<std::string, float>>& pieces, bool bytes = true) {
  VocabData v;
  v.model = "llama";
  v.tokens = {"<unk>", "<s>", "</s>"};
  v.types = {2, 3, 3};
  if (bytes) {
    for (int b = 0; b < 256; ++b) {
      v.tokens.push_back(hex_byte(b));
      v.types.push_back(6);
    }
  }
  for (const auto& [text, score] : pieces) {
    v.tokens.push_back(text);
    v.types.push_back(1);
  }
  v.scores.assign(v.tokens.size(), 0.0f);
  for (size_t i = 0; i < pieces.size(); ++i) v.scores[v.tokens.size() - pieces.size() + i] = pieces[i].second;
  return v;
}

int32_t id_of(const Tokenizer& t, const std::string& text) {
  auto id = t.find_token(text);
  EXPECT_TRUE(id.has_value()) << "no token '" << text << "'";
  return id.value_or(-1);
}

std::vector<int32_t> ids_of(const Tokenizer& t, const std::vector<std::string>& texts) {
  std::vector<int32_t> out;
  for (const auto& s : texts) out.push_back(id_of(t, s));
  return out;
}

// The byte-level spelling of a byte string (GPT-2 alphabet).
std::string byte_level(std::string_view bytes) {
  std::string out;
  for (unsigned char b : bytes) detail::append_utf8(out, detail::byte_level_tables().byte_to_cp[b]);
  return out;
}

// BPE vocab: the 256 byte-level characters (id = byte), then the results of `merges` in order.
VocabData bpe_vocab(const std::vector<std::pair<std::string, std::string>>& merges, std::string pre = "gpt-2") {
  VocabData v;
  v.model = "gpt2";
  v.pre = std::move(pre);
  std::set<std::string> have;
  for (int b = 0; b < 256; ++b) {
    v.tokens.push_back(byte_level(std::string(1, static_cast<char>(b))));
    have.insert(v.tokens.back());
  }
  for (const auto& [l, r] : merges) {
    v.merges.push_back(byte_level(l) + " " + byte_level(r));
    if (have.insert(byte_level(l + r)).second) v.tokens.push_back(byte_level(l + r));
  }
  return v;
}

// ---------------------------------------------------------------------------------------------------------
// Naive references: the textbook loops, one merge per pass over all pairs.

std::vector<std::string> utf8_chars(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    size_t n = detail::utf8_char_len(reinterpret_cast<const unsigned char*>(s.data()) + i, s.size() - i);
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

// SPM: merge the adjacent pair whose concatenation has the highest score (leftmost on ties).
std::vector<int32_t> naive_spm(const VocabData& v, const std::string& text) {
  std::map<std::string, int32_t> id;
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (v.types[i] == 1) id[v.tokens[i]] = static_cast<int32_t>(i);
  }
  if (text.empty()) return {};  // no text, no dummy prefix
  std::string escaped = kSp;
  for (char c : text) escaped += c == ' ' ? kSp : std::string(1, c);
  std::vector<std::string> sym = utf8_chars(escaped);
  for (;;) {
    int best = -1;
    float best_score = 0;
    for (size_t i = 0; i + 1 < sym.size(); ++i) {
      auto it = id.find(sym[i] + sym[i + 1]);
      if (it != id.end() && (best < 0 || v.scores[it->second] > best_score)) {
        best = static_cast<int>(i);
        best_score = v.scores[it->second];
      }
    }
    if (best < 0) break;
    sym[best] += sym[best + 1];
    sym.erase(sym.begin() + best + 1);
  }
  std::vector<int32_t> out;
  for (const auto& s : sym) {
    auto it = id.find(s);
    if (it != id.end()) {
      out.push_back(it->second);
    } else {
      for (unsigned char b : s) out.push_back(3 + b);
    }
  }
  return out;
}

// BPE over one word: merge the adjacent pair of lowest rank (leftmost on ties).
std::vector<int32_t> naive_bpe(const VocabData& v, const std::string& word) {
  std::map<std::pair<std::string, std::string>, int> rank;
  for (size_t r = 0; r < v.merges.size(); ++r) {
    const size_t sp = v.merges[r].find(' ', 1);
    rank.try_emplace({v.merges[r].substr(0, sp), v.merges[r].substr(sp + 1)}, static_cast<int>(r));
  }
  std::vector<std::string> sym;
  for (unsigned char b : word) sym.push_back(byte_level(std::string(1, static_cast<char>(b))));
  for (;;) {
    int best = -1, best_rank = 0;
    for (size_t i = 0; i + 1 < sym.size(); ++i) {
      auto it = rank.find({sym[i], sym[i + 1]});
      if (it != rank.end() && (best < 0 || it->second < best_rank)) {
        best = static_cast<int>(i);
        best_rank = it->second;
      }
    }
    if (best < 0) break;
    sym[best] += sym[best + 1];
    sym.erase(sym.begin() + best + 1);
  }
  std::vector<int32_t> out;
  for (const auto& s : sym) {
    for (size_t i = 0; i < v.tokens.size(); ++i) {
      if (v.tokens[i] == s) {
        out.push_back(static_cast<int32_t>(i));
        break;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// SPM

TEST(TokenizerSpm, HigherScoreMergesFirst) {
  // "abc": pairs "ab" and "bc" compete; the higher score decides the segmentation.
  auto ab_first = Tokenizer::from_vocab(spm_vocab({{kSp, -1}, {"a", -1}, {"b", -1}, {"c", -1}, {"ab", -2}, {"bc", -3}}));
  EXPECT_EQ(ab_first->encode("abc", false, false), ids_of(*ab_first, {kSp, "ab", "c"}));
  auto bc_first = Tokenizer::from_vocab(spm_vocab({{kSp, -1}, {"a", -1}, {"b", -1}, {"c", -1}, {"ab", -3}, {"bc", -2}}));
  EXPECT_EQ(bc_first->encode("abc", false, false), ids_of(*bc_first, {kSp, "a", "bc"}));
}

TEST(TokenizerSpm, EqualScoresMergeLeftmostFirst) {
  auto t = Tokenizer::from_vocab(spm_vocab({{kSp, -1}, {"a", -1}, {"aa", -2}}));
  EXPECT_EQ(t->encode("aaa", false, false), ids_of(*t, {kSp, "aa", "a"}));
}

TEST(TokenizerSpm, DummyPrefixAndSpacesBecomeU2581) {
  auto t = Tokenizer::from_vocab(spm_vocab({{kSp, -5}, {"a", -1}, {kSp + "a", -1}, {kSp + kSp, -1}}));
  EXPECT_EQ(t->encode("a a", false, false), ids_of(*t, {kSp + "a", kSp + "a"}));
  EXPECT_EQ(t->encode(" a", false, false), ids_of(*t, {kSp + kSp, "a"}));
  EXPECT_EQ(t->decode(t->encode(" a", false, false)), " a");
  EXPECT_EQ(t->decode(t->encode("a a", false, false)), "a a");
  EXPECT_TRUE(t->encode("", false, false).empty());
  EXPECT_EQ(t->encode("", true, false), std::vector<int32_t>{1});  // BOS only, as the reference does
}

TEST(TokenizerSpm, AddSpacePrefixFalseAddsNoDummySpace) {
  VocabData v = spm_vocab({{kSp, -5}, {"a", -1}, {kSp + "a", -1}});
  v.add_space_prefix = false;
  auto t = Tokenizer::from_vocab(v);
  EXPECT_FALSE(t->add_space_prefix());
  EXPECT_EQ(t->encode("a a", false, false), ids_of(*t, {"a", kSp + "a"}));
  EXPECT_EQ(t->decode(t->encode(" a", false, false)), " a");
}

TEST(TokenizerSpm, LiteralU2581ReadsAsASpace) {
  // SPM spells ' ' as U+2581, so U+2581 typed in the text is the same piece (SentencePiece does the same).
  auto t = Tokenizer::from_vocab(spm_vocab({{kSp, -5}, {"a", -1}, {kSp + "a", -1}}));
  EXPECT_EQ(t->encode("a" + kSp + "a", false, false), t->encode("a a", false, false));
  EXPECT_EQ(t->decode(t->encode("a" + kSp + "a", false, false)), "a a");
}

TEST(TokenizerSpm, UnknownCharactersFallBackToBytes) {
  auto t = Tokenizer::from_vocab(spm_vocab({{kSp, -1}, {"a", -1}}));
  // "é" = C3 A9 has no piece: two byte tokens, which decode back to the character.
  EXPECT_EQ(t->encode("a\xC3\xA9", false, false), (std::vector<int32_t>{id_of(*t, kSp), id_of(*t, "a"), 3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ(t->decode(t->encode("a\xC3\xA9", false, false)), "a\xC3\xA9");
  EXPECT_EQ(t->token_to_piece(3 + 0xC3), "\xC3");
  // Invalid UTF-8 survives byte for byte.
  const std::string bad = "a\xFF\xC3(\x80";
  EXPECT_EQ(t->decode(t->encode(bad, false, false)), bad);
}

TEST(TokenizerSpm, WithoutByteTokensUnknownCharactersBecomeUnk) {
  auto t = Tokenizer::from_vocab(spm_vocab({{kSp, -1}, {"a", -1}}, /*bytes=*/false));
  EXPECT_EQ(t->unk(), 0);
  EXPECT_EQ(t->encode("ab", false, false), (std::vector<int32_t>{id_of(*t, kSp), id_of(*t, "a"), 0}));
  ASSERT_FALSE(t->warnings().empty());  // byte 'a' is spelled by the piece "a" (llama.cpp's second choice)
  EXPECT_NE(t->warnings().back().find("255 of 256 bytes"), std::string::npos) << t->warnings().back();
}

TEST(TokenizerSpm, SpecialIdsOutOfRangeFallBackToDefaultsWithWarning) {
  VocabData v = spm_vocab({{kSp, -1}, {"a", -1}});
  v.unk = 999999;
  v.bos = -3;
  auto t = Tokenizer::from_vocab(v);
  EXPECT_EQ(t->unk(), 0);
  EXPECT_EQ(t->bos(), 1);
  ASSERT_GE(t->warnings().size(), 2u);
  EXPECT_NE(t->warnings()[0].find("bos_token_id = -3"), std::string::npos) << t->warnings()[0];
  // -1 is the converters' "none": no default, no warning.
  VocabData w = spm_vocab({{kSp, -1}, {"a", -1}});
  w.eos = -1;
  auto u = Tokenizer::from_vocab(w);
  EXPECT_EQ(u->eos(), -1);
  EXPECT_TRUE(u->warnings().empty());
}

TEST(TokenizerSpm, MatchesNaiveReferenceOnRandomVocabs) {
  std::mt19937 rng(1234);
  const std::vector<std::string> alphabet = {"a", "b", "c", " ", "\xC3\xA9"};
  for (int round = 0; round < 20; ++round) {
    // Random pieces made of 2-4 alphabet letters (spaces as U+2581), random scores with some ties.
    std::vector<std::pair<std::string, float>> pieces = {{kSp, -10}, {"a", -10}, {"b", -10}, {"c", -10}};
    std::set<std::string> seen = {kSp, "a", "b", "c"};
    for (int i = 0; i < 30; ++i) {
      std::string p;
      const int len = 2 + static_cast<int>(rng() % 3);
      for (int k = 0; k < len; ++k) {
        const std::string& ch = alphabet[rng() % alphabet.size()];
        p += ch == " " ? kSp : ch;
      }
      if (seen.insert(p).second) pieces.push_back({p, -static_cast<float>(rng() % 8)});
    }
    const VocabData v = spm_vocab(pieces);
    auto t = Tokenizer::from_vocab(v);
    for (int k = 0; k < 30; ++k) {
      // Up to 40 characters: long enough for chunk cuts before spaces and repeated chunks (the
      // per-call cache) to matter; the naive loop sees the whole text at once.
      std::string text;
      const int len = static_cast<int>(rng() % 40);
      for (int i = 0; i < len; ++i) text += alphabet[rng() % alphabet.size()];
      ASSERT_EQ(t->encode(text, false, false), naive_spm(v, text)) << "round " << round << " text '" << text << "'";
      ASSERT_EQ(t->decode(t->encode(text, false, false)), text);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// BPE

TEST(TokenizerBpe, MergesApplyByRank) {
  auto t = Tokenizer::from_vocab(bpe_vocab({{"l", "l"}, {"h", "e"}, {"he", "ll"}, {"hell", "o"}, {" ", "w"}}));
  EXPECT_EQ(t->encode("hello", false, false), ids_of(*t, {"hello"}));
  EXPECT_EQ(t->encode("hell", false, false), ids_of(*t, {"hell"}));
  EXPECT_EQ(t->encode("hello world", false, false),
            ids_of(*t, {"hello", byte_level(" w"), "o", "r", "l", "d"}));
  // "el" never merges: "h e" has a lower rank than any merge that could use "e" with "l".
  EXPECT_EQ(t->encode("hel", false, false), ids_of(*t, {"he", "l"}));
}

TEST(TokenizerBpe, ByteLevelAlphabetRoundTripsEveryByte) {
  auto t = Tokenizer::from_vocab(bpe_vocab({{"a", "b"}}));
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  const auto ids = t->encode(all, false, false);
  EXPECT_EQ(t->decode(ids), all);
  // Spaces and newlines are byte-level characters: ' ' is U+0120 'Ġ', '\n' is U+010A 'Ċ'.
  EXPECT_EQ(t->token_text(t->encode(" ", false, false).at(0)), "\xC4\xA0");
  EXPECT_EQ(t->token_text(t->encode("\n", false, false).at(0)), "\xC4\x8A");
  EXPECT_EQ(t->token_to_piece(id_of(*t, "\xC4\xA0")), " ");
}

TEST(TokenizerBpe, MatchesNaiveReferenceOnRandomMerges) {
  std::mt19937 rng(99);
  const std::string letters = "abcd";
  for (int round = 0; round < 20; ++round) {
    std::vector<std::string> made = {"a", "b", "c", "d"};
    std::vector<std::pair<std::string, std::string>> merges;
    std::set<std::pair<std::string, std::string>> used;
    for (int i = 0; i < 40; ++i) {
      const std::string& l = made[rng() % made.size()];
      const std::string& r = made[rng() % made.size()];
      if (l.size() + r.size() > 6 || !used.insert({l, r}).second) continue;
      merges.push_back({l, r});
      made.push_back(l + r);
    }
    const VocabData v = bpe_vocab(merges);
    auto t = Tokenizer::from_vocab(v);
    for (int k = 0; k < 40; ++k) {
      std::string word;  // letters only: one pre-tokenizer piece
      const int len = 1 + static_cast<int>(rng() % 14);
      for (int i = 0; i < len; ++i) word += letters[rng() % letters.size()];
      ASSERT_EQ(t->encode(word, false, false), naive_bpe(v, word)) << "round " << round << " word '" << word << "'";
    }
  }
}

TEST(TokenizerBpe, MultiWordTextMatchesNaiveReferencePerPiece) {
  // Words repeat, so most pieces come from the per-call cache; each must still equal a fresh merge.
  std::mt19937 rng(5);
  std::vector<std::pair<std::string, std::string>> merges = {{"a", "b"}, {" ", "a"}, {"c", "d"}, {" a", "b"},
                                                             {"ab", "cd"}, {"b", "c"}, {" ab", "cd"}};
  const VocabData v = bpe_vocab(merges);
  auto t = Tokenizer::from_vocab(v);
  const std::vector<std::string> words = {"ab", "abcd", "bc", "dcba", "a", "cdab", "abcdabcd"};
  for (int round = 0; round < 50; ++round) {
    std::string text;
    std::vector<int32_t> expected;
    for (int i = 0, n = 1 + static_cast<int>(rng() % 12); i < n; ++i) {
      const std::string piece = (i ? " " : "") + words[rng() % words.size()];
      text += piece;
      const auto ids = naive_bpe(v, piece);  // gpt-2 splits before each space-led word
      expected.insert(expected.end(), ids.begin(), ids.end());
    }
    ASSERT_EQ(t->encode(text, false, false), expected) << text;
  }
}

TEST(TokenizerBpe, IgnoreMergesTakesWholeTokenFirst) {
  // "abc" is a token, but the merges alone would give "ab" + "c" ("bc" ranks after "ab", and "ab c" is
  // missing). Llama 3 ("llama-bpe") looks the whole piece up first; GPT-2 does not.
  std::vector<std::pair<std::string, std::string>> merges = {{"a", "b"}, {"b", "c"}, {"a", "bc"}};
  auto gpt2 = Tokenizer::from_vocab(bpe_vocab(merges, "gpt-2"));
  auto llama3 = Tokenizer::from_vocab(bpe_vocab(merges, "llama-bpe"));
  EXPECT_EQ(gpt2->encode("abc", false, false), ids_of(*gpt2, {"ab", "c"}));
  EXPECT_EQ(llama3->encode("abc", false, false), ids_of(*llama3, {"abc"}));
  EXPECT_TRUE(llama3->add_bos());  // llama3's default when the key is absent
  EXPECT_FALSE(gpt2->add_bos());
}

TEST(TokenizerBpe, MergeLinesSplitAtTheFirstSpaceAfterTheFirstByte) {
  VocabData v = bpe_vocab({});
  // Byte-level merges never contain raw spaces in their sides, but a malformed line must be rejected.
  v.merges = {"nospace"};
  try {
    Tokenizer::from_vocab(v);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCorruption);
    EXPECT_NE(std::string(e.what()).find("merges[0]"), std::string::npos) << e.what();
  }
  // A merge whose pieces are not tokens is dropped with a warning, not silently.
  v.merges = {"x y", "q z"};
  v.tokens.push_back("xy");
  auto t = Tokenizer::from_vocab(v);
  ASSERT_FALSE(t->warnings().empty());
  EXPECT_NE(t->warnings().back().find("1 of 2 merges"), std::string::npos) << t->warnings().back();
}

TEST(TokenizerBpe, ByteWithoutTokenUsesUnkOrFails) {
  VocabData v = bpe_vocab({{"a", "b"}});
  v.tokens['z'] = "<no-z>";  // byte 0x7A now has no byte-level token
  auto t = Tokenizer::from_vocab(v);
  try {
    t->encode("az", false, false);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("0x7A"), std::string::npos) << e.what();
  }
  v.unk = 'z';
  auto u = Tokenizer::from_vocab(v);
  EXPECT_EQ(u->encode("az", false, false), (std::vector<int32_t>{'a', 'z'}));
}

TEST(TokenizerBpe, MissingPreUsesDefaultWithWarningUnknownPreFails) {
  VocabData v = bpe_vocab({{"a", "b"}});
  v.pre.reset();
  auto t = Tokenizer::from_vocab(v);
  EXPECT_EQ(t->pre(), "default");
  ASSERT_FALSE(t->warnings().empty());
  EXPECT_NE(t->warnings()[0].find("tokenizer.ggml.pre"), std::string::npos);
  v.pre = "no-such-model";
  v.source = "x.gguf";
  try {
    Tokenizer::from_vocab(v);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("x.gguf"), std::string::npos) << msg;
    EXPECT_NE(msg.find("no-such-model"), std::string::npos) << msg;
    EXPECT_NE(msg.find("qwen2"), std::string::npos) << msg;  // lists what is known
  }
}

// ---------------------------------------------------------------------------------------------------------
// WordPiece

VocabData wpm_vocab(const std::vector<std::string>& pieces) {
  VocabData v;
  v.model = "bert";
  v.tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]"};
  v.types = {3, 3, 3, 3};
  for (const auto& p : pieces) {
    v.tokens.push_back(p);
    v.types.push_back(1);
  }
  v.unk = 1;
  v.cls = 2;
  v.sep = 3;
  v.pad = 0;
  return v;
}

TEST(TokenizerWordPiece, GreedyLongestPiecesLowerCaseNoAccents) {
  auto t = Tokenizer::from_vocab(wpm_vocab({kSp + "un", "aff", "able", kSp + "hello", kSp + ",", kSp + "world",
                                             "a", kSp + "a", kSp + "\xE4\xB8\xAD"}));
  EXPECT_EQ(t->encode("unaffable", false, false), ids_of(*t, {kSp + "un", "aff", "able"}));
  // Upper case and accents are normalized away: "HÉLLO" -> "hello".
  EXPECT_EQ(t->encode("H\xC3\x89LLO", false, false), ids_of(*t, {kSp + "hello"}));
  // Punctuation is its own word; whitespace separates.
  EXPECT_EQ(t->encode("hello,world", false, false), ids_of(*t, {kSp + "hello", kSp + ",", kSp + "world"}));
  EXPECT_EQ(t->encode(" \t hello \n", false, false), ids_of(*t, {kSp + "hello"}));
  // A CJK ideograph is a word of its own even inside a run of letters.
  EXPECT_EQ(t->encode("a\xE4\xB8\xAD" "a", false, false), ids_of(*t, {kSp + "a", kSp + "\xE4\xB8\xAD", kSp + "a"}));
  // A word that cannot be pieced is [UNK] as a whole (not "un" + [UNK]).
  EXPECT_EQ(t->encode("unx", false, false), std::vector<int32_t>{1});
  // Over 100 characters: [UNK], even though "a" pieces would cover it.
  EXPECT_EQ(t->encode(std::string(101, 'a'), false, false), std::vector<int32_t>{1});
  EXPECT_EQ(t->encode("", true, false), (std::vector<int32_t>{2, 3}));  // [CLS] [SEP]
  EXPECT_EQ(t->encode("hello", true, false), (std::vector<int32_t>{2, id_of(*t, kSp + "hello"), 3}));
  // Decoding joins continuation pieces to their word and drops the space before the first word.
  EXPECT_EQ(t->decode(t->encode("Unaffable hello", true, false), /*skip_special=*/true), "unaffable hello");
}

// ---------------------------------------------------------------------------------------------------------
// Special tokens

VocabData special_vocab() {
  VocabData v = spm_vocab({{kSp, -1}, {"a", -1}, {"b", -1}, {"<", -1}, {">", -1}, {"x", -1}});
  auto add = [&](const std::string& text, int type) {
    v.tokens.push_back(text);
    v.types.push_back(type);
    v.scores.push_back(0);
  };
  add("<a>", 3);
  add("<a><b>", 3);
  add("<b>", 3);
  add("<think>", 4);  // user-defined: always recognised
  add("<|im_end|>", 4);  // user-defined in the file, but ends a turn: becomes control
  return v;
}

TEST(TokenizerSpecial, ControlTextOnlyWhenAskedUserDefinedAlways) {
  auto t = Tokenizer::from_vocab(special_vocab());
  const int32_t a = id_of(*t, "<a>"), ab = id_of(*t, "<a><b>"), think = id_of(*t, "<think>");
  const auto plain = t->encode("<a>", false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), a), 0);
  EXPECT_EQ(t->decode(plain), "<a>");
  // Leftmost-longest: "<a><b>" beats "<a>" at the same position.
  EXPECT_EQ(t->encode("x<a><b>", false, true), (std::vector<int32_t>{id_of(*t, kSp), id_of(*t, "x"), ab}));
  // After a special token the SPM dummy prefix is added again.
  EXPECT_EQ(t->encode("<a>a", false, true), (std::vector<int32_t>{a, id_of(*t, kSp), id_of(*t, "a")}));
  const auto th = t->encode("<think>", false, false);
  EXPECT_EQ(th, std::vector<int32_t>{think});
  EXPECT_TRUE(t->is_special(think));
  EXPECT_FALSE(t->is_control(think));
  EXPECT_FALSE(t->is_eog(think));
}

TEST(TokenizerSpecial, EndOfTurnTokensAreFoundByTextAndBecomeControl) {
  auto t = Tokenizer::from_vocab(special_vocab());
  const int32_t im_end = id_of(*t, "<|im_end|>");
  EXPECT_EQ(t->eot(), im_end);
  EXPECT_TRUE(t->is_eog(im_end));
  EXPECT_TRUE(t->is_eog(t->eos()));
  EXPECT_FALSE(t->is_eog(id_of(*t, "a")));
  EXPECT_FALSE(t->is_eog(-1));
  EXPECT_FALSE(t->is_eog(1 << 30));
  EXPECT_EQ(t->token_type(im_end), TokenType::kControl);
  // So user text cannot end a turn unless the caller parses special tokens.
  EXPECT_NE(t->encode("<|im_end|>", false, false), std::vector<int32_t>{im_end});
  EXPECT_EQ(t->encode("<|im_end|>", false, true), std::vector<int32_t>{im_end});
}

TEST(TokenizerSpecial, DecodeSkipsControlTokensOnRequest) {
  auto t = Tokenizer::from_vocab(special_vocab());
  const auto ids = t->encode("a<a>b", true, true);
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(t->decode(ids), "<s> a<a> b");
  EXPECT_EQ(t->decode(ids, /*skip_special=*/true), "a b");
}

TEST(TokenizerSpecial, AddEosFlag) {
  VocabData v = special_vocab();
  v.add_eos = true;
  v.add_bos = false;
  auto t = Tokenizer::from_vocab(v);
  EXPECT_EQ(t->encode("a", true, false), (std::vector<int32_t>{id_of(*t, kSp), id_of(*t, "a"), 2}));
}

// ---------------------------------------------------------------------------------------------------------
// Streaming

TEST(TokenizerStream, HoldsBackPartialCharactersAndReplacesInvalidBytes) {
  auto t = Tokenizer::from_vocab(spm_vocab({{kSp, -1}, {"a", -1}}));
  StreamDecoder s(*t);
  EXPECT_EQ(s.push(3 + 0xE2), "");
  EXPECT_EQ(s.push(3 + 0x82), "");
  EXPECT_EQ(s.push(3 + 0xAC), "\xE2\x82\xAC");  // €
  EXPECT_EQ(s.push(3 + 0xFF), "\xEF\xBF\xBD");  // never valid: replaced at once
  EXPECT_EQ(s.push(3 + 0xF0), "");
  EXPECT_EQ(s.push(id_of(*t, "a")), "\xEF\xBF\xBD" "a");  // F0 then 'a': the F0 was invalid
  EXPECT_EQ(s.push(3 + 0xE2), "");
  EXPECT_EQ(s.flush(), "\xEF\xBF\xBD");  // unfinished at the end
  EXPECT_EQ(s.flush(), "");
  EXPECT_THROW(s.push(100000), Error);
}

TEST(TokenizerStream, RandomByteTokensNeverEmitBrokenUtf8AndAddUpToDecode) {
  auto t = Tokenizer::from_vocab(spm_vocab({{kSp, -1}, {"a", -1}, {kSp + "a", -1}}));
  std::mt19937 rng(7);
  // Bytes biased towards UTF-8 lead and continuation bytes so that partial sequences are common.
  const std::vector<int> pool = {0x41, 0x20, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80, 0xFF, 0xED, 0xA0};
  for (int round = 0; round < 300; ++round) {
    std::vector<int32_t> ids;
    for (int i = 0, n = static_cast<int>(rng() % 12); i < n; ++i) {
      ids.push_back(rng() % 5 == 0 ? id_of(*t, kSp + "a") : 3 + pool[rng() % pool.size()]);
    }
    StreamDecoder s(*t, {.skip_special = false, .text_start = true});
    std::string joined;
    for (int32_t id : ids) {
      const std::string part = s.push(id);
      ASSERT_EQ(sanitize_utf8(part), part);
      joined += part;
    }
    joined += s.flush();
    ASSERT_EQ(joined, sanitize_utf8(t->decode(ids)));
  }
}

TEST(TokenizerStream, SanitizeReplacesMaximalInvalidSubparts) {
  EXPECT_EQ(sanitize_utf8("ok"), "ok");
  EXPECT_EQ(sanitize_utf8("\xE2\x82"), "\xEF\xBF\xBD");      // one truncated sequence: one U+FFFD
  EXPECT_EQ(sanitize_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong: each byte
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(sanitize_utf8("\xF4\x90\x80\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // > U+10FFFF
  EXPECT_EQ(sanitize_utf8("\xF0\x9F\x98" "a"), "\xEF\xBF\xBD" "a");
}

// ---------------------------------------------------------------------------------------------------------
// Bad vocabularies and bad ids

ErrorCode error_of(const VocabData& v) {
  try {
    Tokenizer::from_vocab(v);
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no error";
  return ErrorCode::kUnavailable;
}

TEST(TokenizerErrors, BadVocabulariesAreRejectedWithTheRightCode) {
  VocabData v = spm_vocab({{"a", -1}});
  VocabData w = v;
  w.model = "t5";
  EXPECT_EQ(error_of(w), ErrorCode::kUnsupported);
  w = v;
  w.model = "";
  EXPECT_EQ(error_of(w), ErrorCode::kNotFound);
  w = v;
  w.tokens.clear();
  w.types.clear();
  w.scores.clear();
  EXPECT_EQ(error_of(w), ErrorCode::kNotFound);
  w = v;
  w.scores.pop_back();
  EXPECT_EQ(error_of(w), ErrorCode::kCorruption);
  w = v;
  w.types.push_back(1);
  EXPECT_EQ(error_of(w), ErrorCode::kCorruption);
  w = v;
  w.types[5] = 9;
  EXPECT_EQ(error_of(w), ErrorCode::kCorruption);
  w = v;
  w.scores[5] = std::nanf("");
  EXPECT_EQ(error_of(w), ErrorCode::kCorruption);
  VocabData b = bpe_vocab({});
  b.merges.clear();
  EXPECT_EQ(error_of(b), ErrorCode::kNotFound);
  VocabData wp = wpm_vocab({"a"});
  wp.tokens[1] = "[NOT-UNK]";
  wp.unk = 77;  // out of range, and the default 100 too
  EXPECT_EQ(error_of(wp), ErrorCode::kNotFound);
}

TEST(TokenizerErrors, IdsOutOfRangeThrowInvalidArgument) {
  auto t = Tokenizer::from_vocab(spm_vocab({{"a", -1}}));
  const std::vector<int32_t> bad = {5, -1};
  for (int32_t id : {-1, t->n_vocab(), 1 << 30}) {
    EXPECT_THROW(t->token_to_piece(id), Error);
    EXPECT_THROW(t->token_text(id), Error);
    EXPECT_THROW(t->token_type(id), Error);
    EXPECT_FALSE(t->is_special(id));
  }
  try {
    t->decode(bad);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("-1"), std::string::npos);
  }
}

TEST(TokenizerThreads, ConcurrentEncodesAgree) {
  auto t = Tokenizer::from_vocab(bpe_vocab({{"a", "b"}, {"ab", "c"}, {" ", "abc"}}));
  std::string text;
  for (int i = 0; i < 200; ++i) text += "abc ab ca\n\xC3\xA9 123 ";
  const auto expected = t->encode(text, false, false);
  std::vector<std::vector<int32_t>> got(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&, i] { got[i] = t->encode(text, false, false); });
  for (auto& th : threads) th.join();
  for (const auto& g : got) EXPECT_EQ(g, expected);
}

}  // namespace
}  // namespace muse::text
