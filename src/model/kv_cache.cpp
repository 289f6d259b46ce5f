#include "model/kv_cache.h"

#include <sys/mman.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace muse::model {

KvCache::KvCache(const HParams& hp, int64_t n_ctx, int64_t n_seq, KvType type)
    : KvCache(hp, n_ctx, n_seq, [type] {
        KvOptions o;
        o.type = type;
        return o;
      }()) {}

KvCache::KvCache(const HParams& hp, int64_t n_ctx, int64_t n_seq, const KvOptions& options)
    : n_layer_(hp.n_layer), n_ctx_(n_ctx), n_seq_(n_seq), row_dim_(hp.kv_dim()), type_(options.type),
      page_size_(options.page_size) {
  if (n_ctx <= 0 || n_seq <= 0) {
    fail(ErrorCode::kInvalidArgument, "KV cache: context ({}) and sequence count ({}) must be positive", n_ctx, n_seq);
  }
  if (page_size_ <= 0 || page_size_ > 4096 || !std::has_single_bit(static_cast<uint64_t>(page_size_))) {
    fail(ErrorCode::kInvalidArgument, "KV cache: page size {} must be a power of two in 1..4096", page_size_);
  }
  if (options.n_pages < 0) fail(ErrorCode::kInvalidArgument, "KV cache: page count {} is negative", options.n_pages);
  page_shift_ = std::countr_zero(static_cast<uint64_t>(page_size_));
  page_mask_ = page_size_ - 1;
  max_pages_ = (n_ctx + page_size_ - 1) / page_size_;
  n_pages_ = options.n_pages > 0 ? options.n_pages : max_pages_ * n_seq;
  row_bytes_ = static_cast<size_t>(row_dim_) * (type_ == KvType::kF16 ? 2 : 4);
  half_bytes_ = static_cast<size_t>(n_layer_) * page_size_ * row_bytes_;
  page_bytes_ = 2 * half_bytes_;

  const double total = static_cast<double>(page_bytes_) * static_cast<double>(n_pages_);
  constexpr double kLimit = 256.0 * (1ull << 30);
  if (total > kLimit || n_pages_ > (int64_t{1} << 30)) {
    fail(ErrorCode::kOutOfRange, "KV cache: {} pages of {} tokens ({} sequences x {} tokens) need {:.1f} GiB, over "
         "the {:.0f} GiB limit; use a smaller context (-c) or fewer sequences", n_pages_, page_size_, n_seq, n_ctx,
         total / (1 << 30), kLimit / (1 << 30));
  }
  map_bytes_ = static_cast<size_t>(total);
  // Anonymous memory reads as zeros and is backed by RAM only once touched; NORESERVE keeps a large,
  // mostly unused pool from counting against overcommit limits.
  void* p = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    fail(ErrorCode::kIOError, "KV cache: cannot reserve {:.1f} MiB: {}", map_bytes_ / 1048576.0, std::strerror(errno));
  }
  base_ = static_cast<uint8_t*>(p);
  table_.assign(static_cast<size_t>(n_seq_ * max_pages_), -1);
  refs_.assign(static_cast<size_t>(n_pages_), 0);
  free_.resize(static_cast<size_t>(n_pages_));
  // Page 0 on top of the stack: low pages are taken first, which keeps small caches compact.
  for (int64_t i = 0; i < n_pages_; ++i) free_[i] = static_cast<int32_t>(n_pages_ - 1 - i);
}

KvCache::~KvCache() {
  if (base_ != nullptr) munmap(base_, map_bytes_);
}

void KvCache::bad_access(int64_t layer, int64_t seq, int64_t pos) const {
  fmt::print(stderr, "KV cache: row (layer {}, sequence {}, position {}) is outside the cache or its page is not "
             "mapped (n_layer {}, n_seq {}, n_ctx {})\n", layer, seq, pos, n_layer_, n_seq_, n_ctx_);
  MUSE_ASSERT(false && "KV cache row access without a mapped page");
  __builtin_unreachable();
}

