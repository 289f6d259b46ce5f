// Our blocked AVX2+FMA SGEMM (compiled with -mavx2 -mfma; called only when the CPU has both).
//
// Goto/BLIS structure: for each NC-wide column block of op(B) and KC-deep slice of K, pack op(B) into
// NR-wide column panels (stays in L2/L3); for each MC-tall row block of op(A), pack op(A) into MR-tall
// row panels (stays in L2); then a 6x16 register-tile micro-kernel walks the panels. Packing makes the
// four transpose cases one code path and turns every micro-kernel load into a unit-stride load.
#include <immintrin.h>

#include <algorithm>
#include <memory>

#include "train/gemm.h"

namespace muse::train::detail {
namespace {

constexpr int64_t kMR = 6;     // rows of the register tile: 6x2 accumulators + 2 B vectors + 1 A broadcast
constexpr int64_t kNR = 16;    // columns: two 8-float ymm registers
constexpr int64_t kKC = 256;   // depth of a packed slice: a 6x256 A panel + 256x16 B panel fit in L1+L2
constexpr int64_t kMC = 96;    // A block 96x256 floats = 96 KiB, inside a 1 MiB L2
constexpr int64_t kNC = 3072;  // B block 256x3072 floats = 3 MiB, inside L3

inline float at(const float* X, int64_t ld, bool trans, int64_t r, int64_t c) {
  return trans ? X[c * ld + r] : X[r * ld + c];
}

// Packs op(A)[i0:i0+mc, k0:k0+kc] as ceil(mc/MR) panels, each kc x MR (k-major), zero-padded.
void pack_a(bool trans, const float* A, int64_t lda, int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* out) {
  for (int64_t p = 0; p < mc; p += kMR) {
    const int64_t rows = std::min(kMR, mc - p);
    for (int64_t k = 0; k < kc; k++) {
      for (int64_t r = 0; r < kMR; r++) {
        *out++ = r < rows ? at(A, lda, trans, i0 + p + r, k0 + k) : 0.0f;
      }
    }
  }
}

// Packs op(B)[k0:k0+kc, j0:j0+nc] as ceil(nc/NR) panels, each kc x NR (k-major), zero-padded.
void pack_b(bool trans, const float* B, int64_t ldb, int64_t k0, int64_t kc, int64_t j0, int64_t nc, float* out) {
  for (int64_t p = 0; p < nc; p += kNR) {
    const int64_t cols = std::min(kNR, nc - p);
    for (int64_t k = 0; k < kc; k++) {
      if (!trans && cols == kNR) {
        const float* src = B + (k0 + k) * ldb + j0 + p;
        _mm256_storeu_ps(out, _mm256_loadu_ps(src));
        _mm256_storeu_ps(out + 8, _mm256_loadu_ps(src + 8));
        out += kNR;
        continue;
      }
      for (int64_t c = 0; c < kNR; c++) {
        *out++ = c < cols ? at(B, ldb, trans, k0 + k, j0 + p + c) : 0.0f;
      }
    }
  }
}

// C[0:rows, 0:cols] += alpha * Ap (kc x MR) * Bp (kc x NR).
void micro_kernel(int64_t kc, float alpha, const float* Ap, const float* Bp, float* C, int64_t ldc, int64_t rows,
                  int64_t cols) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; k++) {
    const __m256 b0 = _mm256_loadu_ps(Bp);
    const __m256 b1 = _mm256_loadu_ps(Bp + 8);
    __m256 a = _mm256_broadcast_ss(Ap + 0);
    c00 = _mm256_fmadd_ps(a, b0, c00);
    c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(Ap + 1);
    c10 = _mm256_fmadd_ps(a, b0, c10);
    c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(Ap + 2);
    c20 = _mm256_fmadd_ps(a, b0, c20);
    c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(Ap + 3);
    c30 = _mm256_fmadd_ps(a, b0, c30);
    c31 = _mm256_fmadd_ps(a, b1, c31);
    a = _mm256_broadcast_ss(Ap + 4);
    c40 = _mm256_fmadd_ps(a, b0, c40);
    c41 = _mm256_fmadd_ps(a, b1, c41);
    a = _mm256_broadcast_ss(Ap + 5);
    c50 = _mm256_fmadd_ps(a, b0, c50);
    c51 = _mm256_fmadd_ps(a, b1, c51);
    Ap += kMR;
    Bp += kNR;
  }
  alignas(32) float tile[kMR][kNR];
  const __m256 va = _mm256_set1_ps(alpha);
  _mm256_store_ps(tile[0], _mm256_mul_ps(va, c00));
  _mm256_store_ps(tile[0] + 8, _mm256_mul_ps(va, c01));
  _mm256_store_ps(tile[1], _mm256_mul_ps(va, c10));
  _mm256_store_ps(tile[1] + 8, _mm256_mul_ps(va, c11));
  _mm256_store_ps(tile[2], _mm256_mul_ps(va, c20));
  _mm256_store_ps(tile[2] + 8, _mm256_mul_ps(va, c21));
  _mm256_store_ps(tile[3], _mm256_mul_ps(va, c30));
  _mm256_store_ps(tile[3] + 8, _mm256_mul_ps(va, c31));
  _mm256_store_ps(tile[4], _mm256_mul_ps(va, c40));
  _mm256_store_ps(tile[4] + 8, _mm256_mul_ps(va, c41));
  _mm256_store_ps(tile[5], _mm256_mul_ps(va, c50));
  _mm256_store_ps(tile[5] + 8, _mm256_mul_ps(va, c51));
  for (int64_t r = 0; r < rows; r++) {
    float* c = C + r * ldc;
    if (cols == kNR) {
      _mm256_storeu_ps(c, _mm256_add_ps(_mm256_loadu_ps(c), _mm256_load_ps(tile[r])));
      _mm256_storeu_ps(c + 8, _mm256_add_ps(_mm256_loadu_ps(c + 8), _mm256_load_ps(tile[r] + 8)));
    } else {
      for (int64_t j = 0; j < cols; j++) c[j] += tile[r][j];
    }
  }
}

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

}  // namespace

