// Multi-token Q8_0 and Q4_0 matmuls (batched decode steps and prompts) for AVX-512 VNNI; compiled
// with the AVX-512 flags, called only through fill_avx512_kernels, which keeps the row-streaming
// kernels of matmul_avx512.cpp for fewer tokens (they are memory-bound there; this is compute-bound).
//
// Why a second layout: in the file's layout one 64-byte vector of Q8_0 weights holds 2 blocks, so a
// VNNI dot leaves each block's sum spread over 8 i32 lanes and every (row, token, block pair) needs
// its own convert + scale + FMA: 4 vector ops for 64 multiply-adds. Here both sides are first
// transposed into chunks of 16 blocks where vector c holds dword c (elements 4c..4c+3) of each of
// the 16 blocks, so 8 VNNI dots accumulate 16 whole block sums, one per lane, and the float work
// (convert, scale product, FMA) is done once per 16 blocks: 11 vector ops per 512 multiply-adds.
//
//   weights, per row and chunk (576 B): u8 q[8][64] | f32 d[16]
//       u8 = q + 128 (Q8_0: q ^ 0x80) or the nibble = q + 8 (Q4_0)
//   activations, per token and chunk (640 B): i8 q[8][64] | i32 bias[16] | f32 d[16]
//       bias = -128 (Q8_0) or -8 (Q4_0) times the sum of the block's q: cancels the weights' offset
//   lane l of a chunk holds block 2*(l % 8) + l / 8 of it; blocks past the row's end have zero q,
//   bias and d.
//
// Q8_0 weights that Model::load already rewrote into this chunk layout (WeightLayout::kQ8_0Chunks,
// matmul.h: the same bytes with f16 scales instead of f32) skip the weight repack: q8_0_chunks_avx512
// runs the same micro-kernel on the rows in place, for any token count (1-2 tokens as far-apart row
// streams, like the row-streaming decode kernel), and gives bit-identical results to the per-call
// repack.
//
// Each tile call repacks its tokens once, then for every group of kRows rows repacks the rows
// (read in order: one sequential stream) into an L1-resident buffer that serves all the tokens.
// The integer block sums are exact, so results differ from the scalar path only in float rounding.
// That rounding differs from the row-streaming kernels' too: a token's outputs change in the last
// bits with the number of tokens in the call (batched vs solo decoding is not bit-identical for
// Q8_0/Q4_0; tests/server's batching-invariance test uses F32 weights for that reason).
//
// GCC 12's AVX-512 reduce intrinsics use _mm256_undefined_*(), which -Wuninitialized flags (a false
// positive in the compiler's own header).
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/matmul_internal.h"
#include "core/quant_blocks.h"

// Micro-tile: rows x tokens kept in registers (tuning knobs; override with -D to experiment).
// Measured one thread, best of 3 (G multiply-adds/s for 8 tokens / 64 tokens, k = 2048 and 5632):
// 3x4: 77/67, 109/95; 4x3: 78/59, 108/79; 4x4: 80/60, 130/101; 2x6: 75/60, 110/91.
#ifndef MUSE_GEMM_ROWS
#define MUSE_GEMM_ROWS 3
#endif
#ifndef MUSE_GEMM_TOKENS
#define MUSE_GEMM_TOKENS 4
#endif

