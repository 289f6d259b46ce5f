// AVX2 + FMA + F16C kernels; compiled with those flags, called only when cpu_features() has them.
// Integer dots use vpmaddubsw (u8 x s8 -> pairs of i16) then vpmaddwd (-> i32). Operands are kept
// small enough that the i16 pair sums cannot saturate: nibbles (<= 31) x |a| <= 127, or the
// |w| x sign(a, w) trick for Q8_0. Activation layouts: matmul_internal.h. The AVX-512 path also uses
// the K-quant kernels of this file.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "core/matmul_internal.h"
#include "core/quant_blocks.h"

namespace muse::core::detail {
namespace {

float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

float f16(const uint8_t* p) { return _cvtsh_ss(load_u16(p)); }

float load_f32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, 4);
  return v;
}

__m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

template <typename K, int R, int T>
void rows_loop(const GemmArgs& a, int64_t r0, int64_t r1, int64_t t) {
  int64_t r = r0;
  for (; r + R <= r1; r += R) K::template run<R, T>(a, r, t);
  for (; r < r1; ++r) K::template run<1, T>(a, r, t);
}

template <typename K>
void tiles(const GemmArgs& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  if (t1 - t0 == 1) {
    rows_loop<K, 2, 1>(a, r0, r1, t0);
    return;
  }
  int64_t t = t0;
  for (; t + 4 <= t1; t += 4) rows_loop<K, 1, 4>(a, r0, r1, t);
  switch (t1 - t) {
    case 1: rows_loop<K, 1, 1>(a, r0, r1, t); break;
    case 2: rows_loop<K, 1, 2>(a, r0, r1, t); break;
    case 3: rows_loop<K, 1, 3>(a, r0, r1, t); break;
    default: break;
  }
}

// Per (row, token) the kernels produce a vector accumulator plus a scalar; y = hsum(vec) + scalar.
template <int R, int T>
void store_sums(const GemmArgs& a, int64_t r, int64_t t, __m256 (&acc)[R][T], const float (&extra)[R][T]) {
  for (int j = 0; j < T; ++j) {
    for (int i = 0; i < R; ++i) a.y[(t + j) * a.y_stride + r + i] = hsum(acc[i][j]) + extra[i][j];
  }
}

// ---------------------------------------------------------------------------------------------
// Q4_0: two blocks per step; nibbles of blocks (2p, 2p+1) against the pack's lo/hi halves.
struct Q4_0Kernel {
  template <int R, int T>
  static void run(const GemmArgs& a, int64_t r, int64_t t) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i ones = _mm256_set1_epi16(1);
    const int64_t nb = a.k / 32;
    __m256 acc[R][T];
    float extra[R][T] = {};
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b += 2) {
      const bool pair = b + 1 < nb;
      const int64_t g = b / 4, p = (b % 4) / 2;
      __m256i lo[R], hi[R];
      __m256 dw[R];
      for (int i = 0; i < R; ++i) {
        const uint8_t* blk = a.w + (r + i) * a.w_stride + 18 * b;
        const __m128i q0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2));
        const __m128i q1 = pair ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 20)) : _mm_setzero_si128();
        const __m256i q = _mm256_set_m128i(q1, q0);
        lo[i] = _mm256_and_si256(q, m4);
        hi[i] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
        dw[i] = _mm256_set_m128(_mm_set1_ps(pair ? f16(blk + 18) : 0.0f), _mm_set1_ps(f16(blk)));
      }
      for (int j = 0; j < T; ++j) {
        const uint8_t* ap = a.act + (t + j) * a.act_stride + g * kQ4_0GroupBytes;
        const __m256i alo = load256(ap + 32 * p);
        const __m256i ahi = load256(ap + 64 + 32 * p);
        const __m256i bias = load256(ap + 128 + 32 * p);
        const __m256 da = _mm256_loadu_ps(reinterpret_cast<const float*>(ap + 192 + 32 * p));
        for (int i = 0; i < R; ++i) {
          const __m256i s16 = _mm256_add_epi16(_mm256_maddubs_epi16(lo[i], alo), _mm256_maddubs_epi16(hi[i], ahi));
          const __m256i s = _mm256_add_epi32(_mm256_madd_epi16(s16, ones), bias);
          acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(dw[i], da), acc[i][j]);
        }
      }
    }
    store_sums<R, T>(a, r, t, acc, extra);
  }
};