void sgemm_accumulate_avx2(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                           const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc) {
  const int64_t kc_max = std::min(K, kKC);
  // Uninitialized on purpose: packing writes every element before it is read, and zero-filling would
  // cost ~10% of the small per-head attention products.
  std::unique_ptr<float[]> a_pack(new float[static_cast<size_t>(round_up(std::min(M, kMC), kMR) * kc_max)]);
  std::unique_ptr<float[]> b_pack(new float[static_cast<size_t>(round_up(std::min(N, kNC), kNR) * kc_max)]);
  for (int64_t j0 = 0; j0 < N; j0 += kNC) {
    const int64_t nc = std::min(kNC, N - j0);
    for (int64_t k0 = 0; k0 < K; k0 += kKC) {
      const int64_t kc = std::min(kKC, K - k0);
      pack_b(trans_b, B, ldb, k0, kc, j0, nc, b_pack.get());
      for (int64_t i0 = 0; i0 < M; i0 += kMC) {
        const int64_t mc = std::min(kMC, M - i0);
        pack_a(trans_a, A, lda, i0, mc, k0, kc, a_pack.get());
        for (int64_t jr = 0; jr < nc; jr += kNR) {
          const float* bp = b_pack.get() + (jr / kNR) * kNR * kc;
          for (int64_t ir = 0; ir < mc; ir += kMR) {
            const float* ap = a_pack.get() + (ir / kMR) * kMR * kc;
            micro_kernel(kc, alpha, ap, bp, C + (i0 + ir) * ldc + j0 + jr, ldc, std::min(kMR, mc - ir),
                         std::min(kNR, nc - jr));
          }
        }
      }
    }
  }
}

}  // namespace muse::train::detail
