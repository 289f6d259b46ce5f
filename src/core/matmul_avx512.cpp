// AVX-512 (F, BW, VL, DQ, VNNI, BF16) kernels; compiled with those flags, called only when
// cpu_features().has_avx512_set(). Activation layouts: matmul_internal.h.
//
// Q4_0 and Q8_0 are the decode workhorses and must keep up with DRAM: per group of blocks one or
// two loads, one word permute, a VNNI dot (vpdpbusd, u8 weights x s8 activations, with a per-lane
// bias turning the unsigned weights into signed ones), and one f32 FMA per 16 lanes. Q4_K/Q5_K
// have a 512-bit kernel here; Q6_K uses the 256-bit one of matmul_ymm_kernels.h (recompiled here
// with VNNI). All share the activation packs of matmul_internal.h.
//
// GCC 12's AVX-512 reduce/extract intrinsics use _mm256_undefined_*(), which -Wuninitialized flags
// (a false positive in the compiler's own header).
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "core/attention_impl.h"
#include "core/matmul_internal.h"
#include "core/matmul_ymm_kernels.h"
#include "core/quant_blocks.h"

// Rows per decode micro-tile (a tuning knob: override with -D to experiment). Measured from DRAM,
// one thread, Q4_0 rows of 2048/5632: 1 row 21/15 GB/s, 2: 24/26, 4: 26/26, 8: 24/20 (software
// prefetching, 256 B to 8 KiB ahead into L1 or L2, only ever made it slower).
#ifndef MUSE_DEC_R
#define MUSE_DEC_R 4
#endif