namespace muse::core::detail {
namespace {

constexpr int kRows = MUSE_GEMM_ROWS, kTokens = MUSE_GEMM_TOKENS;
// From kSliceMinTokens tokens, rows longer than kSliceChunks chunks are read a slice of K at a time (the
// tokens' slice stays in L1: at k = 5632, 8 tokens' chunks are 56 KiB). Q8_0's per-call kernel slices as
// the prepacked one does, so the two layouts still give bit-identical sums.
constexpr int64_t kSliceChunks = 4, kSliceMinTokens = 6;
inline int64_t k_slices(int64_t n_tok, int64_t nch) {
  return n_tok >= kSliceMinTokens && nch > kSliceChunks ? (nch + kSliceChunks - 1) / kSliceChunks : 1;
}
#ifndef MUSE_GEMM_TOKEN_BLOCK
#define MUSE_GEMM_TOKEN_BLOCK 64
#endif
constexpr int64_t kTokenBlock = MUSE_GEMM_TOKEN_BLOCK;
constexpr int64_t kChunkBlocks = 16;
constexpr size_t kWChunkBytes = 8 * 64 + 64;
constexpr size_t kAChunkBytes = 8 * 64 + 64 + 64;
constexpr size_t kABiasOffset = 512, kADOffset = 576, kWDOffset = 512;
static_assert(kChunkBlocks == kQ8_0ChunkBlocks && kChunkBlocks * 34 == kQ8_0ChunkBytes);

// vpermt2d indices for stage k of the transpose: swap bit k of the vector index with bit k of the
// lane index. kLo: the output whose vector bit k is 0; kHi: the one whose bit is 1.
struct TransposeIdx {
  alignas(64) int32_t lo[3][16];
  alignas(64) int32_t hi[3][16];
  constexpr TransposeIdx() : lo(), hi() {
    for (int k = 0; k < 3; ++k) {
      const int bit = 1 << k;
      for (int l = 0; l < 16; ++l) {
        const bool set = (l & bit) != 0;
        lo[k][l] = set ? 16 + (l & ~bit) : l;
        hi[k][l] = set ? 16 + l : (l | bit);
      }
    }
  }
};
constexpr TransposeIdx kTransposeIdx;

// v[s] holds blocks 2s and 2s+1 (8 dwords each, in order). Afterwards v[c] lane l holds dword c of
// block 2*(l % 8) + l / 8: three stages each swap one bit of the vector index with one lane bit.
inline void transpose_chunk(__m512i (&v)[8]) {
  for (int k = 0; k < 3; ++k) {
    const int bit = 1 << k;
    const __m512i lo = _mm512_load_si512(kTransposeIdx.lo[k]);
    const __m512i hi = _mm512_load_si512(kTransposeIdx.hi[k]);
    for (int s = 0; s < 8; ++s) {
      if (s & bit) continue;
      const __m512i x = v[s], y = v[s | bit];
      v[s] = _mm512_permutex2var_epi32(x, lo, y);
      v[s | bit] = _mm512_permutex2var_epi32(x, hi, y);
    }
  }
}

__m256i load256(const uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// Per weight type: the bytes of a block, how a pair of blocks (2s, 2s+1 of a chunk) becomes
// 64 bytes of u8 weights in element order, and what the activation side subtracts per block.
//
// Q8_0: d, q[32]; u8 = q ^ 0x80 = q + 128, so the bias is -128 * (sum of the block's activations).
struct Q8_0Fmt {
  static constexpr int64_t kBlockBytes = 34;
  static constexpr char kBiasMul = static_cast<char>(0x80);
  static __m512i load_pair(const uint8_t* p, bool first, bool second) {
    const __m256i q0 = first ? load256(p + 2) : _mm256_setzero_si256();
    const __m256i q1 = second ? load256(p + 36) : _mm256_setzero_si256();
    return _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(q0), q1, 1),
                            _mm512_set1_epi8(static_cast<char>(0x80)));
  }
};

// Q4_0: d, qs[16] (element e < 16 in the low nibble of qs[e], element 16 + e in the high one);
// u8 = nibble = q + 8, so the bias is -8 * (sum of the block's activations).
struct Q4_0Fmt {
  static constexpr int64_t kBlockBytes = 18;
  static constexpr char kBiasMul = 8;
  static __m512i load_pair(const uint8_t* p, bool first, bool second) {
    auto bcast = [](const uint8_t* q) {
      return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
    };
    const __m256i q0 = first ? bcast(p + 2) : _mm256_setzero_si256();
    const __m256i q1 = second ? bcast(p + 20) : _mm256_setzero_si256();
    const __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(q0), q1, 1);  // [qs0 qs0 qs1 qs1]
    // High nibbles into the 2nd and 4th 16 bytes.
    const __m512i hi = _mm512_mask_srli_epi16(q, 0xFF00FF00u, q, 4);
    return _mm512_and_si512(hi, _mm512_set1_epi8(0x0F));
  }
};

