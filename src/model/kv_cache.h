// KvCache: the attention keys and values of every token seen so far, for up to n_seq sequences, stored
// in fixed-size pages that sequences can share (prefix sharing with copy-on-write).
//
// Page layout: a page holds P consecutive positions of one sequence for every layer, keys then values:
//   page = K[n_layer][P][row_dim] ++ V[n_layer][P][row_dim],  row_dim = n_head_kv * head_dim,
// elements F16 (default: half the memory, what llama.cpp uses) or F32. Each sequence has a page table
// (position / P -> page id). Pages are reference-counted: fork() lets a new sequence map the pages of
// an existing one's prefix (stored once), and prepare() gives a sequence its own copy of a shared page
// the first time it writes to it, so a partially filled shared last page is copied, full prefix pages
// never are. The pool is one anonymous mapping sized for n_pages; the OS backs a page's memory only
// once it is written, so an unused pool costs address space, not RAM.
//
// The cache stores rows and page mappings; which positions of a sequence hold valid rows is tracked by
// the caller (engine sequences). Runner::forward calls prepare() for the rows a batch writes.
// Thread-safety: mapping calls (prepare, fork, truncate) are single-threaded; distinct rows may then be
// written concurrently. Errors: the constructor throws kOutOfRange/kIOError when the pool cannot be
// reserved; prepare() throws kOutOfRange when no free page is left (callers that check
// pages_needed() against free_pages() first never see it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/hparams.h"

namespace muse::model {

enum class KvType { kF16, kF32 };

struct KvOptions {
  KvType type = KvType::kF16;
  // Positions per page, a power of two. Smaller pages waste less on partially filled last pages and
  // copy less on a copy-on-write; larger ones make page-table lookups rarer.
  int64_t page_size = 16;
  // Pages in the pool; 0: enough for every sequence to fill its whole context (nothing is shared).
  int64_t n_pages = 0;
};

class KvCache {
 public:
  KvCache(const HParams& hp, int64_t n_ctx, int64_t n_seq, KvType type = KvType::kF16);
  KvCache(const HParams& hp, int64_t n_ctx, int64_t n_seq, const KvOptions& options);
  ~KvCache();
  KvCache(const KvCache&) = delete;
  KvCache& operator=(const KvCache&) = delete;

  int64_t n_ctx() const { return n_ctx_; }  // positions per sequence at most
  int64_t n_seq() const { return n_seq_; }
  int64_t row_dim() const { return row_dim_; }
  KvType type() const { return type_; }
  int64_t page_size() const { return page_size_; }
  int64_t n_pages() const { return n_pages_; }
  int64_t free_pages() const { return static_cast<int64_t>(free_.size()); }
  int64_t pages_in_use() const { return n_pages_ - free_pages(); }
  size_t page_bytes() const { return page_bytes_; }
  size_t bytes() const { return page_bytes_ * static_cast<size_t>(n_pages_); }  // the whole pool
  size_t bytes_in_use() const { return page_bytes_ * static_cast<size_t>(pages_in_use()); }

  // REQUIRES: layer < n_layer, seq < n_seq, pos < n_ctx, and the page holding pos mapped for seq
  // (prepare() or fork()). Row of row_dim elements of type().
  void* k_row(int64_t layer, int64_t seq, int64_t pos) { return base_ + offset(layer, seq, pos); }
  void* v_row(int64_t layer, int64_t seq, int64_t pos) { return base_ + offset(layer, seq, pos) + half_bytes_; }
  const void* k_row(int64_t layer, int64_t seq, int64_t pos) const { return base_ + offset(layer, seq, pos); }
  const void* v_row(int64_t layer, int64_t seq, int64_t pos) const {
    return base_ + offset(layer, seq, pos) + half_bytes_;
  }

  // Makes positions [begin, end) of seq writable: maps a free page where none is mapped and copies a
  // page another sequence also maps (copy-on-write). Throws kOutOfRange when the free pages run out;
  // the pages mapped before the throw stay mapped (still consistent). REQUIRES: 0 <= begin <= end <= n_ctx.
  void prepare(int64_t seq, int64_t begin, int64_t end);
  // Free pages prepare(seq, begin, end) would take.
  int64_t pages_needed(int64_t seq, int64_t begin, int64_t end) const;

  // Sequence dst shares src's pages for positions [0, n) (no copy). REQUIRES: dst maps no page,
  // src != dst, and src maps every page of [0, n).
  void fork(int64_t src, int64_t dst, int64_t n);
  // Keeps the pages of positions [0, n) of seq and releases the rest (a page returns to the free list
  // when no sequence maps it any more).
  void truncate(int64_t seq, int64_t n);
  void release(int64_t seq) { truncate(seq, 0); }

  // Inspection for tests and stats: the page id holding (seq, pos), or -1 when unmapped; how many
  // sequences map a page; pages mapped by one sequence.
  int32_t page_of(int64_t seq, int64_t pos) const;
  int32_t page_refs(int32_t page) const { return refs_[page]; }
  int64_t pages_mapped(int64_t seq) const;

 private:
  size_t offset(int64_t layer, int64_t seq, int64_t pos) const {
    // Cheap always-on checks: an unmapped page here is an engine bug, not bad input.
    if (static_cast<uint64_t>(seq) >= static_cast<uint64_t>(n_seq_) ||
        static_cast<uint64_t>(pos) >= static_cast<uint64_t>(n_ctx_) ||
        static_cast<uint64_t>(layer) >= static_cast<uint64_t>(n_layer_)) {
      bad_access(layer, seq, pos);
    }
    const int32_t page = table_[seq * max_pages_ + (pos >> page_shift_)];
    if (page < 0) bad_access(layer, seq, pos);
    return static_cast<size_t>(page) * page_bytes_ +
           (static_cast<size_t>(layer) * page_size_ + (pos & page_mask_)) * row_bytes_;
  }
  [[noreturn]] void bad_access(int64_t layer, int64_t seq, int64_t pos) const;
  int32_t take_page();
  void drop_page(int32_t page);

  int64_t n_layer_, n_ctx_, n_seq_, row_dim_;
  KvType type_;
  int64_t page_size_, page_shift_, page_mask_, max_pages_, n_pages_;
  size_t row_bytes_, half_bytes_, page_bytes_, map_bytes_ = 0;
  uint8_t* base_ = nullptr;
  std::vector<int32_t> table_;  // (n_seq, max_pages) page ids, -1 = unmapped
  std::vector<int32_t> refs_;   // (n_pages) sequences mapping each page
  std::vector<int32_t> free_;   // free page ids; the most recently freed (still warm) is taken first
};

}  // namespace muse::model
