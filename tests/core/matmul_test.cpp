// Tests of core/matmul.h: the scalar path against the double-precision reference, every SIMD path
// against the scalar path (all weight types, odd shapes, 1..9 tokens, 1..4 threads), and the vector
// helpers against their scalar versions.
#include "core/matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "core/matmul_internal.h"
#include "core/quant.h"

namespace muse::core {
namespace {

struct Matrix {
  WeightView view;
  std::vector<uint8_t> bytes;  // exactly row_bytes * rows: ASan catches any read past the end
  std::vector<float> dequant;  // (rows, k) as the kernels should see it
};

Matrix make_matrix(DType type, int64_t rows, int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  Matrix m;
  const size_t rb = row_bytes(type, k);
  m.bytes.resize(rb * static_cast<size_t>(rows));
  m.dequant.resize(static_cast<size_t>(rows * k));
  std::vector<float> row(static_cast<size_t>(k));
  for (int64_t r = 0; r < rows; ++r) {
    const float scale = 0.05f + static_cast<float>(r % 7) * 0.1f;  // rows of different magnitude
    for (auto& v : row) v = dist(rng) * scale;
    quantize_row(type, row.data(), m.bytes.data() + rb * static_cast<size_t>(r), k);
    dequantize_row(type, m.bytes.data() + rb * static_cast<size_t>(r), m.dequant.data() + r * k, k);
  }
  m.view = WeightView{type, rows, k, m.bytes.data()};
  return m;
}

std::vector<float> make_x(int64_t n, int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n * k));
  for (auto& v : x) v = dist(rng);
  // An outlier feature, as real activations have: the per-block scales must cope.
  for (int64_t t = 0; t < n; ++t) x[static_cast<size_t>(t * k + (k / 3))] = 20.0f;
  return x;
}

// S[t][r] = sum_k |W[r][k] * x[t][k]|: the natural scale of float rounding in a dot product.
std::vector<double> abs_sums(const Matrix& m, const std::vector<float>& x, int64_t n) {
  const int64_t rows = m.view.rows, k = m.view.cols;
  std::vector<double> s(static_cast<size_t>(n * rows));
  for (int64_t t = 0; t < n; ++t)
    for (int64_t r = 0; r < rows; ++r) {
      double a = 0;
      for (int64_t i = 0; i < k; ++i) a += std::fabs(static_cast<double>(m.dequant[r * k + i]) * x[t * k + i]);
      s[t * rows + r] = a;
    }
  return s;
}

// Elements per activation scale on the quantized paths (0: f32 activations).
int act_block(DType type) {
  switch (detail::act_format(type)) {
    case detail::ActFormat::kQ8_0:
    case detail::ActFormat::kQ4_0: return 32;
    case detail::ActFormat::kQ8K:
    case detail::ActFormat::kQ8KSplit: return 256;
    default: return 0;
  }
}

// Bound on |scalar - reference|: activations are rounded to d/2 with d = amax_block/127, so the
// error is at most sum_k |W[r][k]| * d(k)/2; plus float summation over k/32 block terms.
std::vector<double> act_quant_bounds(const Matrix& m, const std::vector<float>& x, int64_t n) {
  const int64_t rows = m.view.rows, k = m.view.cols;
  const int blk = act_block(m.view.type);
  std::vector<double> bound(static_cast<size_t>(n * rows), 0.0);
  if (blk == 0) return bound;
  for (int64_t t = 0; t < n; ++t) {
    std::vector<double> half_step(static_cast<size_t>(k));
    for (int64_t b = 0; b < k / blk; ++b) {
      float amax = 0;
      for (int i = 0; i < blk; ++i) amax = std::max(amax, std::fabs(x[t * k + b * blk + i]));
      for (int i = 0; i < blk; ++i) half_step[b * blk + i] = amax / 127.0 / 2.0;
    }
    for (int64_t r = 0; r < rows; ++r) {
      double e = 0;
      for (int64_t i = 0; i < k; ++i) e += std::fabs(m.dequant[r * k + i]) * half_step[i];
      bound[t * rows + r] = e;
    }
  }
  return bound;
}

