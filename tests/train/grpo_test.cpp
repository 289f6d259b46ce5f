// GRPO with a length penalty: the reward formulas, the policy-gradient weights against finite
// differences, and the whole loop (engine rollouts + updates) on a toy problem whose optimum is known.
#include "train/grpo.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <utility>
#include <unistd.h>

#include "core/dtype.h"
#include "core/error.h"
#include "core/quant.h"
#include "gradcheck.h"
#include "train/export.h"
#include "train/file_io.h"
#include "train/grpo_config.h"
#include "train/grpo_math.h"
#include "train/import.h"
#include "train/rollout.h"
#include "train/sft.h"

namespace muse::train {
namespace {

// ----------------------------------------------------------------------------------------------------
// rewards and advantages

TEST(GrpoRewardTest, CorrectnessIsOneOrZero) {
  const std::vector<uint8_t> c = {1, 0, 1};
  const std::vector<int64_t> L = {5, 1, 50}, tg = {0, 0, 0};
  EXPECT_EQ(group_rewards(RewardConfig{}, c, L, tg), (std::vector<float>{1, 0, 1}));
}

TEST(GrpoRewardTest, LengthPenaltyNormalizesOverCorrectSamplesOnly) {
  RewardConfig r;
  r.kind = RewardKind::kLengthPenalty;
  r.alpha = 0.4f;
  // Correct lengths 10 and 30: mean 20, population std 10 -> z = -1, +1. The wrong sample (length 1000)
  // neither moves the statistics nor gets a reward.
  const std::vector<uint8_t> c = {1, 1, 0};
  const std::vector<int64_t> L = {10, 30, 1000}, tg = {0, 0, 0};
  const std::vector<float> got = group_rewards(r, c, L, tg);
  const double sig = 1.0 / (1.0 + std::exp(-1.0));
  EXPECT_NEAR(got[0], 1.0 - 0.4 * (1.0 - sig), 1e-6);
  EXPECT_NEAR(got[1], 1.0 - 0.4 * sig, 1e-6);
  EXPECT_EQ(got[2], 0.0f);
  // Equal lengths: every correct sample gets 1 - alpha/2 (no length signal).
  const std::vector<int64_t> same = {7, 7, 7};
  for (float v : std::vector<float>(group_rewards(r, std::vector<uint8_t>{1, 1, 1}, same, tg))) EXPECT_NEAR(v, 0.8, 1e-6);
}

TEST(GrpoRewardTest, GroupMinMaxFollowsKimi) {
  RewardConfig r;
  r.kind = RewardKind::kGroupMinMax;
  r.weight = 1.0f;
  // min 0, max 100: lambda = 0.5, 0, -0.5. Correct: 1 + lambda. Wrong: min(0, lambda).
  const std::vector<uint8_t> c = {1, 1, 0, 0};
  const std::vector<int64_t> L = {0, 50, 0, 100}, tg(4, 0);
  EXPECT_EQ(group_rewards(r, c, L, tg), (std::vector<float>{1.5f, 1.0f, 0.0f, -0.5f}));
}

TEST(GrpoRewardTest, TargetLengthPenalizesDistanceToTheBudget) {
  RewardConfig r;
  r.kind = RewardKind::kTargetLength;
  r.alpha = 0.01f;
  const std::vector<uint8_t> c = {1, 1, 0};
  const std::vector<int64_t> L = {100, 50, 100}, tg = {100, 100, 100};
  const std::vector<float> got = group_rewards(r, c, L, tg);
  EXPECT_FLOAT_EQ(got[0], 1.0f);
  EXPECT_FLOAT_EQ(got[1], 0.5f);
  EXPECT_FLOAT_EQ(got[2], 0.0f);
}

TEST(GrpoRewardTest, AdvantagesAreGroupRelative) {
  const std::vector<float> r = {1, 0, 1, 0};
  const std::vector<float> a = group_advantages(r, true);
  for (int i = 0; i < 4; i++) EXPECT_NEAR(a[i], i % 2 == 0 ? 1.0 : -1.0, 1e-3);  // mean 0.5, std 0.5
  const std::vector<float> b = group_advantages(r, false);
  EXPECT_FLOAT_EQ(b[0], 0.5f);
  for (float v : group_advantages(std::vector<float>{0.7f, 0.7f, 0.7f}, true)) EXPECT_EQ(v, 0.0f);
}

TEST(GrpoRewardTest, PercentileByNearestRank) {
  EXPECT_EQ(percentile({5, 1, 3, 2, 4, 6, 7, 8, 9, 10}, 90), 9.0);
  EXPECT_EQ(percentile({4}, 90), 4.0);
  EXPECT_EQ(percentile({}, 90), 0.0);
}

// ----------------------------------------------------------------------------------------------------
// the policy-gradient weights: d(loss)/d(params) through train::backward(dloss) vs finite differences

// B rows of T random tokens and targets; the loss counts every position from `prompt` on.
Batch random_batch(Rng& rng, int64_t B, int64_t T, int64_t vocab, int64_t prompt) {
  Batch b;
  b.B = B;
  b.T = T;
  for (int64_t i = 0; i < B * T; i++) {
    b.inputs.push_back(static_cast<int32_t>(rng.below(vocab)));
    b.targets.push_back(static_cast<int32_t>(rng.below(vocab)));
    b.mask.push_back(i % T >= prompt);
  }
  return b;
}

TEST(GrpoLossTest, PolicyGradientMatchesFiniteDifferences) {
  ModelConfig c;
  c.dim = 8;
  c.n_layers = 1;
  c.n_heads = 2;
  c.n_kv_heads = 1;
  c.ffn_dim = 12;
  c.vocab = 7;
  c.max_seq = 8;
  Model model(c);
  model.init_weights(3);
  Rng rng(5);
  for (float& p : model.params()) p += static_cast<float>(0.3 * rng.normal());
  const int64_t B = 2, T = 6;
  const Batch b = random_batch(rng, B, T, c.vocab, 2);  // positions 0, 1: the prompt
  const float adv[2] = {1.3f, -0.7f};
  core::ThreadPool pool(1);
  Workspace ws(c, B, T);
  forward(pool, model, ws, b);
  // Old log-probs: the current ones moved by up to +-0.5, so that some ratios leave [0.8, 1.2] (clipped
  // tokens have zero gradient, the others A*rho) while none sits within the finite-difference step of a
  // clip boundary. Reference log-probs moved too, for a non-zero KL gradient.
  std::vector<float> old(static_cast<size_t>(B * T)), ref(old.size());
  for (int64_t i = 0; i < B * T; i++) {
    const float logp = -ws.losses()[i];
    float d;
    do d = static_cast<float>(rng.uniform() - 0.5); while (std::fabs(std::fabs(d) - std::log(1.2f)) < 0.05f ||
                                                          std::fabs(std::fabs(d) + std::log(0.8f)) < 0.05f);
    old[i] = logp + d;
    ref[i] = logp + static_cast<float>(0.3 * rng.normal());
  }
  int64_t n = 0;
  for (uint8_t m : b.mask) n += m;
  const float inv_n = 1.0f / static_cast<float>(n);
  const float eps = 0.2f, beta = 0.1f;
  auto objective = [&](std::vector<float>* dloss, PolicyStats& st) {
    forward(pool, model, ws, b);
    for (int64_t i = 0; i < B * T; i++) {
      if (!b.mask[i]) continue;
      const float w = policy_token_weight(-ws.losses()[i], old[i], ref[i], true, adv[i / T], eps, beta, inv_n, st);
      if (dloss) (*dloss)[i] = w;
    }
    return -st.objective * inv_n;
  };
  std::vector<float> dloss(static_cast<size_t>(B * T), 0.0f);
  PolicyStats st;
  objective(&dloss, st);
  EXPECT_GT(st.clipped, 0) << "no clipped token: the test would not see a wrong clip gradient";
  EXPECT_LT(st.clipped, st.tokens);
  model.zero_grad();
  backward(pool, model, ws, dloss);
  std::vector<float> x(model.params().begin(), model.params().end());
  const std::vector<float> analytic(model.grads().begin(), model.grads().end());
  testing::GradCheckOptions opt;
  opt.eps = 1e-3f;
  opt.atol = 2e-4;
  opt.rtol = 3e-2;
  opt.max_checked = 400;
  // The probabilities use a ~1.6 ulp exp (layers.h), so the objective is accurate to ~1e-7: the eps
  // above keeps the finite difference's rounding error near 1e-4.
  testing::expect_gradient("policy loss", x, analytic, [&] {
    std::copy(x.begin(), x.end(), model.params().begin());
    PolicyStats s;
    return objective(nullptr, s);
  }, opt);
}

// ----------------------------------------------------------------------------------------------------
// the toy problem: one prompt, two correct answers, one of them 4 thinking tokens longer

constexpr int32_t kBos = 0, kQ = 1, kFill = 2, kThinkEnd = 3, kAns = 4, kEos = 5, kV = 6;
const std::vector<int32_t> kShort = {kThinkEnd, kAns, kEos};
const std::vector<int32_t> kLong = {kFill, kFill, kFill, kFill, kThinkEnd, kAns, kEos};

ModelConfig toy_config() {
  ModelConfig c;
  c.dim = 16;
  c.n_layers = 1;
  c.n_heads = 2;
  c.n_kv_heads = 1;
  c.ffn_dim = 32;
  c.vocab = kV;
  c.max_seq = 16;
  return c;
}

// SFT on both answers equally: the policy starts near P(short) = 1/2.
std::unique_ptr<Model> toy_sft_model() {
  std::vector<Example> data;
  for (const auto& comp : {kShort, kLong}) {
    Example ex;
    ex.tokens = {kBos, kQ};
    ex.tokens.insert(ex.tokens.end(), comp.begin(), comp.end());
    ex.loss_mask.assign(ex.tokens.size(), 1);
    ex.loss_mask[0] = ex.loss_mask[1] = 0;
    data.push_back(ex);
  }
  SftConfig c;
  c.model = toy_config();
  c.batch_size = 2;
  c.seq_len = 8;
  c.steps = 150;
  c.max_lr = 1e-2f;
  c.min_lr = 1e-3f;
  c.warmup_steps = 5;
  c.group_by_length = true;  // every batch holds both answers: the SFT target is exactly 50/50
  c.progress = nullptr;
  core::ThreadPool pool(1);
  Trainer t(c, data);
  for (int i = 0; i < c.steps; i++) t.step(pool);
  return std::make_unique<Model>(t.model());
}

double p_short(const Model& m) {
  core::ThreadPool pool(1);
  Workspace ws(m.config(), 1, 2);
  Batch b;
  b.B = 1;
  b.T = 2;
  b.inputs = {kBos, kQ};
  b.targets = {kQ, kThinkEnd};
  b.mask = {0, 1};
  forward(pool, m, ws, b);
  return ws.probs()[1 * kV + kThinkEnd];
}

GrpoTasks toy_tasks() {
  GrpoTasks t;
  auto prompt = [] {
    GrpoPrompt p;
    p.tokens = {kBos, kQ};
    p.check = [](std::span<const int32_t> c) { return std::find(c.begin(), c.end(), kAns) != c.end(); };
    return p;
  };
  t.train = [prompt](uint64_t, int64_t) { return prompt(); };
  t.validation = {prompt()};
  t.eog = {kEos};
  t.think_end = kThinkEnd;
  return t;
}

GrpoConfig toy_grpo(RewardKind kind, int64_t steps) {
  GrpoConfig c;
  GrpoPhase ph;
  ph.steps = steps;
  ph.reward.kind = kind;
  ph.reward.alpha = 0.5f;
  ph.max_new_tokens = 12;
  c.phases = {ph};
  c.prompts_per_step = 2;
  c.group_size = 8;
  c.updates_per_batch = 2;
  c.micro_batch = 8;
  c.lr = 1e-2f;
  c.val_every = 0;
  c.checkpoint_every = 0;
  c.progress = nullptr;
  return c;
}

TEST(GrpoToyTest, LengthPenaltyMovesProbabilityToTheShorterCorrectAnswer) {
  const std::unique_ptr<Model> init = toy_sft_model();
  const double p0 = p_short(*init);
  ASSERT_GT(p0, 0.3);
  ASSERT_LT(p0, 0.7);
  const GrpoTasks tasks = toy_tasks();
  core::ThreadPool pool(1);

  const GrpoResult pen = run_grpo(toy_grpo(RewardKind::kLengthPenalty, 12), *init, tasks, pool);
  const double p_pen = p_short(*pen.model);
  const GrpoResult base = run_grpo(toy_grpo(RewardKind::kCorrectness, 12), *init, tasks, pool);
  const double p_base = p_short(*base.model);
  std::printf("P(short answer): SFT %.3f -> length penalty %.3f, correctness only %.3f; think tokens %.2f -> %.2f\n",
              p0, p_pen, p_base, pen.history.front().think_mean, pen.history.back().think_mean);
  EXPECT_GT(p_pen, 0.9) << "from " << p0;
  EXPECT_NEAR(p_base, p0, 0.1) << "correctness-only moved P(short) although both answers are right";
  // The log says the same: thinking tokens fall under the penalty, stay under correctness only.
  ASSERT_EQ(pen.history.size(), 12u);
  EXPECT_LT(pen.history.back().think_mean, pen.history.front().think_mean);
  EXPECT_GT(pen.history.back().accuracy, 0.9);
  EXPECT_GT(base.history.back().think_mean, 1.0);
  EXPECT_GT(pen.rollout_tokens_per_s, 0.0);
}

TEST(GrpoToyTest, GroupMinMaxAndTargetLengthAlsoShorten) {
  const std::unique_ptr<Model> init = toy_sft_model();
  const double p0 = p_short(*init);
  const GrpoTasks tasks = toy_tasks();
  core::ThreadPool pool(1);
  const GrpoResult kimi = run_grpo(toy_grpo(RewardKind::kGroupMinMax, 8), *init, tasks, pool);
  EXPECT_GT(p_short(*kimi.model), p0 + 0.2);
  // A budget of 0 thinking tokens: the short answer is on target.
  GrpoConfig c = toy_grpo(RewardKind::kTargetLength, 8);
  c.phases[0].reward.alpha = 0.1f;
  c.phases[0].reward.target_min = 0;
  c.phases[0].reward.target_max = 1;  // targets 0 or 1: both far closer to the short answer
  const GrpoResult l1 = run_grpo(c, *init, tasks, pool);
  EXPECT_GT(p_short(*l1.model), p0 + 0.2);
}

TEST(GrpoToyTest, KlPenaltyIsLoggedAndPhasesSwitchRewards) {
  const std::unique_ptr<Model> init = toy_sft_model();
  const GrpoTasks tasks = toy_tasks();
  core::ThreadPool pool(1);
  GrpoConfig c = toy_grpo(RewardKind::kCorrectness, 2);
  GrpoPhase pen = c.phases[0];
  pen.reward.kind = RewardKind::kLengthPenalty;
  pen.steps = 3;
  c.phases.push_back(pen);
  c.kl_beta = 0.05f;
  c.val_every = 1;
  const GrpoResult r = run_grpo(c, *init, tasks, pool);
  ASSERT_EQ(r.history.size(), 6u);  // step 0 (validation only) + 5 steps
  EXPECT_EQ(r.history[0].step, 0);
  EXPECT_TRUE(std::isfinite(r.history[0].val_accuracy));
  EXPECT_EQ(r.history[2].phase, 0);
  EXPECT_EQ(r.history[3].phase, 1);
  for (size_t i = 1; i < r.history.size(); i++) {
    EXPECT_TRUE(std::isfinite(r.history[i].kl));
    EXPECT_GE(r.history[i].kl, 0.0);
    EXPECT_TRUE(std::isfinite(r.history[i].val_accuracy));
  }
  EXPECT_GT(r.history.back().kl, 0.0);  // the penalty phase moved the policy away from the reference
}

TEST(GrpoToyTest, ResumeContinuesExactly) {
  const std::unique_ptr<Model> init = toy_sft_model();
  const GrpoTasks tasks = toy_tasks();
  core::ThreadPool pool(1);
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("muse_grpo_test_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  GrpoConfig whole = toy_grpo(RewardKind::kLengthPenalty, 4);
  const GrpoResult straight = run_grpo(whole, *init, tasks, pool);

  GrpoConfig first = whole;
  first.out_dir = dir.string();
  first.phases[0].steps = 2;
  run_grpo(first, *init, tasks, pool);
  ASSERT_TRUE(std::filesystem::exists(dir / "checkpoint.bin"));
  ASSERT_TRUE(std::filesystem::exists(dir / "grpo.csv"));
  ASSERT_TRUE(std::filesystem::exists(dir / "grpo.png"));
  GrpoConfig second = whole;
  second.out_dir = dir.string();
  second.resume_from = (dir / "checkpoint.bin").string();
  const GrpoResult resumed = run_grpo(second, *init, tasks, pool);
  EXPECT_EQ(resumed.steps, 4);
  ASSERT_EQ(resumed.history.size(), 4u);  // two rows read back from grpo.csv, two new
  EXPECT_EQ(resumed.history[1].step, 2);
  const auto a = straight.model->params(), b = resumed.model->params();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); i++) ASSERT_EQ(a[i], b[i]) << "parameter " << i;
  std::filesystem::remove_all(dir);
}

// ----------------------------------------------------------------------------------------------------
// rollouts, logs, config, import

TEST(GrpoRolloutTest, GroupsEndAtTheEogTokenAndFollowTheSeed) {
  const std::unique_ptr<Model> m = toy_sft_model();
  core::ThreadPool pool(1);
  RolloutEngine eng(pool);
  eng.load(*m);
  RolloutOptions o;
  o.group_size = 5;
  o.max_new_tokens = 12;
  o.eog = {kEos};
  const std::vector<std::vector<int32_t>> prompts = {{kBos, kQ}, {kBos, kQ}};
  const auto g1 = eng.sample(prompts, o);
  ASSERT_EQ(g1.size(), 2u);
  int distinct = 0;
  for (const auto& group : g1) {
    ASSERT_EQ(group.size(), 5u);
    for (const Completion& c : group) {
      ASSERT_FALSE(c.tokens.empty());
      if (c.ended) {
        EXPECT_EQ(c.tokens.back(), kEos);
      }
      distinct += c.tokens != group[0].tokens;
    }
  }
  EXPECT_GT(distinct, 0) << "a group of 5 samples at temperature 1 from a 50/50 policy were all equal";
  EXPECT_EQ(eng.stats().generated_tokens > 0, true);
  const auto g2 = eng.sample(prompts, o);
  for (size_t p = 0; p < 2; p++) {
    for (size_t i = 0; i < 5; i++) EXPECT_EQ(g1[p][i].tokens, g2[p][i].tokens);
  }
}

TEST(GrpoLogTest, CsvRoundTripsWithMissingValues) {
  GrpoPoint a;
  a.step = 3;
  a.phase = 1;
  a.reward = 0.5;
  a.think_p90 = 17;
  a.kl = std::nan("");
  a.val_accuracy = 0.25;
  const std::vector<GrpoPoint> pts = {a};
  const std::vector<GrpoPoint> back = parse_grpo_csv(format_grpo_csv(pts), "test.csv");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].step, 3);
  EXPECT_EQ(back[0].phase, 1);
  EXPECT_EQ(back[0].think_p90, 17);
  EXPECT_TRUE(std::isnan(back[0].kl));
  EXPECT_EQ(back[0].val_accuracy, 0.25);
  EXPECT_THROW(parse_grpo_csv("bad header\n", "x.csv"), Error);
  std::string bad = format_grpo_csv(pts);
  bad.back() = 'x';  // last field no longer a number
  EXPECT_THROW(parse_grpo_csv(bad, "x.csv"), Error);
  const std::vector<uint8_t> png = render_grpo_plot_png(pts, "t", 300, 200);
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png[1], 'P');
}