namespace muse::core::detail {
namespace {

// Runs K::run<R, T>(a, rows, t) over the [r0, r1) x [t0, t1) tile: one token with MUSE_DEC_R rows
// at a time (decode), or 4 tokens x K::kPromptRows rows (prompt: each expanded weight group serves
// 4 tokens).
// Decode (one token): the rows are cut into R equal segments and each micro-tile takes one row from
// every segment, so the R weight streams are far apart. (Adjacent rows, ~1-3 KB each, read in
// lock step defeat the hardware prefetchers: measured 2.5x slower from DRAM than far-apart streams.)
// A decode step of several sequences (T = 2..8 tokens, one per sequence) works the same way with T
// tokens per micro-tile: each weight row is read once and serves every token while in registers.
template <typename K, int R, int T = 1>
void decode_rows(const GemmArgs& a, int64_t r0, int64_t r1, int64_t t) {
  const int64_t seg = (r1 - r0) / R;
  int64_t rows[R];
  for (int64_t j = 0; j < seg; ++j) {
    for (int i = 0; i < R; ++i) rows[i] = r0 + i * seg + j;
    K::template run<R, T>(a, rows, t);
  }
  for (int64_t r = r0 + R * seg; r < r1; ++r) K::template run<1, T>(a, &r, t);
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
  switch (t1 - t0) {
    case 1: decode_rows<K, MUSE_DEC_R>(a, r0, r1, t0); return;
    case 2: decode_rows<K, 2, 2>(a, r0, r1, t0); return;
    case 3: decode_rows<K, 2, 3>(a, r0, r1, t0); return;
    case 4: decode_rows<K, 2, 4>(a, r0, r1, t0); return;
    case 5: decode_rows<K, 2, 5>(a, r0, r1, t0); return;
    case 6: decode_rows<K, 2, 6>(a, r0, r1, t0); return;
    case 7: decode_rows<K, 2, 7>(a, r0, r1, t0); return;
    case 8: decode_rows<K, 2, 8>(a, r0, r1, t0); return;
    default: break;
  }
  constexpr int kR = K::kPromptRows;
  int64_t t = t0;
  for (; t + 4 <= t1; t += 4) rows_loop<K, kR, 4>(a, r0, r1, t);
  switch (t1 - t) {
    case 1: rows_loop<K, kR, 1>(a, r0, r1, t); break;
    case 2: rows_loop<K, kR, 2>(a, r0, r1, t); break;
    case 3: rows_loop<K, kR, 3>(a, r0, r1, t); break;
    default: break;
  }
}

template <int R, int T>
void store_sums(const GemmArgs& a, const int64_t* rows, int64_t t, __m512 (&acc)[R][T]) {
  for (int j = 0; j < T; ++j) {
    for (int i = 0; i < R; ++i) a.y[(t + j) * a.y_stride + rows[i]] = _mm512_reduce_add_ps(acc[i][j]);
  }
}

// ---------------------------------------------------------------------------------------------
// Q4_0: a group is 4 blocks = 72 bytes: d0 qs0 d1 qs1 d2 qs2 d3 qs3 (d at bytes 0, 18, 36, 54).
// One 64-byte load holds the four d and the nibbles of blocks 0..2; a 16-byte load at +56 holds
// block 3's. vpermt2w gathers the 64 nibble bytes, vpermw spreads each d over its block's 4 lanes.
struct Q4_0Kernel {
  static constexpr int kPromptRows = 4;  // prompt micro-tile: 4 rows x 4 tokens (measured best)
  // Loads group g of a row (72 bytes, `blocks` of its 4 blocks present: 4 = plain loads, 1..3 =
  // masked, 0 = nothing) and expands it: lo/hi nibbles of the 4 blocks in pack order, and the raw
  // bytes (for the scales).
  static void expand(const uint8_t* p, int64_t blocks, __m512i qidx, __m512i* raw, __m512i* lo, __m512i* hi) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512i raw2;
    if (blocks == 4) {
      *raw = _mm512_loadu_si512(p);
      raw2 = _mm512_zextsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 56)));
    } else {
      *raw = blocks > 0 ? _mm512_maskz_loadu_epi8(_cvtu64_mask64((1ull << (18 * blocks)) - 1), p)
                        : _mm512_setzero_si512();
      raw2 = _mm512_setzero_si512();
    }
    const __m512i q = _mm512_permutex2var_epi16(*raw, qidx, raw2);
    *lo = _mm512_and_si512(q, m4);
    *hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
  }

  template <int R, int T>
  static void run(const GemmArgs& a, const int64_t* rows, int64_t t) {
    // Word indices (every d and qs starts at an even byte): qs of block j = words 9j+1 .. 9j+8;
    // block 3's come from the second source (index 32 + word of the load at +56).
    alignas(64) static constexpr uint16_t kQIdx[32] = {1,  2,  3,  4,  5,  6,  7,  8,  10, 11, 12,
                                                       13, 14, 15, 16, 17, 19, 20, 21, 22, 23, 24,
                                                       25, 26, 32, 33, 34, 35, 36, 37, 38, 39};
    // Scales of a pair of groups A, B in the merged lane order: 128-bit lane j = [dA_j dA_j dB_j dB_j]
    // (d of block j sits at word 9j of its group's 64-byte load).
    alignas(64) static constexpr uint16_t kDIdx[32] = {0,  0,  32, 32, 9,  9,  41, 41,
                                                       18, 18, 50, 50, 27, 27, 59, 59};
    const __m512i qidx = _mm512_load_si512(kQIdx);
    const __m512i didx = _mm512_load_si512(kDIdx);
    const int64_t nb = a.k / 32, ng = (nb + 3) / 4;
    const uint8_t* w[R];
    for (int i = 0; i < R; ++i) w[i] = a.w + rows[i] * a.w_stride;
    const uint8_t* act[T];
    for (int j = 0; j < T; ++j) act[j] = a.act + (t + j) * a.act_stride;
    __m512 acc[R][T];
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < T; ++j) acc[i][j] = _mm512_setzero_ps();

    // Two groups (8 blocks) per step. Each group's VNNI sums are 4 i32 lanes per block; folding
    // the pair into one vector (2 lanes per block) halves the f32 work: one convert, one scale
    // multiply and one FMA per 8 blocks. y += sum_lanes f32(s) * dw * da.
    auto step = [&](int64_t g, int64_t blocks_a, int64_t blocks_b) {
      for (int i = 0; i < R; ++i) {
        __m512i raw_a, raw_b, lo_a, hi_a, lo_b, hi_b;
        expand(w[i] + 72 * g, blocks_a, qidx, &raw_a, &lo_a, &hi_a);
        expand(w[i] + 72 * (g + 1), blocks_b, qidx, &raw_b, &lo_b, &hi_b);
        const __m512 dw = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutex2var_epi16(raw_a, didx, raw_b)));
        for (int j = 0; j < T; ++j) {
          const uint8_t* ap = act[j] + g * kQ4_0GroupBytes;
          __m512i sa = _mm512_dpbusd_epi32(_mm512_load_si512(ap + 128), lo_a, _mm512_load_si512(ap));
          sa = _mm512_dpbusd_epi32(sa, hi_a, _mm512_load_si512(ap + 64));
          // Without a second group (blocks_b == 0: its weights and scales are zero) its activations
          // would lie past the pack of the last token: read group A's again instead.
          const uint8_t* bp = blocks_b > 0 ? ap + 256 : ap;
          __m512i sb = _mm512_dpbusd_epi32(_mm512_load_si512(bp + 128), lo_b, _mm512_load_si512(bp));
          sb = _mm512_dpbusd_epi32(sb, hi_b, _mm512_load_si512(bp + 64));
          const __m512i s = _mm512_add_epi32(_mm512_unpacklo_epi64(sa, sb), _mm512_unpackhi_epi64(sa, sb));
          const __m512 da = _mm512_load_ps(ap + 192);
          acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, da), acc[i][j]);
        }
      }
    };
    const int64_t full = nb / 4;
    int64_t g = 0;
    for (; g + 2 <= full; g += 2) step(g, 4, 4);
    if (g < ng) {  // one or two groups left, the last possibly partial
      const int64_t left = nb - 4 * g;
      step(g, std::min<int64_t>(left, 4), std::max<int64_t>(left - 4, 0));
    }
    store_sums<R, T>(a, rows, t, acc);
  }
};