// Q8_0: one block per step, |w| x sign(a, w) so that vpmaddubsw sees an unsigned first operand.
struct Q8_0Kernel {
  template <int R, int T>
  static void run(const GemmArgs& a, int64_t r, int64_t t) {
    const __m256i ones = _mm256_set1_epi16(1);
    const int64_t nb = a.k / 32;
    __m256 acc[R][T];
    float extra[R][T] = {};
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      const int64_t g = b / 2, p = b % 2;
      __m256i q[R];
      float dw[R];
      for (int i = 0; i < R; ++i) {
        const uint8_t* blk = a.w + (r + i) * a.w_stride + 34 * b;
        q[i] = load256(blk + 2);
        dw[i] = f16(blk);
      }
      for (int j = 0; j < T; ++j) {
        const uint8_t* ap = a.act + (t + j) * a.act_stride + g * kQ8_0GroupBytes;
        const __m256i aq = load256(ap + 32 * p);
        const float da = load_f32(ap + 128 + 32 * p);
        for (int i = 0; i < R; ++i) {
          const __m256i s16 = _mm256_maddubs_epi16(_mm256_abs_epi8(q[i]), _mm256_sign_epi8(aq, q[i]));
          const __m256i s = _mm256_madd_epi16(s16, ones);
          acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(dw[i] * da), acc[i][j]);
        }
      }
    }
    store_sums<R, T>(a, r, t, acc, extra);
  }
};

