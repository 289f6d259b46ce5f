// Internal to core: the contract between the matmul driver (matmul.cpp) and the per-ISA kernel files
// (matmul_avx2.cpp, matmul_avx512.cpp). Not for other modules. Everything here is pure functions
// over caller-owned buffers: thread-safe for disjoint outputs, never throws (REQUIREs are asserts).
//
// Activations are packed once per matmul call (KernelSet::pack_token; every path's packer writes the
// very same bytes, so all paths see the same integers) into layouts chosen so that the SIMD
// kernels need no shuffles on the activation side. Letters: k = input features, nb = k / 32 blocks.
//
//   ActFormat::kF32  : the caller's x, (n_tokens, k) f32.
//   ActFormat::kQ8_0 : per token ceil(nb/2) groups of 2 blocks, 128 B each:
//       i8 q[64] (blocks j=0,1 in order) | f32 d[16]; lane l = 8j+m covers q bytes 32j+4m..+3,
//       d[l] = d_j. (Kept small: the whole pack must stay in L1 beside the weight streams.)
//   ActFormat::kQ4_0 : per token ceil(nb/4) groups of 4 blocks, 256 B each:
//       i8 lo[64] = a_j[0..16) for j=0..3 | i8 hi[64] = a_j[16..32) | i32 bias[16] | f32 d[16]
//       lane l = 4j+m covers lo and hi bytes 16j+4m..+3; bias[l] = -8 * (sum of those 8 q).
//       (Nibbles are fed unsigned, 0..15; the bias turns q into q - 8.)
//       d holds the scales of a PAIR of groups (2p, 2p+1) in group 2p (group 2p+1's d is zero):
//       d[4j + 2h + {0,1}] = d of block j of group 2p+h, the lane order of the AVX-512 kernel after it
//       folds the two groups' sums together (q4_0_act_scale reads it).
//   ActFormat::kQ8K / kQ8KSplit : per token nb/8 super-blocks of 256 elements, 320 B each:
//       i8 q[256] | i16 bsum16[16] | i16 bsum32[8] | f32 d | pad
//       bsum16[i] = sum of elements 16i..16i+15 (natural order), bsum32[s] = sum of sub-block s.
//       kQ8K stores q in natural order (Q6_K); kQ8KSplit stores the 32-element sub-blocks in the order
//       0,2,1,3,4,6,5,7 so that a 64-byte load of Q4_K/Q5_K nibbles lines up with 64 activations.
// Every block's values are q = rne(x * (1/d)) with d = amax / 127 (f32), so |x - d*q| <= d/2; every
// path's packer computes exactly these bytes (round-to-nearest-even everywhere), so the paths see
// the very same integers.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/attention.h"
#include "core/dtype.h"
#include "core/matmul.h"