TEST(GrpoConfigTest, ParsesPhasesAndNamesBadFields) {
  const nlohmann::json j = nlohmann::json::parse(R"({
    "grpo": {"prompts_per_step": 4, "group_size": 6, "lr": 2e-5, "kl_beta": 0.01},
    "phases": [{"steps": 5, "reward": {"kind": "correctness"}},
               {"steps": 7, "max_new_tokens": 300, "reward": {"kind": "length_penalty", "alpha": 0.3}}],
    "data": {"families": "add,mul", "validation": 16},
    "threads": 1})");
  const GrpoRunConfig rc = parse_grpo_config(j, "c.json");
  EXPECT_EQ(rc.grpo.group_size, 6);
  EXPECT_EQ(rc.grpo.total_steps(), 12);
  ASSERT_EQ(rc.grpo.phases.size(), 2u);
  EXPECT_EQ(rc.grpo.phases[1].reward.kind, RewardKind::kLengthPenalty);
  EXPECT_FLOAT_EQ(rc.grpo.phases[1].reward.alpha, 0.3f);
  EXPECT_EQ(rc.grpo.phases[1].max_new_tokens, 300);
  EXPECT_EQ(&rc.grpo.phase_at(5), &rc.grpo.phases[1]);
  EXPECT_EQ(rc.data.families.size(), 2u);
  auto message = [](const char* text) {
    try {
      parse_grpo_config(nlohmann::json::parse(text), "c.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(R"({"phases": [{"steps": 1, "reward": {"kind": "shorter"}}]})").find("phases[0].reward.kind"),
            std::string::npos);
  EXPECT_NE(message(R"({"grpo": {"gruop_size": 4}})").find("grpo.gruop_size"), std::string::npos);
  EXPECT_NE(message(R"({"grpo": {"group_size": 1}})").find("group_size"), std::string::npos);
  EXPECT_NE(message(R"({"phases": [{"steps": 1, "reward": {"kind": "length_penalty", "alpha": 2}}]})").find("alpha"),
            std::string::npos);
}

TEST(GrpoImportTest, ExportThenImportGivesTheSameWeights) {
  Model m(toy_config());
  m.init_weights(9);
  gguf::Writer w;
  add_model_to_gguf(m, w);
  const auto file = gguf::File::from_bytes(w.to_bytes(), "toy");
  const std::unique_ptr<Model> back = model_from_gguf(*file);
  EXPECT_EQ(back->config(), m.config());
  for (int64_t i = 0; i < m.n_params(); i++) ASSERT_EQ(back->params()[i], m.params()[i]);
}

// `muse train sft --init models/muse-nano.gguf` starts from the shipped Q8_0 file: every quantized matrix
// imports as exactly the values the engine dequantizes.
TEST(GrpoImportTest, QuantizedGgufImportsAsItsDequantizedValues) {
  ModelConfig c = toy_config();
  c.dim = 32;
  c.ffn_dim = 64;
  Model m(c);
  m.init_weights(3);
  gguf::Writer w;
  add_model_to_gguf(m, w);
  gguf::Writer q;  // the same metadata, matrices as Q8_0
  std::vector<std::vector<uint8_t>> blobs;
  for (const TensorSpec& t : m.tensors()) {
    const float* x = m.params().data() + t.offset;
    if (t.is_norm) {
      q.add_tensor(t.name, core::DType::kF32, {t.cols},
                   std::span(reinterpret_cast<const uint8_t*>(x), static_cast<size_t>(t.cols) * sizeof(float)));
      continue;
    }
    const size_t row = core::row_bytes(core::DType::kQ8_0, t.cols);
    std::vector<uint8_t> bytes(row * static_cast<size_t>(t.rows));
    for (int64_t r = 0; r < t.rows; ++r) core::quantize_row(core::DType::kQ8_0, x + r * t.cols, bytes.data() + r * row, t.cols);
    q.add_tensor(t.name, core::DType::kQ8_0, {t.cols, t.rows}, bytes);
  }
  const std::unique_ptr<gguf::File> f32 = gguf::File::from_bytes(w.to_bytes(), "f32");
  for (const auto& [key, value] : f32->metadata()) {
    if (key != "general.alignment") q.set(key, value);
  }
  const std::unique_ptr<Model> back = model_from_gguf(*gguf::File::from_bytes(q.to_bytes(), "q8"));
  for (const TensorSpec& t : m.tensors()) {
    const float* x = m.params().data() + t.offset;
    const float* y = back->params().data() + t.offset;
    std::vector<float> expect(static_cast<size_t>(t.cols));
    std::vector<uint8_t> block(core::row_bytes(core::DType::kQ8_0, t.cols));
    for (int64_t r = 0; r < t.rows; ++r) {
      if (t.is_norm) {
        std::copy(x + r * t.cols, x + (r + 1) * t.cols, expect.begin());
      } else {
        core::quantize_row(core::DType::kQ8_0, x + r * t.cols, block.data(), t.cols);
        core::dequantize_row(core::DType::kQ8_0, block.data(), expect.data(), t.cols);
      }
      for (int64_t i = 0; i < t.cols; ++i) ASSERT_EQ(y[r * t.cols + i], expect[static_cast<size_t>(i)]) << t.name;
    }
  }
}

TEST(GrpoImportTest, WarmStartCopiesBlocksAndMatchesEmbeddingRowsByText) {
  ModelConfig a = toy_config();
  a.vocab = 4;
  ModelConfig b = a;
  b.vocab = 5;
  b.max_seq = 32;  // a longer context is fine: no parameter depends on it
  Model from(a), to(b);
  from.init_weights(1);
  to.init_weights(2);
  const Model fresh = to;
  const std::vector<std::string> from_tokens = {"a", "b", "c", "d"};
  const std::vector<std::string> to_tokens = {"c", "x", "a", "d", "y"};
  EXPECT_EQ(warm_start(from, from_tokens, to, to_tokens), 3);
  const int64_t dim = a.dim;
  auto row = [&](const Model& m, int64_t r) { return std::vector<float>(m.params().begin() + r * dim, m.params().begin() + (r + 1) * dim); };
  ASSERT_EQ(to.tensors().front().name, "token_embd.weight");
  EXPECT_EQ(row(to, 0), row(from, 2));
  EXPECT_EQ(row(to, 1), row(fresh, 1));  // "x" is new: keeps its initialisation
  EXPECT_EQ(row(to, 2), row(from, 0));
  EXPECT_EQ(row(to, 3), row(from, 3));
  EXPECT_EQ(row(to, 4), row(fresh, 4));
  for (size_t t = 1; t < to.tensors().size(); ++t) {
    const TensorSpec& s = from.tensors()[t];
    const TensorSpec& d = to.tensors()[t];
    for (int64_t i = 0; i < s.n_elements(); ++i) ASSERT_EQ(to.params()[d.offset + i], from.params()[s.offset + i]) << s.name;
  }
  // Not a growth: another dim, a narrower FFN, fewer layers.
  ModelConfig other_dim = b, narrow = b, deep = a;
  other_dim.dim = 32;
  narrow.ffn_dim = 16;
  deep.n_layers = 2;
  const Model deeper(deep);
  const std::pair<const Model*, ModelConfig> cases[] = {{&from, other_dim}, {&from, narrow}, {&deeper, b}};
  for (const auto& [init, target] : cases) {
    Model other(target);
    try {
      warm_start(*init, from_tokens, other, to_tokens);
      FAIL() << "a model that is not a growth of the initial one was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("may only grow"), std::string::npos) << e.what();
    }
  }
}

// Growing a model (more layers, a wider FFN) keeps its function: the same losses on a batch before any
// training, while the new layers' output weights get gradients, so training can put them to use.
TEST(GrpoImportTest, WarmStartIntoADeeperWiderModelKeepsItsLosses) {
  ModelConfig a = toy_config();
  a.n_layers = 2;
  ModelConfig b = a;
  b.n_layers = 5;
  b.ffn_dim = 48;
  Model from(a), to(b);
  from.init_weights(1);
  to.init_weights(2);
  Rng rng(3);
  for (float& p : from.params()) p += static_cast<float>(0.2 * rng.normal());  // norms away from 1 too
  std::vector<std::string> tokens;
  for (int64_t i = 0; i < a.vocab; ++i) tokens.push_back("t" + std::to_string(i));
  EXPECT_EQ(warm_start(from, tokens, to, tokens), a.vocab);

  const int64_t B = 2, T = 7;
  const Batch batch = random_batch(rng, B, T, a.vocab, 0);
  core::ThreadPool pool(1);
  Workspace ws_a(a, B, T), ws_b(b, B, T);
  forward(pool, from, ws_a, batch);
  forward(pool, to, ws_b, batch);
  for (int64_t i = 0; i < B * T; i++) EXPECT_NEAR(ws_b.losses()[i], ws_a.losses()[i], 1e-5f) << "position " << i;

  // Layers 0, 2, 4 hold the old ones (i * 5 / 2); 1 and 3 are new, zero into the stream, but learning.
  const WeightViews<const float> w = std::as_const(to).weights();
  EXPECT_EQ(w.layers[2].attn_q[5], from.weights().layers[1].attn_q[5]);
  to.zero_grad();
  backward(pool, to, ws_b);
  const WeightViews<float> g = to.grad_views();
  for (int64_t l : {1, 3}) {
    const LayerViews<const float>& nl = w.layers[static_cast<size_t>(l)];
    EXPECT_TRUE(std::all_of(nl.attn_output, nl.attn_output + a.dim * a.q_dim(), [](float x) { return x == 0.0f; }));
    EXPECT_TRUE(std::all_of(nl.ffn_down, nl.ffn_down + a.dim * b.ffn_dim, [](float x) { return x == 0.0f; }));
    const LayerViews<float>& gl = g.layers[static_cast<size_t>(l)];
    EXPECT_TRUE(std::any_of(gl.attn_output, gl.attn_output + a.dim * a.q_dim(), [](float x) { return x != 0.0f; }));
    EXPECT_TRUE(std::any_of(gl.ffn_down, gl.ffn_down + a.dim * b.ffn_dim, [](float x) { return x != 0.0f; }));
  }
  // The new hidden units of an old layer: zero ffn_down columns with a gradient.
  const LayerViews<float>& g0 = g.layers[0];
  bool new_unit_learns = false;
  for (int64_t r = 0; r < a.dim; ++r) {
    EXPECT_EQ(w.layers[0].ffn_down[r * b.ffn_dim + a.ffn_dim], 0.0f);
    new_unit_learns |= g0.ffn_down[r * b.ffn_dim + a.ffn_dim] != 0.0f;
  }
  EXPECT_TRUE(new_unit_learns);
}

}  // namespace
}  // namespace muse::train
