// SentencePiece-style tokenization (tokenizer.ggml.model = "llama"), as llama.cpp's llm_tokenizer_spm:
// start from one symbol per UTF-8 character; repeatedly merge the adjacent pair whose concatenation is
// the vocabulary token with the highest score (ties: the leftmost pair); symbols that are not tokens at
// the end are written as <0xNN> byte tokens. O(n log n) in the chunk length with a lazy heap.
//
// The text is first cut before every U+2581 that no merge can cross (see Impl::spm_joins_space): the
// chunks are independent, so merging them one by one gives the same ids as one heap over the whole
// text, while each heap stays small enough for the cache (one global heap over 1 MiB ran ~20x slower).
#include <algorithm>
#include <vector>

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

struct Work {
  std::vector<Symbol> symbols;
  std::vector<Bigram> heap;
};

void encode_chunk(const Tokenizer::Impl& t, std::string_view text, std::vector<int32_t>& out, Work& work) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());

  // Only normal and user-defined tokens take part: control, unknown, byte and unused tokens are not
  // pieces of the segmentation (SentencePiece keeps them out of its piece table too).
  auto lookup = [&](uint32_t start, uint32_t len) -> int32_t {
    const int32_t id = t.find_id(text.substr(start, len));
    return id >= 0 && (t.flags[id] & kFlagMergeable) ? id : -1;
  };

  std::vector<Symbol>& symbols = work.symbols;
  symbols.clear();
  for (size_t off = 0; off < text.size();) {
    const auto len = static_cast<uint32_t>(utf8_char_len(bytes + off, text.size() - off));
    const auto index = static_cast<int32_t>(symbols.size());
    off += len;
    symbols.push_back({static_cast<uint32_t>(off - len), len, index - 1, off == text.size() ? -1 : index + 1});
  }

  std::vector<Bigram>& heap = work.heap;
  heap.clear();
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

}  // namespace

void spm_encode(const Tokenizer::Impl& t, std::string_view text, std::vector<int32_t>& out, PieceCache& cache) {
  Work work;
  auto encode_cached = [&](std::string_view chunk) {
    if (cache.lookup(chunk, out)) return;
    const size_t mark = out.size();
    encode_chunk(t, chunk, out, work);
    cache.store(chunk, out.data() + mark, out.data() + out.size());
  };
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const auto& joins = t.spm_joins_space;
  size_t chunk = 0;
  uint32_t prev = ~0u;
  for (size_t k = 0; k < text.size();) {
    const Utf8Step st = utf8_step(bytes + k, text.size() - k);
    const uint32_t cp = st.kind == Utf8Step::kValid ? st.cp : 0x110000 + bytes[k];
    if (cp == 0x2581 && k > chunk && !std::binary_search(joins.begin(), joins.end(), prev)) {
      encode_cached(text.substr(chunk, k - chunk));
      chunk = k;
    }
    prev = cp;
    k += st.kind == Utf8Step::kValid ? st.len : 1;
  }
  if (chunk < text.size()) encode_cached(text.substr(chunk));
}

}  // namespace muse::text::detail