// ---------------------------------------------------------------------------------------------
// Q4_K / Q5_K: per super-block, sum_s sc_s * (q_s . a_s) in i32 lanes (vpmaddwd applies the scale),
// then one FMA with d*da; the mins go through the pack's bsum32 as a scalar.
template <bool kFive>
struct K4Kernel {
  template <int R, int T>
  static void run(const GemmArgs& a, int64_t r, int64_t t) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const int64_t nsb = a.k / 256;
    const size_t bytes = kFive ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
    __m256 acc[R][T];
    float extra[R][T] = {};
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nsb; ++b) {
      for (int i = 0; i < R; ++i) {
        const uint8_t* blk = a.w + (r + i) * a.w_stride + b * bytes;
        const float d = f16(blk), dmin = f16(blk + 2);
        // Unpack the 6-bit scales/mins of all 8 sub-blocks at once (scale_min_k4, 4 bytes per op):
        // sc[0..3] = s0 & 63, m[0..3] = s1 & 63, sc[4..7] = (s2 & 15) | (s0 >> 6) << 4,
        // m[4..7] = (s2 >> 4) | (s1 >> 6) << 4, bytewise over the u32 words s0, s1, s2.
        uint32_t w3[3];
        std::memcpy(w3, blk + 4, 12);
        const uint32_t sc_lo = w3[0] & 0x3F3F3F3F, m_lo = w3[1] & 0x3F3F3F3F;
        const uint32_t sc_hi = (w3[2] & 0x0F0F0F0F) | (((w3[0] >> 6) & 0x03030303) << 4);
        const uint32_t m_hi = ((w3[2] >> 4) & 0x0F0F0F0F) | (((w3[1] >> 6) & 0x03030303) << 4);
        const __m256i scm16 = _mm256_cvtepu8_epi16(_mm_setr_epi32(static_cast<int>(sc_lo), static_cast<int>(sc_hi),
                                                                  static_cast<int>(m_lo), static_cast<int>(m_hi)));
        const __m256i sc_b = _mm256_permute2x128_si256(scm16, scm16, 0x00);  // sc0..7 as i16, both halves
        const uint8_t* qs = blk + (kFive ? 48 : 16);
        const __m256i qh = kFive ? load256(blk + 16) : _mm256_setzero_si256();
        __m256i sumi[T];
        for (int j = 0; j < T; ++j) sumi[j] = _mm256_setzero_si256();
        for (int c = 0; c < 4; ++c) {
          const __m256i q = load256(qs + 32 * c);
          __m256i lo = _mm256_and_si256(q, m4);
          __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
          if (kFive) {
            const __m256i b0 = _mm256_set1_epi8(static_cast<char>(1 << (2 * c)));
            const __m256i b1 = _mm256_set1_epi8(static_cast<char>(2 << (2 * c)));
            const __m256i sixteen = _mm256_set1_epi8(16);
            lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, b0), b0), sixteen));
            hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, b1), b1), sixteen));
          }
          const __m256i s_lo = _mm256_shuffle_epi8(sc_b, _mm256_set1_epi16(static_cast<int16_t>(0x0100 + 0x0404 * c)));
          const __m256i s_hi = _mm256_shuffle_epi8(sc_b, _mm256_set1_epi16(static_cast<int16_t>(0x0302 + 0x0404 * c)));
          for (int j = 0; j < T; ++j) {
            const uint8_t* ap = a.act + (t + j) * a.act_stride + b * kQ8KBlockBytes;
            const __m256i alo = load256(ap + 32 * split_pos(2 * c));
            const __m256i ahi = load256(ap + 32 * split_pos(2 * c + 1));
            const __m256i p_lo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, alo), s_lo);
            const __m256i p_hi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, ahi), s_hi);
            sumi[j] = _mm256_add_epi32(sumi[j], _mm256_add_epi32(p_lo, p_hi));
          }
        }
        const __m128i m16 = _mm256_extracti128_si256(scm16, 1);
        for (int j = 0; j < T; ++j) {
          const uint8_t* ap = a.act + (t + j) * a.act_stride + b * kQ8KBlockBytes;
          const float da = load_f32(ap + kQ8KScaleOffset);
          acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[j]), _mm256_set1_ps(d * da), acc[i][j]);
          __m128i mm = _mm_madd_epi16(m16, _mm_loadu_si128(reinterpret_cast<const __m128i*>(ap + kQ8KBsum32Offset)));
          mm = _mm_add_epi32(mm, _mm_shuffle_epi32(mm, 0x4E));
          mm = _mm_add_epi32(mm, _mm_shuffle_epi32(mm, 0xB1));
          extra[i][j] -= dmin * da * static_cast<float>(_mm_cvtsi128_si32(mm));
        }
      }
    }
    store_sums<R, T>(a, r, t, acc, extra);
  }
};

