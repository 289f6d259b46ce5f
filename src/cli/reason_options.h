// Flags shared by the commands that run the reasoning modes (chat, eval): mode, agents, budgets,
// sampling, aggregation, and one place that turns them into a reason::Request and ReasonerOptions.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/model_options.h"
#include "engine/sampler.h"
#include "reason/reasoner.h"
#include "tools/agent_loop.h"

namespace muse::cli {

struct ReasonFlags {
  std::string mode = "thinking";
  int agents = 8;
  int64_t think_budget = 1024;
  int64_t max_tokens = 2048;
  std::string aggregate = "vote";
  bool refine = false;
  bool early_stop = false;
  double early_stop_percentile = 10;
  std::string answer_regex;
  std::vector<std::string> stop;
  engine::SamplerParams sampler = defaults();
  int64_t seed = -1;
  std::string chat_template_file;

  // modes_flag: whether --mode accepts a comma-separated list (eval) or one mode (chat).
  void add_to(CLI::App* cmd, bool modes_flag = false);
  // The request for one mode (messages left empty); the seed is resolved once per call.
  reason::Request request(reason::Mode mode, uint64_t seed) const;
  reason::ReasonerOptions reasoner(const ModelOptions& model, const model::HParams& hp, int max_agents) const;
  uint64_t resolved_seed() const;

 private:
  // Qwen3's recommended sampling for thinking: temperature 0.6, top-k 20, top-p 0.95, no min-p.
  static engine::SamplerParams defaults();
};

// The model, its tokenizer and a thread pool, loaded once for a command.
struct LoadedModel {
  std::unique_ptr<model::Model> model;
  std::unique_ptr<text::Tokenizer> tok;
  std::unique_ptr<core::ThreadPool> pool;
};
LoadedModel load_for_reasoning(const ModelOptions& options);

// The agent loop's options for this model: the call format and whether the chat template renders the
// tools itself, both read from the template the reasoner uses (--chat-template, else the model's).
tools::AgentLoopOptions agent_loop_options(const reason::Reasoner& reasoner, const LoadedModel& m, int max_steps);

}  // namespace muse::cli
