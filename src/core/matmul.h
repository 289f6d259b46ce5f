// Matrix products between weights (any supported DType) and f32 activations: the hot path of the
// engine. Fast variants (AVX2+FMA, AVX-512/VNNI) are picked at run time from the CPU's features; the
// reference variant is plain scalar code and is what tests compare the fast ones against.
//
//   y[t][r] = sum_k W[r][k] * x[t][k]      W: (rows, k) row-major, x: (n_tokens, k), y: (n_tokens, rows)
//
// Where the fast path works on quantized activations (Q8_0 for Q4_0/Q8_0 weights, Q8_K for K-quants),
// matmul quantizes x on the fly into `scratch`. Thread-safe for distinct outputs; work is split across
// `pool`'s workers. Never throws (shapes were validated at load).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/dtype.h"
#include "core/thread_pool.h"

namespace muse::core {

// How a weight's bytes are arranged. kFile: as in the GGUF file. kQ8_0Chunks: Q8_0 rows rewritten once
// at load (repack_weight) into the layout the AVX-512 kernels read, chunks of 16 blocks (544 B, the
// same bytes as the 16 blocks in the file, so rows keep their stride):
//   u8 q[8][64] | f16 d[16]; byte 4l+i of vector c = element 4c+i of block 2*(l%8) + l/8, plus 128
// so that one VNNI dot per vector leaves 16 whole block sums, one per lane, with no per-call repack.
enum class WeightLayout : uint8_t { kFile, kQ8_0Chunks };

// A borrowed 2-D weight matrix in a file's bytes. `data` must outlive every use.
struct WeightView {
  DType type = DType::kF32;
  int64_t rows = 0;  // output features
  int64_t cols = 0;  // input features (k); a multiple of the type's block size
  const void* data = nullptr;
  WeightLayout layout = WeightLayout::kFile;
  size_t row_stride() const { return row_bytes(type, cols); }
};

// Scratch memory owned by the caller (one per model/sequence batch); grows as needed.
struct MatmulScratch {
  std::vector<uint8_t> bytes;
};

enum class KernelPath { kAuto, kScalar, kAvx2, kAvx512 };

// Which path kAuto resolves to on this CPU ("avx512", "avx2" or "scalar").
const char* best_kernel_path_name();
bool kernel_path_available(KernelPath path);

// REQUIRES: w.type has kernels (dtype_info(w.type).weight_supported), kernel_path_available(path),
// x and y do not overlap. n_tokens == 1 (decode) splits rows across the pool; n_tokens > 1 also
// blocks rows so each weight block is reused from cache by every token.
void matmul(ThreadPool& pool, const WeightView& w, const float* x, int64_t n_tokens, float* y,
            MatmulScratch& scratch, KernelPath path = KernelPath::kAuto);

// One output of matmul_group: y = w · x.
struct MatmulOut {
  const WeightView* w = nullptr;
  float* y = nullptr;
};
inline constexpr size_t kMaxMatmulGroup = 4;

// Several weights applied to the same x (Q, K and V; gate and up), each into its own y, with exactly
// matmul()'s results: x is packed once and the rows of all the weights are split across the pool in one
// region, so a decode step pays one dispatch and one barrier instead of one per weight, and a small
// weight (K and V under GQA) does not leave a worker idle. Weights whose activation formats differ, row
// counts not a multiple of 4, or more than kMaxMatmulGroup weights fall back to one matmul() each.
// REQUIRES: as matmul() for each weight; the same cols; no y overlaps x or another y.
void matmul_group(ThreadPool& pool, std::span<const MatmulOut> outs, const float* x, int64_t n_tokens,
                  MatmulScratch& scratch, KernelPath path = KernelPath::kAuto);

// Whether repack_weight would rewrite w: Q8_0 in the file layout, cols a multiple of 512 (whole chunks),
// on a CPU whose best path has kernels for kQ8_0Chunks (AVX-512). Every path computes on either
// layout (the scalar path with exactly the same results), but only there is the repacked one faster.
bool repack_pays(const WeightView& w);
// Rewrites w's bytes (`bytes` is w->data, writable) in place into kQ8_0Chunks and sets w->layout;
// the size does not change. Done once at load, before any reader. REQUIRES: repack_pays(*w) or at
// least Q8_0 in kFile layout with cols % 512 == 0. Single-threaded (AVX-512: ~0.1 s per GB).
void repack_weight(WeightView* w, void* bytes);

// Reference: dequantize each row to f32 and accumulate in double. Single-threaded, slow, obviously right.
void matmul_reference(const WeightView& w, const float* x, int64_t n_tokens, float* y);

// Copies row `row` of w, dequantized, into out (w.cols floats). Used for embedding lookups.
void dequantize_weight_row(const WeightView& w, int64_t row, float* out);

// F32 to F16 with round-to-nearest-even (KV-cache rows), dispatched like matmul. Attention itself
// and the SwiGLU gate are in attention.h.
void f32_to_f16_row(const float* x, uint16_t* y, int64_t n);

}  // namespace muse::core
