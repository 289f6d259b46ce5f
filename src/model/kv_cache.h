// KvCache: the attention keys and values of every token seen so far, for n_seq sequences.
//
// Layout: (n_layer, n_seq, n_ctx, K) for keys and the same for values, K = n_head_kv * head_dim, stored
// as F16 (default: half the memory, what llama.cpp uses) or F32. The cache only stores rows; which
// positions of a sequence are valid is tracked by the caller (engine sequences). Not thread-safe for
// writes to the same row; distinct rows may be written concurrently. Constructor throws kOutOfRange if
// the requested size would not fit in memory limits the caller set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/hparams.h"

namespace muse::model {

enum class KvType { kF16, kF32 };

class KvCache {
 public:
  KvCache(const HParams& hp, int64_t n_ctx, int64_t n_seq, KvType type = KvType::kF16);

  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_seq() const { return n_seq_; }
  int64_t row_dim() const { return row_dim_; }
  KvType type() const { return type_; }
  size_t bytes() const { return k_.size() + v_.size(); }

  // REQUIRES: layer < n_layer, seq < n_seq, pos < n_ctx. Row of row_dim elements of type().
  void* k_row(int64_t layer, int64_t seq, int64_t pos) { return &k_[offset(layer, seq, pos)]; }
  void* v_row(int64_t layer, int64_t seq, int64_t pos) { return &v_[offset(layer, seq, pos)]; }
  const void* k_row(int64_t layer, int64_t seq, int64_t pos) const { return &k_[offset(layer, seq, pos)]; }
  const void* v_row(int64_t layer, int64_t seq, int64_t pos) const { return &v_[offset(layer, seq, pos)]; }

  // Copies positions [0, n) of sequence src to sequence dst in every layer (forking a sequence).
  void copy_prefix(int64_t src, int64_t dst, int64_t n);

 private:
  size_t offset(int64_t layer, int64_t seq, int64_t pos) const;

  int64_t n_layer_, n_ctx_, n_seq_, row_dim_;
  KvType type_;
  size_t elem_bytes_;
  std::vector<uint8_t> k_, v_;
};

}  // namespace muse::model
