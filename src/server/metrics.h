// Metrics: the counters and histograms of `muse serve`, rendered in the Prometheus text format 0.0.4
// at GET /metrics (docs/server.md lists them). Thread-safe: every method locks.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "server/engine.h"

namespace muse::server {

class Metrics {
 public:
  void request(const std::string& endpoint, int status, double seconds);
  void tokens(int64_t prompt, int64_t completion, int64_t reasoning);
  void first_token(double seconds);
  void cancelled();
  std::string render(const EngineStats& engine) const;

 private:
  static constexpr std::array<double, 12> kBuckets = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
  struct Histogram {
    std::array<int64_t, kBuckets.size()> counts{};  // cumulative at render time, per bucket here
    int64_t count = 0;
    double sum = 0.0;
    void observe(double v);
    void render(std::string& out, const char* name, const char* help) const;
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, int64_t> requests_;
  int64_t prompt_tokens_ = 0, completion_tokens_ = 0, reasoning_tokens_ = 0, cancelled_ = 0;
  Histogram duration_, ttft_;
};

}  // namespace muse::server