const DType kTypes[] = {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0,
                        DType::kQ4_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

std::vector<int64_t> ks_for(DType type) {
  if (dtype_info(type).block_size == 256) return {256, 768, 4096};
  if (dtype_info(type).block_size == 32) return {32, 64, 96, 160, 224, 4096};
  return {1, 17, 32, 100, 4096};  // plain types: any k, masked tails
}

TEST(Matmul, ScalarPathMatchesReference) {
  ThreadPool pool(1);
  MatmulScratch scratch;
  for (DType type : kTypes) {
    for (int64_t k : ks_for(type)) {
      SCOPED_TRACE(std::string(dtype_name(type)) + " k=" + std::to_string(k));
      const int64_t rows = 5, n = 3;
      const Matrix m = make_matrix(type, rows, k, 7);
      const auto x = make_x(n, k, 8);
      std::vector<float> y(static_cast<size_t>(n * rows)), ref(y.size());
      matmul(pool, m.view, x.data(), n, y.data(), scratch, KernelPath::kScalar);
      matmul_reference(m.view, x.data(), n, ref.data());
      const auto s = abs_sums(m, x, n);
      const auto q = act_quant_bounds(m, x, n);
      for (size_t i = 0; i < y.size(); ++i) {
        const double tol = q[i] * 1.0001 + (static_cast<double>(k) / 32 + 8) * 0x1p-24 * s[i] + 1e-6;
        ASSERT_NEAR(y[i], ref[i], tol) << "i=" << i;
      }
    }
  }
}

// SIMD and scalar paths compute the same integer block sums from the same packed activations, so
// they differ only in the order of float additions: with at most k/8 + 64 terms in any partial
// sum chain, the difference is bounded by (k/8 + 64) * 2^-24 * sum|w*x|.
// Thread counts 1..4 rotate over the shape combinations (each shape once, every count many times)
// to keep the suite fast under sanitizers.
void expect_paths_agree(KernelPath path) {
  ThreadPool pools[4] = {ThreadPool(1), ThreadPool(2), ThreadPool(3), ThreadPool(4)};
  MatmulScratch scratch, scratch_ref;
  int combo = 0;
  for (DType type : kTypes) {
    for (int64_t k : ks_for(type)) {
      for (int64_t rows : {1, 7, 37}) {
        for (int64_t n : {1, 2, 5, 9}) {
          if (k == 4096 && (rows == 37 || n == 2 || n == 9)) continue;  // keep the suite fast
          ThreadPool& pool = pools[combo++ % 4];
          SCOPED_TRACE(std::string(dtype_name(type)) + " k=" + std::to_string(k) + " rows=" + std::to_string(rows) +
                       " n=" + std::to_string(n) + " threads=" + std::to_string(pool.size()));
          const Matrix m = make_matrix(type, rows, k, static_cast<uint32_t>(k + rows));
          const auto x = make_x(n, k, static_cast<uint32_t>(n));
          std::vector<float> y(static_cast<size_t>(n * rows), NAN), ys(y.size());
          matmul(pool, m.view, x.data(), n, y.data(), scratch, path);
          matmul(pool, m.view, x.data(), n, ys.data(), scratch_ref, KernelPath::kScalar);
          const auto s = abs_sums(m, x, n);
          for (size_t i = 0; i < y.size(); ++i) {
            const double tol = (static_cast<double>(k) / 8 + 64) * 0x1p-24 * s[i] + 1e-6;
            ASSERT_NEAR(y[i], ys[i], tol) << "i=" << i;
          }
        }
      }
    }
  }
}

// Enough rows that the prompt path splits each thread's rows into several cache blocks
// (matmul.cpp: ~192 KiB of weights per block), with a token count that leaves a partial token tile.
TEST(Matmul, PromptPathAcrossCacheBlocks) {
  ThreadPool pool(2);
  MatmulScratch scratch, scratch_ref;
  const std::pair<DType, int64_t> cases[] = {
      {DType::kQ4_0, 4096}, {DType::kQ8_0, 2048}, {DType::kQ4_K, 4096}, {DType::kF16, 1024}};
  for (const auto& [type, k] : cases) {
    SCOPED_TRACE(std::string(dtype_name(type)));
    const int64_t rows = 203, n = 6;
    const Matrix m = make_matrix(type, rows, k, 11);
    const auto x = make_x(n, k, 12);
    std::vector<float> ys(static_cast<size_t>(n * rows));
    matmul(pool, m.view, x.data(), n, ys.data(), scratch_ref, KernelPath::kScalar);
    const auto s = abs_sums(m, x, n);
    for (KernelPath path : {KernelPath::kAvx2, KernelPath::kAvx512}) {
      if (!kernel_path_available(path)) continue;
      std::vector<float> y(ys.size(), NAN);
      matmul(pool, m.view, x.data(), n, y.data(), scratch, path);
      for (size_t i = 0; i < y.size(); ++i) {
        ASSERT_NEAR(y[i], ys[i], (static_cast<double>(k) / 8 + 64) * 0x1p-24 * s[i] + 1e-6) << "i=" << i;
      }
    }
  }
}

// The multi-token Q8_0 and Q4_0 kernels work on chunks of 16 blocks with micro-tiles of several
// rows x tokens: cover chunk tails (k = 544: one full chunk + 1 block, which also leaves partial
// activation groups; 1056: 33 blocks), row counts that leave a row tail, and every token count up
// to two tiles plus a tail, and one count past a token block.
TEST(Matmul, MultiTokenTilesAndTails) {
  ThreadPool pool1(1), pool2(2);
  MatmulScratch scratch, scratch_ref;
  for (KernelPath path : {KernelPath::kAvx2, KernelPath::kAvx512}) {
    if (!kernel_path_available(path)) continue;
    int combo = 0;
    for (DType type : {DType::kQ8_0, DType::kQ4_0}) {
      for (int64_t k : {32, 512, 544, 1056}) {
        for (int64_t rows : {1, 4, 7, 38}) {
          const Matrix m = make_matrix(type, rows, k, static_cast<uint32_t>(3 * k + rows));
          for (int64_t n : {2, 3, 4, 5, 6, 7, 8, 9, 13, 70}) {
            if (n == 70 && (k != 544 || rows != 7)) continue;  // 70: a second token block (64 + 6)
            ThreadPool& pool = combo++ % 2 ? pool2 : pool1;
            SCOPED_TRACE(std::string(dtype_name(type)) + " k=" + std::to_string(k) +
                         " rows=" + std::to_string(rows) + " n=" + std::to_string(n) +
                         " threads=" + std::to_string(pool.size()));
            const auto x = make_x(n, k, static_cast<uint32_t>(n + k));
            std::vector<float> y(static_cast<size_t>(n * rows), NAN), ys(y.size());
            matmul(pool, m.view, x.data(), n, y.data(), scratch, path);
            matmul(pool, m.view, x.data(), n, ys.data(), scratch_ref, KernelPath::kScalar);
            const auto s = abs_sums(m, x, n);
            for (size_t i = 0; i < y.size(); ++i) {
              ASSERT_NEAR(y[i], ys[i], (static_cast<double>(k) / 8 + 64) * 0x1p-24 * s[i] + 1e-6)
                  << "i=" << i;
            }
          }
        }
      }
    }
  }
}

// matmul_group (Q, K and V; gate and up in one region) gives exactly what one matmul per weight gives,
// for decode and multi-token calls, any thread count, weights of different row counts and types; and
// falls back correctly when the activation formats differ or a row count is not a multiple of 4.
TEST(Matmul, GroupMatchesOneMatmulPerWeight) {
  struct Case {
    std::vector<std::pair<DType, int64_t>> weights;  // type, rows
    int64_t k;
  };
  const Case cases[] = {
      {{{DType::kQ8_0, 64}, {DType::kQ8_0, 16}, {DType::kQ8_0, 16}}, 256},  // Q, K, V under GQA
      {{{DType::kQ4_0, 96}, {DType::kQ8_0, 40}}, 544},                      // different types
      {{{DType::kQ4_K, 32}, {DType::kQ4_K, 8}, {DType::kQ6_K, 8}}, 512},    // Q4_K_M's mix
      {{{DType::kF16, 12}, {DType::kF32, 20}}, 96},
      {{{DType::kQ8_0, 10}, {DType::kQ8_0, 7}}, 64},  // rows not a multiple of 4: one matmul each
  };
  ThreadPool pools[] = {ThreadPool(1), ThreadPool(2), ThreadPool(3)};
  MatmulScratch scratch, scratch_one;
  int combo = 0;
  for (KernelPath path : {KernelPath::kScalar, KernelPath::kAvx2, KernelPath::kAvx512}) {
    if (!kernel_path_available(path)) continue;
    for (const Case& c : cases) {
      std::vector<Matrix> ms;
      for (const auto& [type, rows] : c.weights) {
        ms.push_back(make_matrix(type, rows, c.k, static_cast<uint32_t>(rows * 31 + c.k)));
      }
      for (int64_t n : {1, 2, 3, 8}) {
        ThreadPool& pool = pools[combo++ % 3];
        SCOPED_TRACE("path " + std::to_string(static_cast<int>(path)) + " k=" + std::to_string(c.k) +
                     " weights=" + std::to_string(ms.size()) + " n=" + std::to_string(n) +
                     " threads=" + std::to_string(pool.size()));
        const auto x = make_x(n, c.k, static_cast<uint32_t>(n + c.k));
        std::vector<std::vector<float>> y(ms.size()), y1(ms.size());
        std::vector<MatmulOut> outs;
        for (size_t i = 0; i < ms.size(); ++i) {
          y[i].assign(static_cast<size_t>(n * ms[i].view.rows), NAN);
          y1[i].assign(y[i].size(), NAN);
          outs.push_back({&ms[i].view, y[i].data()});
          matmul(pool, ms[i].view, x.data(), n, y1[i].data(), scratch_one, path);
        }
        matmul_group(pool, outs, x.data(), n, scratch, path);
        for (size_t i = 0; i < ms.size(); ++i) {
          for (size_t j = 0; j < y[i].size(); ++j) ASSERT_EQ(y[i][j], y1[i][j]) << "weight " << i << " j=" << j;
        }
      }
    }
  }
}

TEST(Matmul, Avx2MatchesScalar) {
  if (!kernel_path_available(KernelPath::kAvx2)) GTEST_SKIP() << "no AVX2 on this CPU";
  expect_paths_agree(KernelPath::kAvx2);
}

TEST(Matmul, Avx512MatchesScalar) {
  if (!kernel_path_available(KernelPath::kAvx512)) GTEST_SKIP() << "no AVX-512 (with VNNI, BF16) on this CPU";
  expect_paths_agree(KernelPath::kAvx512);
}

// Every path's activation packer writes the same bytes as the scalar one (including exact ties
// x*(1/d) = n + 0.5, which all paths must round to even).
TEST(Matmul, PackersAgreeBytewise) {
  const auto& sc = *detail::kernel_set(KernelPath::kScalar);
  std::mt19937 rng(9);
  std::normal_distribution<float> dist;
  for (KernelPath path : {KernelPath::kAvx2, KernelPath::kAvx512}) {
    const detail::KernelSet* ks = detail::kernel_set(path);
    if (ks == nullptr) continue;
    for (auto fmt : {detail::ActFormat::kQ8_0, detail::ActFormat::kQ4_0, detail::ActFormat::kQ8K,
                     detail::ActFormat::kQ8KSplit}) {
      for (int64_t k : {256, 512, 2304}) {
        if (fmt != detail::ActFormat::kQ8K && fmt != detail::ActFormat::kQ8KSplit && k == 512) k = 96;
        std::vector<float> x(static_cast<size_t>(k));
        for (auto& v : x) v = dist(rng);
        // Ties: with amax = 127 in a block, d = 1 and x = 2.5 must give 2, x = 3.5 must give 4.
        x[0] = 127.0f;
        x[1] = 2.5f;
        x[2] = 3.5f;
        x[3] = -0.5f;
        const size_t stride = detail::act_stride(fmt, k);
        std::vector<uint8_t> a(stride + 64, 0xAA), b(stride + 64, 0x55);
        auto align = [](std::vector<uint8_t>& v) {
          return reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(v.data()) + 63) & ~uintptr_t{63});
        };
        ks->pack_token(fmt, x.data(), k, align(a));
        sc.pack_token(fmt, x.data(), k, align(b));
        ASSERT_EQ(std::memcmp(align(a), align(b), stride), 0) << "k=" << k << " fmt=" << static_cast<int>(fmt);
      }
    }
  }
}

