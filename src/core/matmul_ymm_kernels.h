// Internal to core: 256-bit kernels shared by matmul_avx2.cpp and matmul_avx512.cpp (the K-quants,
// and the small helpers). Each of those files includes this header once and gets its own copy
// (anonymous namespace), compiled for its own ISA: under AVX512-VNNI the i16 multiply-add-accumulate
// becomes one vpdpwssd instead of vpmaddwd + vpaddd. Do not include it anywhere else: a copy built
// with AVX-512 flags must never be called on a CPU without them. Pure functions over caller-owned
// buffers: thread-safe for disjoint outputs, never throw.
#pragma once

#include <immintrin.h>

#include <cstring>

#include "core/matmul_internal.h"
#include "core/quant_blocks.h"

namespace muse::core::detail {
namespace {
namespace ymm {

// The 6-bit scales and mins of the 8 sub-blocks of a Q4_K/Q5_K block (scale_min_k4), as 16 bytes
// sc0..7, m0..7, without leaving the vector unit. With s0, s1, s2 the three u32 words of `scales`:
//   sc0..3 = s0 & 63          sc4..7 = (s2 & 15) | ((s0 >> 6) << 4)
//   m0..3  = s1 & 63          m4..7  = (s2 >> 4) | ((s1 >> 6) << 4)      (bytewise)
// ((x >> 6) << 4 on a byte is (x >> 2) & 0x30 on the u32.) Reads 16 bytes: REQUIRES 4 readable
// bytes after the 12 (always true inside a block: qh/qs follow).
inline __m128i unpack_k4_scales(const uint8_t* scales) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(scales));
  const __m128i a = _mm_shuffle_epi32(v, 0x98);  // s0 s2 s1 s2
  const __m128i b = _mm_shuffle_epi32(v, 0x50);  // s0 s0 s1 s1
  const __m128i lo = _mm_and_si128(_mm_srlv_epi32(a, _mm_setr_epi32(0, 0, 0, 4)),
                                   _mm_setr_epi32(0x3F3F3F3F, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F));
  const __m128i hi = _mm_and_si128(_mm_srli_epi32(b, 2), _mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
  return _mm_or_si128(lo, hi);  // lanes: sc0..3, sc4..7, m0..3, m4..7
}

// acc + (pairwise i16 products of a and b summed into i32 lanes).
inline __m256i madd_acc(__m256i acc, __m256i a, __m256i b) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
  return _mm256_dpwssd_epi32(acc, a, b);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
#endif
}

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

// Decode (one token): the rows are cut into R equal segments and each micro-tile takes one row from
// every segment, so the R weight streams are far apart. (Adjacent rows, ~1-3 KB each, read in
// lock step defeat the hardware prefetchers: measured 2.5x slower from DRAM than far-apart streams.)
template <typename K, int R>
void decode_rows(const GemmArgs& a, int64_t r0, int64_t r1, int64_t t) {
  const int64_t seg = (r1 - r0) / R;
  int64_t rows[R];
  for (int64_t j = 0; j < seg; ++j) {
    for (int i = 0; i < R; ++i) rows[i] = r0 + i * seg + j;
    K::template run<R, 1>(a, rows, t);
  }
  for (int64_t r = r0 + R * seg; r < r1; ++r) K::template run<1, 1>(a, &r, t);
}

// Prompt (several tokens): adjacent rows, their weights are L2-resident (matmul.cpp blocks rows).
template <typename K, int R, int T>
void rows_loop(const GemmArgs& a, int64_t r0, int64_t r1, int64_t t) {
  int64_t r = r0;
  for (; r + R <= r1; r += R) {
    int64_t rows[R];
    for (int i = 0; i < R; ++i) rows[i] = r + i;
    K::template run<R, T>(a, rows, t);
  }
  for (; r < r1; ++r) K::template run<1, T>(a, &r, t);
}

template <typename K>
void tiles(const GemmArgs& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  if (t1 - t0 == 1) {
    decode_rows<K, 2>(a, r0, r1, t0);
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
void store_sums(const GemmArgs& a, const int64_t* rows, int64_t t, __m256 (&acc)[R][T], const float (&extra)[R][T]) {
  for (int j = 0; j < T; ++j) {
    for (int i = 0; i < R; ++i) a.y[(t + j) * a.y_stride + rows[i]] = hsum(acc[i][j]) + extra[i][j];
  }
}


// ---------------------------------------------------------------------------------------------
// Q4_K / Q5_K: per super-block, sum_s sc_s * (q_s . a_s) in i32 lanes (vpmaddwd applies the scale),
// then one FMA with d*da; the mins go through the pack's bsum32 as a scalar.
template <bool kFive>
struct K4Kernel {
  template <int R, int T>
  static void run(const GemmArgs& a, const int64_t* rows, int64_t t) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const int64_t nsb = a.k / 256;
    const size_t bytes = kFive ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
    __m256 acc[R][T];
    float extra[R][T] = {};
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nsb; ++b) {
      for (int i = 0; i < R; ++i) {
        const uint8_t* blk = a.w + rows[i] * a.w_stride + b * bytes;
        const float d = f16(blk), dmin = f16(blk + 2);
        const __m256i scm16 = _mm256_cvtepu8_epi16(unpack_k4_scales(blk + 4));  // sc0..7, m0..7 as i16
        const __m256i sc_b = _mm256_permute2x128_si256(scm16, scm16, 0x00);  // sc0..7 as i16, both halves
        const uint8_t* qs = blk + (kFive ? 48 : 16);
        const __m256i qh = kFive ? load256(blk + 16) : _mm256_setzero_si256();
        // Two accumulators per token (low / high nibbles) halve the multiply-add dependency chain.
        __m256i sumi[T], sumi2[T];
        for (int j = 0; j < T; ++j) sumi[j] = sumi2[j] = _mm256_setzero_si256();
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
            sumi[j] = madd_acc(sumi[j], _mm256_maddubs_epi16(lo, alo), s_lo);
            sumi2[j] = madd_acc(sumi2[j], _mm256_maddubs_epi16(hi, ahi), s_hi);
          }
        }
        const __m128i m16 = _mm256_extracti128_si256(scm16, 1);
        for (int j = 0; j < T; ++j) {
          const uint8_t* ap = a.act + (t + j) * a.act_stride + b * kQ8KBlockBytes;
          const float da = load_f32(ap + kQ8KScaleOffset);
          acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(sumi[j], sumi2[j])), _mm256_set1_ps(d * da),
                                      acc[i][j]);
          __m128i mm = _mm_madd_epi16(m16, _mm_loadu_si128(reinterpret_cast<const __m128i*>(ap + kQ8KBsum32Offset)));
          mm = _mm_add_epi32(mm, _mm_shuffle_epi32(mm, 0x4E));
          mm = _mm_add_epi32(mm, _mm_shuffle_epi32(mm, 0xB1));
          extra[i][j] -= dmin * da * static_cast<float>(_mm_cvtsi128_si32(mm));
        }
      }
    }
    store_sums<R, T>(a, rows, t, acc, extra);
  }
};

