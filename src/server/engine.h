// Engine: the server's continuous-batching core. It owns one Runner and one Scheduler over one model,
// a bounded queue of tasks, and `parallel` worker threads, each with its own reason::Reasoner bound to
// the shared scheduler.
//
// How requests share decode steps (the step gate): a worker runs its task's code (rendering, adding
// and forking sequences, reading results) while holding the engine mutex, so only one worker touches
// the scheduler at a time. Where a Reasoner would call scheduler.step(), the worker waits at the gate
// instead; when every active worker is waiting, the last one to arrive runs one Scheduler::step(),
// which advances the sequences of all of them in one batched forward pass, and wakes the rest. A new
// request's prompt chunk thus joins the running decode batch, and contemplating agents of different
// requests share steps too.
//
// Hooks and callbacks (reason::Request::on_delta, completion text) can run on any worker thread, while
// their own worker is blocked at the gate: they must only hand the text over (a queue with its own
// lock) and must not throw or block for long.
//
// Thread-safety: submit(), stats() and shutdown() may be called from any thread. Errors: submit()
// throws muse::Error(kUnavailable) when the queue is full or the engine is shutting down; a task's own
// exceptions are stored in the Task.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_pool.h"
#include "engine/scheduler.h"
#include "model/model.h"
#include "model/runner.h"
#include "reason/reasoner.h"
#include "text/tokenizer.h"
#include "tools/token_mask.h"
#include "tools/tool_calls.h"

namespace muse::server {

struct EngineOptions {
  int parallel = 4;        // tasks running at once (worker threads)
  int queue = 16;          // tasks waiting for a worker at most
  int max_agents = 8;      // most agents one contemplating request may use
  int64_t n_ctx = 4096;    // positions per sequence
  int64_t max_batch = 256;  // tokens per forward pass
  model::KvOptions kv;     // n_pages 0: every slot may fill its context
  std::string chat_template;  // Jinja source replacing the model's; empty: the model's (or built-in)
};

// A plain-text completion (no chat template, no thinking).
struct CompletionRequest {
  std::string prompt;
  int64_t max_tokens = 16;
  engine::SamplerParams sampling;
  std::vector<std::string> stop;
  std::function<void(std::string_view)> on_text;  // streamed text (stop strings already cut)
  std::function<bool()> should_cancel;
};

struct CompletionResult {
  std::string text;
  std::string finish = "stop";  // "stop" | "length" | "cancelled"
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

class Engine;
class Task;

// What a task's work function gets: its worker's Reasoner and a completion runner. Valid only inside
// the work function (on the worker thread, holding the engine's mutex).
class Slot {
 public:
  reason::Reasoner& reasoner() { return *reasoner_; }
  CompletionResult complete(const CompletionRequest& req);
  bool cancelled() const;  // the task's cancel flag (client gone, or shutdown past its grace)
  // The vocabulary's token trie for constrained decoding, built on first use (a 150k vocabulary takes
  // a moment). Shared by every sequence: use it only inside work functions and sequence hooks, which
  // the engine mutex serializes.
  const tools::TokenTrie& token_trie();

 private:
  friend class Engine;
  Engine* engine_ = nullptr;
  std::unique_lock<std::mutex>* lock_ = nullptr;
  reason::Reasoner* reasoner_ = nullptr;
  const Task* task_ = nullptr;
};

// One submitted piece of work. The submitter keeps a shared_ptr, may set cancel at any time, and waits
// for done.
class Task {
 public:
  std::atomic<bool> cancel{false};
  // Blocks until the task ran (or was dropped); returns false on timeout.
  bool wait_for(double seconds);
  void wait();
  bool started() const { return started_.load(); }
  bool done() const;
  std::exception_ptr error() const;  // what the work threw (or kUnavailable if dropped at shutdown)

 private:
  friend class Engine;
  std::function<void(Slot&)> work_;
  std::atomic<bool> started_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::exception_ptr error_;
  void finish(std::exception_ptr error);
};

struct EngineStats {
  int64_t queued = 0;
  int64_t active = 0;
  int64_t kv_pages_used = 0;
  int64_t kv_pages_total = 0;
  int64_t sequences = 0;  // holding a KV slot
  int64_t forward_calls = 0;
  int64_t batch_tokens = 0;  // tokens fed through the model, all steps
  int64_t step_errors = 0;
};

class Engine {
 public:
  // Borrows the model, tokenizer and pool (they must outlive it). Starts the workers.
  Engine(const model::Model& model, const text::Tokenizer& tok, core::ThreadPool& pool, const EngineOptions& options);
  ~Engine();  // shutdown(0)
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  std::shared_ptr<Task> submit(std::function<void(Slot&)> work);
  EngineStats stats() const;
  // Stops taking tasks, answers the queued ones kUnavailable, lets running ones finish for up to
  // grace_seconds, then cancels them, and joins the workers. Idempotent.
  void shutdown(double grace_seconds);
  bool stopping() const { return stopping_.load(); }

  const EngineOptions& options() const { return options_; }
  const text::Tokenizer& tokenizer() const { return tok_; }
  const model::Model& model() const { return model_; }
  bool has_think_tags() const { return has_think_tags_; }
  // How the model writes tool calls, from its chat template (tools::detect_tool_format).
  tools::ToolFormat tool_format() const { return tool_format_; }
  // The chat template's source (the model's, --chat-template's, or the built-in one).
  const std::string& template_source() const { return reasoners_.front()->format().template_source(); }

 private:
  friend class Slot;
  void worker_main(int index);
  // The gate; the caller holds mu_ through `lk`.
  void gate_step(std::unique_lock<std::mutex>& lk);
  void run_step();  // REQUIRES mu_ held

  const model::Model& model_;
  const text::Tokenizer& tok_;
  EngineOptions options_;
  model::Runner runner_;
  bool has_think_tags_ = false;
  tools::ToolFormat tool_format_ = tools::ToolFormat::kHermes;
  std::unique_ptr<tools::TokenTrie> trie_;  // GUARDED_BY(mu_); built by the first Slot::token_trie()

  // The engine mutex: guards the scheduler, the gate counters and running_. Held by a worker while it
  // runs its task's code or a step; released while it waits at the gate.
  mutable std::mutex mu_;
  std::condition_variable gate_cv_;   // a step finished, a worker left, or an entrant gave up
  std::unique_ptr<engine::Scheduler> sched_;
  int active_ = 0;   // workers inside a task
  int waiting_ = 0;  // of those, waiting at the gate
  uint64_t generation_ = 0;
  std::vector<std::shared_ptr<Task>> running_;
  // Workers that took a task and wait for mu_ to join: no step runs while one waits, so a new request
  // joins the very next forward pass instead of starving behind a running one.
  std::atomic<int> pending_{0};

  // The queue has its own mutex, so that submit() never waits for a forward pass.
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;  // a task arrived, or stopping
  std::deque<std::shared_ptr<Task>> queue_;
  std::atomic<int> busy_{0};       // workers holding a task
  std::atomic<int64_t> queued_{0};
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> workers_;
  std::vector<std::unique_ptr<reason::Reasoner>> reasoners_;  // one per worker
  std::vector<std::unique_lock<std::mutex>*> locks_;           // worker i's lock while it runs a task

  // A snapshot after every step, so stats() never waits for a forward pass.
  mutable std::mutex stats_mu_;
  EngineStats snap_;
  void snapshot();  // REQUIRES mu_ held
};

}  // namespace muse::server
