// The inside of text::Tokenizer, shared by tokenizer.cpp and the per-kind encoders (internal to src/text).
//
// Impl is filled once by Tokenizer::from_vocab and never changes afterwards, so the encoders read it
// from any number of threads; every per-call buffer lives in the caller's scratch objects.
// The encoders never throw except for a byte that the vocabulary cannot represent (kInvalidArgument).
#pragma once

#include <array>
#include <cstring>
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

constexpr std::string_view kSpmSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

// A 64-bit hash of a byte string, 8 bytes per step (a splitmix-style mix; not for adversaries).
inline uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
  }
  uint64_t w = 0;
  if (i < s.size()) std::memcpy(&w, s.data() + i, s.size() - i);
  h = (h ^ w) * 0x94D049BB133111EBull;
  return h ^ (h >> 29);
}

// Token text -> id, open addressing over (hash, id) slots; the texts themselves stay in the caller's
// token list, which every call passes in. Flat so that a lookup costs one or two cache lines.
class TokenIndex {
 public:
  // Empty texts are not indexed; for duplicate texts the last id wins (as in llama.cpp).
  void build(const std::vector<std::string>& tokens);
  int32_t find(std::string_view text, const std::vector<std::string>& tokens) const {  // -1 when absent
    const uint64_t h = hash_bytes(text);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.hash == h && tokens[s.id] == text) return s.id;
    }
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    int32_t id = -1;
  };
  std::vector<Slot> slots_ = std::vector<Slot>(1);
  size_t mask_ = 0;
};

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

// merge_key -> Merge, open addressing (ids are >= 0, so the all-ones key marks an empty slot).
class MergeTable {
 public:
  void reserve(size_t n);  // REQUIRES: before the first insert
  bool insert(uint64_t key, Merge m);  // false if the key is already there (the first rank wins)
  const Merge* find(uint64_t key) const {
    for (size_t i = slot_of(key);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s.merge;
      if (s.key == kEmpty) return nullptr;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~0ull;
  struct Slot {
    uint64_t key = kEmpty;
    Merge merge{};
  };
  size_t slot_of(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 20) & mask_; }
  std::vector<Slot> slots_ = std::vector<Slot>(1);
  size_t mask_ = 0;
};

// A memo of piece -> ids for one encode() call. Pieces (SPM chunks, BPE pre-tokenizer pieces) are
// encoded independently of their neighbours, so a piece seen before gives the same ids again; English
// text repeats most of its words. Keys are views into the caller's text, which outlives the cache.
class PieceCache {
 public:
  static constexpr size_t kMaxPiece = 48;        // longer pieces rarely repeat
  static constexpr size_t kMaxEntries = 1 << 16;  // bounds the memory of one call

  // Appends the ids of `piece` to `out` and returns true if it was stored before.
  bool lookup(std::string_view piece, std::vector<int32_t>& out) const {
    if (piece.size() > kMaxPiece) return false;
    auto it = map_.find(piece);
    if (it == map_.end()) return false;
    out.insert(out.end(), ids_.begin() + it->second.first, ids_.begin() + it->second.first + it->second.second);
    return true;
  }
  // Remembers that `piece` encodes as ids [first, last).
  void store(std::string_view piece, const int32_t* first, const int32_t* last) {
    if (piece.size() > kMaxPiece || map_.size() >= kMaxEntries) return;
    map_.emplace(piece, std::pair<uint32_t, uint32_t>(static_cast<uint32_t>(ids_.size()),
                                                      static_cast<uint32_t>(last - first)));
    ids_.insert(ids_.end(), first, last);
  }

 private:
  struct Hash {
    size_t operator()(std::string_view s) const noexcept { return static_cast<size_t>(hash_bytes(s)); }
  };
  std::unordered_map<std::string_view, std::pair<uint32_t, uint32_t>, Hash> map_;
  std::vector<int32_t> ids_;
};

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
  detail::TokenIndex index;            // text -> id; use find_id()
  detail::SpecialMatcher special;      // control, user-defined and unknown tokens

  int32_t bos = -1, eos = -1, eot = -1, eom = -1, unk = -1, sep = -1, pad = -1;
  bool add_bos = false, add_eos = false, add_sep = false, add_space_prefix = false;
  // decode() drops one leading space of the first piece: SPM's dummy prefix, or WordPiece's word-start
  // marker (the reference decoders print no space before the first word).
  bool strip_first_space = false;
  std::vector<std::string> warnings;

  // SPM: the <0xNN> token of each byte; BPE: the token of each byte's byte-level character. -1: none.
  std::array<int32_t, 256> byte_token{};

  // BPE
  detail::MergeTable merges;  // key: merge_key(left id, right id)
  std::unique_ptr<detail::PreTokenizer> pretokenizer;
  bool ignore_merges = false;

  // SPM: code points that some mergeable token has right before a U+2581. A U+2581 in the text that
  // follows any other character cannot be crossed by a merge, so the text may be cut there into
  // independent chunks (same result, small cache-resident heaps). Sorted.
  std::vector<uint32_t> spm_joins_space;

  // WordPiece
  size_t max_token_len = 0;

  bool valid(int32_t id) const { return id >= 0 && static_cast<size_t>(id) < tokens.size(); }
  int32_t find_id(std::string_view text) const { return index.find(text, tokens); }  // -1 when absent
  // The token for a byte the vocabulary has no better piece for; throws kInvalidArgument if none.
  int32_t byte_fallback(unsigned char byte) const;
};

namespace detail {

struct BpeScratch {
  SplitScratch split;
  PieceCache cache;
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

// SPM over one fragment that is already space-escaped (' ' -> U+2581, dummy prefix added). `cache`
// holds views into `text`: it must not outlive it.
void spm_encode(const Tokenizer::Impl& t, std::string_view text, std::vector<int32_t>& out, PieceCache& cache);
// Byte-level BPE over one fragment of raw text.
void bpe_encode(const Tokenizer::Impl& t, std::string_view text, std::vector<int32_t>& out, BpeScratch& scratch);
// WordPiece over one fragment of raw text.
void wpm_encode(const Tokenizer::Impl& t, std::string_view text, std::vector<int32_t>& out);

}  // namespace detail
}  // namespace muse::text