// ---------------------------------------------------------------------------------------------
// Q8_0: a group is 2 blocks = 68 bytes: d0 qs0[32] d1 qs1[32]. Weights go in as u8 = q + 128 (xor
// 0x80); a bias of -128 * (sum of the lane's 4 activations) cancels the +128.
struct Q8_0Kernel {
  static constexpr int kPromptRows = 4;
  template <int R, int T>
  static void run(const GemmArgs& a, const int64_t* rows, int64_t t) {
    alignas(64) static constexpr uint16_t kDIdx[32] = {0, 0, 0, 0, 0, 0, 0, 0, 17, 17, 17, 17, 17, 17, 17, 17};
    const __m512i didx = _mm512_load_si512(kDIdx);
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
    const int64_t nb = a.k / 32, ng = (nb + 1) / 2;
    const uint8_t* w[R];
    for (int i = 0; i < R; ++i) w[i] = a.w + rows[i] * a.w_stride;
    const uint8_t* act[T];
    for (int j = 0; j < T; ++j) act[j] = a.act + (t + j) * a.act_stride;
    __m512 acc[R][T];
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < T; ++j) acc[i][j] = _mm512_setzero_ps();

    auto step = [&](int64_t g, bool partial) {
      __m512i q[R];
      __m512 dw[R];
      for (int i = 0; i < R; ++i) {
        const uint8_t* p = w[i] + 68 * g;
        __m512i raw, qq;
        if (!partial) {
          raw = _mm512_loadu_si512(p);
          qq = _mm512_inserti64x4(
              _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 2))),
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 36)), 1);
        } else {  // the row's last block has no partner
          raw = _mm512_maskz_loadu_epi8(_cvtu64_mask64((1ull << 34) - 1), p);
          qq = _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 2)));
        }
        q[i] = _mm512_xor_si512(qq, flip);
        dw[i] = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(didx, raw)));
      }
      for (int j = 0; j < T; ++j) {
        const uint8_t* ap = act[j] + g * kQ8_0GroupBytes;
        const __m512i aq = _mm512_load_si512(ap);
        // -128 * (sum of each 4 activations), computed here once for all R rows: keeping it in the
        // pack made the pack too big to stay in L1 next to the weight streams (k = 5632).
        const __m512i bias = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), flip, aq));
        const __m512 da = _mm512_load_ps(ap + 64);
        for (int i = 0; i < R; ++i) {
          const __m512i s = _mm512_dpbusd_epi32(bias, q[i], aq);
          acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw[i], da), acc[i][j]);
        }
      }
    };
    const int64_t full = nb / 2;
    for (int64_t g = 0; g < full; ++g) step(g, false);
    if (full < ng) step(full, true);
    store_sums<R, T>(a, rows, t, acc);
  }
};