// One row (nb blocks) into nch chunks at dst.
template <typename F>
void repack_row(const uint8_t* row, int64_t nb, int64_t nch, uint8_t* dst) {
  constexpr int64_t kB = F::kBlockBytes;
  for (int64_t ch = 0; ch < nch; ++ch, dst += kWChunkBytes) {
    const int64_t b0 = ch * kChunkBlocks;
    const int64_t n = std::min<int64_t>(kChunkBlocks, nb - b0);
    const uint8_t* p = row + kB * b0;
    __m512i v[8];
    alignas(32) uint16_t d16[16];
    if (n == kChunkBlocks) {
      for (int s = 0; s < 8; ++s) v[s] = F::load_pair(p + 2 * kB * s, true, true);
      for (int l = 0; l < 16; ++l) d16[l] = load_u16(p + kB * chunk_lane_block(l));
    } else {
      for (int s = 0; s < 8; ++s) v[s] = F::load_pair(p + 2 * kB * s, 2 * s < n, 2 * s + 1 < n);
      for (int l = 0; l < 16; ++l) d16[l] = chunk_lane_block(l) < n ? load_u16(p + kB * chunk_lane_block(l)) : 0;
    }
    transpose_chunk(v);
    for (int c = 0; c < 8; ++c) _mm512_store_si512(dst + 64 * c, v[c]);
    _mm512_store_ps(dst + kWDOffset,
                    _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(d16))));
  }
}

// v[s] = activations of blocks 2s, 2s+1 of the chunk in element order, d[l] = scale of lane l's
// block: transposes and stores one activation chunk with its bias.
template <typename F>
void store_act_chunk(__m512i (&v)[8], const float (&d)[16], uint8_t* dst) {
  transpose_chunk(v);
  const __m512i mul = _mm512_set1_epi8(F::kBiasMul);
  __m512i sum = _mm512_setzero_si512();
  for (int c = 0; c < 8; ++c) {
    _mm512_store_si512(dst + 64 * c, v[c]);
    sum = _mm512_dpbusd_epi32(sum, mul, v[c]);
  }
  _mm512_store_si512(dst + kABiasOffset, _mm512_sub_epi32(_mm512_setzero_si512(), sum));
  std::memcpy(dst + kADOffset, d, sizeof(d));
}

// One token's kQ8_0 pack (groups of 2 blocks; a missing last block is already zero) into nch
// chunks at dst.
void repack_token(Q8_0Fmt, const uint8_t* act, int64_t nb, int64_t nch, uint8_t* dst) {
  const int64_t ng = (nb + 1) / 2;
  for (int64_t ch = 0; ch < nch; ++ch, dst += kAChunkBytes) {
    __m512i v[8];
    float d[16];
    for (int s = 0; s < 8; ++s) {
      const int64_t g = ch * 8 + s;
      if (g < ng) {
        const uint8_t* gp = act + g * kQ8_0GroupBytes;
        v[s] = _mm512_load_si512(gp);
        std::memcpy(&d[s], gp + 64, 4);
        std::memcpy(&d[8 + s], gp + 64 + 32, 4);
      } else {
        v[s] = _mm512_setzero_si512();
        d[s] = d[8 + s] = 0.0f;
      }
    }
    store_act_chunk<Q8_0Fmt>(v, d, dst);
  }
}

