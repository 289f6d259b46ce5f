#include "model/kv_cache.h"

#include <cstring>

#include "core/error.h"

namespace muse::model {

KvCache::KvCache(const HParams& hp, int64_t n_ctx, int64_t n_seq, KvType type)
    : n_layer_(hp.n_layer), n_ctx_(n_ctx), n_seq_(n_seq), row_dim_(hp.kv_dim()), type_(type),
      elem_bytes_(type == KvType::kF16 ? 2 : 4) {
  if (n_ctx <= 0 || n_seq <= 0) {
    fail(ErrorCode::kInvalidArgument, "KV cache: context ({}) and sequence count ({}) must be positive", n_ctx, n_seq);
  }
  const double bytes = 2.0 * static_cast<double>(n_layer_) * static_cast<double>(n_seq) * static_cast<double>(n_ctx) *
                       static_cast<double>(row_dim_) * static_cast<double>(elem_bytes_);
  constexpr double kLimit = 256.0 * (1ull << 30);
  if (bytes > kLimit) {
    fail(ErrorCode::kOutOfRange, "KV cache: {} sequences x {} tokens needs {:.1f} GiB, over the {:.0f} GiB limit; "
         "use a smaller context (-c)", n_seq, n_ctx, bytes / (1 << 30), kLimit / (1 << 30));
  }
  k_.assign(static_cast<size_t>(bytes / 2), 0);
  v_.assign(static_cast<size_t>(bytes / 2), 0);
}

size_t KvCache::offset(int64_t layer, int64_t seq, int64_t pos) const {
  MUSE_ASSERT(layer >= 0 && layer < n_layer_ && seq >= 0 && seq < n_seq_ && pos >= 0 && pos < n_ctx_);
  return ((static_cast<size_t>(layer) * n_seq_ + seq) * n_ctx_ + pos) * row_dim_ * elem_bytes_;
}

void KvCache::copy_prefix(int64_t src, int64_t dst, int64_t n) {
  MUSE_ASSERT(n >= 0 && n <= n_ctx_);
  if (src == dst || n == 0) return;
  const size_t len = static_cast<size_t>(n) * row_dim_ * elem_bytes_;
  for (int64_t l = 0; l < n_layer_; ++l) {
    std::memcpy(k_row(l, dst, 0), k_row(l, src, 0), len);
    std::memcpy(v_row(l, dst, 0), v_row(l, src, 0), len);
  }
}

}  // namespace muse::model
