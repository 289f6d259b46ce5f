#include "core/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/quant.h"

namespace muse::core {
namespace {

// A KV cache stand-in: n_pos key and value rows of row_dim elements, each in its own place in one buffer (the
// positions shuffled, as pages of a real cache are), with the row pointers attend() reads.
struct Rows {
  std::vector<float> f32;     // the values, position-major after shuffling
  std::vector<uint16_t> f16;  // the same values as halves
  std::vector<const void*> k, v;

  Rows(int64_t n_pos, int64_t row_dim, bool half, std::mt19937& rng) {
    std::normal_distribution<float> dist;
    f32.resize(static_cast<size_t>(2 * n_pos * row_dim));
    for (float& x : f32) x = f16_to_f32(f32_to_f16(dist(rng)));  // exactly representable in both
    f16.resize(f32.size());
    for (size_t i = 0; i < f32.size(); ++i) f16[i] = f32_to_f16(f32[i]);
    std::vector<int64_t> slot(static_cast<size_t>(2 * n_pos));
    for (size_t i = 0; i < slot.size(); ++i) slot[i] = static_cast<int64_t>(i);
    std::shuffle(slot.begin(), slot.end(), rng);
    for (int64_t j = 0; j < n_pos; ++j) {
      for (int kv = 0; kv < 2; ++kv) {
        const int64_t at = slot[static_cast<size_t>(2 * j + kv)] * row_dim;
        const void* p =
            half ? static_cast<const void*>(&f16[static_cast<size_t>(at)]) : &f32[static_cast<size_t>(at)];
        (kv == 0 ? k : v).push_back(p);
      }
    }
  }
  // Element e of position j's key (kv = 0) or value (kv = 1) row, from either copy.
  double at(const std::vector<const void*>& table, int64_t j, int64_t e, bool half) const {
    return half ? f16_to_f32(static_cast<const uint16_t*>(table[static_cast<size_t>(j)])[e])
                : static_cast<const float*>(table[static_cast<size_t>(j)])[e];
  }
};

// The definition, one head at a time, in double: query head h reads KV head h / (n_head / n_kv) of
// positions [p0, p1).
std::vector<double> attend_direct(const std::vector<float>& q, const AttendShape& sh, const Rows& r,
                                  bool half, int64_t p0, int64_t p1, double scale) {
  const int64_t d = sh.d, group = sh.n_head / sh.n_kv;
  std::vector<double> out(static_cast<size_t>(sh.n_head * d), 0.0);
  for (int64_t h = 0; h < sh.n_head; ++h) {
    const int64_t off = h / group * d;
    std::vector<double> s;
    double m = -INFINITY, sum = 0;
    for (int64_t j = p0; j < p1; ++j) {
      double dot = 0;
      for (int64_t e = 0; e < d; ++e) dot += q[static_cast<size_t>(h * d + e)] * r.at(r.k, j, off + e, half);
      s.push_back(dot * scale);
      m = std::max(m, s.back());
    }
    for (double& x : s) sum += (x = std::exp(x - m));
    for (int64_t j = p0; j < p1; ++j) {
      for (int64_t e = 0; e < d; ++e) {
        out[static_cast<size_t>(h * d + e)] +=
            s[static_cast<size_t>(j - p0)] / sum * r.at(r.v, j, off + e, half);
      }
    }
  }
  return out;
}

// Every available path, F16 and F32 rows, head dims that do and do not fill whole vectors (8: the
// 16-lane path falls back to scalar code; 32 on 16 lanes: an odd number of vectors), 1-2 KV heads with
// groups of 1-11 query heads (the value sums take at most 8 heads at a time), and 1 to 70 positions
// (softmax tails and partial blocks of scores around the vector widths).
TEST(Attention, EveryPathMatchesTheDefinition) {
  std::mt19937 rng(11);
  std::normal_distribution<float> dist;
  for (KernelPath path : {KernelPath::kScalar, KernelPath::kAvx2, KernelPath::kAvx512}) {
    if (!kernel_path_available(path)) continue;
    for (bool half : {true, false}) {
      for (int64_t d : {8, 32, 48, 64, 128}) {
        for (const AttendShape sh : {AttendShape{1, 1, d}, AttendShape{3, 1, d}, AttendShape{8, 2, d},
                                      AttendShape{22, 2, d}}) {
          for (int64_t n_pos : {1, 7, 16, 17, 70}) {
            SCOPED_TRACE("path " + std::to_string(static_cast<int>(path)) + (half ? " f16" : " f32") +
                         " d=" + std::to_string(d) + " heads=" + std::to_string(sh.n_head) + "/" +
                         std::to_string(sh.n_kv) + " n_pos=" + std::to_string(n_pos));
            const Rows r(n_pos, sh.n_kv * d, half, rng);
            std::vector<float> q(static_cast<size_t>(sh.n_head * d)),
                scores(static_cast<size_t>(sh.n_head * n_pos));
            std::vector<float> out(q.size(), NAN);
            for (float& x : q) x = 2.0f * dist(rng);  // peaked softmaxes as well as flat ones
            const float scale = 1.0f / std::sqrt(static_cast<float>(d));
            attend(q.data(), sh, KvRows{r.k.data(), r.v.data(), half}, n_pos, scale, scores.data(),
                   out.data(), path);
            const std::vector<double> want = attend_direct(q, sh, r, half, 0, n_pos, scale);
            for (size_t i = 0; i < out.size(); ++i)
              ASSERT_NEAR(out[i], want[i], 2e-5 * (1 + std::fabs(want[i]))) << i;
          }
        }
      }
    }
  }
}

// Positions split into parts (as threads split one decoded token), computed apart and merged, give
// the attention over all of them; one part alone is its own positions' attention.
TEST(Attention, PartsMergeToTheWhole) {
  std::mt19937 rng(12);
  std::normal_distribution<float> dist;
  const AttendShape sh{8, 2, 64};
  const int64_t n_pos = 100;
  const Rows r(n_pos, sh.n_kv * sh.d, true, rng);
  std::vector<float> q(static_cast<size_t>(sh.n_head * sh.d)), scores(static_cast<size_t>(sh.n_head * n_pos));
  for (float& x : q) x = 2.0f * dist(rng);
  const float scale = 0.125f;
  const std::vector<double> whole = attend_direct(q, sh, r, true, 0, n_pos, scale);
  for (KernelPath path : {KernelPath::kScalar, KernelPath::kAvx2, KernelPath::kAvx512}) {
    if (!kernel_path_available(path)) continue;
    for (int64_t parts : {1, 2, 3, 8}) {
      SCOPED_TRACE("path " + std::to_string(static_cast<int>(path)) + " parts=" + std::to_string(parts));
      std::vector<std::vector<float>> outs(static_cast<size_t>(parts)), stats(outs.size());
      std::vector<const float*> po, ps;
      for (int64_t p = 0; p < parts; ++p) {
        const int64_t p0 = n_pos * p / parts, p1 = n_pos * (p + 1) / parts;
        outs[p].assign(q.size(), NAN);
        stats[p].assign(static_cast<size_t>(2 * sh.n_head), NAN);
        attend_part(q.data(), sh, KvRows{r.k.data() + p0, r.v.data() + p0, true}, p1 - p0, scale,
                    scores.data(), outs[p].data(), stats[p].data(), path);
        po.push_back(outs[p].data());
        ps.push_back(stats[p].data());
        if (p == 1) {  // normalizing one part by its own sum is that part's attention
          const std::vector<double> want = attend_direct(q, sh, r, true, p0, p1, scale);
          for (int64_t h = 0; h < sh.n_head; ++h) {
            for (int64_t e = 0; e < sh.d; ++e) {
              const size_t i = static_cast<size_t>(h * sh.d + e);
              ASSERT_NEAR(outs[p][i] / stats[p][2 * h + 1], want[i], 2e-5 * (1 + std::fabs(want[i])));
            }
          }
        }
      }
      std::vector<float> out(q.size(), NAN);
      attend_merge(po.data(), ps.data(), parts, sh, out.data());
      for (size_t i = 0; i < out.size(); ++i)
        ASSERT_NEAR(out[i], whole[i], 2e-5 * (1 + std::fabs(whole[i]))) << i;
    }
  }
}

// One position: the softmax is 1, the output is that value row whatever the query.
TEST(Attention, OnePositionReturnsItsValue) {
  const std::vector<float> k = {1, 2, 3, 4, 5, 6, 7, 8}, v = {-1, 0.5f, 2, 9, 3, 3, 1, 0};
  const void* kp[] = {k.data()};
  const void* vp[] = {v.data()};
  std::vector<float> q = {100, -100, 3, 0, 0, 0, 0, 1}, out(8), scores(1);
  for (KernelPath path : {KernelPath::kScalar, KernelPath::kAvx2, KernelPath::kAvx512}) {
    if (!kernel_path_available(path)) continue;
    attend(q.data(), AttendShape{1, 1, 8}, KvRows{kp, vp, false}, 1, 1.0f, scores.data(), out.data(), path);
    EXPECT_EQ(out, v);
  }
}

// silu(g) * u against the formula in double, over the range a forward pass sees and past the exp
// clamp (|g| > 88): no NaN or inf, and the vector exp's error stays a few ulp.
TEST(SiluMul, EveryPathMatchesTheFormula) {
  std::vector<float> g = {-1000, -100, -88.5f, -87, -30, -5, -1,    -1e-3f, 0,
                          1e-3f, 0.5f, 1,      5,   30,  87, 88.5f, 100,    1000};
  std::mt19937 rng(5);
  std::normal_distribution<float> dist;
  while (g.size() < 77) g.push_back(4.0f * dist(rng));  // 77: vector bodies and a scalar tail
  std::vector<float> u(g.size());
  for (float& x : u) x = dist(rng);
  for (KernelPath path : {KernelPath::kScalar, KernelPath::kAvx2, KernelPath::kAvx512}) {
    if (!kernel_path_available(path)) continue;
    SCOPED_TRACE(std::to_string(static_cast<int>(path)));
    std::vector<float> y = g;
    silu_mul(y.data(), u.data(), static_cast<int64_t>(y.size()), path);
    for (size_t i = 0; i < g.size(); ++i) {
      const double want = g[i] / (1.0 + std::exp(-static_cast<double>(g[i]))) * u[i];
      ASSERT_TRUE(std::isfinite(y[i])) << g[i];
      ASSERT_NEAR(y[i], want, 1e-6 * std::fabs(want) + 1e-30) << "g=" << g[i];
    }
  }
}

}  // namespace
}  // namespace muse::core
