// Reasoner: runs a chat request in one of the three modes on one model (see docs/modes.md).
//
//   reason::ReasonerOptions opts;                     // n_ctx 4096, max_agents 8, ...
//   reason::Reasoner r(*model, *tokenizer, pool, opts);
//   reason::Request req;  req.messages = {{"user", "What is 17 * 23?"}};  req.mode = Mode::kContemplating;
//   reason::Result res = r.run(req);   // res.content, res.agents[i].usage, res.timing ...
//
//   instant        one agent, no thinking phase;
//   thinking       one agent, a thinking phase within think_budget, then the answer;
//   contemplating  the prompt is prefilled once and parked; N agents fork from it (sharing its KV pages),
//                  each with its own seed and temperature, and advance together in one batched forward
//                  pass per step; optional DeepConf early stopping; optional refinement round; then
//                  vote / weighted / synthesize.
// Between requests the last prompt stays parked: a new prompt that starts with the same tokens (the
// next turn of a chat, a refinement) forks from it instead of recomputing them.
//
// Ownership: borrows the model, tokenizer and pool (they must outlive it); owns a Runner and a
// Scheduler. Single-threaded: one run() at a time.
// Shared mode (the server's continuous batching): the second constructor borrows a Scheduler that
// other Reasoners use too and calls `step` wherever it would call scheduler.step(); the caller makes
// step() advance every Reasoner's sequences together and serializes all other use of the scheduler
// (see server/engine.h). The scheduler then needs max_seqs >= max_agents + 2 per Reasoner. max_tokens is lowered (with a note in the result)
// when prompt + max_tokens would not fit the context. Errors: bad requests throw kInvalidArgument, a
// prompt that leaves no room in the context kOutOfRange, template problems text::TemplateError; after a
// throw the Reasoner is still usable.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "engine/scheduler.h"
#include "model/model.h"
#include "model/runner.h"
#include "reason/chat_format.h"
#include "reason/request.h"
#include "text/tokenizer.h"

namespace muse::reason {

struct ReasonerOptions {
  int64_t n_ctx = 4096;    // positions per sequence (prompt + generated)
  int max_agents = 8;      // most agents a contemplating request may ask for
  int64_t max_batch = 256;
  model::KvOptions kv;
  std::string chat_template;  // Jinja source replacing the model's; empty: the model's (or built-in)
};

class Reasoner {
 public:
  Reasoner(const model::Model& model, const text::Tokenizer& tok, core::ThreadPool& pool,
           const ReasonerOptions& options = {});
  Reasoner(const model::Model& model, const text::Tokenizer& tok, engine::Scheduler& shared,
           std::function<void()> step, const ReasonerOptions& options = {});
  ~Reasoner();

  Result run(const Request& request);

  const ChatFormat& format() const { return format_; }
  const engine::Scheduler& scheduler() const { return *sched_; }
  const ReasonerOptions& options() const { return options_; }

 private:
  struct AgentRun;
  struct Pass;
  engine::SeqId acquire_prompt(const std::vector<int32_t>& tokens, Result& res);
  void run_pass(Pass& pass, const Request& req, Result& res);
  AgentSetup setup_for(const Request& req, bool thinking, int64_t think_limit, bool with_cue) const;
  std::vector<int32_t> encode_fragment(const std::string& text) const;
  void init();
  void step();

  const model::Model& model_;
  const text::Tokenizer& tok_;
  ReasonerOptions options_;
  std::unique_ptr<model::Runner> runner_;         // own mode only
  std::unique_ptr<engine::Scheduler> owned_sched_;  // own mode only
  engine::Scheduler* sched_ = nullptr;
  std::function<void()> step_;                     // shared mode: advances the shared scheduler
  ChatFormat format_;
  std::vector<int32_t> eog_;
  engine::SeqId cached_ = -1;          // the last prompt, parked
  std::vector<int32_t> cached_tokens_;
};

}  // namespace muse::reason
