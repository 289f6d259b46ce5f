// Confidence of a reasoning trace from its token log-probabilities, and DeepConf-style early stopping
// of the parallel agents whose confidence falls below the group's.
//
// Token confidence (DeepConf): C_t = -(1/k) * sum_{j=1..k} log p_t(j) over the k most likely tokens at
// step t. A peaked distribution (the model is sure) has very negative log-probabilities for the
// runners-up, so C_t is high; a flat one (the model hesitates) gives a low C_t. A trace's confidence at step t
// is the mean C over a sliding window of the last W tokens ("group confidence"); its weight in a
// weighted vote is the lowest such window mean over the whole trace.
//
// EarlyStopper (the parallel version of DeepConf-online): once every agent has generated `warmup`
// tokens, the threshold is frozen at the p-th percentile of the agents' current window confidences;
// from then on, an agent whose window confidence is below it is stopped (lowest first), as long as at
// least `min_keep` agents keep running. Stopped agents free their KV slot and do not vote.
//
// Plain values; not thread-safe. Never throws (options are checked by reason::Request::validate).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "engine/sampler.h"

namespace muse::reason {

double token_confidence(std::span<const engine::TokenLogprob> top);

class ConfidenceWindow {
 public:
  explicit ConfidenceWindow(int window = 64) : window_(window > 0 ? window : 1) {}
  void push(double c);
  int64_t count() const { return count_; }
  bool full() const { return static_cast<int>(values_.size()) == window_; }
  double current() const;  // mean of the last `window` values (of all of them while fewer); 0 when empty
  double lowest() const;   // lowest current() seen since the window first filled (current() before)
  double mean() const { return count_ > 0 ? total_ / static_cast<double>(count_) : 0.0; }

 private:
  int window_;
  std::deque<double> values_;
  double sum_ = 0.0, total_ = 0.0;
  int64_t count_ = 0;
  std::optional<double> lowest_;
};

// Linear interpolation between closest ranks (numpy's default). REQUIRES: non-empty, 0 <= p <= 100.
double percentile(std::vector<double> values, double p);

struct EarlyStopOptions {
  bool enabled = false;
  int window = 64;          // tokens per confidence window
  int warmup = 0;           // tokens every agent generates before the threshold is set; 0: `window`
  double percentile = 10;   // the threshold's percentile of the agents' window confidences
  int min_keep = 2;         // never stop agents below this many running
};

class EarlyStopper {
 public:
  struct Agent {
    bool running = false;
    int64_t tokens = 0;    // generated so far
    double current = 0.0;  // window confidence now
  };

  explicit EarlyStopper(const EarlyStopOptions& options) : opt_(options) {}
  // Called after every step with every agent (running or not); returns the agents to stop now.
  std::vector<int> update(std::span<const Agent> agents);
  std::optional<double> threshold() const { return threshold_; }

 private:
  EarlyStopOptions opt_;
  std::optional<double> threshold_;
};

}  // namespace muse::reason