// Q6_K: q6 in 0..63 (unsigned) times activations, scaled per 16 elements by vpmaddwd; the -32
// offset is sum_i sc_i * 32 * bsum16_i, subtracted in i32.
struct Q6KKernel {
  template <int R, int T>
  static void run(const GemmArgs& a, const int64_t* rows, int64_t t) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const int64_t nsb = a.k / 256;
    __m256 acc[R][T];
    float extra[R][T] = {};
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < T; ++j) acc[i][j] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nsb; ++b) {
      for (int i = 0; i < R; ++i) {
        const uint8_t* blk = a.w + rows[i] * a.w_stride + b * sizeof(BlockQ6_K);
        const float d = f16(blk + 208);
        const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192));
        const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);  // 16 scales as i16
        // Two accumulators per token (even / odd quarters) halve the multiply-add dependency chain.
        __m256i sumi[T], sumi2[T];
        for (int j = 0; j < T; ++j) {
          const uint8_t* ap = a.act + (t + j) * a.act_stride + b * kQ8KBlockBytes;
          const __m256i corr = _mm256_madd_epi16(sc16, load256(ap + kQ8KBsum16Offset));
          sumi[j] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(corr, 5));
          sumi2[j] = _mm256_setzero_si256();
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
              if (v % 2) {
                sumi2[j] = madd_acc(sumi2[j], _mm256_maddubs_epi16(q[v], av), scv);
              } else {
                sumi[j] = madd_acc(sumi[j], _mm256_maddubs_epi16(q[v], av), scv);
              }
            }
          }
        }
        for (int j = 0; j < T; ++j) {
          const float da = load_f32(a.act + (t + j) * a.act_stride + b * kQ8KBlockBytes + kQ8KScaleOffset);
          acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(sumi[j], sumi2[j])), _mm256_set1_ps(d * da),
                                      acc[i][j]);
        }
      }
    }
    store_sums<R, T>(a, rows, t, acc, extra);
  }
};


}  // namespace ymm
}  // namespace
}  // namespace muse::core::detail
