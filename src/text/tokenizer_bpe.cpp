// Byte-level BPE (tokenizer.ggml.model = "gpt2"), as Hugging Face's BPE model with a ByteLevel
// pre-tokenizer: split the text with the pre-tokenizer regexes, then within each piece start from one
// symbol per byte (its byte-level character's token) and repeatedly apply the merge of lowest rank
// among adjacent pairs (ties: the leftmost pair), until no pair has a merge.
//
// Symbols carry token ids and merges are looked up by (left id, right id), so no strings are built
// while merging. This equals merging by text as long as every merge's two sides and result are tokens,
// which from_vocab checks (merges that are not are dropped and reported in warnings()).
#include <algorithm>

#include "text/tokenizer_impl.h"
#include "text/tokenizer_unicode.h"

namespace muse::text::detail {
namespace {

using Pair = BpeScratch::Pair;

// Heap order: lowest rank on top, then the leftmost pair.
bool pair_less(const Pair& a, const Pair& b) {
  return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
}

void encode_word(const Tokenizer::Impl& t, std::string_view word, std::vector<int32_t>& out, BpeScratch& s) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(word.data());
  if (t.ignore_merges) {
    // Llama 3 / Tekken: a piece that is itself a token is taken whole, whatever the merges would do.
    const auto& tables = byte_level_tables();
    s.encoded.clear();
    for (unsigned char b : word) append_utf8(s.encoded, tables.byte_to_cp[b]);
    if (const int32_t id = t.find_id(s.encoded); id >= 0) {
      out.push_back(id);
      return;
    }
  }
  if (word.size() == 1) {
    const int32_t id = t.byte_token[bytes[0]];
    out.push_back(id >= 0 ? id : t.byte_fallback(bytes[0]));
    return;
  }

  auto& symbols = s.symbols;
  symbols.clear();
  const auto n = static_cast<int32_t>(word.size());
  for (int32_t i = 0; i < n; ++i) symbols.push_back({t.byte_token[bytes[i]], i - 1, i + 1 == n ? -1 : i + 1, 1});

  auto& heap = s.heap;
  heap.clear();
  auto try_add = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const int32_t lid = symbols[left].id, rid = symbols[right].id;
    if (lid < 0 || rid < 0) return;
    const Merge* m = t.merges.find(merge_key(lid, rid));
    if (m == nullptr) return;
    heap.push_back({m->rank, left, right, lid, rid, m->result});
    std::push_heap(heap.begin(), heap.end(), pair_less);
  };
  for (int32_t i = 1; i < n; ++i) try_add(i - 1, i);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), pair_less);
    const Pair p = heap.back();
    heap.pop_back();
    auto& left = symbols[p.left];
    auto& right = symbols[p.right];
    // A symbol's text only grows, so matching ids and adjacency mean the pair is still current.
    if (left.len == 0 || right.len == 0 || left.next != p.right || left.id != p.left_id || right.id != p.right_id) {
      continue;
    }
    left.id = p.result;
    left.len += right.len;
    right.len = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = p.left;
    try_add(left.prev, p.left);
    try_add(p.left, left.next);
  }

  for (int32_t i = 0; i != -1; i = symbols[i].next) {
    // A symbol without an id is a lone byte whose character the vocabulary lacks (it never merged).
    out.push_back(symbols[i].id >= 0 ? symbols[i].id : t.byte_fallback(bytes[i]));
  }
}

}  // namespace

void bpe_encode(const Tokenizer::Impl& t, std::string_view text, std::vector<int32_t>& out, BpeScratch& s) {
  s.words.clear();
  t.pretokenizer->split(text, s.words, s.split);
  for (const Span& w : s.words) {
    const std::string_view word = text.substr(w.begin, w.len);
    if (s.cache.lookup(word, out)) continue;
    const size_t mark = out.size();
    encode_word(t, word, out, s);
    s.cache.store(word, out.data() + mark, out.data() + out.size());
  }
}

}  // namespace muse::text::detail
