// Attention over KV-cache rows and the SwiGLU gate: the per-token work of a forward pass that is not
// a weight matmul. Dispatched like matmul (scalar reference, AVX2, AVX-512); the vector paths use a
// polynomial exp accurate to a few ulp, so they differ from the scalar path only in float rounding.
#pragma once

#include <cstdint>

#include "core/matmul.h"

namespace muse::core {

// Largest head dimension attend() takes (it converts one key or value row at a time on the stack).
constexpr int64_t kMaxHeadDim = 512;

// The keys and values one attend() call reads: k[j] and v[j] point at the KV-cache rows of position j
// (rows live in KV pages, so each position has its own pointer); this KV head's d elements start
// `offset` elements into each row. Elements are F16 (f16 = true) or F32.
struct KvRows {
  const void* const* k = nullptr;
  const void* const* v = nullptr;
  int64_t offset = 0;
  bool f16 = true;
};

// Attention of n_q query heads that share one KV head (a GQA group) over positions 0..n_pos-1:
//   out[i] = sum_j softmax_j(scale * q[i] . k_j) v_j    for i < n_q
// q and out are n_q x d, row-major; scores is scratch for n_q * n_pos floats. Every key and value row
// is read (and converted from F16) once for the whole group, not once per query head.
// REQUIRES: n_q >= 1, n_pos >= 1, 1 <= d <= kMaxHeadDim, kernel_path_available(path).
void attend(const float* q, int64_t n_q, int64_t d, const KvRows& rows, int64_t n_pos, float scale,
            float* scores, float* out, KernelPath path = KernelPath::kAuto);

// g[i] = silu(g[i]) * u[i] = g[i] / (1 + exp(-g[i])) * u[i]: the SwiGLU gate, in place.
void silu_mul(float* g, const float* u, int64_t n, KernelPath path = KernelPath::kAuto);

}  // namespace muse::core
