// Attention over KV-cache rows and the SwiGLU gate: the per-token work of a forward pass that is not
// a weight matmul. Dispatched like matmul (scalar reference, AVX2, AVX-512); the vector paths use a
// polynomial exp accurate to a few ulp, so they differ from the scalar path only in float rounding.
#pragma once

#include <cstdint>

#include "core/matmul.h"

namespace muse::core {

// Largest head dimension attend() takes (it converts one key or value row at a time on the stack).
constexpr int64_t kMaxHeadDim = 512;

// The keys and values one attention call reads: k[j] and v[j] point at the KV-cache rows of position j
// (rows live in KV pages, so each position has its own pointer). A row holds n_kv heads of d elements,
// F16 (f16 = true) or F32.
struct KvRows {
  const void* const* k = nullptr;
  const void* const* v = nullptr;
  bool f16 = true;
};

// Query heads, KV heads (n_head a multiple of n_kv: query head h reads KV head h / (n_head / n_kv))
// and the head dimension.
struct AttendShape {
  int64_t n_head = 1, n_kv = 1, d = 1;
};

// Attention of one token's n_head query heads over positions 0..n_pos-1:
//   out[h] = sum_j softmax_j(scale * q[h] . k_j[h / group]) v_j[h / group]
// q and out are n_head x d, row-major; scores is scratch for n_head * n_pos floats. Each row is read
// once, whole and in order (KV pages are contiguous runs of rows, which the hardware prefetcher
// follows), and each KV head is converted from F16 once for the query heads of its group.
// REQUIRES: n_pos >= 1, 1 <= d <= kMaxHeadDim, n_head % n_kv == 0, kernel_path_available(path).
void attend(const float* q, const AttendShape& shape, const KvRows& rows, int64_t n_pos, float scale,
            float* scores, float* out, KernelPath path = KernelPath::kAuto);

// The same over some of the positions (rows, n_pos: that part), left unnormalized so that parts computed
// apart (by different threads) can be combined by attend_merge:
//   out[h] = sum_j e^(s_hj - m_h) v_j,  stats[2h] = m_h = max_j s_hj,  stats[2h + 1] = sum_j e^(s_hj - m_h)
void attend_part(const float* q, const AttendShape& shape, const KvRows& rows, int64_t n_pos, float scale,
                 float* scores, float* out, float* stats, KernelPath path = KernelPath::kAuto);

// out = the attention over all the parts' positions, from n_parts results of attend_part.
void attend_merge(const float* const* part_out, const float* const* part_stats, int64_t n_parts,
                  const AttendShape& shape, float* out);

// g[i] = silu(g[i]) * u[i] = g[i] / (1 + exp(-g[i])) * u[i]: the SwiGLU gate, in place.
void silu_mul(float* g, const float* u, int64_t n, KernelPath path = KernelPath::kAuto);

}  // namespace muse::core
