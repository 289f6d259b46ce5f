// fp32 GEMM for training: every matmul of the forward and backward pass (and attention's per-head
// products) goes through here.
//
//   C (M,N) = alpha * op(A) (M,K) * op(B) (K,N) + beta * C      op(X) = X or X^T, all row-major
//
// Backends: OpenBLAS's cblas_sgemm when the build found it, else our blocked AVX2+FMA kernel when the
// CPU has it, else the scalar loop. OpenBLAS won bench_train's comparison: a whole muse-nano training
// step (batch 8 x 256) ran 6-10% faster with it in interleaved runs on 2 cores; the large projection
// GEMMs tie (~100 GFLOP/s per core each), OpenBLAS is ahead on the small per-head attention products.
// Ours stays as the fallback and as the one whose sums do not depend on how C is split (see below). sgemm_reference (double accumulation) is what tests compare against.
// The environment variable MUSE_TRAIN_GEMM=openblas|avx2|scalar, read once, overrides what kAuto
// picks (bench_train uses it to compare whole training steps); an unavailable choice is ignored.
// Memory: A, B, C are borrowed for the call; packing scratch is allocated per call.
// Thread-safety: sgemm runs on the calling thread only and may be called from several threads at once
// on distinct C; sgemm_parallel splits C's rows (or columns) over the pool's workers with a split that
// depends only on the shapes and the worker count, so results are bit-reproducible run to run (with
// our kernels even across worker counts; OpenBLAS may pick other kernels for other sub-shapes).
// Threads: ours, from the caller's core::ThreadPool (DESIGN.md: one pool the caller owns), not
// OpenMP's or OpenBLAS's; OpenBLAS is set to one thread per call so the cores are not oversubscribed.
// Never throws (shapes are the caller's contract, checked by MUSE_ASSERT).
#pragma once

#include <cstdint>

#include "core/thread_pool.h"

namespace muse::train {

enum class GemmBackend { kAuto, kScalar, kAvx2, kOpenBlas };

// Is this backend compiled in and supported by the CPU? kAuto and kScalar always are.
bool gemm_backend_available(GemmBackend backend);
// What kAuto resolves to here: "openblas", "avx2" or "scalar".
const char* gemm_backend_name(GemmBackend backend = GemmBackend::kAuto);

// Single-threaded. REQUIRES: lda >= (trans_a ? M : K), ldb >= (trans_b ? K : N), ldc >= N.
// beta == 0 overwrites C without reading it (so C may hold NaN garbage).
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
           GemmBackend backend = GemmBackend::kAuto);

// The same product, split over pool's workers (each computes a block of C with sgemm).
void sgemm_parallel(core::ThreadPool& pool, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                    float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
                    float* C, int64_t ldc, GemmBackend backend = GemmBackend::kAuto);

// Obviously-right reference: accumulates each dot product in double. Slow; tests only.
void sgemm_reference(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                     const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                     int64_t ldc);

namespace detail {
// Our blocked kernel (gemm_avx2.cpp). REQUIRES: the CPU has AVX2 and FMA; beta already applied to C.
// Computes C += alpha * op(A) op(B).
void sgemm_accumulate_avx2(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                           const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc);
}  // namespace detail

}  // namespace muse::train