int32_t KvCache::take_page() {
  MUSE_ASSERT(!free_.empty());
  const int32_t page = free_.back();
  free_.pop_back();
  refs_[page] = 1;
  return page;
}

void KvCache::drop_page(int32_t page) {
  MUSE_ASSERT(refs_[page] > 0);
  if (--refs_[page] == 0) free_.push_back(page);
}

int64_t KvCache::pages_needed(int64_t seq, int64_t begin, int64_t end) const {
  MUSE_ASSERT(seq >= 0 && seq < n_seq_ && begin >= 0 && begin <= end && end <= n_ctx_);
  if (begin == end) return 0;
  int64_t need = 0;
  for (int64_t p = begin >> page_shift_; p <= (end - 1) >> page_shift_; ++p) {
    const int32_t page = table_[seq * max_pages_ + p];
    if (page < 0 || refs_[page] > 1) ++need;
  }
  return need;
}

void KvCache::prepare(int64_t seq, int64_t begin, int64_t end) {
  MUSE_ASSERT(seq >= 0 && seq < n_seq_ && begin >= 0 && begin <= end && end <= n_ctx_);
  if (begin == end) return;
  for (int64_t p = begin >> page_shift_; p <= (end - 1) >> page_shift_; ++p) {
    int32_t& slot = table_[seq * max_pages_ + p];
    if (slot >= 0 && refs_[slot] == 1) continue;
    if (free_.empty()) {
      fail(ErrorCode::kOutOfRange, "KV cache: all {} pages ({} tokens each) are in use; sequence {} needs one more "
           "for position {}", n_pages_, page_size_, seq, p * page_size_);
    }
    const int32_t fresh = take_page();
    if (slot >= 0) {
      // Copy-on-write: this sequence writes into a page others still read; give it a private copy.
      std::memcpy(base_ + static_cast<size_t>(fresh) * page_bytes_, base_ + static_cast<size_t>(slot) * page_bytes_,
                  page_bytes_);
      drop_page(slot);
    }
    slot = fresh;
  }
}

void KvCache::fork(int64_t src, int64_t dst, int64_t n) {
  MUSE_ASSERT(src >= 0 && src < n_seq_ && dst >= 0 && dst < n_seq_ && src != dst && n >= 0 && n <= n_ctx_);
  MUSE_ASSERT(pages_mapped(dst) == 0);
  const int64_t pages = (n + page_size_ - 1) >> page_shift_;
  for (int64_t p = 0; p < pages; ++p) {
    const int32_t page = table_[src * max_pages_ + p];
    MUSE_ASSERT(page >= 0);
    ++refs_[page];
    table_[dst * max_pages_ + p] = page;
  }
}

void KvCache::truncate(int64_t seq, int64_t n) {
  MUSE_ASSERT(seq >= 0 && seq < n_seq_ && n >= 0 && n <= n_ctx_);
  for (int64_t p = (n + page_size_ - 1) >> page_shift_; p < max_pages_; ++p) {
    int32_t& slot = table_[seq * max_pages_ + p];
    if (slot < 0) continue;
    drop_page(slot);
    slot = -1;
  }
}

int32_t KvCache::page_of(int64_t seq, int64_t pos) const {
  MUSE_ASSERT(seq >= 0 && seq < n_seq_ && pos >= 0 && pos < n_ctx_);
  return table_[seq * max_pages_ + (pos >> page_shift_)];
}

int64_t KvCache::pages_mapped(int64_t seq) const {
  MUSE_ASSERT(seq >= 0 && seq < n_seq_);
  int64_t n = 0;
  for (int64_t p = 0; p < max_pages_; ++p) n += table_[seq * max_pages_ + p] >= 0 ? 1 : 0;
  return n;
}

}  // namespace muse::model
