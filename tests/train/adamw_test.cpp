// AdamW, the LR schedule and gradient clipping against their formulas (adamw.h), computed in double.
#include "train/adamw.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "gradcheck.h"

namespace muse::train {
namespace {

ModelConfig tiny() {
  ModelConfig c;
  c.dim = 4;
  c.n_layers = 1;
  c.n_heads = 2;
  c.n_kv_heads = 1;
  c.ffn_dim = 6;
  c.vocab = 5;
  c.max_seq = 4;
  return c;
}

TEST(LrScheduleTest, WarmupThenCosineToMin) {
  const LrSchedule s{1.0f, 0.1f, 10, 110};
  EXPECT_FLOAT_EQ(s.at(0), 0.1f);  // (0 + 1) / 10
  EXPECT_FLOAT_EQ(s.at(4), 0.5f);
  EXPECT_FLOAT_EQ(s.at(9), 1.0f);
  EXPECT_FLOAT_EQ(s.at(10), 1.0f);       // cosine starts at max
  EXPECT_FLOAT_EQ(s.at(60), 0.55f);      // halfway: (max + min) / 2
  EXPECT_NEAR(s.at(109), 0.1f, 1e-3f);   // nearly min
  EXPECT_FLOAT_EQ(s.at(110), 0.1f);
  EXPECT_FLOAT_EQ(s.at(5000), 0.1f);
  for (int64_t i = 10; i < 110; i++) EXPECT_LE(s.at(i + 1), s.at(i)) << i;  // monotone decay
}

TEST(LrScheduleTest, RejectsNonsense) {
  EXPECT_THROW((LrSchedule{1.0f, 2.0f, 1, 10}.validate()), Error);   // min > max
  EXPECT_THROW((LrSchedule{1.0f, 0.1f, 10, 10}.validate()), Error);  // warmup covers everything
  EXPECT_THROW((LrSchedule{0.0f, 0.0f, 1, 10}.validate()), Error);
  EXPECT_NO_THROW((LrSchedule{1.0f, 0.1f, 0, 10}.validate()));
}

TEST(ClipGradNormTest, ScalesToMaxNormOnlyWhenAbove) {
  std::vector<float> g = {3.0f, 4.0f};
  EXPECT_FLOAT_EQ(clip_grad_norm(g, 1.0f), 5.0f);
  EXPECT_FLOAT_EQ(g[0], 0.6f);
  EXPECT_FLOAT_EQ(g[1], 0.8f);
  std::vector<float> h = {0.3f, 0.4f};
  EXPECT_FLOAT_EQ(clip_grad_norm(h, 1.0f), 0.5f);
  EXPECT_EQ(h[0], 0.3f);  // untouched
  std::vector<float> k = {30.0f, 40.0f};
  EXPECT_FLOAT_EQ(clip_grad_norm(k, 0.0f), 50.0f);  // disabled
  EXPECT_EQ(k[0], 30.0f);
}

TEST(AdamWTest, MatchesDoubleReferenceOverSeveralSteps) {
  Model model(tiny());
  Rng rng(3);
  for (float& p : model.params()) p = static_cast<float>(rng.normal());
  AdamWConfig cfg;
  cfg.weight_decay = 0.05f;
  AdamW opt(cfg, model.n_params());
  const size_t n = static_cast<size_t>(model.n_params());
  std::vector<double> p(model.params().begin(), model.params().end()), m(n, 0.0), v(n, 0.0);
  core::ThreadPool pool(2);
  for (int t = 1; t <= 5; t++) {
    for (float& g : model.grads()) g = static_cast<float>(rng.normal());
    const double lr = 0.01 * t;
    for (const TensorSpec& s : model.tensors()) {
      const double wd = s.is_norm ? 0.0 : cfg.weight_decay;
      for (int64_t i = s.offset; i < s.offset + s.n_elements(); i++) {
        const double g = model.grads()[i];
        m[i] = 0.9 * m[i] + 0.1 * g;
        v[i] = 0.95 * v[i] + 0.05 * g * g;
        const double mh = m[i] / (1 - std::pow(0.9, t)), vh = v[i] / (1 - std::pow(0.95, t));
        p[i] -= lr * (mh / (std::sqrt(vh) + 1e-8) + wd * p[i]);
      }
    }
    opt.step(pool, model, static_cast<float>(lr));
    EXPECT_EQ(opt.t(), t);
  }
  // Float vs double over 5 steps of size <= 0.05: differences stay at float rounding of O(1) values.
  for (size_t i = 0; i < n; i++) ASSERT_NEAR(model.params()[i], p[i], 2e-6) << i;
}

TEST(AdamWTest, DecaysMatricesButNotNorms) {
  Model model(tiny());
  std::fill(model.params().begin(), model.params().end(), 1.0f);
  AdamWConfig cfg;
  cfg.weight_decay = 0.5f;
  AdamW opt(cfg, model.n_params());
  core::ThreadPool pool(1);
  opt.step(pool, model, 0.1f);  // zero gradients: only the decay acts, p *= 1 - lr * wd
  for (const TensorSpec& s : model.tensors()) {
    const float expect = s.is_norm ? 1.0f : 0.95f;
    EXPECT_FLOAT_EQ(model.params()[s.offset], expect) << s.name;
  }
}

TEST(AdamWTest, RejectsBadConfig) {
  AdamWConfig c;
  c.beta2 = 1.0f;
  EXPECT_THROW(c.validate(), Error);
  c = AdamWConfig{};
  c.eps = 0.0f;
  EXPECT_THROW(c.validate(), Error);
}

}  // namespace
}  // namespace muse::train