// ---------------------------------------------------------------------------------------------
// Q4_K / Q5_K with 512-bit vectors: a 64-byte load of nibbles covers chunks 2p and 2p+1, i.e.
// sub-blocks (4p | 4p+2) in its low nibbles and (4p+1 | 4p+3) in its high nibbles, which is exactly
// the order of the kQ8KSplit pack. Per sub-block: vpmaddubsw (u8 x s8 -> i16 pairs), then vpdpwssd
// with the sub-block's 6-bit scale (i16) accumulates into i32 lanes; the mins go through the pack's
// bsum32 as a second, 4-lane accumulator. Half the instructions of the 256-bit kernel, which on
// this code is what limits (the scalar scale unpacking is shared per super-block).
template <bool kFive>
struct K4Kernel512 {
  static constexpr int kPromptRows = 2;  // 4 rows measured 11% slower (register pressure)
  template <int R, int T>
  static void run(const GemmArgs& a, const int64_t* rows, int64_t t) {
    // vpermw indices into the 16 unpacked words (sc0..7, m0..7): [sc(4p+h) x16 | sc(4p+2+h) x16].
    alignas(64) static constexpr uint16_t kScIdx[4][32] = {
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2},
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3},
        {4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6},
        {5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7}};
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const __m512i sixteen = _mm512_set1_epi8(16);
    const int64_t nsb = a.k / 256;
    const size_t bytes = kFive ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
    __m512 acc[R][T];
    __m128 accm[R][T];
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < T; ++j) {
        acc[i][j] = _mm512_setzero_ps();
        accm[i][j] = _mm_setzero_ps();
      }
    for (int64_t b = 0; b < nsb; ++b) {
      for (int i = 0; i < R; ++i) {
        const uint8_t* blk = a.w + rows[i] * a.w_stride + b * bytes;
        const float d = _cvtsh_ss(load_u16(blk)), dmin = _cvtsh_ss(load_u16(blk + 2));
        const __m256i scm = _mm256_cvtepu8_epi16(ymm::unpack_k4_scales(blk + 4));  // sc0..7, m0..7 as i16
        const __m512i zscm = _mm512_castsi256_si512(scm);
        const __m128i m16 = _mm256_extracti128_si256(scm, 1);
        const uint8_t* qs = blk + (kFive ? 48 : 16);
        __m512i qh2 = _mm512_setzero_si512();
        if (kFive) qh2 = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16)));
        __m512i sumi[T], sumi2[T];
        for (int j = 0; j < T; ++j) sumi[j] = sumi2[j] = _mm512_setzero_si512();
        for (int p = 0; p < 2; ++p) {
          const __m512i q = _mm512_loadu_si512(qs + 64 * p);
          __m512i lo = _mm512_and_si512(q, m4);
          __m512i hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
          if (kFive) {  // bit 4 of sub-block s is bit s of qh: s = 4p, 4p+2 (lo) and 4p+1, 4p+3 (hi)
            const __m512i blo = _mm512_inserti64x4(_mm512_set1_epi8(static_cast<char>(1 << (4 * p))),
                                                   _mm256_set1_epi8(static_cast<char>(1 << (4 * p + 2))), 1);
            const __m512i bhi = _mm512_add_epi8(blo, blo);
            lo = _mm512_mask_add_epi8(lo, _mm512_test_epi8_mask(qh2, blo), lo, sixteen);
            hi = _mm512_mask_add_epi8(hi, _mm512_test_epi8_mask(qh2, bhi), hi, sixteen);
          }
          const __m512i slo = _mm512_permutexvar_epi16(_mm512_load_si512(kScIdx[2 * p]), zscm);
          const __m512i shi = _mm512_permutexvar_epi16(_mm512_load_si512(kScIdx[2 * p + 1]), zscm);
          for (int j = 0; j < T; ++j) {
            const uint8_t* ap = a.act + (t + j) * a.act_stride + b * kQ8KBlockBytes + 128 * p;
            sumi[j] = _mm512_dpwssd_epi32(sumi[j], _mm512_maddubs_epi16(lo, _mm512_load_si512(ap)), slo);
            sumi2[j] = _mm512_dpwssd_epi32(sumi2[j], _mm512_maddubs_epi16(hi, _mm512_load_si512(ap + 64)), shi);
          }
        }
        for (int j = 0; j < T; ++j) {
          const uint8_t* ap = a.act + (t + j) * a.act_stride + b * kQ8KBlockBytes;
          float da;
          std::memcpy(&da, ap + kQ8KScaleOffset, 4);
          acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(sumi[j], sumi2[j])), _mm512_set1_ps(d * da),
                                      acc[i][j]);
          const __m128i mm = _mm_madd_epi16(m16, _mm_loadu_si128(reinterpret_cast<const __m128i*>(ap + kQ8KBsum32Offset)));
          accm[i][j] = _mm_fmadd_ps(_mm_cvtepi32_ps(mm), _mm_set1_ps(-dmin * da), accm[i][j]);
        }
      }
    }
    for (int j = 0; j < T; ++j) {
      for (int i = 0; i < R; ++i) {
        __m128 m = accm[i][j];
        m = _mm_add_ps(m, _mm_movehl_ps(m, m));
        m = _mm_add_ss(m, _mm_movehdup_ps(m));
        a.y[(t + j) * a.y_stride + rows[i]] = _mm512_reduce_add_ps(acc[i][j]) + _mm_cvtss_f32(m);
      }
    }
  }
};