// One token's kQ4_0 pack (groups of 4 blocks: lo[64] = elements 0..15 of blocks 0..3, hi[64] =
// elements 16..31; missing blocks are zero) into nch chunks at dst.
void repack_token(Q4_0Fmt, const uint8_t* act, int64_t nb, int64_t nch, uint8_t* dst) {
  // qword indices into (lo, hi) giving [lo_j hi_j lo_j+1 hi_j+1] for j = 0 and j = 2.
  alignas(64) static constexpr int64_t kIdx[2][8] = {{0, 1, 8, 9, 2, 3, 10, 11},
                                                     {4, 5, 12, 13, 6, 7, 14, 15}};
  const int64_t ng = (nb + 3) / 4;
  for (int64_t ch = 0; ch < nch; ++ch, dst += kAChunkBytes) {
    __m512i v[8];
    float d[16];
    for (int s = 0; s < 8; ++s) {
      const int64_t g = ch * 4 + s / 2;
      if (g < ng) {
        const uint8_t* gp = act + g * kQ4_0GroupBytes;
        v[s] = _mm512_permutex2var_epi64(_mm512_load_si512(gp), _mm512_load_si512(kIdx[s % 2]),
                                         _mm512_load_si512(gp + 64));
      } else {
        v[s] = _mm512_setzero_si512();
      }
    }
    for (int l = 0; l < 16; ++l) {
      const int64_t b = ch * kChunkBlocks + chunk_lane_block(l);
      d[l] = b < nb ? q4_0_act_scale(act, b) : 0.0f;
    }
    store_act_chunk<Q4_0Fmt>(v, d, dst);
  }
}

// Weight bytes still to come from memory, fetched into L2 a slice per chunk of the micro-kernel so
// that the next rows arrive while this group computes: without it the repack waited for every line
// (8 tokens, one thread: 47 -> 72 G multiply-adds/s; prefetching into L1 instead: 48).
struct Prefetch {
  const uint8_t* p = nullptr;
  size_t bytes = 0;      // from p
  size_t per_chunk = 0;  // bytes per micro-kernel chunk
};

// The weight rows that follow [r, r + n) in memory (at most n of them, not past r1), spread over nch
// chunks: what the micro-kernel prefetches while it computes rows [r, r + n).
Prefetch rows_after(const GemmArgs& a, int64_t r, int64_t n, int64_t r1, int64_t nch) {
  const int64_t rows = std::min(n, r1 - (r + n));
  if (rows <= 0) return Prefetch{};
  const size_t bytes = static_cast<size_t>(rows) * a.w_stride;
  return Prefetch{a.w + (r + n) * a.w_stride, bytes, (bytes / static_cast<size_t>(nch) + 63) / 64 * 64};
}

// Where the micro-kernel finds a weight chunk: in the per-call L1 buffer (f32 scales, 64-byte
// aligned), or in the weight's own bytes already in WeightLayout::kQ8_0Chunks (f16 scales, chunks
// 544 B apart, so only 32-byte aligned). Both give the same f32 scale, so the same results.
// kPrefetch: where the next rows are fetched to while this group computes. The per-call repack reads
// them once into its buffer, L2 is best there (see Prefetch); the micro-kernel reading prepacked rows
// in place wants them in L1 (8 tokens, rows streamed from DRAM, one thread: 136 G multiply-adds/s with
// _MM_HINT_T0, 135 NTA, 121 T1, 113 with no software prefetch; 128-130 with T0 two groups ahead).
struct BufferChunks {
  static constexpr bool kSlices = false;
  static constexpr auto kPrefetch = _MM_HINT_T1;
  static constexpr size_t kBytes = kWChunkBytes;
  static __m512i q(const uint8_t* p) { return _mm512_load_si512(p); }
  static __m512i q_decode(const uint8_t* p) { return q(p); }
  static __m512 d(const uint8_t* p) { return _mm512_load_ps(p + kWDOffset); }
};
struct WeightChunks {
  static constexpr bool kSlices = false;
  static constexpr auto kPrefetch = _MM_HINT_T0;
  static constexpr size_t kBytes = kQ8_0ChunkBytes;
  static __m512i q(const uint8_t* p) { return _mm512_loadu_si512(p); }
  // Chunks are 544 B apart, so only 32-byte aligned: a 64-byte load straddles two cache lines every
  // other chunk, two 32-byte loads never do. Pays at 1-2 tokens (one thread, weights beyond L2: 1 token
  // 1.10-1.14x, 2 tokens 1.12-1.26x), costs 5-10% from 3 tokens, where the extra insert is not hidden.
  static __m512i q_decode(const uint8_t* p) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(load256(p)), load256(p + 32), 1);
  }
  static __m512 d(const uint8_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + kQ8_0ChunkScaleOffset)));
  }
};

