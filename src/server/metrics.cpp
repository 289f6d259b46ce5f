#include "server/metrics.h"

#include <fmt/format.h>

namespace muse::server {

void Metrics::Histogram::observe(double v) {
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (v <= kBuckets[i]) {
      ++counts[i];
      break;
    }
  }
  ++count;
  sum += v;
}

void Metrics::Histogram::render(std::string& out, const char* name, const char* help) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  int64_t cumulative = 0;
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    cumulative += counts[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, kBuckets[i], cumulative);
  }
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, count, name, sum, name, count);
}

void Metrics::request(const std::string& endpoint, int status, double seconds) {
  std::lock_guard<std::mutex> lk(mu_);
  ++requests_[{endpoint, status}];
  duration_.observe(seconds);
}

void Metrics::tokens(int64_t prompt, int64_t completion, int64_t reasoning) {
  std::lock_guard<std::mutex> lk(mu_);
  prompt_tokens_ += prompt;
  completion_tokens_ += completion;
  reasoning_tokens_ += reasoning;
}

void Metrics::first_token(double seconds) {
  std::lock_guard<std::mutex> lk(mu_);
  ttft_.observe(seconds);
}

void Metrics::cancelled() {
  std::lock_guard<std::mutex> lk(mu_);
  ++cancelled_;
}

std::string Metrics::render(const EngineStats& e) const {
  std::lock_guard<std::mutex> lk(mu_);
  std::string out;
  out += "# HELP muse_requests_total HTTP requests by endpoint and status.\n# TYPE muse_requests_total counter\n";
  for (const auto& [k, v] : requests_) {
    out += fmt::format("muse_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", k.first, k.second, v);
  }
  auto counter = [&](const char* name, const char* help, int64_t v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, v);
  };
  auto gauge = [&](const char* name, const char* help, int64_t v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{} {}\n", name, help, name, name, v);
  };
  counter("muse_prompt_tokens_total", "Prompt tokens of finished requests.", prompt_tokens_);
  counter("muse_completion_tokens_total", "Generated tokens (all agents, thinking included).", completion_tokens_);
  counter("muse_reasoning_tokens_total", "Generated thinking tokens (with forced wrap-up tokens).", reasoning_tokens_);
  counter("muse_cancelled_total", "Requests cancelled because the client disconnected.", cancelled_);
  counter("muse_forward_passes_total", "Batched forward passes of the engine.", e.forward_calls);
  counter("muse_batch_tokens_total", "Tokens fed through the model in all forward passes.", e.batch_tokens);
  counter("muse_engine_step_errors_total", "Engine steps that failed (a sequence hook threw).", e.step_errors);
  gauge("muse_requests_active", "Requests generating now.", e.active);
  gauge("muse_queue_depth", "Requests waiting for a free slot.", e.queued);
  gauge("muse_sequences_active", "Scheduler sequences holding a KV slot (agents, parked prompts).", e.sequences);
  gauge("muse_kv_pages_used", "KV cache pages in use.", e.kv_pages_used);
  gauge("muse_kv_pages_total", "KV cache pages in the pool.", e.kv_pages_total);
  duration_.render(out, "muse_request_duration_seconds", "End-to-end request time.");
  ttft_.render(out, "muse_time_to_first_token_seconds", "Time until the first streamed token.");
  return out;
}

}  // namespace muse::server