// ---------------------------------------------------------------------------------------------
// F32 / F16 / BF16 weights against f32 activations, 16 elements per step (masked tail).
template <typename Load>
struct PlainKernel {
  static constexpr int kPromptRows = 4;
  template <int R, int T>
  static void run(const GemmArgs& a, const int64_t* rows, int64_t t) {
    const int64_t k = a.k;
    const uint8_t* w[R];
    for (int i = 0; i < R; ++i) w[i] = a.w + rows[i] * a.w_stride;
    const float* x[T];
    for (int j = 0; j < T; ++j) x[j] = reinterpret_cast<const float*>(a.act + (t + j) * a.act_stride);
    __m512 acc[R][T];
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < T; ++j) acc[i][j] = _mm512_setzero_ps();
    int64_t e = 0;
    for (; e + 16 <= k; e += 16) {
      __m512 wv[R];
      for (int i = 0; i < R; ++i) wv[i] = Load::load(w[i], e);
      for (int j = 0; j < T; ++j) {
        const __m512 xv = _mm512_loadu_ps(x[j] + e);
        for (int i = 0; i < R; ++i) acc[i][j] = _mm512_fmadd_ps(wv[i], xv, acc[i][j]);
      }
    }
    if (e < k) {
      const __mmask16 m = static_cast<__mmask16>((1u << (k - e)) - 1);
      __m512 wv[R];
      for (int i = 0; i < R; ++i) wv[i] = Load::load_masked(w[i], e, m);
      for (int j = 0; j < T; ++j) {
        const __m512 xv = _mm512_maskz_loadu_ps(m, x[j] + e);
        for (int i = 0; i < R; ++i) acc[i][j] = _mm512_fmadd_ps(wv[i], xv, acc[i][j]);
      }
    }
    store_sums<R, T>(a, rows, t, acc);
  }
};

