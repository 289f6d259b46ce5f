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
#include <cstring>
#include <limits>

#include "core/attention.h"
#include "core/error.h"
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

// Position j's row of this KV head as f32: the row itself (F32) or `buf` after converting it (F16).
template <class V>
const float* kv_row_f32(const void* row, const KvRows& rows, int64_t d, float* buf) {
  if (!rows.f16) return static_cast<const float*>(row) + rows.offset;
  const uint16_t* h = static_cast<const uint16_t*>(row) + rows.offset;
  for (int64_t c = 0; c < d; c += V::W) V::store(buf + c, V::load_f16(h + c));
  return buf;
}

template <class V>
void attend_impl(const float* q, int64_t n_q, int64_t d, const KvRows& rows, int64_t n_pos, float scale,
                 float* scores, float* out) {
  using T = typename V::T;
  if (d % V::W != 0) {  // e.g. head dim 8 (stories260K) on 16 lanes
    attend_impl<ScalarVec>(q, n_q, d, rows, n_pos, scale, scores, out);
    return;
  }
  alignas(64) float buf[kMaxHeadDim];
  // Scores: one pass over the keys, each converted once and dotted with every query head.
  for (int64_t j = 0; j < n_pos; ++j) {
    const float* k = kv_row_f32<V>(rows.k[j], rows, d, buf);
    for (int64_t i = 0; i < n_q; ++i) {
      const float* qi = q + i * d;
      T acc = V::zero();
      for (int64_t c = 0; c < d; c += V::W) acc = V::fma(V::load(k + c), V::load(qi + c), acc);
      scores[i * n_pos + j] = V::hsum(acc) * scale;
    }
  }
  // Softmax per head, in place: the scores become probabilities.
  for (int64_t i = 0; i < n_q; ++i) {
    float* s = scores + i * n_pos;
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
    const T inv = V::set1(1.0f / total);
    for (j = 0; j + V::W <= n_pos; j += V::W) V::store(s + j, V::mul(V::load(s + j), inv));
    for (; j < n_pos; ++j) s[j] *= 1.0f / total;
  }
  // Weighted sum of the values: one pass, each value row converted once for every head.
  std::fill(out, out + n_q * d, 0.0f);
  for (int64_t j = 0; j < n_pos; ++j) {
    const float* v = kv_row_f32<V>(rows.v[j], rows, d, buf);
    for (int64_t i = 0; i < n_q; ++i) {
      const T p = V::set1(scores[i * n_pos + j]);
      float* o = out + i * d;
      for (int64_t c = 0; c < d; c += V::W) V::store(o + c, V::fma(p, V::load(v + c), V::load(o + c)));
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