// Q6_K: q6 in 0..63 (unsigned) times activations, scaled per 16 elements by vpmaddwd; the -32
// offset is sum_i sc_i * 32 * bsum16_i, subtracted in i32.
struct Q6KKernel {
  template <int R, int T>
  static void run(const GemmArgs& a, int64_t r, int64_t t) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const int64_t nsb = a.k / 256;
    __m256 acc[R][T];
    float extra[R][T] = {};
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nsb; ++b) {
      for (int i = 0; i < R; ++i) {
        const uint8_t* blk = a.w + (r + i) * a.w_stride + b * sizeof(BlockQ6_K);
        const float d = f16(blk + 208);
        const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192));
        const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);  // 16 scales as i16
        __m256i sumi[T];
        for (int j = 0; j < T; ++j) {
          const uint8_t* ap = a.act + (t + j) * a.act_stride + b * kQ8KBlockBytes;
          const __m256i corr = _mm256_madd_epi16(sc16, load256(ap + kQ8KBsum16Offset));
          sumi[j] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(corr, 5));
        }
        for (int h = 0; h < 2; ++h) {
          const __m256i l0 = load256(blk + 64 * h);
          const __m256i l1 = load256(blk + 64 * h + 32);
          const __m256i qh = load256(blk + 128 + 32 * h);
          // Top bits: ((qh >> 2v) & 3) << 4 == (qh shifted by 4 - 2v) & 0x30; shifting 16-bit lanes
          // is safe because the mask keeps only bits that came from the same byte.
          const __m256i m30 = _mm256_set1_epi8(0x30);
          __m256i q[4];
          q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
          q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
          q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qh, m30));
          q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                 _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
          for (int v = 0; v < 4; ++v) {
            // Elements 128h + 32v .. +31 use scales 8h + 2v (first 16) and 8h + 2v + 1.
            const int s0 = 8 * h + 2 * v;
            const __m256i scv = _mm256_cvtepi8_epi16(
                _mm_shuffle_epi8(sc8, _mm_setr_epi8(static_cast<char>(s0), static_cast<char>(s0), static_cast<char>(s0),
                                                    static_cast<char>(s0), static_cast<char>(s0), static_cast<char>(s0),
                                                    static_cast<char>(s0), static_cast<char>(s0), static_cast<char>(s0 + 1),
                                                    static_cast<char>(s0 + 1), static_cast<char>(s0 + 1),
                                                    static_cast<char>(s0 + 1), static_cast<char>(s0 + 1),
                                                    static_cast<char>(s0 + 1), static_cast<char>(s0 + 1),
                                                    static_cast<char>(s0 + 1))));
            for (int j = 0; j < T; ++j) {
              const uint8_t* ap = a.act + (t + j) * a.act_stride + b * kQ8KBlockBytes;
              const __m256i av = load256(ap + 128 * h + 32 * v);
              sumi[j] = _mm256_add_epi32(sumi[j], _mm256_madd_epi16(_mm256_maddubs_epi16(q[v], av), scv));
            }
          }
        }
        for (int j = 0; j < T; ++j) {
          const float da = load_f32(a.act + (t + j) * a.act_stride + b * kQ8KBlockBytes + kQ8KScaleOffset);
          acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[j]), _mm256_set1_ps(d * da), acc[i][j]);
        }
      }
    }
    store_sums<R, T>(a, r, t, acc, extra);
  }
};

// ---------------------------------------------------------------------------------------------
// F32 / F16 / BF16 weights: 8 elements per step, scalar tail.
template <typename Load>
struct PlainKernel {
  template <int R, int T>
  static void run(const GemmArgs& a, int64_t r, int64_t t) {
    const int64_t k = a.k;
    const uint8_t* w[R];
    for (int i = 0; i < R; ++i) w[i] = a.w + (r + i) * a.w_stride;
    const float* x[T];
    for (int j = 0; j < T; ++j) x[j] = reinterpret_cast<const float*>(a.act + (t + j) * a.act_stride);
    __m256 acc[R][T];
    float extra[R][T] = {};
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_ps();
    int64_t e = 0;
    for (; e + 8 <= k; e += 8) {
      __m256 wv[R];
      for (int i = 0; i < R; ++i) wv[i] = Load::load(w[i], e);
      for (int j = 0; j < T; ++j) {
        const __m256 xv = _mm256_loadu_ps(x[j] + e);
        for (int i = 0; i < R; ++i) acc[i][j] = _mm256_fmadd_ps(wv[i], xv, acc[i][j]);
      }
    }
    for (; e < k; ++e) {
      for (int i = 0; i < R; ++i)
        for (int j = 0; j < T; ++j) extra[i][j] += Load::scalar(w[i], e) * x[j][e];
    }
    store_sums<R, T>(a, r, t, acc, extra);
  }
};