struct LoadF32 {
  static __m512 load(const uint8_t* w, int64_t e) { return _mm512_loadu_ps(w + 4 * e); }
  static __m512 load_masked(const uint8_t* w, int64_t e, __mmask16 m) {
    return _mm512_maskz_loadu_ps(m, w + 4 * e);
  }
};
struct LoadF16 {
  static __m512 load(const uint8_t* w, int64_t e) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 2 * e)));
  }
  static __m512 load_masked(const uint8_t* w, int64_t e, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, w + 2 * e));
  }
};
struct LoadBF16 {
  static __m512 widen(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }
  static __m512 load(const uint8_t* w, int64_t e) {
    return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 2 * e)));
  }
  static __m512 load_masked(const uint8_t* w, int64_t e, __mmask16 m) {
    return widen(_mm256_maskz_loadu_epi16(m, w + 2 * e));
  }
};

// ---------------------------------------------------------------------------------------------
// Vector helpers.

void f32_to_f16_row_avx512(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = static_cast<__mmask16>(n - i >= 16 ? 0xFFFF : (1u << (n - i)) - 1);
    const __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_mask_storeu_epi16(y + i, m, h);
  }
}

// Four independent accumulators keep enough loads in flight to saturate one core's share of DRAM.
uint64_t read_sum_avx512(const uint8_t* p, size_t n) {
  __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
  for (size_t i = 0; i < n; i += 256) {
    s0 = _mm512_add_epi64(s0, _mm512_load_si512(p + i));
    s1 = _mm512_add_epi64(s1, _mm512_load_si512(p + i + 64));
    s2 = _mm512_add_epi64(s2, _mm512_load_si512(p + i + 128));
    s3 = _mm512_add_epi64(s3, _mm512_load_si512(p + i + 192));
  }
  return static_cast<uint64_t>(_mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3))));
}

// ---------------------------------------------------------------------------------------------
// Activation packing: the same bytes as pack_token_scalar (same amax, d, 1/d, x*(1/d) and
// round-to-nearest-even conversion), 16 lanes at a time.

// amax of n floats (n a multiple of 16) -> d = amax/127 and its inverse.
float scale_of(const float* x, int n, float* id) {
  __m512 m = _mm512_setzero_ps();
  for (int i = 0; i < n; i += 16) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(x + i)));
  const float d = _mm512_reduce_max_ps(m) / 127.0f;
  *id = d != 0.0f ? 1.0f / d : 0.0f;
  return d;
}

__m128i quant16(const float* x, float id) {
  return _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x), _mm512_set1_ps(id))));
}

// Sums of each 4 consecutive int8 (4 i32 lanes).
__m128i sum4(__m128i q) { return _mm_dpbusd_epi32(_mm_setzero_si128(), _mm_set1_epi8(1), q); }