namespace muse::core::detail {

enum class ActFormat { kF32, kQ8_0, kQ4_0, kQ8K, kQ8KSplit };

inline constexpr size_t kQ8_0GroupBytes = 128;
inline constexpr size_t kQ4_0GroupBytes = 256;
inline constexpr size_t kQ8KBlockBytes = 320;
inline constexpr size_t kQ8KBsum16Offset = 256;
inline constexpr size_t kQ8KBsum32Offset = 288;
inline constexpr size_t kQ8KScaleOffset = 304;

ActFormat act_format(DType weight_type);
// Bytes of one packed token (a multiple of 64). REQUIRES: k is a multiple of the weight's block size.
size_t act_stride(ActFormat fmt, int64_t k);
// Packs one token (k floats) into dst (act_stride bytes, 64-byte aligned); fmt != kF32. Scalar.
void pack_token_scalar(ActFormat fmt, const float* x, int64_t k, uint8_t* dst);
// The activation scale of block b in a kQ4_0 pack (see the pair layout above).
inline float q4_0_act_scale(const uint8_t* pack, int64_t b) {
  const int64_t pair = b / 8, h = (b / 4) % 2, j = b % 4;
  float d;
  __builtin_memcpy(&d, pack + 2 * pair * kQ4_0GroupBytes + 192 + 4 * (4 * j + 2 * h), 4);
  return d;
}

// Position (0..7) of 32-element sub-block s inside a kQ8KSplit super-block.
inline constexpr int split_pos(int s) { return (s & 4) | ((s & 1) << 1) | ((s >> 1) & 1); }

// WeightLayout::kQ8_0Chunks (matmul.h): 16 blocks per chunk, 544 B; lane l of a chunk holds block
// chunk_lane_block(l) of it; the f16 scales follow the 512 bytes of q in lane order.
inline constexpr int64_t kQ8_0ChunkBlocks = 16;
inline constexpr size_t kQ8_0ChunkBytes = 544;
inline constexpr size_t kQ8_0ChunkScaleOffset = 512;
inline constexpr int chunk_lane_block(int l) { return 2 * (l % 8) + l / 8; }
// Its inverse: the lane that holds block b (0..15) of a chunk.
inline constexpr int chunk_block_lane(int b) { return 8 * (b % 2) + b / 2; }
// Where element e (0..31) of lane l's block sits in a chunk's 512 bytes of q: vector e / 4, lane l.
static_assert(chunk_block_lane(chunk_lane_block(5)) == 5 && chunk_block_lane(chunk_lane_block(12)) == 12);
inline constexpr size_t chunk_q_byte(int l, int e) { return static_cast<size_t>(64 * (e / 4) + 4 * l + e % 4); }

struct GemmArgs {
  const uint8_t* w = nullptr;  // weight rows, row_stride bytes apart
  size_t w_stride = 0;
  int64_t k = 0;
  const uint8_t* act = nullptr;  // packed activations (or the f32 x for kF32)
  size_t act_stride = 0;         // bytes per token
  float* y = nullptr;            // y[t * y_stride + r]
  int64_t y_stride = 0;
};

// Computes y[t][r] for r in [r0, r1), t in [t0, t1).
using TileFn = void (*)(const GemmArgs& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1);

struct KernelSet {
  TileFn f32 = nullptr, f16 = nullptr, bf16 = nullptr;
  TileFn q8_0 = nullptr, q4_0 = nullptr, q4_k = nullptr, q5_k = nullptr, q6_k = nullptr;
  TileFn q8_0_chunks = nullptr;  // Q8_0 in WeightLayout::kQ8_0Chunks, kQ8_0 activations
  void (*f32_to_f16_row)(const float*, uint16_t*, int64_t) = nullptr;
  // attention.h's attend (stats == nullptr) and attend_part, and silu_mul (attention_impl.h, per ISA).
  void (*attend)(const float*, const AttendShape&, const KvRows&, int64_t, float, float*, float*, float*) = nullptr;
  void (*silu_mul)(float*, const float*, int64_t) = nullptr;
  void (*pack_token)(ActFormat fmt, const float* x, int64_t k, uint8_t* dst) = nullptr;
  // One Q8_0 row of nb blocks (a multiple of 16) from the file layout into WeightLayout::kQ8_0Chunks
  // (nb * 34 bytes at dst, not overlapping src); every path writes the same bytes.
  void (*q8_0_to_chunks)(const uint8_t* src, int64_t nb, uint8_t* dst) = nullptr;
  // Pure-read sum over n bytes (a multiple of 256, 64-byte aligned), for the bandwidth roofline.
  uint64_t (*read_sum)(const uint8_t*, size_t) = nullptr;
};

const KernelSet& scalar_kernels();
// The kernel set a path resolves to (kAuto: the best available), or nullptr if this CPU lacks it.
// Exposed so tests can hold each path's vector helpers against the scalar ones.
const KernelSet* kernel_set(KernelPath path);
// The set's tile function for a weight type in the file layout (nullptr: none).
TileFn tile_for(const KernelSet& ks, DType type);
// The same for a weight in its layout.
TileFn tile_for(const KernelSet& ks, const WeightView& w);
// matmul() with a given kernel set (for packing) and tile function: what matmul() runs after
// choosing them; bench_kernels also times tiles that no path selects (test_avx512_rowwise).
void matmul_with_tile(ThreadPool& pool, const WeightView& w, const float* x, int64_t n_tokens, float* y,
                      MatmulScratch& scratch, const KernelSet& ks, TileFn tile);
// Filled by the ISA files; they are only called when cpu.h says the CPU can run them.
void fill_avx2_kernels(KernelSet* ks);
void fill_avx512_kernels(KernelSet* ks);

// The AVX-512 Q8_0 / Q4_0 kernels for 3 / 6 or more tokens (matmul_gemm_avx512.cpp: both sides
// repacked into chunks of 16 blocks); they handle any token count. REQUIRES: the AVX-512 set.
void q8_0_gemm_avx512(const GemmArgs& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1);
void q4_0_gemm_avx512(const GemmArgs& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1);
// The Q8_0 kernel for weights already in WeightLayout::kQ8_0Chunks, any token count (1 included:
// then it streams the rows like the row-streaming kernel). REQUIRES: the AVX-512 set, k % 512 == 0.
void q8_0_chunks_avx512(const GemmArgs& a, int64_t r0, int64_t r1, int64_t t0, int64_t t1);
// KernelSet::q8_0_to_chunks of the AVX-512 set (the transpose of the per-call repack, f16 scales kept).
void q8_0_to_chunks_avx512(const uint8_t* src, int64_t nb, uint8_t* dst);
// Bench hook: the AVX-512 row-streaming tile (Q8_0 or Q4_0; nullptr for other types) that every
// multi-token call used before the chunked kernels, kept so bench_kernels can compare.
TileFn test_avx512_rowwise(DType type);

}  // namespace muse::core::detail