struct LoadF32 {
  static __m256 load(const uint8_t* w, int64_t e) { return _mm256_loadu_ps(reinterpret_cast<const float*>(w) + e); }
  static float scalar(const uint8_t* w, int64_t e) { return load_f32(w + 4 * e); }
};
struct LoadF16 {
  static __m256 load(const uint8_t* w, int64_t e) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 2 * e)));
  }
  static float scalar(const uint8_t* w, int64_t e) { return f16(w + 2 * e); }
};
struct LoadBF16 {
  static __m256 load(const uint8_t* w, int64_t e) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 2 * e));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  static float scalar(const uint8_t* w, int64_t e) {
    const uint32_t u = static_cast<uint32_t>(load_u16(w + 2 * e)) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
};

// ---------------------------------------------------------------------------------------------
// Vector helpers.

float dot_f16_f32_avx2(const uint16_t* a, const float* b, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i))),
                         _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i + 8))),
                         _mm256_loadu_ps(b + i + 8), s1);
  }
  float s = hsum(_mm256_add_ps(s0, s1));
  for (; i < n; ++i) s += _cvtsh_ss(a[i]) * b[i];
  return s;
}

float dot_f32_avx2(const float* a, const float* b, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  float s = hsum(_mm256_add_ps(s0, s1));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

void axpy_f16_avx2(float alpha, const uint16_t* x, float* y, int64_t n) {
  const __m256 av = _mm256_set1_ps(alpha);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 xv = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, xv, _mm256_loadu_ps(y + i)));
  }
  for (; i < n; ++i) y[i] += alpha * _cvtsh_ss(x[i]);
}

void axpy_f32_avx2(float alpha, const float* x, float* y, int64_t n) {
  const __m256 av = _mm256_set1_ps(alpha);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += alpha * x[i];
}

void f32_to_f16_row_avx2(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
  for (; i < n; ++i) y[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

uint64_t read_sum_avx2(const uint8_t* p, size_t n) {
  __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
  for (size_t i = 0; i < n; i += 128) {
    s0 = _mm256_add_epi64(s0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    s1 = _mm256_add_epi64(s1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    s2 = _mm256_add_epi64(s2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    s3 = _mm256_add_epi64(s3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  const __m256i s = _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3));
  alignas(32) uint64_t v[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(v), s);
  return v[0] + v[1] + v[2] + v[3];
}

// ---------------------------------------------------------------------------------------------
// Activation packing: the same bytes as pack_token_scalar (same amax, d, 1/d, x*(1/d) and
// round-to-nearest-even conversion), 32 elements at a time.

float scale_of(const float* x, int n, float* id) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m = _mm256_setzero_ps();
  for (int i = 0; i < n; i += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_movehdup_ps(h));
  const float d = _mm_cvtss_f32(h) / 127.0f;
  *id = d != 0.0f ? 1.0f / d : 0.0f;
  return d;
}

// 32 floats -> 32 int8 in order.
__m256i quant32(const float* x, float id) {
  const __m256 iv = _mm256_set1_ps(id);
  const __m256i q0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), iv));
  const __m256i q1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8), iv));
  const __m256i q2 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 16), iv));
  const __m256i q3 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 24), iv));
  const __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(q0, q1), _mm256_packs_epi32(q2, q3));
  return _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// Sums of each 4 consecutive int8 (8 i32 lanes).
__m256i sum4(__m256i q) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q), _mm256_set1_epi16(1));
}

