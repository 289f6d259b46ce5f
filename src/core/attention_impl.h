// attend() and silu_mul() written once over a small vector-traits type and instantiated, with internal
// linkage, by each ISA file (matmul.cpp: ScalarVec; matmul_avx2.cpp: 8 lanes; matmul_avx512.cpp: 16).
// A traits type V provides: T (the register), W (lanes), zero, set1, load / store (unaligned f32),
// load_f16 (W halves to f32), add, sub, mul, div, fma(a, b, c) = a * b + c, max, hsum, hmax, exp and
// sum_lanes (W vectors to one whose lane i is the sum of vector i's lanes);
// the vector ones also min, round and ldexp2 for exp_poly.
//
// Vector exp (exp_poly): x = n ln2 + r with n = round(x / ln2) and r in [-ln2/2, ln2/2] (ln2 split in
// a short high part and a correction, so that n ln2 is exact enough), e^r by its Taylor polynomial to
// degree 7 (truncation below 1e-8 relative), times 2^n. Inputs are clamped to [-87, 88] so that 2^n
// stays a normal float: below -87 the result is ~1e-38 instead of a denormal or 0, which no softmax
// or sigmoid here can tell apart.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/attention.h"
#include "core/quant.h"

namespace muse::core::detail {
// Internal linkage: each ISA file compiles its own copy with its own flags (a shared instantiation
// could let the linker pick an AVX-512 build of the scalar code for a CPU without AVX-512).
namespace {

struct ScalarVec {
  using T = float;
  static constexpr int64_t W = 1;
  static T zero() { return 0.0f; }
  static T set1(float x) { return x; }
  static T load(const float* p) { return *p; }
  static void store(float* p, T x) { *p = x; }
  static T load_f16(const uint16_t* p) { return f16_to_f32(*p); }
  static T add(T a, T b) { return a + b; }
  static T sub(T a, T b) { return a - b; }
  static T mul(T a, T b) { return a * b; }
  static T div(T a, T b) { return a / b; }
  static T fma(T a, T b, T c) { return a * b + c; }
  static T max(T a, T b) { return std::max(a, b); }
  static float hsum(T a) { return a; }
  static float hmax(T a) { return a; }
  static T sum_lanes(const T (&a)[1]) { return a[0]; }
  static T exp(T x) { return std::exp(x); }
};

// e^x for the vector traits (see the file comment). V::ldexp2(p, n) = p * 2^n for integral-valued n,
// V::round(x) = x rounded to nearest.
template <class V>
typename V::T exp_poly(typename V::T x) {
  using T = typename V::T;
  x = V::max(V::set1(-87.0f), V::min(x, V::set1(88.0f)));
  const T n = V::round(V::mul(x, V::set1(1.44269504088896341f)));
  T r = V::fma(n, V::set1(-0.693359375f), x);  // ln2 = 0.693359375 - 2.12194440e-4 (high part exact)
  r = V::fma(n, V::set1(2.12194440e-4f), r);
  T p = V::set1(1.0f / 5040.0f);
  p = V::fma(p, r, V::set1(1.0f / 720.0f));
  p = V::fma(p, r, V::set1(1.0f / 120.0f));
  p = V::fma(p, r, V::set1(1.0f / 24.0f));
  p = V::fma(p, r, V::set1(1.0f / 6.0f));
  p = V::fma(p, r, V::set1(0.5f));
  p = V::fma(p, r, V::set1(1.0f));
  p = V::fma(p, r, V::set1(1.0f));
  return V::ldexp2(p, n);
}

// Rows ahead of the one being read that are prefetched, whole. KV rows are cold (the weights streamed
// through the caches since this layer's last token) and sit in runs of 16 positions (a KV page) far
// apart, too short for the hardware prefetcher to ramp up. Measured one thread, 32 heads x 160 cold
// F16 positions: 51-57 us with no prefetch, 40-41 us with 4 rows ahead (2: 47, 8: 43; 31 us hot); also
// prefetching the first rows up front made it slower (43-46).
constexpr int64_t kPrefetchRows = 4;

inline void prefetch_row(const void* row, size_t bytes) {
  for (size_t b = 0; b < bytes; b += 64) __builtin_prefetch(static_cast<const char*>(row) + b);
}

// KV head g of a row as f32: the row itself (F32) or `buf` after converting it (F16).
template <class V>
const float* kv_head_f32(const void* row, bool f16, int64_t g, int64_t d, float* buf) {
  if (!f16) return static_cast<const float*>(row) + g * d;
  const uint16_t* h = static_cast<const uint16_t*>(row) + g * d;
  for (int64_t c = 0; c < d; c += V::W) V::store(buf + c, V::load_f16(h + c));
  return buf;
}

// W elements of a KV row, from element `off` on, as f32 (F16 rows converted in the register).
template <class V>
typename V::T kv_vec(const void* row, bool f16, int64_t off) {
  return f16 ? V::load_f16(static_cast<const uint16_t*>(row) + off) : V::load(static_cast<const float*>(row) + off);
}

// Scores of query head q over W positions whose key rows (head g, as f32) are k[0..W): lane i of the
// result is q . k[i]. The W dots accumulate in W registers and are summed across lanes together
// (V::sum_lanes), not one horizontal sum each.
template <class V>
typename V::T dots_w(const float* q, const float* const* k, int64_t d) {
  using T = typename V::T;
  T acc[V::W];
  for (int64_t i = 0; i < V::W; ++i) acc[i] = V::zero();
  for (int64_t c = 0; c < d; c += V::W) {
    const T qv = V::load(q + c);
    for (int64_t i = 0; i < V::W; ++i) acc[i] = V::fma(V::load(k[i] + c), qv, acc[i]);
  }
  return V::sum_lanes(acc);
}

// out[h] += sum_j p[h][j] v_j for H query heads of one KV head, over all n_pos value rows, for the NV
// vectors of the row starting at element `off` (a KV head's slice): the H x NV sums stay in registers while the
// rows stream by (p[h][j] = scores[h * n_pos + j]; out rows d apart).
template <class V, int H, int NV>
void weighted_rows(const float* scores, int64_t n_pos, const KvRows& rows, int64_t off, float* out, int64_t d,
                   size_t prefetch_bytes) {
  using T = typename V::T;
  T acc[H][NV];
  for (int h = 0; h < H; ++h)
    for (int c = 0; c < NV; ++c) acc[h][c] = V::zero();
  for (int64_t j = 0; j < n_pos; ++j) {
    if (prefetch_bytes != 0 && j + kPrefetchRows < n_pos) prefetch_row(rows.v[j + kPrefetchRows], prefetch_bytes);
    T v[NV];
    for (int c = 0; c < NV; ++c) v[c] = kv_vec<V>(rows.v[j], rows.f16, off + c * V::W);
    for (int h = 0; h < H; ++h) {
      const T p = V::set1(scores[h * n_pos + j]);
      for (int c = 0; c < NV; ++c) acc[h][c] = V::fma(p, v[c], acc[h][c]);
    }
  }
  for (int h = 0; h < H; ++h)
    for (int c = 0; c < NV; ++c) V::store(out + h * d + c * V::W, acc[h][c]);
}

// weighted_rows for a run-time number of heads (1..kMaxHeadTile) and vectors (1 or 2).
constexpr int64_t kMaxHeadTile = 8;
template <class V, int H = kMaxHeadTile>
void weighted_rows_n(int64_t n_heads, int64_t nv, const float* scores, int64_t n_pos, const KvRows& rows,
                     int64_t off, float* out, int64_t d, size_t prefetch_bytes) {
  if constexpr (H > 1) {
    if (n_heads < H) {
      weighted_rows_n<V, H - 1>(n_heads, nv, scores, n_pos, rows, off, out, d, prefetch_bytes);
      return;
    }
  }
  if (nv == 2) {
    weighted_rows<V, H, 2>(scores, n_pos, rows, off, out, d, prefetch_bytes);
  } else {
    weighted_rows<V, H, 1>(scores, n_pos, rows, off, out, d, prefetch_bytes);
  }
}

// attend (stats == nullptr: normalized) and attend_part (stats: see attention.h).
template <class V>
void attend_impl(const float* q, const AttendShape& shape, const KvRows& rows, int64_t n_pos, float scale,
                 float* scores, float* out, float* stats) {
  using T = typename V::T;
  constexpr int64_t W = V::W;
  const int64_t d = shape.d, n_head = shape.n_head, n_kv = shape.n_kv, group = n_head / n_kv;
  if (d % W != 0) {  // e.g. head dim 8 (stories260K) on 16 lanes
    attend_impl<ScalarVec>(q, shape, rows, n_pos, scale, scores, out, stats);
    return;
  }
  // Scores, W positions at a time: their key rows are read once (converted once per KV head), and each
  // query head of the group gets W scores from one cross-lane sum (dots_w).
  alignas(64) float kbuf[W * kMaxHeadDim];
  const size_t row_bytes = static_cast<size_t>(n_kv * d) * (rows.f16 ? 2 : 4);
  const T vscale = V::set1(scale);
  for (int64_t j0 = 0; j0 < n_pos; j0 += W) {
    const int64_t nb = std::min(W, n_pos - j0);
    for (int64_t g = 0; g < n_kv; ++g) {
      const float* k[W];
      for (int64_t i = 0; i < nb; ++i) {
        const int64_t j = j0 + i;
        if (g == 0 && j + kPrefetchRows < n_pos) prefetch_row(rows.k[j + kPrefetchRows], row_bytes);
        k[i] = kv_head_f32<V>(rows.k[j], rows.f16, g, d, kbuf + i * d);
      }
      for (int64_t i = nb; i < W; ++i) k[i] = k[0];  // lanes past the end: computed, not stored
      for (int64_t h = g * group; h < (g + 1) * group; ++h) {
        const T s = V::mul(dots_w<V>(q + h * d, k, d), vscale);
        if (nb == W) {
          V::store(scores + h * n_pos + j0, s);
        } else {
          alignas(64) float tmp[W];
          V::store(tmp, s);
          std::copy(tmp, tmp + nb, scores + h * n_pos + j0);
        }
      }
    }
  }
  // Softmax numerators per head, in place; normalized unless the caller merges parts.
  for (int64_t h = 0; h < n_head; ++h) {
    float* s = scores + h * n_pos;
    int64_t j = 0;
    float m = -std::numeric_limits<float>::infinity();
    if (n_pos >= W) {
      T mv = V::load(s);
      for (j = W; j + W <= n_pos; j += W) mv = V::max(mv, V::load(s + j));
      m = V::hmax(mv);
    }
    for (; j < n_pos; ++j) m = std::max(m, s[j]);
    const T mv = V::set1(m);
    T sum = V::zero();
    for (j = 0; j + W <= n_pos; j += W) {
      const T e = V::exp(V::sub(V::load(s + j), mv));
      V::store(s + j, e);
      sum = V::add(sum, e);
    }
    float total = V::hsum(sum);
    for (; j < n_pos; ++j) {
      s[j] = std::exp(s[j] - m);
      total += s[j];
    }
    if (stats != nullptr) {
      stats[2 * h] = m;
      stats[2 * h + 1] = total;
      continue;
    }
    const T inv = V::set1(1.0f / total);
    for (j = 0; j + W <= n_pos; j += W) V::store(s + j, V::mul(V::load(s + j), inv));
    for (; j < n_pos; ++j) s[j] *= 1.0f / total;
  }
  // Weighted sum of the value rows: per KV head, tiles of up to kMaxHeadTile query heads x 2 vectors of
  // the head dimension accumulate in registers over all the positions (the rows are re-read per tile,
  // from cache after the first; the first tile prefetches).
  const int64_t nv_total = d / W;
  for (int64_t g = 0; g < n_kv; ++g) {
    for (int64_t h0 = g * group; h0 < (g + 1) * group; h0 += kMaxHeadTile) {
      const int64_t nh = std::min(kMaxHeadTile, (g + 1) * group - h0);
      for (int64_t c = 0; c < nv_total; c += 2) {
        const int64_t nv = std::min<int64_t>(2, nv_total - c);
        const bool first = g == 0 && h0 == 0 && c == 0;
        weighted_rows_n<V>(nh, nv, scores + h0 * n_pos, n_pos, rows, g * d + c * W, out + h0 * d + c * W, d,
                           first ? row_bytes : 0);
      }
    }
  }
}

template <class V>
void silu_mul_impl(float* g, const float* u, int64_t n) {
  using T = typename V::T;
  const T one = V::set1(1.0f);
  int64_t i = 0;
  for (; i + V::W <= n; i += V::W) {
    const T x = V::load(g + i);
    const T e = V::exp(V::sub(V::zero(), x));
    V::store(g + i, V::mul(V::div(x, V::add(one, e)), V::load(u + i)));
  }
  for (; i < n; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

}  // namespace
}  // namespace muse::core::detail