TEST(Matmul, AutoPathMatchesCpu) {
  const std::string name = best_kernel_path_name();
  if (cpu_features().has_avx512_set()) {
    EXPECT_EQ(name, "avx512");
  } else if (cpu_features().has_avx2_set()) {
    EXPECT_EQ(name, "avx2");
  } else {
    EXPECT_EQ(name, "scalar");
  }
  EXPECT_TRUE(kernel_path_available(KernelPath::kScalar));
}

TEST(Matmul, DequantizeWeightRowMatchesDequantizeRow) {
  const Matrix m = make_matrix(DType::kQ4_K, 3, 512, 1);
  std::vector<float> out(512);
  dequantize_weight_row(m.view, 2, out.data());
  for (int i = 0; i < 512; ++i) ASSERT_EQ(out[static_cast<size_t>(i)], m.dequant[static_cast<size_t>(2 * 512 + i)]);
}

// Q8_0 weights repacked at load (WeightLayout::kQ8_0Chunks) give exactly what the same weights in the
// file layout give: on the scalar path (the chunk kernel adds the same block sums in the same order),
// on AVX-512 from 3 tokens (the same chunk micro-kernel that repacks per call); on AVX2, which runs
// the scalar chunk kernel, exactly the scalar path's results; AVX-512 at 1-2 tokens (the file layout
// runs the row-streaming kernel there) is held to the scalar path like every SIMD path. Rows: tails of
// the 3-row groups; tokens: tails of the 4-token tiles and a second token block; threads: uneven
// splits; k: 1, 2 and 11 chunks.
TEST(Matmul, RepackedQ8_0MatchesFileLayout) {
  ThreadPool pools[] = {ThreadPool(1), ThreadPool(2), ThreadPool(3)};
  MatmulScratch scratch, scratch_ref;
  int combo = 0;
  for (int64_t k : {512, 1024, 5632}) {
    for (int64_t rows : {1, 4, 7, 38}) {
      const Matrix m = make_matrix(DType::kQ8_0, rows, k, static_cast<uint32_t>(k + rows));
      Matrix mc = m;
      mc.view.data = mc.bytes.data();
      repack_weight(&mc.view, mc.bytes.data());
      ASSERT_EQ(mc.view.layout, WeightLayout::kQ8_0Chunks);
      ASSERT_NE(mc.bytes, m.bytes);
      std::vector<float> a(static_cast<size_t>(k)), b(a.size());
      for (int64_t r = 0; r < rows; ++r) {  // embedding lookups and the reference read either layout
        dequantize_weight_row(m.view, r, a.data());
        dequantize_weight_row(mc.view, r, b.data());
        ASSERT_EQ(a, b) << "row " << r;
      }
      for (int64_t n : {1, 2, 3, 4, 5, 8, 9, 70}) {
        if (n == 70 && (k != 1024 || rows != 7)) continue;
        ThreadPool& pool = pools[combo++ % 3];
        SCOPED_TRACE("k=" + std::to_string(k) + " rows=" + std::to_string(rows) + " n=" + std::to_string(n) +
                     " threads=" + std::to_string(pool.size()));
        const auto x = make_x(n, k, static_cast<uint32_t>(n * 7 + k));
        std::vector<float> ys(static_cast<size_t>(n * rows));
        matmul(pool, m.view, x.data(), n, ys.data(), scratch_ref, KernelPath::kScalar);
        const auto s = abs_sums(m, x, n);
        for (KernelPath path : {KernelPath::kScalar, KernelPath::kAvx2, KernelPath::kAvx512}) {
          if (!kernel_path_available(path)) continue;
          std::vector<float> y(ys.size(), NAN), yf(ys.size(), NAN);
          matmul(pool, mc.view, x.data(), n, y.data(), scratch, path);
          matmul(pool, m.view, x.data(), n, yf.data(), scratch, path);
          // AVX2 has no chunk kernel of its own: it runs the scalar one, so it matches the scalar path.
          const std::vector<float>& same = path == KernelPath::kAvx2 ? ys : yf;
          const bool exact = path != KernelPath::kAvx512 || n >= 3;
          // Exact where both layouts share a summation order (from 6 tokens at k = 5632 both read K in
          // slices); near the scalar sums everywhere, so a shared mistake cannot pass as agreement.
          for (size_t i = 0; i < y.size(); ++i) {
            if (exact) {
              ASSERT_EQ(y[i], same[i]) << "path " << static_cast<int>(path) << " i=" << i;
            }
            ASSERT_NEAR(y[i], ys[i], (static_cast<double>(k) / 8 + 64) * 0x1p-24 * s[i] + 1e-6) << "i=" << i;
          }
        }
      }
    }
  }
}

