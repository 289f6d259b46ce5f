// The inside of text::Tokenizer, shared by tokenizer.cpp and the per-kind encoders (internal to src/text).
//
// Impl is filled once by Tokenizer::from_vocab and never changes afterwards, so the encoders read it
// from any number of threads; every per-call buffer lives in the caller's scratch objects.
// The encoders never throw except for a byte that the vocabulary cannot represent (kInvalidArgument).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "text/tokenizer.h"
#include "text/tokenizer_pretokenize.h"

namespace muse::text {

namespace detail {

struct StringHash {
  using is_transparent = void;  // lets find() take a string_view without building a std::string
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// A byte trie over the texts of special tokens, for leftmost-longest matching in the raw text.
class SpecialMatcher {
 public:
  SpecialMatcher() { root_.fill(-1); }
  void add(std::string_view text, int32_t id);
  bool empty() const { return nodes_.empty(); }
  // Whether some token text starts with byte b (a cheap filter before longest()).
  bool may_start(unsigned char b) const { return root_[b] >= 0; }
  // The longest token at the start of `text` for which allowed(id) holds: {id, length}, or {-1, 0}.
  template <typename Allowed>
  std::pair<int32_t, size_t> longest(std::string_view text, Allowed allowed) const {
    std::pair<int32_t, size_t> best{-1, 0};
    if (text.empty()) return best;
    int32_t node = root_[static_cast<unsigned char>(text[0])];
    for (size_t i = 1; node >= 0; ++i) {
      const Node& n = nodes_[node];
      if (n.token >= 0 && allowed(n.token)) best = {n.token, i};
      if (i == text.size()) break;
      node = -1;
      const auto b = static_cast<unsigned char>(text[i]);
      for (const auto& [byte, child] : n.next) {
        if (byte == b) {
          node = child;
          break;
        }
      }
    }
    return best;
  }

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> next;
    int32_t token = -1;
  };
  std::array<int32_t, 256> root_;
  std::vector<Node> nodes_;
};

// A BPE merge of two adjacent tokens: its priority (lower first) and the token it makes.
struct Merge {
  int32_t rank;
  int32_t result;
};
inline uint64_t merge_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// Per-token flags.
enum TokenFlag : uint8_t {
  kFlagEog = 1,        // ends generation
  kFlagLstrip = 2,     // when matched as special text, eat the whitespace before it
  kFlagRstrip = 4,     // ... and after it
  kFlagMergeable = 8,  // SPM: may be the result of a merge (normal and user-defined tokens)
};

}  // namespace detail

struct Tokenizer::Impl {
  TokenizerKind kind = TokenizerKind::kSpm;
  std::string source;
  std::string pre_name;

  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<TokenType> types;
  std::vector<uint8_t> flags;          // detail::TokenFlag bits
  std::vector<std::string> pieces;     // token_to_piece, computed once
  detail::TokenMap token_to_id;        // duplicates: the last id wins, as in llama.cpp
  detail::SpecialMatcher special;      // control, user-defined and unknown tokens

  int32_t bos = -1, eos = -1, eot = -1, eom = -1, unk = -1, sep = -1, pad = -1;
  bool add_bos = false, add_eos = false, add_sep = false, add_space_prefix = false;
  std::vector<std::string> warnings;

  // SPM: the <0xNN> token of each byte; BPE: the token of each byte's byte-level character. -1: none.
  std::array<int32_t, 256> byte_token{};

  // BPE
  std::unordered_map<uint64_t, detail::Merge> merges;  // key: merge_key(left id, right id)
  std::unique_ptr<detail::PreTokenizer> pretokenizer;
  bool ignore_merges = false;

  // WordPiece
  size_t max_token_len = 0;

  bool valid(int32_t id) const { return id >= 0 && static_cast<size_t>(id) < tokens.size(); }
  // The token for a byte the vocabulary has no better piece for; throws kInvalidArgument if none.
  int32_t byte_fallback(unsigned char byte) const;
};

namespace detail {

struct BpeScratch {
  SplitScratch split;
  std::vector<Span> words;
  std::string encoded;  // one word in the byte-level alphabet (ignore_merges lookups)
  struct Symbol {
    int32_t id;
    int32_t prev, next;
    uint32_t len;
  };
  std::vector<Symbol> symbols;
  struct Pair {
    int32_t rank, left, right, left_id, right_id, result;
  };
  std::vector<Pair> heap;
};

// SPM over one fragment that is already space-escaped (' ' -> U+2581, dummy prefix added).
void spm_encode(const Tokenizer::Impl& t, std::string_view text, std::vector<int32_t>& out);
// Byte-level BPE over one fragment of raw text.
void bpe_encode(const Tokenizer::Impl& t, std::string_view text, std::vector<int32_t>& out, BpeScratch& scratch);
// WordPiece over one fragment of raw text.
void wpm_encode(const Tokenizer::Impl& t, std::string_view text, std::vector<int32_t>& out);

}  // namespace detail
}  // namespace muse::text
