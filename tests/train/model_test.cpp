// The whole model: gradient check of every parameter on a tiny GQA config, bad inputs, layout.
#include "train/model.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "core/thread_pool.h"
#include "gradcheck.h"
#include "train/gemm.h"

namespace muse::train {
namespace {

ModelConfig tiny_config() {
  ModelConfig c;
  c.dim = 8;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.ffn_dim = 12;
  c.vocab = 7;
  c.max_seq = 6;
  c.rope_theta = 10000.0f;
  c.norm_eps = 1e-5f;
  return c;
}

Batch random_batch(Rng& rng, int64_t B, int64_t T, int64_t V) {
  Batch b;
  b.B = B;
  b.T = T;
  for (int64_t i = 0; i < B * T; i++) {
    b.inputs.push_back(static_cast<int32_t>(rng.below(V)));
    b.targets.push_back(static_cast<int32_t>(rng.below(V)));
    b.mask.push_back(rng.below(3) != 0);  // about a third masked out
  }
  b.mask[0] = 1;
  return b;
}

TEST(ModelTest, LayoutFollowsGgufNamesAndOrder) {
  Model m(tiny_config());
  const auto& t = m.tensors();
  ASSERT_EQ(t.size(), 1u + 2 * 9 + 1);
  EXPECT_EQ(t[0].name, "token_embd.weight");
  EXPECT_EQ(t[1].name, "blk.0.attn_norm.weight");
  EXPECT_EQ(t[3].name, "blk.0.attn_k.weight");
  EXPECT_EQ(t[3].rows, 4);  // n_kv_heads * head_dim = 2 * 2
  EXPECT_EQ(t[3].cols, 8);
  EXPECT_EQ(t[5].name, "blk.0.attn_output.weight");
  EXPECT_EQ(t[9].name, "blk.0.ffn_down.weight");
  EXPECT_EQ(t[9].rows, 8);
  EXPECT_EQ(t[9].cols, 12);
  EXPECT_EQ(t.back().name, "output_norm.weight");
  int64_t expect_offset = 0;
  for (const TensorSpec& s : t) {
    EXPECT_EQ(s.offset, expect_offset) << s.name;
    expect_offset += s.n_elements();
  }
  EXPECT_EQ(expect_offset, m.n_params());
  // Views point where the specs say.
  auto w = m.weights();
  EXPECT_EQ(w.layers[1].ffn_up, m.params().data() + t[1 + 9 + 7].offset);
  EXPECT_EQ(w.output_norm, m.params().data() + t.back().offset);
}

TEST(ModelTest, InitIsDeterministicAndNormsStartAtOne) {
  Model a(tiny_config()), b(tiny_config());
  a.init_weights(5);
  b.init_weights(5);
  EXPECT_TRUE(std::equal(a.params().begin(), a.params().end(), b.params().begin()));
  b.init_weights(6);
  EXPECT_FALSE(std::equal(a.params().begin(), a.params().end(), b.params().begin()));
  for (float x : std::span(a.weights().output_norm, 8)) EXPECT_EQ(x, 1.0f);
}

TEST(ModelTest, WholeModelGradientMatchesFiniteDifferences) {
  const ModelConfig cfg = tiny_config();
  Model model(cfg);
  // Larger-than-init weights so that every path (attention mixing, SwiGLU curvature) carries a
  // gradient well above the check's noise floor; gains near 1.
  Rng rng(99);
  for (const TensorSpec& t : model.tensors()) {
    for (int64_t i = 0; i < t.n_elements(); i++) {
      model.params()[t.offset + i] = static_cast<float>(t.is_norm ? 1.0 + 0.2 * rng.normal() : 0.4 * rng.normal());
    }
  }
  core::ThreadPool pool(2);
  Workspace ws(cfg, 2, 6);
  const Batch batch = random_batch(rng, 2, 6, cfg.vocab);
  forward(pool, model, ws, batch);
  model.zero_grad();
  backward(pool, model, ws);
  std::vector<float> analytic(model.grads().begin(), model.grads().end());

  // The loss is a mean over ~8 positions of O(1): rounding noise of a float forward is ~1e-6, so
  // eps = 1e-2 gives ~1e-4 noise; the loss is smooth (norms, softmax, silu), truncation ~1e-5.
  testing::GradCheckOptions opt;
  opt.eps = 1e-2f;
  opt.atol = 5e-4;
  opt.rtol = 2e-2;
  for (const TensorSpec& t : model.tensors()) {
    std::vector<float> x(model.params().begin() + t.offset, model.params().begin() + t.offset + t.n_elements());
    std::vector<float> g(analytic.begin() + t.offset, analytic.begin() + t.offset + t.n_elements());
    auto loss = [&] {
      std::copy(x.begin(), x.end(), model.params().begin() + t.offset);
      return static_cast<double>(forward(pool, model, ws, batch));
    };
    testing::expect_gradient(t.name, x, g, loss, opt);
    std::copy(x.begin(), x.end(), model.params().begin() + t.offset);
  }
  // A gradient check passes trivially if everything is ~0: make sure it is not.
  double norm = 0.0;
  for (float v : analytic) norm += double(v) * v;
  EXPECT_GT(std::sqrt(norm), 0.1);
}

// What exact resume rests on: the same batch through the same pool size gives the same bits.
TEST(ModelTest, ForwardAndBackwardAreBitReproducible) {
  ModelConfig cfg = tiny_config();
  cfg.dim = 32;
  cfg.ffn_dim = 48;
  cfg.max_seq = 16;
  Model model(cfg);
  model.init_weights(3);
  Rng rng(4);
  const Batch batch = random_batch(rng, 3, 16, cfg.vocab);
  auto run = [&](core::ThreadPool& pool) {
    Workspace ws(cfg, 3, 16);
    model.zero_grad();
    const float loss = forward(pool, model, ws, batch);
    backward(pool, model, ws);
    return std::make_pair(loss, std::vector<float>(model.grads().begin(), model.grads().end()));
  };
  core::ThreadPool pool2(2);
  const auto a = run(pool2), b = run(pool2);
  EXPECT_EQ(a.first, b.first);
  EXPECT_TRUE(a.second == b.second);
  // Our own GEMM sums every output in the same order however C is split, so with it even the thread
  // count does not matter (OpenBLAS picks kernels by sub-problem size, so it makes no such promise).
  if (std::string(gemm_backend_name()) != "openblas") {
    core::ThreadPool pool1(1);
    const auto c = run(pool1);
    EXPECT_EQ(a.first, c.first);
    EXPECT_TRUE(a.second == c.second);
  }
}

TEST(ModelTest, ShorterBatchThanWorkspaceMatchesExactFit) {
  const ModelConfig cfg = tiny_config();
  Model model(cfg);
  model.init_weights(8);
  Rng rng(1);
  const Batch batch = random_batch(rng, 1, 4, cfg.vocab);
  core::ThreadPool pool(1);
  Workspace big(cfg, 2, 6), exact(cfg, 1, 4);
  EXPECT_EQ(forward(pool, model, big, batch), forward(pool, model, exact, batch));
}

TEST(ModelTest, RejectsBadConfigs) {
  auto expect_bad = [](ModelConfig c, const char* field) {
    try {
      c.validate();
      ADD_FAILURE() << "accepted bad " << field;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  ModelConfig c = tiny_config();
  c.n_heads = 3;
  expect_bad(c, "n_heads");
  c = tiny_config();
  c.n_kv_heads = 3;
  expect_bad(c, "n_kv_heads");
  c = tiny_config();
  c.dim = 12;
  c.n_heads = 4;
  c.n_kv_heads = 4;  // head size 3: odd
  expect_bad(c, "even");
  c = tiny_config();
  c.vocab = 0;
  expect_bad(c, "vocab");
  c = tiny_config();
  c.norm_eps = -1.0f;
  expect_bad(c, "norm_eps");
  c = tiny_config();
  c.rope_theta = std::nanf("");
  expect_bad(c, "rope_theta");
}

TEST(ModelTest, RejectsTokenOutsideVocabulary) {
  const ModelConfig cfg = tiny_config();
  Model model(cfg);
  Workspace ws(cfg, 1, 3);
  core::ThreadPool pool(1);
  Batch b{1, 3, {1, 2, 7}, {2, 3, 4}, {1, 1, 1}};
  try {
    forward(pool, model, ws, b);
    FAIL() << "accepted token 7 with vocab 7";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("position 2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace muse::train