// Every path's row repacker writes the scalar one's bytes (load_pair reads 32 bytes per block: the
// last block of a row must not read past it, which ASan would catch with the exact-size buffer).
TEST(Matmul, RepackersAgreeBytewise) {
  const auto& sc = *detail::kernel_set(KernelPath::kScalar);
  for (KernelPath path : {KernelPath::kAvx2, KernelPath::kAvx512}) {
    const detail::KernelSet* ks = detail::kernel_set(path);
    if (ks == nullptr) continue;
    for (int64_t k : {512, 2048, 5632}) {
      const Matrix m = make_matrix(DType::kQ8_0, 3, k, static_cast<uint32_t>(k));
      for (int64_t r = 0; r < 3; ++r) {
        const size_t rb = m.view.row_stride();
        std::vector<uint8_t> src(m.bytes.begin() + r * rb, m.bytes.begin() + (r + 1) * rb), a(rb), b(rb);
        sc.q8_0_to_chunks(src.data(), k / 32, a.data());
        ks->q8_0_to_chunks(src.data(), k / 32, b.data());
        ASSERT_EQ(a, b) << "path " << static_cast<int>(path) << " k=" << k << " row " << r;
      }
    }
  }
}

// Only Q8_0 with whole chunks is repacked, and only where a path reads the layout faster; a group of a
// repacked and a file-layout weight (one model may hold both) gives what one matmul per weight gives.
TEST(Matmul, RepackOnlyWhereItPays) {
  EXPECT_FALSE(repack_pays(make_matrix(DType::kQ8_0, 4, 480, 1).view));  // not whole chunks
  EXPECT_FALSE(repack_pays(make_matrix(DType::kQ4_0, 4, 512, 1).view));
  EXPECT_EQ(repack_pays(make_matrix(DType::kQ8_0, 4, 512, 1).view), kernel_path_available(KernelPath::kAvx512));

  ThreadPool pool(2);
  MatmulScratch scratch, scratch_one;
  Matrix q = make_matrix(DType::kQ8_0, 64, 512, 5);
  const Matrix kv = make_matrix(DType::kQ8_0, 16, 512, 6);
  repack_weight(&q.view, q.bytes.data());
  for (KernelPath path : {KernelPath::kScalar, KernelPath::kAvx2, KernelPath::kAvx512}) {
    if (!kernel_path_available(path)) continue;
    for (int64_t n : {1, 2, 3, 8}) {
      const auto x = make_x(n, 512, static_cast<uint32_t>(n));
      std::vector<float> yq(static_cast<size_t>(n * 64)), ykv(static_cast<size_t>(n * 16));
      std::vector<float> yq1(yq.size()), ykv1(ykv.size());
      const MatmulOut outs[] = {{&q.view, yq.data()}, {&kv.view, ykv.data()}};
      matmul_group(pool, outs, x.data(), n, scratch, path);
      matmul(pool, q.view, x.data(), n, yq1.data(), scratch_one, path);
      matmul(pool, kv.view, x.data(), n, ykv1.data(), scratch_one, path);
      EXPECT_EQ(yq, yq1) << "path " << static_cast<int>(path) << " n=" << n;
      EXPECT_EQ(ykv, ykv1) << "path " << static_cast<int>(path) << " n=" << n;
    }
  }
}

