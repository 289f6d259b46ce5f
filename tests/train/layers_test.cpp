// Every layer's backward against central finite differences of its forward, on tiny shapes.
//
// Objective J = sum(out * R) with a fixed random R, so dJ/dout = R. Gradient buffers start at random
// values and the test checks (after - before): that also proves the `+=` convention.
// Tolerance: eps = 1e-2 on O(1) inputs, |numeric - analytic| <= 1e-3 + 1e-2 |analytic|. Truncation
// error of the central difference is eps^2/6 * f''' ~ 2e-5 here; float rounding of the outputs a
// perturbation touches is ~1e-7 * |J terms| / (2 eps) ~ 1e-5. A wrong term in a backward shows up as
// an O(|gradient|) error, far above both.
#include "train/layers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "gradcheck.h"
#include "train/gemm.h"

namespace muse::train {
namespace {

using testing::expect_gradient;
using testing::random_vector;
using testing::weighted_sum;

std::vector<float> minus(const std::vector<float>& a, const std::vector<float>& b) {
  std::vector<float> d(a.size());
  for (size_t i = 0; i < a.size(); i++) d[i] = a[i] - b[i];
  return d;
}

class LayersTest : public ::testing::Test {
 protected:
  core::ThreadPool pool{2};
  Rng rng{1234};
};

TEST_F(LayersTest, EmbeddingBackwardMatchesFiniteDifferences) {
  const int64_t BT = 6, C = 5, V = 4;
  std::vector<int32_t> tokens = {0, 3, 3, 1, 0, 3};  // repeated ids: their gradients must add up
  std::vector<float> wte = random_vector(rng, V * C);
  std::vector<float> out(BT * C);
  std::vector<float> r = random_vector(rng, out.size());
  auto loss = [&] {
    embedding_forward(out.data(), tokens.data(), wte.data(), BT, C);
    return weighted_sum(out, r);
  };
  std::vector<float> dwte0 = random_vector(rng, wte.size());
  std::vector<float> dwte = dwte0;
  embedding_backward(dwte.data(), r.data(), tokens.data(), BT, C);
  expect_gradient("dwte", wte, minus(dwte, dwte0), loss);
  // Row 2 is never used: its gradient must be exactly untouched.
  for (int64_t c = 0; c < C; c++) EXPECT_EQ(dwte[2 * C + c], dwte0[2 * C + c]);
}

TEST_F(LayersTest, RmsnormForwardMatchesDefinition) {
  const int64_t BT = 3, C = 7;
  const float eps = 1e-5f;
  std::vector<float> inp = random_vector(rng, BT * C), w = random_vector(rng, C, 0.5, 1.0);
  std::vector<float> out(BT * C), rstd(BT);
  rmsnorm_forward(pool, out.data(), rstd.data(), inp.data(), w.data(), BT, C, eps);
  for (int64_t i = 0; i < BT; i++) {
    double ss = 0.0;
    for (int64_t c = 0; c < C; c++) ss += static_cast<double>(inp[i * C + c]) * inp[i * C + c];
    const double r = 1.0 / std::sqrt(ss / C + eps);
    EXPECT_NEAR(rstd[i], r, 1e-6 * r);  // float vs double: a few ulps
    for (int64_t c = 0; c < C; c++) EXPECT_NEAR(out[i * C + c], inp[i * C + c] * r * w[c], 1e-5);
  }
}

TEST_F(LayersTest, RmsnormBackwardMatchesFiniteDifferences) {
  const int64_t BT = 37, C = 19;
  const float eps = 1e-5f;
  std::vector<float> inp = random_vector(rng, BT * C), w = random_vector(rng, C, 0.5, 1.0);
  std::vector<float> out(BT * C), rstd(BT);
  std::vector<float> r = random_vector(rng, out.size());
  auto loss = [&] {
    rmsnorm_forward(pool, out.data(), rstd.data(), inp.data(), w.data(), BT, C, eps);
    return weighted_sum(out, r);
  };
  loss();
  std::vector<float> dinp0 = random_vector(rng, inp.size()), dw0 = random_vector(rng, w.size());
  std::vector<float> dinp = dinp0, dw = dw0;
  rmsnorm_backward(pool, dinp.data(), dw.data(), r.data(), rstd.data(), inp.data(), w.data(), BT, C);
  expect_gradient("dinp", inp, minus(dinp, dinp0), loss);
  expect_gradient("dweight", w, minus(dw, dw0), loss);
}

TEST_F(LayersTest, MatmulBackwardMatchesFiniteDifferences) {
  const int64_t BT = 13, C = 11, OC = 9;
  std::vector<float> inp = random_vector(rng, BT * C), w = random_vector(rng, OC * C);
  std::vector<float> out(BT * OC);
  std::vector<float> r = random_vector(rng, out.size());
  auto loss = [&] {
    matmul_forward(pool, out.data(), inp.data(), w.data(), BT, C, OC);
    return weighted_sum(out, r);
  };
  std::vector<float> dinp0 = random_vector(rng, inp.size()), dw0 = random_vector(rng, w.size());
  std::vector<float> dinp = dinp0, dw = dw0;
  matmul_backward(pool, dinp.data(), dw.data(), r.data(), inp.data(), w.data(), BT, C, OC);
  expect_gradient("dinp", inp, minus(dinp, dinp0), loss);
  expect_gradient("dweight", w, minus(dw, dw0), loss);
}

// Pins the pairing and the direction to llama.cpp's mode 0 (GGUF arch llama): at position t the pair
// (x[2i], x[2i+1]) turns by t * theta^(-2i/HS) counter-clockwise.
TEST_F(LayersTest, RopeRotatesAdjacentPairsLikeLlamaCpp) {
  const int64_t T = 3, HS = 4, NHx = 1;
  const float theta = 100.0f;
  std::vector<float> cs(T * HS / 2), sn(T * HS / 2);
  rope_table(cs.data(), sn.data(), T, HS, theta);
  // Every head vector is (1, 0, 1, 0): after rotation the pairs are (cos a, sin a).
  std::vector<float> x(T * NHx * HS), out(x.size());
  for (int64_t t = 0; t < T; t++) x[t * HS] = x[t * HS + 2] = 1.0f;
  rope_forward(out.data(), x.data(), cs.data(), sn.data(), 1, T, NHx, HS);
  for (int64_t t = 0; t < T; t++) {
    for (int64_t i = 0; i < HS / 2; i++) {
      const double angle = t * std::pow(100.0, -2.0 * i / HS);  // i = 1: theta^(-1/2) = 0.1 rad per step
      EXPECT_NEAR(out[t * HS + 2 * i], std::cos(angle), 1e-6) << "t=" << t << " i=" << i;
      EXPECT_NEAR(out[t * HS + 2 * i + 1], std::sin(angle), 1e-6) << "t=" << t << " i=" << i;
    }
  }
}

TEST_F(LayersTest, RopeBackwardMatchesFiniteDifferences) {
  const int64_t B = 2, T = 5, NHx = 3, HS = 6;
  std::vector<float> cs(T * HS / 2), sn(T * HS / 2);
  rope_table(cs.data(), sn.data(), T, HS, 10000.0f);
  std::vector<float> inp = random_vector(rng, B * T * NHx * HS), out(inp.size());
  std::vector<float> r = random_vector(rng, out.size());
  auto loss = [&] {
    rope_forward(out.data(), inp.data(), cs.data(), sn.data(), B, T, NHx, HS);
    return weighted_sum(out, r);
  };
  std::vector<float> dinp0 = random_vector(rng, inp.size());
  std::vector<float> dinp = dinp0;
  rope_backward(dinp.data(), r.data(), cs.data(), sn.data(), B, T, NHx, HS);
  expect_gradient("dinp", inp, minus(dinp, dinp0), loss);
}

// Direct loops in double: the definition of causal GQA attention.
std::vector<double> attention_reference(const std::vector<float>& q, const std::vector<float>& k,
                                        const std::vector<float>& v, int64_t B, int64_t T, int64_t NH, int64_t NKV,
                                        int64_t HS) {
  const int64_t QD = NH * HS, KD = NKV * HS;
  std::vector<double> out(B * T * QD, 0.0);
  for (int64_t b = 0; b < B; b++) {
    for (int64_t h = 0; h < NH; h++) {
      const int64_t g = h / (NH / NKV);
      for (int64_t t = 0; t < T; t++) {
        std::vector<double> s(t + 1);
        double maxv = -1e300, sum = 0.0;
        for (int64_t u = 0; u <= t; u++) {
          double dot = 0.0;
          for (int64_t d = 0; d < HS; d++) dot += q[(b * T + t) * QD + h * HS + d] * double(k[(b * T + u) * KD + g * HS + d]);
          s[u] = dot / std::sqrt(double(HS));
          maxv = std::max(maxv, s[u]);
        }
        for (auto& x : s) sum += (x = std::exp(x - maxv));
        for (int64_t d = 0; d < HS; d++) {
          double acc = 0.0;
          for (int64_t u = 0; u <= t; u++) acc += s[u] / sum * v[(b * T + u) * KD + g * HS + d];
          out[(b * T + t) * QD + h * HS + d] = acc;
        }
      }
    }
  }
  return out;
}

TEST_F(LayersTest, AttentionForwardMatchesReference) {
  const int64_t B = 2, T = 70, NH = 4, NKV = 2, HS = 6;  // T > 64: two query-row blocks
  std::vector<float> q = random_vector(rng, B * T * NH * HS), k = random_vector(rng, B * T * NKV * HS);
  std::vector<float> v = random_vector(rng, k.size());
  std::vector<float> out(q.size()), att(B * NH * T * T);
  attention_forward(pool, out.data(), att.data(), q.data(), k.data(), v.data(), B, T, NH, NKV, HS);
  const std::vector<double> ref = attention_reference(q, k, v, B, T, NH, NKV, HS);
  // Outputs are convex combinations of N(0,1) values: float rounding stays below ~1e-6.
  for (size_t i = 0; i < out.size(); i++) ASSERT_NEAR(out[i], ref[i], 1e-5) << "i=" << i;
  // Rows of att are distributions over s <= t.
  for (int64_t bh = 0; bh < B * NH; bh++) {
    for (int64_t t = 0; t < T; t++) {
      double sum = 0.0;
      for (int64_t s = 0; s < T; s++) {
        const float p = att[(bh * T + t) * T + s];
        if (s > t) {
          EXPECT_EQ(p, 0.0f);
        }
        sum += p;
      }
      EXPECT_NEAR(sum, 1.0, 1e-5);
    }
  }
}

TEST_F(LayersTest, AttentionBackwardMatchesFiniteDifferences) {
  const int64_t B = 2, T = 5, NH = 4, NKV = 2, HS = 4;  // GQA: two query heads per KV head
  std::vector<float> q = random_vector(rng, B * T * NH * HS), k = random_vector(rng, B * T * NKV * HS);
  std::vector<float> v = random_vector(rng, k.size());
  std::vector<float> out(q.size()), att(B * NH * T * T), datt(att.size());
  std::vector<float> r = random_vector(rng, out.size());
  auto loss = [&] {
    attention_forward(pool, out.data(), att.data(), q.data(), k.data(), v.data(), B, T, NH, NKV, HS);
    return weighted_sum(out, r);
  };
  loss();
  std::vector<float> dq0 = random_vector(rng, q.size()), dk0 = random_vector(rng, k.size());
  std::vector<float> dv0 = random_vector(rng, v.size());
  std::vector<float> dq = dq0, dk = dk0, dv = dv0;
  attention_backward(pool, dq.data(), dk.data(), dv.data(), datt.data(), r.data(), att.data(), q.data(), k.data(),
                     v.data(), B, T, NH, NKV, HS);
  expect_gradient("dq", q, minus(dq, dq0), loss);
  expect_gradient("dk", k, minus(dk, dk0), loss);
  expect_gradient("dv", v, minus(dv, dv0), loss);
}

TEST_F(LayersTest, AttentionBackwardAcrossRowBlocksMatchesFiniteDifferences) {
  const int64_t B = 1, T = 67, NH = 2, NKV = 1, HS = 2;  // query rows 64..66 form a second block
  std::vector<float> q = random_vector(rng, B * T * NH * HS), k = random_vector(rng, B * T * NKV * HS);
  std::vector<float> v = random_vector(rng, k.size());
  std::vector<float> out(q.size()), att(B * NH * T * T), datt(att.size());
  std::vector<float> r = random_vector(rng, out.size());
  auto loss = [&] {
    attention_forward(pool, out.data(), att.data(), q.data(), k.data(), v.data(), B, T, NH, NKV, HS);
    return weighted_sum(out, r);
  };
  loss();
  std::vector<float> dq(q.size(), 0.0f), dk(k.size(), 0.0f), dv(v.size(), 0.0f);
  attention_backward(pool, dq.data(), dk.data(), dv.data(), datt.data(), r.data(), att.data(), q.data(), k.data(),
                     v.data(), B, T, NH, NKV, HS);
  testing::GradCheckOptions opt;
  opt.max_checked = 90;  // strided, so both blocks' rows are probed
  expect_gradient("dq", q, dq, loss, opt);
  expect_gradient("dk", k, dk, loss, opt);
  expect_gradient("dv", v, dv, loss, opt);
}

TEST_F(LayersTest, AttentionIsCausal) {
  const int64_t B = 1, T = 6, NH = 2, NKV = 1, HS = 4;
  std::vector<float> q = random_vector(rng, T * NH * HS), k = random_vector(rng, T * NKV * HS);
  std::vector<float> v = random_vector(rng, k.size());
  std::vector<float> out1(q.size()), out2(q.size()), att(NH * T * T);
  attention_forward(pool, out1.data(), att.data(), q.data(), k.data(), v.data(), B, T, NH, NKV, HS);
  // Change everything at the last position: earlier outputs must not move at all.
  for (int64_t d = 0; d < NKV * HS; d++) k[(T - 1) * NKV * HS + d] += 3.0f, v[(T - 1) * NKV * HS + d] -= 2.0f;
  attention_forward(pool, out2.data(), att.data(), q.data(), k.data(), v.data(), B, T, NH, NKV, HS);
  for (int64_t i = 0; i < (T - 1) * NH * HS; i++) EXPECT_EQ(out1[i], out2[i]) << i;
  bool last_changed = false;
  for (int64_t i = (T - 1) * NH * HS; i < T * NH * HS; i++) last_changed |= out1[i] != out2[i];
  EXPECT_TRUE(last_changed);
}

TEST_F(LayersTest, SwigluBackwardMatchesFiniteDifferences) {
  const int64_t N = 5000;  // above the parallel threshold: the pool's split is exercised
  std::vector<float> gate = random_vector(rng, N, 2.0), up = random_vector(rng, N), out(N);
  std::vector<float> r = random_vector(rng, N);
  auto loss = [&] {
    swiglu_forward(pool, out.data(), gate.data(), up.data(), N);
    return weighted_sum(out, r);
  };
  std::vector<float> dg0 = random_vector(rng, N), du0 = random_vector(rng, N);
  std::vector<float> dg = dg0, du = du0;
  swiglu_backward(pool, dg.data(), du.data(), r.data(), gate.data(), up.data(), N);
  testing::GradCheckOptions opt;
  opt.max_checked = 250;  // each probe re-runs the whole forward: a strided subset is enough
  expect_gradient("dgate", gate, minus(dg, dg0), loss, opt);
  expect_gradient("dup", up, minus(du, du0), loss, opt);
  // silu(g) * u at a known point: silu(1) = 1 / (1 + e^-1).
  std::vector<float> g1 = {1.0f}, u1 = {2.0f}, o1(1);
  swiglu_forward(pool, o1.data(), g1.data(), u1.data(), 1);
  EXPECT_NEAR(o1[0], 2.0 / (1.0 + std::exp(-1.0)), 1e-6);
}

TEST_F(LayersTest, ResidualBackwardMatchesFiniteDifferences) {
  const int64_t N = 17;
  std::vector<float> a = random_vector(rng, N), b = random_vector(rng, N), out(N);
  std::vector<float> r = random_vector(rng, N);
  auto loss = [&] {
    residual_forward(out.data(), a.data(), b.data(), N);
    return weighted_sum(out, r);
  };
  std::vector<float> da0 = random_vector(rng, N), db0 = random_vector(rng, N);
  std::vector<float> da = da0, db = db0;
  residual_backward(da.data(), db.data(), r.data(), N);
  expect_gradient("dinp1", a, minus(da, da0), loss);
  expect_gradient("dinp2", b, minus(db, db0), loss);
}

TEST_F(LayersTest, CrossentropyMatchesDefinitionAndFiniteDifferences) {
  const int64_t BT = 6, V = 5;
  std::vector<float> logits = random_vector(rng, BT * V, 2.0), probs(BT * V), losses(BT);
  std::vector<int32_t> targets = {0, 4, 2, 2, 1, 3};
  std::vector<uint8_t> mask = {1, 0, 1, 1, 0, 1};
  const float mean = crossentropy_forward(probs.data(), losses.data(), logits.data(), targets.data(), mask.data(), BT, V);
  double expect_sum = 0.0;
  for (int64_t i = 0; i < BT; i++) {
    double z = 0.0;
    for (int64_t j = 0; j < V; j++) z += std::exp(double(logits[i * V + j]));
    const double li = std::log(z) - logits[i * V + targets[i]];
    if (mask[i]) {
      EXPECT_NEAR(losses[i], li, 1e-5);
      expect_sum += li;
    } else {
      EXPECT_EQ(losses[i], 0.0f);
    }
    for (int64_t j = 0; j < V; j++) EXPECT_NEAR(probs[i * V + j], std::exp(double(logits[i * V + j])) / z, 1e-6);
  }
  EXPECT_NEAR(mean, expect_sum / 4.0, 1e-5);  // 4 unmasked positions

  auto loss = [&] {
    return double(crossentropy_forward(probs.data(), losses.data(), logits.data(), targets.data(), mask.data(), BT, V));
  };
  loss();
  std::vector<float> d0 = random_vector(rng, logits.size());
  std::vector<float> d = d0;
  crossentropy_backward(d.data(), probs.data(), targets.data(), mask.data(), BT, V);
  testing::GradCheckOptions opt;
  opt.eps = 1e-3f;   // the mean is O(1): rounding noise ~1e-7 / 2e-3 = 5e-5
  opt.atol = 2e-4;
  expect_gradient("dlogits", logits, minus(d, d0), loss, opt);
  // Masked rows get no gradient at all.
  for (int64_t j = 0; j < V; j++) EXPECT_EQ(d[1 * V + j], d0[1 * V + j]);
}

TEST_F(LayersTest, CrossentropyWithEverythingMaskedIsZero) {
  std::vector<float> logits = {1, 2, 3, 4}, probs(4), losses(2), d(4, 0.0f);
  std::vector<int32_t> targets = {0, 1};
  std::vector<uint8_t> mask = {0, 0};
  EXPECT_EQ(crossentropy_forward(probs.data(), losses.data(), logits.data(), targets.data(), mask.data(), 2, 2), 0.0f);
  crossentropy_backward(d.data(), probs.data(), targets.data(), mask.data(), 2, 2);
  for (float x : d) EXPECT_EQ(x, 0.0f);
}

TEST_F(LayersTest, CrossentropyIsFiniteForExtremeLogits) {
  // A confident wrong guess: p[target] underflows to 0 in float, the loss must still be ~1000.
  std::vector<float> logits = {1000.0f, 0.0f}, probs(2), losses(1);
  std::vector<int32_t> targets = {1};
  std::vector<uint8_t> mask = {1};
  const float l = crossentropy_forward(probs.data(), losses.data(), logits.data(), targets.data(), mask.data(), 1, 2);
  EXPECT_NEAR(l, 1000.0f, 1e-3f);
}

// The layers split work over the pool only above a size threshold, which the gradient checks above
// mostly stay under. Here every parallel layer runs at sizes well above it, on 1 and on 3 workers: the
// results must agree bit for bit (layers.h: splits never change a summation order).
TEST_F(LayersTest, ParallelLayersMatchSerialBitForBit) {
  core::ThreadPool one(1), three(3);
  const int64_t B = 2, T = 64, NH = 4, NKV = 2, HS = 16, C = NH * HS, F = 96, BT = B * T;
  std::vector<float> x = random_vector(rng, BT * C), w = random_vector(rng, C), dout = random_vector(rng, BT * C);
  std::vector<float> q = random_vector(rng, BT * NH * HS), k = random_vector(rng, BT * NKV * HS);
  std::vector<float> v = random_vector(rng, k.size()), datty = random_vector(rng, q.size());
  std::vector<float> g = random_vector(rng, BT * F), u = random_vector(rng, BT * F), dh = random_vector(rng, BT * F);
  std::vector<float> wm = random_vector(rng, F * C), dmm = random_vector(rng, BT * F);
  auto run = [&](core::ThreadPool& pool) {
    std::vector<std::vector<float>> outs;
    std::vector<float> o(BT * C), rstd(BT), dx(BT * C, 0.0f), dw(C, 0.0f);
    rmsnorm_forward(pool, o.data(), rstd.data(), x.data(), w.data(), BT, C, 1e-5f);
    rmsnorm_backward(pool, dx.data(), dw.data(), dout.data(), rstd.data(), x.data(), w.data(), BT, C);
    outs.insert(outs.end(), {o, dx, dw});
    std::vector<float> ao(q.size()), att(B * NH * T * T), datt(att.size());
    std::vector<float> dq(q.size(), 0.0f), dk(k.size(), 0.0f), dv(v.size(), 0.0f);
    attention_forward(pool, ao.data(), att.data(), q.data(), k.data(), v.data(), B, T, NH, NKV, HS);
    attention_backward(pool, dq.data(), dk.data(), dv.data(), datt.data(), datty.data(), att.data(), q.data(),
                       k.data(), v.data(), B, T, NH, NKV, HS);
    outs.insert(outs.end(), {ao, dq, dk, dv});
    std::vector<float> h(BT * F), dg(BT * F, 0.0f), du(BT * F, 0.0f);
    swiglu_forward(pool, h.data(), g.data(), u.data(), BT * F);
    swiglu_backward(pool, dg.data(), du.data(), dh.data(), g.data(), u.data(), BT * F);
    outs.insert(outs.end(), {h, dg, du});
    std::vector<float> mo(BT * F), dmi(BT * C, 0.0f), dmw(F * C, 0.0f);
    matmul_forward(pool, mo.data(), x.data(), wm.data(), BT, C, F);
    matmul_backward(pool, dmi.data(), dmw.data(), dmm.data(), x.data(), wm.data(), BT, C, F);
    outs.insert(outs.end(), {mo, dmi, dmw});
    return outs;
  };
  const auto serial = run(one), parallel = run(three);
  ASSERT_EQ(serial.size(), parallel.size());
  // With OpenBLAS the matmul's split may pick other kernels (see gemm.h): only our own code is held
  // to bit equality, OpenBLAS to float rounding.
  const bool exact_gemm = std::string(gemm_backend_name()) != "openblas";
  for (size_t i = 0; i < serial.size(); i++) {
    if (i >= serial.size() - 3 && !exact_gemm) {
      for (size_t j = 0; j < serial[i].size(); j++) ASSERT_NEAR(serial[i][j], parallel[i][j], 1e-4) << i;
      continue;
    }
    EXPECT_TRUE(serial[i] == parallel[i]) << "output " << i;
  }
}

}  // namespace
}  // namespace muse::train