void pack_token_avx2(ActFormat fmt, const float* x, int64_t k, uint8_t* dst) {
  const int64_t nb = k / 32;
  if (fmt == ActFormat::kQ8_0) {
    if (nb % 2) std::memset(dst + (nb / 2) * kQ8_0GroupBytes, 0, kQ8_0GroupBytes);
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* g = dst + (b / 2) * kQ8_0GroupBytes;
      const int j = static_cast<int>(b % 2);
      float id;
      const float d = scale_of(x + 32 * b, 32, &id);
      const __m256i q = quant32(x + 32 * b, id);
      _mm256_store_si256(reinterpret_cast<__m256i*>(g + 32 * j), q);
      _mm256_store_si256(reinterpret_cast<__m256i*>(g + 64 + 32 * j),
                         _mm256_slli_epi32(_mm256_sub_epi32(_mm256_setzero_si256(), sum4(q)), 7));
      _mm256_store_ps(reinterpret_cast<float*>(g + 128 + 32 * j), _mm256_set1_ps(d));
    }
  } else if (fmt == ActFormat::kQ4_0) {
    if (nb % 4) std::memset(dst + (nb / 4) * kQ4_0GroupBytes, 0, kQ4_0GroupBytes);
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* g = dst + (b / 4) * kQ4_0GroupBytes;
      const int j = static_cast<int>(b % 4);
      float id;
      const float d = scale_of(x + 32 * b, 32, &id);
      const __m256i q = quant32(x + 32 * b, id);
      _mm_store_si128(reinterpret_cast<__m128i*>(g + 16 * j), _mm256_castsi256_si128(q));
      _mm_store_si128(reinterpret_cast<__m128i*>(g + 64 + 16 * j), _mm256_extracti128_si256(q, 1));
      const __m256i s = sum4(q);
      const __m128i s2 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
      _mm_store_si128(reinterpret_cast<__m128i*>(g + 128 + 16 * j), _mm_slli_epi32(_mm_sub_epi32(_mm_setzero_si128(), s2), 3));
      _mm_store_ps(reinterpret_cast<float*>(g + 192 + 16 * j), _mm_set1_ps(d));
    }
  } else {
    const bool split = fmt == ActFormat::kQ8KSplit;
    for (int64_t b = 0; b < k / 256; ++b) {
      const float* xb = x + 256 * b;
      uint8_t* g = dst + b * kQ8KBlockBytes;
      float id;
      const float d = scale_of(xb, 256, &id);
      alignas(32) int32_t lanes[8];
      int16_t b16[16], b32[8];
      for (int s = 0; s < 8; ++s) {
        const __m256i q = quant32(xb + 32 * s, id);
        _mm256_store_si256(reinterpret_cast<__m256i*>(g + 32 * (split ? split_pos(s) : s)), q);
        _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), sum4(q));
        b16[2 * s] = static_cast<int16_t>(lanes[0] + lanes[1] + lanes[2] + lanes[3]);
        b16[2 * s + 1] = static_cast<int16_t>(lanes[4] + lanes[5] + lanes[6] + lanes[7]);
        b32[s] = static_cast<int16_t>(b16[2 * s] + b16[2 * s + 1]);
      }
      std::memset(g + kQ8KBsum16Offset, 0, kQ8KBlockBytes - kQ8KBsum16Offset);
      std::memcpy(g + kQ8KBsum16Offset, b16, sizeof(b16));
      std::memcpy(g + kQ8KBsum32Offset, b32, sizeof(b32));
      std::memcpy(g + kQ8KScaleOffset, &d, 4);
    }
  }
}

}  // namespace

void fill_avx2_kernels(KernelSet* ks) {
  ks->pack_token = pack_token_avx2;
  ks->q4_0 = tiles<Q4_0Kernel>;
  ks->q8_0 = tiles<Q8_0Kernel>;
  ks->q4_k = tiles<K4Kernel<false>>;
  ks->q5_k = tiles<K4Kernel<true>>;
  ks->q6_k = tiles<Q6KKernel>;
  ks->f32 = tiles<PlainKernel<LoadF32>>;
  ks->f16 = tiles<PlainKernel<LoadF16>>;
  ks->bf16 = tiles<PlainKernel<LoadBF16>>;
  ks->dot_f16_f32 = dot_f16_f32_avx2;
  ks->dot_f32 = dot_f32_avx2;
  ks->axpy_f16 = axpy_f16_avx2;
  ks->axpy_f32 = axpy_f32_avx2;
  ks->f32_to_f16_row = f32_to_f16_row_avx2;
  ks->read_sum = read_sum_avx2;
}

}  // namespace muse::core::detail
