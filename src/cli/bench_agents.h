// `muse bench --agents N`: the cost of parallel agents (contemplating mode) against one agent.
//
// For k = 1, 2, 4, ..., N agents: prefill one prompt, park it, fork k agents from it and decode
// n_decode tokens each through engine::Scheduler (one batched forward pass per step). Reports the
// median time per decode step (the k-agent step reads every weight once, like the 1-agent step, so it
// should cost far less than k times as much), aggregate tokens/s, and KV pages: the prompt's pages
// (stored once, shared by every agent) and each agent's private pages. Repetitions are interleaved
// across k so that the ratios come from the same conditions on a shared machine.
// Errors: muse::Error for impossible sizes (from the scheduler and cache).
#pragma once

#include <cstdint>
#include <string>

#include "core/thread_pool.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace muse::cli {

struct AgentsBenchOptions {
  int max_agents = 8;
  int64_t n_prompt = 128;
  int64_t n_decode = 32;
  int reps = 3;
  model::KvType kv = model::KvType::kF16;
  bool json = false;
  bool profile = false;  // time the forward pass's phases over the steps of max_agents agents
};

void bench_agents(const model::Model& model, const std::string& name, core::ThreadPool& pool,
                  const AgentsBenchOptions& options);

}  // namespace muse::cli
