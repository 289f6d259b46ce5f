// SentencePiece-style tokenization (tokenizer.ggml.model = "llama"), as llama.cpp's llm_tokenizer_spm:
// start from one symbol per UTF-8 character; repeatedly merge the adjacent pair whose concatenation is
// the vocabulary token with the highest score (ties: the leftmost pair); symbols that are not tokens at
// the end are written as <0xNN> byte tokens. O(n log n) in the fragment length with a lazy heap.
#include <algorithm>

#include "text/tokenizer_impl.h"
#include "text/tokenizer_unicode.h"

namespace muse::text::detail {
namespace {

struct Symbol {
  uint32_t start, len;  // bytes of the fragment; len 0 once merged into its left neighbour
  int32_t prev, next;   // -1 at the ends
};

struct Bigram {
  float score;
  int32_t left, right;
  uint32_t size;  // left.len + right.len when queued: a later mismatch means the pair is stale
};

// Heap order: highest score on top, then the leftmost pair.
bool bigram_less(const Bigram& a, const Bigram& b) {
  return a.score < b.score || (a.score == b.score && a.left > b.left);
}

}  // namespace

void spm_encode(const Tokenizer::Impl& t, std::string_view text, std::vector<int32_t>& out) {
  if (text.empty()) return;
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());

  // Only normal and user-defined tokens take part: control, unknown, byte and unused tokens are not
  // pieces of the segmentation (SentencePiece keeps them out of its piece table too).
  auto lookup = [&](uint32_t start, uint32_t len) -> int32_t {
    auto it = t.token_to_id.find(text.substr(start, len));
    if (it == t.token_to_id.end() || !(t.flags[it->second] & kFlagMergeable)) return -1;
    return it->second;
  };

  std::vector<Symbol> symbols;
  symbols.reserve(text.size());
  for (size_t off = 0; off < text.size();) {
    const auto len = static_cast<uint32_t>(utf8_char_len(bytes + off, text.size() - off));
    const auto index = static_cast<int32_t>(symbols.size());
    off += len;
    symbols.push_back({static_cast<uint32_t>(off - len), len, index - 1, off == text.size() ? -1 : index + 1});
  }

  std::vector<Bigram> heap;
  auto try_add = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const uint32_t size = symbols[left].len + symbols[right].len;
    const int32_t id = lookup(symbols[left].start, size);
    if (id < 0) return;
    heap.push_back({t.scores[id], left, right, size});
    std::push_heap(heap.begin(), heap.end(), bigram_less);
  };
  for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) try_add(i - 1, i);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), bigram_less);
    const Bigram b = heap.back();
    heap.pop_back();
    Symbol& left = symbols[b.left];
    Symbol& right = symbols[b.right];
    // Lengths only grow, so a pair whose summed length changed (or whose side was absorbed) is stale.
    if (left.len == 0 || right.len == 0 || left.len + right.len != b.size || left.next != b.right) continue;
    left.len += right.len;
    right.len = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = b.left;
    try_add(left.prev, b.left);
    try_add(b.left, left.next);
  }

  for (int32_t i = 0; i != -1; i = symbols[i].next) {
    const Symbol& s = symbols[i];
    const int32_t id = lookup(s.start, s.len);
    if (id >= 0) {
      out.push_back(id);
    } else {
      for (uint32_t j = 0; j < s.len; ++j) out.push_back(t.byte_fallback(bytes[s.start + j]));
    }
  }
}

}  // namespace muse::text::detail