// The same, a slice of K at a time (k_slices): y gets each slice's partial sum added.
struct BufferSlices : BufferChunks {
  static constexpr bool kSlices = true;
};
struct WeightSlices : WeightChunks {
  static constexpr bool kSlices = true;
};

// y for R repacked rows (w_bytes apart) x T repacked tokens (a_bytes apart).
// Row i's outputs are y[i * y_rows_apart + j * y_stride].
template <int R, int T, typename W = BufferChunks>
void micro(const uint8_t* w, size_t w_bytes, const uint8_t* act, size_t a_bytes, int64_t nch, float* y,
           int64_t y_stride, Prefetch pf, int64_t y_rows_apart = 1, bool add = false) {
  __m512 acc[R][T];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < T; ++j) acc[i][j] = _mm512_setzero_ps();
  for (int64_t ch = 0; ch < nch; ++ch) {
    const size_t pf_end = std::min(pf.bytes, (ch + 1) * pf.per_chunk);
    for (size_t o = ch * pf.per_chunk; o < pf_end; o += 64) {
      _mm_prefetch(reinterpret_cast<const char*>(pf.p + o), W::kPrefetch);
    }
    const uint8_t* wp[R];
    for (int i = 0; i < R; ++i) wp[i] = w + i * w_bytes + ch * W::kBytes;
    const uint8_t* ap[T];
    for (int j = 0; j < T; ++j) ap[j] = act + j * a_bytes + ch * kAChunkBytes;
    __m512i s[R][T];
    for (int j = 0; j < T; ++j) {
      const __m512i bias = _mm512_load_si512(ap[j] + kABiasOffset);
      for (int i = 0; i < R; ++i) s[i][j] = bias;
    }
    for (int c = 0; c < 8; ++c) {
      __m512i wv[R];
      for (int i = 0; i < R; ++i) wv[i] = T <= 2 ? W::q_decode(wp[i] + 64 * c) : W::q(wp[i] + 64 * c);
      for (int j = 0; j < T; ++j) {
        const __m512i av = _mm512_load_si512(ap[j] + 64 * c);
        for (int i = 0; i < R; ++i) s[i][j] = _mm512_dpbusd_epi32(s[i][j], wv[i], av);
      }
    }
    for (int i = 0; i < R; ++i) {
      const __m512 dw = W::d(wp[i]);
      for (int j = 0; j < T; ++j) {
        const __m512 d = _mm512_mul_ps(dw, _mm512_load_ps(ap[j] + kADOffset));
        acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[i][j]), d, acc[i][j]);
      }
    }
  }
  for (int j = 0; j < T; ++j)
    for (int i = 0; i < R; ++i) {
      float& out = y[j * y_stride + i * y_rows_apart];
      if constexpr (W::kSlices) {
        out = (add ? out : 0.0f) + _mm512_reduce_add_ps(acc[i][j]);
      } else {
        out = _mm512_reduce_add_ps(acc[i][j]);
      }
    }
}

// The last n < kTokens tokens (T: the largest tile still to try).
template <int R, typename W = BufferChunks, int T = kTokens - 1>
void micro_tail(const uint8_t* w, size_t w_bytes, const uint8_t* act, size_t a_bytes, int64_t nch, int64_t n,
                float* y, int64_t y_stride, Prefetch pf, bool add = false) {
  if constexpr (T >= 1) {
    if (n == T) {
      micro<R, T, W>(w, w_bytes, act, a_bytes, nch, y, y_stride, pf, 1, add);
    } else {
      micro_tail<R, W, T - 1>(w, w_bytes, act, a_bytes, nch, n, y, y_stride, pf, add);
    }
  }
}

// The part of `pf` that token tile `tile` of `tiles` prefetches (tiles > 1 only for prepacked rows).
Prefetch prefetch_part(const Prefetch& pf, int64_t tile, int64_t tiles, int64_t nch) {
  if (pf.p == nullptr || tiles == 1) return tile == 0 ? pf : Prefetch{};
  const size_t part = (pf.bytes / static_cast<size_t>(tiles) + 63) / 64 * 64;
  const size_t o = std::min(pf.bytes, static_cast<size_t>(tile) * part);
  const size_t bytes = std::min(pf.bytes - o, part);
  return Prefetch{pf.p + o, bytes, (bytes / static_cast<size_t>(nch) + 63) / 64 * 64};
}

