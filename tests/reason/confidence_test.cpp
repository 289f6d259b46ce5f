// Token confidence, sliding windows and DeepConf-style early stopping on constructed log-probability
// streams: the agents that should stop are stopped, the others are not.
#include "reason/confidence.h"

#include <gtest/gtest.h>

#include <cmath>

namespace muse::reason {
namespace {

TEST(Confidence, TokenConfidenceIsMinusTheMeanTopLogprob) {
  const std::vector<engine::TokenLogprob> peaked = {{1, -0.01f}, {2, -6.0f}, {3, -7.0f}};
  const std::vector<engine::TokenLogprob> flat = {{1, -1.0f}, {2, -1.1f}, {3, -1.2f}};
  EXPECT_NEAR(token_confidence(peaked), (0.01 + 6.0 + 7.0) / 3, 1e-6);  // float inputs: 1e-6 is exact enough
  EXPECT_GT(token_confidence(peaked), token_confidence(flat)) << "a sure model is more confident";
  EXPECT_EQ(token_confidence({}), 0.0);
}

TEST(Confidence, WindowMeanAndLowest) {
  ConfidenceWindow w(3);
  for (double c : {5.0, 5.0, 5.0, 2.0, 2.0, 2.0, 8.0}) w.push(c);
  EXPECT_TRUE(w.full());
  EXPECT_DOUBLE_EQ(w.current(), (2.0 + 2.0 + 8.0) / 3);
  EXPECT_DOUBLE_EQ(w.lowest(), 2.0);
  EXPECT_DOUBLE_EQ(w.mean(), 29.0 / 7);
  ConfidenceWindow short_trace(10);
  short_trace.push(4.0);
  short_trace.push(6.0);
  EXPECT_FALSE(short_trace.full());
  EXPECT_DOUBLE_EQ(short_trace.lowest(), 5.0) << "before the window fills, lowest is the running mean";
}

TEST(Confidence, PercentileInterpolatesLikeNumpy) {
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4, 5}, 50), 3.0);
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 10), 1.3);
  EXPECT_DOUBLE_EQ(percentile({7}, 90), 7.0);
  EXPECT_DOUBLE_EQ(percentile({1, 9}, 100), 9.0);
}

// Feeds per-agent token confidence streams through windows and the stopper, step by step, like the
// Reasoner does, and returns the step at which each agent was stopped (-1: never).
std::vector<int> simulate(const std::vector<std::vector<double>>& streams, const EarlyStopOptions& opt) {
  EarlyStopper stopper(opt);
  std::vector<ConfidenceWindow> win(streams.size(), ConfidenceWindow(opt.window));
  std::vector<int> stopped_at(streams.size(), -1);
  size_t steps = 0;
  for (const auto& s : streams) steps = std::max(steps, s.size());
  for (size_t t = 0; t < steps; ++t) {
    std::vector<EarlyStopper::Agent> view(streams.size());
    for (size_t i = 0; i < streams.size(); ++i) {
      const bool running = stopped_at[i] < 0 && t < streams[i].size();
      if (running) win[i].push(streams[i][t]);
      view[i] = {running, win[i].count(), win[i].current()};
    }
    for (int i : stopper.update(view)) stopped_at[static_cast<size_t>(i)] = static_cast<int>(t);
  }
  return stopped_at;
}

TEST(EarlyStop, AnAgentWhoseConfidenceCollapsesIsStopped) {
  // Four agents at confidence ~5; agent 2 collapses to 1 after 30 tokens.
  std::vector<std::vector<double>> s(4, std::vector<double>(60, 5.0));
  for (int i = 0; i < 4; ++i) s[i][0] += 0.5 * i;  // distinct warm-up values (exact in binary)
  for (int t = 30; t < 60; ++t) s[2][t] = 1.0;
  EarlyStopOptions opt;
  opt.enabled = true;
  opt.window = 8;
  opt.percentile = 0;  // threshold = the lowest warm-up confidence: only a real drop goes below it
  opt.min_keep = 2;
  const std::vector<int> at = simulate(s, opt);
  EXPECT_EQ(at[0], -1);
  EXPECT_EQ(at[1], -1);
  EXPECT_EQ(at[3], -1);
  // Its window mean goes below ~5 at the first low token (t = 30).
  EXPECT_EQ(at[2], 30);
}

TEST(EarlyStop, ThePercentileCutsTheLowestAtWarmUpButKeepsMinKeep) {
  // Constant streams at 1, 2, 3, 4, 5: the 50th percentile (3) stops 1 and 2 when the threshold is set
  // (after `warmup` tokens), and nobody else later.
  std::vector<std::vector<double>> s;
  for (int v = 1; v <= 5; ++v) s.push_back(std::vector<double>(40, v));
  EarlyStopOptions opt;
  opt.enabled = true;
  opt.window = 4;
  opt.warmup = 10;
  opt.percentile = 50;
  opt.min_keep = 2;
  std::vector<int> at = simulate(s, opt);
  EXPECT_EQ(at, (std::vector<int>{9, 9, -1, -1, -1}));
  // min_keep = 4 allows only one stop: the lowest goes first.
  opt.min_keep = 4;
  at = simulate(s, opt);
  EXPECT_EQ(at, (std::vector<int>{9, -1, -1, -1, -1}));
}

TEST(EarlyStop, WaitsForEveryRunningAgentToWarmUp) {
  // Agent 1 starts late (its stream is short and ends before warm-up): the threshold is set only when
  // every running agent has `warmup` tokens; finished agents count with their last value.
  std::vector<std::vector<double>> s = {std::vector<double>(30, 2.0), std::vector<double>(5, 9.0),
                                        std::vector<double>(30, 6.0)};
  EarlyStopOptions opt;
  opt.enabled = true;
  opt.window = 4;
  opt.warmup = 8;
  opt.percentile = 40;
  opt.min_keep = 1;
  const std::vector<int> at = simulate(s, opt);
  // Values at warm-up: agent 0 -> 2, agent 2 -> 6 (agent 1 finished with 5 < 8 tokens: not counted).
  // Threshold = 2 + 0.4 * 4 = 3.6: agent 0 stops at step 7 (its 8th token).
  EXPECT_EQ(at, (std::vector<int>{7, -1, -1}));
}

TEST(EarlyStop, DisabledStopsNobody) {
  std::vector<std::vector<double>> s = {std::vector<double>(20, 0.1), std::vector<double>(20, 9.0)};
  EarlyStopOptions opt;
  opt.window = 2;
  EXPECT_EQ(simulate(s, opt), (std::vector<int>{-1, -1}));
}

}  // namespace
}  // namespace muse::reason