void pack_token_avx512(ActFormat fmt, const float* x, int64_t k, uint8_t* dst) {
  const int64_t nb = k / 32;
  if (fmt == ActFormat::kQ8_0) {
    if (nb % 2) std::memset(dst + (nb / 2) * kQ8_0GroupBytes, 0, kQ8_0GroupBytes);
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* g = dst + (b / 2) * kQ8_0GroupBytes;
      const int j = static_cast<int>(b % 2);
      float id;
      const float d = scale_of(x + 32 * b, 32, &id);
      const __m128i q0 = quant16(x + 32 * b, id), q1 = quant16(x + 32 * b + 16, id);
      _mm_store_si128(reinterpret_cast<__m128i*>(g + 32 * j), q0);
      _mm_store_si128(reinterpret_cast<__m128i*>(g + 32 * j + 16), q1);
      _mm256_store_ps(reinterpret_cast<float*>(g + 64 + 32 * j), _mm256_set1_ps(d));
    }
  } else if (fmt == ActFormat::kQ4_0) {
    if (nb % 4) std::memset(dst + (nb / 4) * kQ4_0GroupBytes, 0, kQ4_0GroupBytes);
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* g = dst + (b / 4) * kQ4_0GroupBytes;
      const int j = static_cast<int>(b % 4);
      float id;
      const float d = scale_of(x + 32 * b, 32, &id);
      const __m128i lo = quant16(x + 32 * b, id), hi = quant16(x + 32 * b + 16, id);
      _mm_store_si128(reinterpret_cast<__m128i*>(g + 16 * j), lo);
      _mm_store_si128(reinterpret_cast<__m128i*>(g + 64 + 16 * j), hi);
      const __m128i s = _mm_add_epi32(sum4(lo), sum4(hi));
      _mm_store_si128(reinterpret_cast<__m128i*>(g + 128 + 16 * j), _mm_slli_epi32(_mm_sub_epi32(_mm_setzero_si128(), s), 3));
      if (j == 0) std::memset(g + 192, 0, 64);
      const int64_t pair = b / 8, h = (b / 4) % 2;
      float* dl = reinterpret_cast<float*>(dst + 2 * pair * kQ4_0GroupBytes + 192) + 4 * j + 2 * h;
      dl[0] = dl[1] = d;
    }
  } else {
    const bool split = fmt == ActFormat::kQ8KSplit;
    for (int64_t b = 0; b < k / 256; ++b) {
      const float* xb = x + 256 * b;
      uint8_t* g = dst + b * kQ8KBlockBytes;
      float id;
      const float d = scale_of(xb, 256, &id);
      alignas(16) int16_t b16[16];
      alignas(16) int16_t b32[8];
      for (int c = 0; c < 16; ++c) {
        const int s = c / 2;
        const __m128i q = quant16(xb + 16 * c, id);
        _mm_store_si128(reinterpret_cast<__m128i*>(g + 32 * (split ? split_pos(s) : s) + 16 * (c % 2)), q);
        const __m128i s4 = sum4(q);
        b16[c] = static_cast<int16_t>(_mm_extract_epi32(s4, 0) + _mm_extract_epi32(s4, 1) + _mm_extract_epi32(s4, 2) +
                                      _mm_extract_epi32(s4, 3));
      }
      for (int s = 0; s < 8; ++s) b32[s] = static_cast<int16_t>(b16[2 * s] + b16[2 * s + 1]);
      std::memset(g + kQ8KBsum16Offset, 0, kQ8KBlockBytes - kQ8KBsum16Offset);
      std::memcpy(g + kQ8KBsum16Offset, b16, sizeof(b16));
      std::memcpy(g + kQ8KBsum32Offset, b32, sizeof(b32));
      std::memcpy(g + kQ8KScaleOffset, &d, 4);
    }
  }
}

// Below kMinTokens tokens the row-streaming kernel, from there on the chunked one (its repacking
// costs about as much as a few tokens' dots). Measured on one thread (bench_kernels --tokens):
// Q8_0 at 2 tokens rowwise as fast or up to 14% faster, at 3 chunked 1.1x; Q4_0 (whose rowwise
// kernel already folds block pairs) rowwise 12-26% faster up to 4 tokens, even at 5-6, chunked
// 1.15x from 7.
template <typename K, TileFn kChunked, int kMinTokens>
void rowwise_or_chunked(const GemmArgs& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  if (t1 - t0 < kMinTokens) {
    tiles<K>(a, r0, r1, t0, t1);
  } else {
    kChunked(a, r0, r1, t0, t1);
  }
}

}  // namespace

TileFn test_avx512_rowwise(DType type) {
  switch (type) {
    case DType::kQ8_0: return tiles<Q8_0Kernel>;
    case DType::kQ4_0: return tiles<Q4_0Kernel>;
    default: return nullptr;
  }
}