// All tokens for R repacked rows, TT tokens per tile. The rows in `pf` are prefetched by the first
// token tile when the rows come from the per-call buffer, and spread over all the token tiles when
// the micro-kernel reads prepacked rows in place (one burst then overran what the core keeps in
// flight: 8 tokens streamed from DRAM, one thread, 153-184 against 139-145 G multiply-adds/s).
template <int R, typename W = BufferChunks, int TT = kTokens>
void micro_tokens(const uint8_t* w, size_t w_bytes, const uint8_t* act, size_t a_bytes, int64_t nch,
                  int64_t n_tok, float* y, int64_t y_stride, Prefetch pf, bool add = false) {
  const int64_t tiles = std::is_base_of_v<WeightChunks, W> ? (n_tok + TT - 1) / TT : 1;
  int64_t j = 0, tile = 0;
  for (; j + TT <= n_tok; j += TT, ++tile) {
    micro<R, TT, W>(w, w_bytes, act + j * a_bytes, a_bytes, nch, y + j * y_stride, y_stride,
                    prefetch_part(pf, tile, tiles, nch), 1, add);
  }
  micro_tail<R, W, TT - 1>(w, w_bytes, act + j * a_bytes, a_bytes, nch, n_tok - j, y + j * y_stride, y_stride,
                           prefetch_part(pf, tile, tiles, nch), add);
}

// Rows [r0, r1) in groups of G (then one at a time), each group a slice of K at a time (k_slices): the
// slices' partial sums are added into y, and the next group's rows are prefetched a part per slice.
// rows(r, R) says where group r's R rows are for the micro-kernel (repacking them first if need be),
// as {first row, bytes between rows}.
template <typename W, int G, int TT, typename Rows>
void sliced_groups(const GemmArgs& a, const uint8_t* act, size_t a_bytes, int64_t nch, int64_t n_tok, int64_t r0,
                   int64_t r1, float* y, int64_t slices, Rows rows) {
  const auto group = [&](int64_t r, auto n_rows) {
    constexpr int R = decltype(n_rows)::value;
    const auto [w, w_bytes] = rows(r, n_rows);
    const Prefetch pf = rows_after(a, r, R, r1, nch);
    for (int64_t sl = 0; sl < slices; ++sl) {
      const int64_t c0 = sl * kSliceChunks, n = std::min(kSliceChunks, nch - c0);
      micro_tokens<R, W, TT>(w + c0 * W::kBytes, w_bytes, act + c0 * kAChunkBytes, a_bytes, n, n_tok, y + r,
                             a.y_stride, prefetch_part(pf, sl, slices, n), sl > 0);
    }
  };
  int64_t r = r0;
  for (; r + G <= r1; r += G) group(r, std::integral_constant<int, G>{});
  for (; r < r1; ++r) group(r, std::integral_constant<int, 1>{});
}

// Per-thread repack buffers (64-byte aligned views into a growing vector).
uint8_t* scratch(std::vector<uint8_t>& buf, size_t bytes) {
  if (buf.size() < bytes + 64) buf.resize(bytes + 64);
  const auto base = reinterpret_cast<uintptr_t>(buf.data());
  return reinterpret_cast<uint8_t*>((base + 63) & ~uintptr_t{63});
}

