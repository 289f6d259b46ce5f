// Every GEMM backend, serial and split over a pool, against the double-accumulating reference, over
// all four transpose cases and odd shapes that leave partial register tiles and partial K blocks.
//
// Tolerance: the classic bound for a float dot product of length K, |fl(x.y) - x.y| <= gamma_K *
// sum|x_k y_k| with gamma_K ~ K * 2^-24 (Higham, Accuracy and Stability, 3.1), times 2 for the beta
// term, so any backend that sums in any order passes and a wrong index fails.
#include "train/gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "gradcheck.h"

namespace muse::train {
namespace {

struct Shape {
  int64_t M, N, K;
};

void check_backend(GemmBackend backend, core::ThreadPool* pool) {
  Rng rng(7);
  const Shape shapes[] = {{1, 1, 1}, {5, 7, 3}, {6, 16, 8}, {13, 33, 17}, {97, 45, 300}, {7, 3100, 9}, {40, 24, 513}};
  for (const Shape& s : shapes) {
    for (int ta = 0; ta < 2; ta++) {
      for (int tb = 0; tb < 2; tb++) {
        // Leading dimensions larger than needed: strided views (attention's per-head slices) must work.
        const int64_t lda = (ta ? s.M : s.K) + 3, ldb = (tb ? s.K : s.N) + 1, ldc = s.N + 2;
        const int64_t a_rows = ta ? s.K : s.M, b_rows = tb ? s.N : s.K;
        std::vector<float> A = testing::random_vector(rng, a_rows * lda);
        std::vector<float> B = testing::random_vector(rng, b_rows * ldb);
        std::vector<float> C0 = testing::random_vector(rng, s.M * ldc);
        const float alpha = 0.75f, beta = 0.5f;
        std::vector<float> C = C0, R = C0, absref(s.M * ldc, 0.0f);
        if (pool) {
          sgemm_parallel(*pool, ta, tb, s.M, s.N, s.K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc, backend);
        } else {
          sgemm(ta, tb, s.M, s.N, s.K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc, backend);
        }
        sgemm_reference(ta, tb, s.M, s.N, s.K, alpha, A.data(), lda, B.data(), ldb, beta, R.data(), ldc);
        std::vector<float> Aabs(A.size()), Babs(B.size());
        for (size_t i = 0; i < A.size(); i++) Aabs[i] = std::fabs(A[i]);
        for (size_t i = 0; i < B.size(); i++) Babs[i] = std::fabs(B[i]);
        sgemm_reference(ta, tb, s.M, s.N, s.K, 1.0f, Aabs.data(), lda, Babs.data(), ldb, 0.0f, absref.data(), ldc);
        const double gamma = 2.0 * static_cast<double>(s.K + 2) * 0x1.0p-24;
        int bad = 0;
        for (int64_t i = 0; i < s.M; i++) {
          for (int64_t j = 0; j < ldc; j++) {
            const size_t at = static_cast<size_t>(i * ldc + j);
            if (j >= s.N) {
              EXPECT_EQ(C[at], C0[at]) << "wrote past N";  // the padding columns are not C's
              continue;
            }
            const double tol = gamma * (alpha * absref[at] + beta * std::fabs(C0[at])) + 1e-30;
            if (std::fabs(C[at] - R[at]) > tol && ++bad <= 3) {
              ADD_FAILURE() << gemm_backend_name(backend) << " M=" << s.M << " N=" << s.N << " K=" << s.K
                            << " ta=" << ta << " tb=" << tb << " C[" << i << "," << j << "] = " << C[at]
                            << " vs " << R[at] << " (tol " << tol << ")";
            }
          }
        }
      }
    }
  }
}

TEST(GemmTest, ScalarMatchesReference) { check_backend(GemmBackend::kScalar, nullptr); }

TEST(GemmTest, Avx2MatchesReference) {
  if (!gemm_backend_available(GemmBackend::kAvx2)) GTEST_SKIP() << "CPU has no AVX2+FMA";
  check_backend(GemmBackend::kAvx2, nullptr);
}

TEST(GemmTest, OpenBlasMatchesReference) {
  if (!gemm_backend_available(GemmBackend::kOpenBlas)) GTEST_SKIP() << "built without OpenBLAS";
  check_backend(GemmBackend::kOpenBlas, nullptr);
}

TEST(GemmTest, ParallelMatchesReference) {
  core::ThreadPool pool(3);  // an odd worker count: uneven chunks
  check_backend(GemmBackend::kAuto, &pool);
}

TEST(GemmTest, BetaZeroIgnoresGarbageInC) {
  std::vector<float> A = {1, 2, 3, 4}, B = {1, 0, 0, 1};
  for (GemmBackend be : {GemmBackend::kScalar, GemmBackend::kAvx2, GemmBackend::kOpenBlas}) {
    if (!gemm_backend_available(be)) continue;
    std::vector<float> C(4, std::nanf(""));
    sgemm(false, false, 2, 2, 2, 1.0f, A.data(), 2, B.data(), 2, 0.0f, C.data(), 2, be);
    for (int i = 0; i < 4; i++) EXPECT_EQ(C[i], A[i]) << gemm_backend_name(be);
  }
}

}  // namespace
}  // namespace muse::train
