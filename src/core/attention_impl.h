// attend() and silu_mul() written once over a small vector-traits type and instantiated, with internal
// linkage, by each ISA file (matmul.cpp: ScalarVec; matmul_avx2.cpp: 8 lanes; matmul_avx512.cpp: 16).
// A traits type V provides: T (the register), W (lanes), zero, set1, load / store (unaligned f32),
// load_f16 (W halves to f32), add, sub, mul, div, fma(a, b, c) = a * b + c, max, hsum, hmax and exp;
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

// attend (stats == nullptr: normalized) and attend_part (stats: see attention.h).
template <class V>
void attend_impl(const float* q, const AttendShape& shape, const KvRows& rows, int64_t n_pos, float scale,
                 float* scores, float* out, float* stats) {
  using T = typename V::T;
  const int64_t d = shape.d, n_head = shape.n_head, n_kv = shape.n_kv, group = n_head / n_kv;
  if (d % V::W != 0) {  // e.g. head dim 8 (stories260K) on 16 lanes
    attend_impl<ScalarVec>(q, shape, rows, n_pos, scale, scores, out, stats);
    return;
  }
  alignas(64) float buf[kMaxHeadDim];
  // Scores: one pass over the key rows; each KV head converted once and dotted with its group.
  const size_t row_bytes = static_cast<size_t>(n_kv * d) * (rows.f16 ? 2 : 4);
  for (int64_t j = 0; j < n_pos; ++j) {
    if (j + kPrefetchRows < n_pos) prefetch_row(rows.k[j + kPrefetchRows], row_bytes);
    for (int64_t g = 0; g < n_kv; ++g) {
      const float* k = kv_head_f32<V>(rows.k[j], rows.f16, g, d, buf);
      for (int64_t h = g * group; h < (g + 1) * group; ++h) {
        const float* qh = q + h * d;
        T acc = V::zero();
        for (int64_t c = 0; c < d; c += V::W) acc = V::fma(V::load(k + c), V::load(qh + c), acc);
        scores[h * n_pos + j] = V::hsum(acc) * scale;
      }
    }
  }
  // Softmax numerators per head, in place; normalized unless the caller merges parts.
  for (int64_t h = 0; h < n_head; ++h) {
    float* s = scores + h * n_pos;
    int64_t j = 0;
    float m = -std::numeric_limits<float>::infinity();
    if (n_pos >= V::W) {
      T mv = V::load(s);
      for (j = V::W; j + V::W <= n_pos; j += V::W) mv = V::max(mv, V::load(s + j));
      m = V::hmax(mv);
    }
    for (; j < n_pos; ++j) m = std::max(m, s[j]);
    const T mv = V::set1(m);
    T sum = V::zero();
    for (j = 0; j + V::W <= n_pos; j += V::W) {
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
    for (j = 0; j + V::W <= n_pos; j += V::W) V::store(s + j, V::mul(V::load(s + j), inv));
    for (; j < n_pos; ++j) s[j] *= 1.0f / total;
  }
  // Weighted sum of the value rows: one pass, each KV head converted once for its group.
  std::fill(out, out + n_head * d, 0.0f);
  for (int64_t j = 0; j < n_pos; ++j) {
    if (j + kPrefetchRows < n_pos) prefetch_row(rows.v[j + kPrefetchRows], row_bytes);
    for (int64_t g = 0; g < n_kv; ++g) {
      const float* v = kv_head_f32<V>(rows.v[j], rows.f16, g, d, buf);
      for (int64_t h = g * group; h < (g + 1) * group; ++h) {
        const T p = V::set1(scores[h * n_pos + j]);
        float* o = out + h * d;
        for (int64_t c = 0; c < d; c += V::W) V::store(o + c, V::fma(p, V::load(v + c), V::load(o + c)));
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
