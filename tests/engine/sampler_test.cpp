#include "engine/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "core/error.h"

namespace muse::engine {
namespace {

TEST(Sampler, GreedyPicksArgmaxAndLowestIdOnTies) {
  Sampler s(SamplerParams::greedy());
  std::vector<float> logits = {0.1f, 2.0f, -1.0f, 2.0f};
  EXPECT_EQ(s.sample(logits).token, 1);
}

TEST(Sampler, LogprobIsLogSoftmaxOfRawLogits) {
  std::vector<float> logits = {1.0f, 2.0f, 3.0f};
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  Sampler s(SamplerParams::greedy());
  const Sampled out = s.sample(logits);
  EXPECT_EQ(out.token, 2);
  EXPECT_NEAR(out.logprob, 3.0 - std::log(z), 1e-6);
  auto top = Sampler::top_logprobs(logits, 2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].token, 2);
  EXPECT_EQ(top[1].token, 1);
  EXPECT_NEAR(top[1].logprob, 2.0 - std::log(z), 1e-6);
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDiffers) {
  std::vector<float> logits(50);
  for (int i = 0; i < 50; ++i) logits[i] = static_cast<float>(i % 7) * 0.3f;
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  auto draw = [&](uint64_t seed) {
    p.seed = seed;
    Sampler s(p);
    std::vector<int32_t> out;
    for (int i = 0; i < 40; ++i) out.push_back(s.sample(logits).token);
    return out;
  };
  EXPECT_EQ(draw(3), draw(3));
  EXPECT_NE(draw(3), draw(4));
}

TEST(Sampler, FrequenciesFollowTheDistribution) {
  // p = softmax(log(0.5), log(0.3), log(0.2)) = (0.5, 0.3, 0.2) at temperature 1.
  std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = 11;
  Sampler s(p);
  std::map<int32_t, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) counts[s.sample(logits).token]++;
  // Binomial standard deviation at n=20000 is <= 0.0036; 0.02 is over 5 sigma.
  EXPECT_NEAR(counts[0] / double(n), 0.5, 0.02);
  EXPECT_NEAR(counts[1] / double(n), 0.3, 0.02);
  EXPECT_NEAR(counts[2] / double(n), 0.2, 0.02);
}

TEST(Sampler, TopKTopPAndMinPCutTheTail) {
  std::vector<float> logits = {std::log(0.4f), std::log(0.3f), std::log(0.2f), std::log(0.1f)};
  auto support = [&](SamplerParams p) {
    p.temperature = 1.0f;
    std::map<int32_t, int> seen;
    for (uint64_t seed = 0; seed < 400; ++seed) {
      p.seed = seed;
      Sampler s(p);
      seen[s.sample(logits).token]++;
    }
    return seen.size();
  };
  SamplerParams base;
  base.top_k = 0;
  base.top_p = 1.0f;
  base.min_p = 0.0f;
  EXPECT_EQ(support(base), 4u);
  SamplerParams k2 = base;
  k2.top_k = 2;
  EXPECT_EQ(support(k2), 2u);
  SamplerParams p = base;
  p.top_p = 0.65f;  // 0.4 + 0.3 reaches it
  EXPECT_EQ(support(p), 2u);
  SamplerParams m = base;
  m.min_p = 0.6f;  // keeps p >= 0.24: tokens 0 and 1
  EXPECT_EQ(support(m), 2u);
}

TEST(Sampler, RepetitionPenaltyChangesTheGreedyChoice) {
  std::vector<float> logits = {2.0f, 1.9f, 0.0f};
  SamplerParams p = SamplerParams::greedy();
  p.repeat_penalty = 1.5f;
  Sampler s(p);
  std::vector<int32_t> history = {0};
  EXPECT_EQ(s.sample(logits, history).token, 1);  // 2.0 / 1.5 < 1.9
  EXPECT_EQ(s.sample(logits, {}).token, 0);
}

TEST(Sampler, InvalidParamsAreRejectedWithTheFieldName) {
  SamplerParams p;
  p.top_p = 1.5f;
  try {
    p.validate();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("top_p"), std::string::npos);
  }
  p = SamplerParams();
  p.temperature = -1.0f;
  EXPECT_THROW(p.validate(), Error);
}

}  // namespace
}  // namespace muse::engine
