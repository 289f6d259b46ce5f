#include "reason/confidence.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace muse::reason {

double token_confidence(std::span<const engine::TokenLogprob> top) {
  if (top.empty()) return 0.0;
  double sum = 0.0;
  for (const auto& t : top) sum += std::isfinite(t.logprob) ? t.logprob : -100.0;  // -inf: a banned token
  return -sum / static_cast<double>(top.size());
}

void ConfidenceWindow::push(double c) {
  values_.push_back(c);
  sum_ += c;
  total_ += c;
  ++count_;
  if (static_cast<int>(values_.size()) > window_) {
    sum_ -= values_.front();
    values_.pop_front();
  }
  if (full()) lowest_ = lowest_ ? std::min(*lowest_, current()) : current();
}

double ConfidenceWindow::current() const {
  return values_.empty() ? 0.0 : sum_ / static_cast<double>(values_.size());
}

double ConfidenceWindow::lowest() const { return lowest_ ? *lowest_ : current(); }

double percentile(std::vector<double> values, double p) {
  MUSE_ASSERT(!values.empty() && p >= 0.0 && p <= 100.0);
  std::sort(values.begin(), values.end());
  const double rank = p / 100.0 * static_cast<double>(values.size() - 1);  // 0-based fractional rank
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (rank - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

std::vector<int> EarlyStopper::update(std::span<const Agent> agents) {
  std::vector<int> stop;
  if (!opt_.enabled || agents.empty()) return stop;
  const int64_t warmup = opt_.warmup > 0 ? opt_.warmup : opt_.window;
  if (!threshold_) {
    // Frozen once every running agent has warmed up; finished agents vote with their last value.
    std::vector<double> values;
    for (const Agent& a : agents) {
      if (a.running && a.tokens < warmup) return stop;
      if (a.tokens >= warmup) values.push_back(a.current);
    }
    if (values.size() < 2) return stop;  // nothing to compare against
    threshold_ = percentile(values, opt_.percentile);
  }
  int running = 0;
  std::vector<std::pair<double, int>> below;
  for (size_t i = 0; i < agents.size(); ++i) {
    const Agent& a = agents[i];
    if (!a.running) continue;
    ++running;
    if (a.tokens >= warmup && a.current < *threshold_) below.push_back({a.current, static_cast<int>(i)});
  }
  std::sort(below.begin(), below.end());
  for (const auto& [c, i] : below) {
    if (running <= opt_.min_keep) break;
    stop.push_back(i);
    --running;
  }
  return stop;
}

}  // namespace muse::reason
