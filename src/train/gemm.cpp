#include "train/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <string_view>

#include "core/error.h"

#ifdef MUSE_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace muse::train {
namespace {

const char* backend_label(GemmBackend b) {
  switch (b) {
    case GemmBackend::kOpenBlas: return "openblas";
    case GemmBackend::kAvx2: return "avx2";
    case GemmBackend::kScalar: return "scalar";
    case GemmBackend::kAuto: break;
  }
  return "auto";
}

bool cpu_has_avx2_fma() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}

GemmBackend default_backend() {
#ifdef MUSE_HAVE_OPENBLAS
  return GemmBackend::kOpenBlas;
#else
  return cpu_has_avx2_fma() ? GemmBackend::kAvx2 : GemmBackend::kScalar;
#endif
}

// kAuto: MUSE_TRAIN_GEMM (read once; for benchmarks comparing whole training steps) or the default.
GemmBackend auto_backend() {
  static const GemmBackend chosen = [] {
    const char* env = std::getenv("MUSE_TRAIN_GEMM");
    const std::string_view want = env ? env : "";
    for (GemmBackend b : {GemmBackend::kScalar, GemmBackend::kAvx2, GemmBackend::kOpenBlas}) {
      if (want == backend_label(b) && gemm_backend_available(b)) return b;
    }
    return default_backend();
  }();
  return chosen;
}

GemmBackend resolve(GemmBackend backend) { return backend == GemmBackend::kAuto ? auto_backend() : backend; }

// op(X)(r, c) for a row-major X with leading dimension ld.
inline float at(const float* X, int64_t ld, bool trans, int64_t r, int64_t c) {
  return trans ? X[c * ld + r] : X[r * ld + c];
}

void scale_c(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  if (beta == 1.0f) return;
  for (int64_t i = 0; i < M; i++) {
    float* c = C + i * ldc;
    if (beta == 0.0f) {
      std::fill(c, c + N, 0.0f);
    } else {
      for (int64_t j = 0; j < N; j++) c[j] *= beta;
    }
  }
}

// Portable fallback: i-k-j order so the inner loop streams a row of B and a row of C.
void sgemm_accumulate_scalar(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                             const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                             int64_t ldc) {
  for (int64_t i = 0; i < M; i++) {
    float* c = C + i * ldc;
    for (int64_t k = 0; k < K; k++) {
      const float a = alpha * at(A, lda, trans_a, i, k);
      if (!trans_b) {
        const float* b = B + k * ldb;
        for (int64_t j = 0; j < N; j++) c[j] += a * b[j];
      } else {
        for (int64_t j = 0; j < N; j++) c[j] += a * B[j * ldb + k];
      }
    }
  }
}

#ifdef MUSE_HAVE_OPENBLAS
// The threads are ours (the caller's pool splits C): OpenBLAS's own pthreads would oversubscribe the
// cores and make results depend on its scheduling. This is process-wide OpenBLAS configuration, set
// once, idempotent.
void openblas_single_threaded() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}
#endif

}  // namespace

bool gemm_backend_available(GemmBackend backend) {
  switch (backend) {
    case GemmBackend::kAuto:
    case GemmBackend::kScalar: return true;
    case GemmBackend::kAvx2: return cpu_has_avx2_fma();
    case GemmBackend::kOpenBlas:
#ifdef MUSE_HAVE_OPENBLAS
      return true;
#else
      return false;
#endif
  }
  return false;
}

const char* gemm_backend_name(GemmBackend backend) { return backend_label(resolve(backend)); }

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, GemmBackend backend) {
  MUSE_ASSERT(M >= 0 && N >= 0 && K >= 0);
  MUSE_ASSERT(lda >= (trans_a ? M : K) && ldb >= (trans_b ? K : N) && ldc >= N);
  if (M == 0 || N == 0) return;
  backend = resolve(backend);
  MUSE_ASSERT(gemm_backend_available(backend));
#ifdef MUSE_HAVE_OPENBLAS
  if (backend == GemmBackend::kOpenBlas) {
    openblas_single_threaded();
    // cblas with beta == 0 does not read C (BLAS reference semantics), matching our contract.
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), alpha, A,
                static_cast<int>(std::max<int64_t>(lda, 1)), B, static_cast<int>(std::max<int64_t>(ldb, 1)),
                beta, C, static_cast<int>(ldc));
    return;
  }
#endif
  scale_c(M, N, beta, C, ldc);
  if (K == 0 || alpha == 0.0f) return;
  if (backend == GemmBackend::kAvx2) {
    detail::sgemm_accumulate_avx2(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, C, ldc);
  } else {
    sgemm_accumulate_scalar(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, C, ldc);
  }
}

void sgemm_parallel(core::ThreadPool& pool, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                    float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
                    float* C, int64_t ldc, GemmBackend backend) {
  const int nth = pool.size();
  // Small products are not worth waking the workers for (2^20 multiply-adds ~ 10 us on one core).
  if (nth <= 1 || M * N * K < (1 << 20)) {
    sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, backend);
    return;
  }
  // Split the longer side of C; grains keep the kernels' register tiles (6 rows, 16 columns) whole.
  const bool split_rows = M >= N;
  pool.run([&](int ith, int n) {
    int64_t begin = 0, end = 0;
    if (split_rows) {
      core::ThreadPool::chunk(M, ith, n, 6, &begin, &end);
      if (begin >= end) return;
      const float* a = trans_a ? A + begin : A + begin * lda;
      sgemm(trans_a, trans_b, end - begin, N, K, alpha, a, lda, B, ldb, beta, C + begin * ldc, ldc, backend);
    } else {
      core::ThreadPool::chunk(N, ith, n, 16, &begin, &end);
      if (begin >= end) return;
      const float* b = trans_b ? B + begin * ldb : B + begin;
      sgemm(trans_a, trans_b, M, end - begin, K, alpha, A, lda, b, ldb, beta, C + begin, ldc, backend);
    }
  });
}

void sgemm_reference(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                     const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                     int64_t ldc) {
  for (int64_t i = 0; i < M; i++) {
    for (int64_t j = 0; j < N; j++) {
      double acc = 0.0;
      for (int64_t k = 0; k < K; k++) {
        acc += static_cast<double>(at(A, lda, trans_a, i, k)) * static_cast<double>(at(B, ldb, trans_b, k, j));
      }
      const double prev = beta == 0.0f ? 0.0 : static_cast<double>(beta) * C[i * ldc + j];
      C[i * ldc + j] = static_cast<float>(static_cast<double>(alpha) * acc + prev);
    }
  }
}

}  // namespace muse::train