template <typename F>
void gemm_block(const GemmArgs& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  thread_local std::vector<uint8_t> w_buf, a_buf;
  const int64_t nb = a.k / 32, nch = (nb + kChunkBlocks - 1) / kChunkBlocks;
  const int64_t n_tok = t1 - t0;
  const size_t a_bytes = static_cast<size_t>(nch) * kAChunkBytes;
  const size_t w_bytes = static_cast<size_t>(nch) * kWChunkBytes;
  uint8_t* act = scratch(a_buf, a_bytes * static_cast<size_t>(n_tok));
  uint8_t* w = scratch(w_buf, w_bytes * kRows);
  for (int64_t t = t0; t < t1; ++t)
    repack_token(F{}, a.act + t * a.act_stride, nb, nch, act + (t - t0) * a_bytes);
  float* y = a.y + t0 * a.y_stride;
  const auto next_rows = [&](int64_t r, int64_t n) { return rows_after(a, r, n, r1, nch); };
  // Q8_0 is sliced as the prepacked kernel slices it, for the same sums; Q4_0 has no prepacked twin, and
  // slicing it measured no faster (8 tokens) or 5% slower (16, 64 tokens).
  if (const int64_t slices = std::is_same_v<F, Q8_0Fmt> ? k_slices(n_tok, nch) : 1; slices > 1) {
    sliced_groups<BufferSlices, kRows, kTokens>(
        a, act, a_bytes, nch, n_tok, r0, r1, y, slices, [&](int64_t r, auto n_rows) {
          for (int i = 0; i < decltype(n_rows)::value; ++i)
            repack_row<F>(a.w + (r + i) * a.w_stride, nb, nch, w + i * w_bytes);
          return std::pair<const uint8_t*, size_t>(w, w_bytes);
        });
    return;
  }
  int64_t r = r0;
  for (; r + kRows <= r1; r += kRows) {
    for (int i = 0; i < kRows; ++i) repack_row<F>(a.w + (r + i) * a.w_stride, nb, nch, w + i * w_bytes);
    micro_tokens<kRows>(w, w_bytes, act, a_bytes, nch, n_tok, y + r, a.y_stride, next_rows(r, kRows));
  }
  for (; r < r1; ++r) {
    repack_row<F>(a.w + r * a.w_stride, nb, nch, w);
    micro_tokens<1>(w, w_bytes, act, a_bytes, nch, n_tok, y + r, a.y_stride, next_rows(r, 1));
  }
}

// One or two tokens (decode): memory-bound, so the rows are read as the row-streaming decode kernel
// reads them (matmul_avx512.cpp: kDecodeRows far-apart streams, one row from each segment of
// [r0, r1) per micro-tile; adjacent rows read in lock step defeat the hardware prefetchers), with
// no software prefetch.
constexpr int kDecodeRows = 4;
template <int T>
void chunks_decode(const GemmArgs& a, const uint8_t* act, size_t a_bytes, int64_t nch, int64_t r0, int64_t r1,
                   float* y) {
  const int64_t seg = (r1 - r0) / kDecodeRows;
  const size_t apart = static_cast<size_t>(seg) * a.w_stride;
  for (int64_t j = 0; j < seg; ++j) {
    micro<kDecodeRows, T, WeightChunks>(a.w + (r0 + j) * a.w_stride, apart, act, a_bytes, nch, y + r0 + j,
                                        a.y_stride, Prefetch{}, seg);
  }
  for (int64_t r = r0 + kDecodeRows * seg; r < r1; ++r) {
    micro<1, T, WeightChunks>(a.w + r * a.w_stride, a.w_stride, act, a_bytes, nch, y + r, a.y_stride, Prefetch{});
  }
}