// f32_to_f16_row of each available path against the scalar set, for lengths around the SIMD widths:
// all round to nearest even, so the halves are bit-exact.
TEST(VectorHelpers, EveryPathMatchesScalar) {
  const auto& sc = *detail::kernel_set(KernelPath::kScalar);
  std::mt19937 rng(3);
  std::normal_distribution<float> dist;
  for (KernelPath path : {KernelPath::kAvx2, KernelPath::kAvx512, KernelPath::kAuto}) {
    const detail::KernelSet* ks = detail::kernel_set(path);
    if (ks == nullptr) continue;
    for (int64_t n : {0, 1, 7, 8, 15, 16, 17, 33, 64, 130, 1000}) {
      SCOPED_TRACE("n=" + std::to_string(n));
      std::vector<float> b(static_cast<size_t>(n));
      std::vector<uint16_t> h1(b.size()), h2(b.size());
      for (float& x : b) x = dist(rng);
      ks->f32_to_f16_row(b.data(), h1.data(), n);
      sc.f32_to_f16_row(b.data(), h2.data(), n);
      EXPECT_EQ(h1, h2);
      EXPECT_EQ(ks->read_sum != nullptr, true);
    }
  }
}

TEST(VectorHelpers, PublicDispatchComputes) {
  const std::vector<float> a = {1, 2, 3};
  const std::vector<uint16_t> h = {f32_to_f16(1), f32_to_f16(2), f32_to_f16(3)};
  std::vector<uint16_t> out(3);
  f32_to_f16_row(a.data(), out.data(), 3);
  EXPECT_EQ(out, h);
}

TEST(VectorHelpers, ReadSumAddsQwords) {
  alignas(64) static uint8_t buf[512];
  uint64_t expect = 0;
  for (int i = 0; i < 64; ++i) {
    const uint64_t v = static_cast<uint64_t>(i) * 1000003u;
    std::memcpy(buf + 8 * i, &v, 8);
    expect += v;
  }
  for (KernelPath path : {KernelPath::kScalar, KernelPath::kAvx2, KernelPath::kAvx512}) {
    const detail::KernelSet* ks = detail::kernel_set(path);
    if (ks != nullptr) {
      EXPECT_EQ(ks->read_sum(buf, 512), expect);
    }
  }
}

}  // namespace
}  // namespace muse::core