namespace {
// Vector traits for attention_impl.h: 16 f32 lanes.
struct Zmm {
  using T = __m512;
  static constexpr int64_t W = 16;
  static T zero() { return _mm512_setzero_ps(); }
  static T set1(float x) { return _mm512_set1_ps(x); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, T x) { _mm512_storeu_ps(p, x); }
  static T load_f16(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static T sub(T a, T b) { return _mm512_sub_ps(a, b); }
  static T mul(T a, T b) { return _mm512_mul_ps(a, b); }
  static T div(T a, T b) { return _mm512_div_ps(a, b); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T max(T a, T b) { return _mm512_max_ps(a, b); }
  static T min(T a, T b) { return _mm512_min_ps(a, b); }
  static T round(T x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static T ldexp2(T p, T n) { return _mm512_scalef_ps(p, n); }
  static float hsum(T a) { return _mm512_reduce_add_ps(a); }
  static float hmax(T a) { return _mm512_reduce_max_ps(a); }
  // Lane i = the sum of a[i]'s lanes: four levels that each add two halves of pairs of vectors, then
  // one permute that undoes the order the shuffles leave.
  static T sum_lanes(const T (&a)[16]) {
    T r1[8], r2[4], r3[2];
    for (int i = 0; i < 8; ++i) {
      r1[i] = _mm512_add_ps(_mm512_shuffle_f32x4(a[i], a[i + 8], _MM_SHUFFLE(1, 0, 1, 0)),
                            _mm512_shuffle_f32x4(a[i], a[i + 8], _MM_SHUFFLE(3, 2, 3, 2)));
    }
    for (int i = 0; i < 4; ++i) {
      r2[i] = _mm512_add_ps(_mm512_shuffle_f32x4(r1[i], r1[i + 4], _MM_SHUFFLE(2, 0, 2, 0)),
                            _mm512_shuffle_f32x4(r1[i], r1[i + 4], _MM_SHUFFLE(3, 1, 3, 1)));
    }
    for (int i = 0; i < 2; ++i) {
      r3[i] = _mm512_add_ps(_mm512_shuffle_ps(r2[i], r2[i + 2], _MM_SHUFFLE(1, 0, 1, 0)),
                            _mm512_shuffle_ps(r2[i], r2[i + 2], _MM_SHUFFLE(3, 2, 3, 2)));
    }
    const T r4 = _mm512_add_ps(_mm512_shuffle_ps(r3[0], r3[1], _MM_SHUFFLE(2, 0, 2, 0)),
                               _mm512_shuffle_ps(r3[0], r3[1], _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 2, 1, 3, 8, 10, 9, 11, 4, 6, 5, 7, 12, 14, 13, 15), r4);
  }
  static T exp(T x) { return exp_poly<Zmm>(x); }
};
}  // namespace

void fill_avx512_kernels(KernelSet* ks) {
  ks->pack_token = pack_token_avx512;
  // K-quants: the 256-bit kernels, recompiled here so their multiply-adds use vpdpwssd.
  ks->q4_k = tiles<K4Kernel512<false>>;
  ks->q5_k = tiles<K4Kernel512<true>>;
  ks->q6_k = ymm::tiles<ymm::Q6KKernel>;
  ks->q4_0 = rowwise_or_chunked<Q4_0Kernel, q4_0_gemm_avx512, 6>;
  ks->q8_0 = rowwise_or_chunked<Q8_0Kernel, q8_0_gemm_avx512, 3>;
  ks->q8_0_chunks = q8_0_chunks_avx512;
  ks->q8_0_to_chunks = q8_0_to_chunks_avx512;
  ks->f32 = tiles<PlainKernel<LoadF32>>;
  ks->f16 = tiles<PlainKernel<LoadF16>>;
  ks->bf16 = tiles<PlainKernel<LoadBF16>>;
  ks->f32_to_f16_row = f32_to_f16_row_avx512;
  ks->attend = attend_impl<Zmm>;
  ks->silu_mul = silu_mul_impl<Zmm>;
  ks->read_sum = read_sum_avx512;
}

}  // namespace muse::core::detail