// Micro-tile on prepacked weights (tuning knobs). Measured one thread, G multiply-adds/s over the three
// TinyLlama shapes at 8 / 16 tokens, two runs interleaved with the per-call-repack kernel (3x4):
// 4x3 121-123 / 164, 4x2 110-115 / 149-159, 4x4 102-108 / 140-146, 2x8 99-102 / 134-136, 3x4 96 / 131,
// 6x1 97 / 130, 5x3 93-96 / 125, 2x4 89-94 / 120-122, 3x3 83-94 / 118-127.
constexpr int kCRows = 4, kCTokens = 3;
// The same loop over weights already in WeightLayout::kQ8_0Chunks: the micro-kernel reads the rows
// where they are (the next group prefetched into L1, WeightChunks::kPrefetch), so only the tokens are
// repacked per call.
void chunks_block(const GemmArgs& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  thread_local std::vector<uint8_t> a_buf;
  const int64_t nb = a.k / 32, nch = nb / kChunkBlocks;
  const int64_t n_tok = t1 - t0;
  const size_t a_bytes = static_cast<size_t>(nch) * kAChunkBytes;
  uint8_t* act = scratch(a_buf, a_bytes * static_cast<size_t>(n_tok));
  for (int64_t t = t0; t < t1; ++t)
    repack_token(Q8_0Fmt{}, a.act + t * a.act_stride, nb, nch, act + (t - t0) * a_bytes);
  float* y = a.y + t0 * a.y_stride;
  if (n_tok <= 2) {
    if (n_tok == 1) {
      chunks_decode<1>(a, act, a_bytes, nch, r0, r1, y);
    } else {
      chunks_decode<2>(a, act, a_bytes, nch, r0, r1, y);
    }
    return;
  }
  // Long rows a slice of K at a time (sliced_groups): the tokens' slice stays in L1 while a group's rows
  // stream by. k = 5632, one thread, two sets of three runs: 8 tokens 113-131 against 96-125 G
  // multiply-adds/s unsliced, 16 tokens 176-184 against 162-168.
  if (const int64_t slices = k_slices(n_tok, nch); slices > 1) {
    sliced_groups<WeightSlices, kCRows, kCTokens>(
        a, act, a_bytes, nch, n_tok, r0, r1, y, slices,
        [&](int64_t r, auto) { return std::pair<const uint8_t*, size_t>(a.w + r * a.w_stride, a.w_stride); });
    return;
  }
  const auto next_rows = [&](int64_t r, int64_t n) { return rows_after(a, r, n, r1, nch); };
  int64_t r = r0;
  for (; r + kCRows <= r1; r += kCRows) {
    micro_tokens<kCRows, WeightChunks, kCTokens>(a.w + r * a.w_stride, a.w_stride, act, a_bytes, nch, n_tok, y + r,
                                                 a.y_stride, next_rows(r, kCRows));
  }
  for (; r < r1; ++r) {
    micro_tokens<1, WeightChunks, kCTokens>(a.w + r * a.w_stride, a.w_stride, act, a_bytes, nch, n_tok, y + r,
                                            a.y_stride, next_rows(r, 1));
  }
}

// Tokens in blocks of kTokenBlock: every row group streams the whole repacked token block, which
// should stay in L2 (k = 5632: 7 KiB per token, 450 KiB for 64) for long prompts; each block
// repacks the rows again (from L2: matmul.cpp hands over ~192 KiB of rows at a time). Chosen by
// that bound, not by a measured win: on the loaded machine 128- and 512-token runs with blocks of
// 16, 32, 64 and unblocked could not be told apart.
template <typename F>
void gemm(const GemmArgs& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  for (int64_t t = t0; t < t1; t += kTokenBlock) gemm_block<F>(a, r0, r1, t, std::min(t + kTokenBlock, t1));
}

}  // namespace

void q8_0_gemm_avx512(const GemmArgs& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  gemm<Q8_0Fmt>(a, r0, r1, t0, t1);
}

void q4_0_gemm_avx512(const GemmArgs& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  gemm<Q4_0Fmt>(a, r0, r1, t0, t1);
}

void q8_0_to_chunks_avx512(const uint8_t* src, int64_t nb, uint8_t* dst) {
  constexpr int64_t kB = Q8_0Fmt::kBlockBytes;
  for (int64_t b0 = 0; b0 < nb; b0 += kChunkBlocks, dst += kQ8_0ChunkBytes) {
    const uint8_t* p = src + kB * b0;
    __m512i v[8];
    for (int s = 0; s < 8; ++s) v[s] = Q8_0Fmt::load_pair(p + 2 * kB * s, true, true);
    transpose_chunk(v);
    for (int c = 0; c < 8; ++c) _mm512_storeu_si512(dst + 64 * c, v[c]);
    for (int l = 0; l < 16; ++l) std::memcpy(dst + kQ8_0ChunkScaleOffset + 2 * l, p + kB * chunk_lane_block(l), 2);
  }
}

void q8_0_chunks_avx512(const GemmArgs& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
  for (int64_t t = t0; t < t1; t += kTokenBlock) chunks_block(a, r0, r1, t, std::min(t + kTokenBlock, t1));
}

}  // namespace muse::core::detail
