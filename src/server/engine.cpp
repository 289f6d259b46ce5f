#include "server/engine.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "core/error.h"
#include "engine/stop_strings.h"

namespace muse::server {

// ---------------------------------------------------------------------------------------------- Task

bool Task::wait_for(double seconds) {
  std::unique_lock<std::mutex> lk(mu_);
  return cv_.wait_for(lk, std::chrono::duration<double>(seconds), [&] { return done_; });
}

void Task::wait() {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [&] { return done_; });
}

bool Task::done() const {
  std::lock_guard<std::mutex> lk(mu_);
  return done_;
}

std::exception_ptr Task::error() const {
  std::lock_guard<std::mutex> lk(mu_);
  return error_;
}

void Task::finish(std::exception_ptr error) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    done_ = true;
    error_ = std::move(error);
  }
  cv_.notify_all();
}

// -------------------------------------------------------------------------------------------- Engine

Engine::Engine(const model::Model& model, const text::Tokenizer& tok, core::ThreadPool& pool,
               const EngineOptions& options)
    : model_(model), tok_(tok), options_(options), runner_(model, pool) {
  if (options.parallel < 1 || options.parallel > 256) {
    fail(ErrorCode::kInvalidArgument, "parallel must be in 1..256 (got {})", options.parallel);
  }
  if (options.queue < 0) fail(ErrorCode::kInvalidArgument, "queue must be >= 0 (got {})", options.queue);
  engine::SchedulerOptions so;
  so.n_ctx = options.n_ctx;
  // Per worker: its agents, its parked prompt and the previous one while it is replaced.
  so.max_seqs = static_cast<int64_t>(options.parallel) * (options.max_agents + 2);
  so.max_batch = options.max_batch;
  so.kv = options.kv;
  sched_ = std::make_unique<engine::Scheduler>(runner_, so);
  reason::ReasonerOptions ro;
  ro.n_ctx = options.n_ctx;
  ro.max_agents = options.max_agents;
  ro.max_batch = options.max_batch;
  ro.kv = options.kv;
  ro.chat_template = options.chat_template;
  locks_.assign(static_cast<size_t>(options.parallel), nullptr);
  for (int i = 0; i < options.parallel; ++i) {
    reasoners_.push_back(std::make_unique<reason::Reasoner>(
        model, tok, *sched_, [this, i] { gate_step(*locks_[static_cast<size_t>(i)]); }, ro));
  }
  has_think_tags_ = reasoners_.front()->format().tags().available();
  tool_format_ = tools::detect_tool_format(template_source());
  {
    std::lock_guard<std::mutex> lk(mu_);
    snapshot();
  }
  for (int i = 0; i < options.parallel; ++i) workers_.emplace_back([this, i] { worker_main(i); });
}

Engine::~Engine() {
  shutdown(0.0);
  std::lock_guard<std::mutex> lk(mu_);
  reasoners_.clear();  // their parked prompts go back to the scheduler
}

std::shared_ptr<Task> Engine::submit(std::function<void(Slot&)> work) {
  auto task = std::make_shared<Task>();
  task->work_ = std::move(work);
  {
    std::lock_guard<std::mutex> lk(queue_mu_);
    if (stopping_) fail(ErrorCode::kUnavailable, "the server is shutting down");
    // (the server tells the two kUnavailable cases apart by stopping())
    const int idle = options_.parallel - busy_.load();
    if (static_cast<int>(queue_.size()) >= options_.queue + std::max(0, idle)) {
      fail(ErrorCode::kUnavailable, "the queue is full ({} requests waiting); retry later", queue_.size());
    }
    queue_.push_back(task);
    queued_ = static_cast<int64_t>(queue_.size());
  }
  {
    std::lock_guard<std::mutex> lk(stats_mu_);
    snap_.queued = queued_.load();
  }
  queue_cv_.notify_one();
  return task;
}

EngineStats Engine::stats() const {
  std::lock_guard<std::mutex> lk(stats_mu_);
  return snap_;
}

void Engine::snapshot() {
  std::lock_guard<std::mutex> lk(stats_mu_);
  snap_.queued = queued_.load();
  snap_.active = static_cast<int64_t>(running_.size());
  snap_.kv_pages_used = sched_->cache().pages_in_use();
  snap_.kv_pages_total = sched_->cache().n_pages();
  snap_.sequences = static_cast<int64_t>(locks_.size()) * (options_.max_agents + 2) - sched_->free_slots();
  snap_.forward_calls = sched_->stats().forward_calls;
  snap_.batch_tokens = sched_->stats().prompt_tokens_fed + sched_->stats().generated_tokens_fed;
}

void Engine::run_step() {
  try {
    sched_->step();
  } catch (const std::exception& e) {
    // A hook of some sequence threw; the scheduler stays consistent. Keep serving.
    std::fprintf(stderr, "muse serve: engine step failed: %s\n", e.what());
    std::lock_guard<std::mutex> lk(stats_mu_);
    snap_.step_errors += 1;
  }
  waiting_ = 0;
  ++generation_;
  snapshot();
  gate_cv_.notify_all();
}

void Engine::gate_step(std::unique_lock<std::mutex>& lk) {
  MUSE_ASSERT(lk.owns_lock());
  ++waiting_;
  const uint64_t gen = generation_;
  for (;;) {
    if (generation_ != gen) return;  // another worker ran the step that advanced ours
    if (waiting_ == active_ && pending_.load() == 0) {
      run_step();
      return;
    }
    gate_cv_.wait(lk);
  }
}

void Engine::worker_main(int index) {
  for (;;) {
    std::shared_ptr<Task> task;
    {
      std::unique_lock<std::mutex> q(queue_mu_);
      queue_cv_.wait(q, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and nothing left
      task = std::move(queue_.front());
      queue_.pop_front();
      queued_ = static_cast<int64_t>(queue_.size());
      ++busy_;
      ++pending_;
    }
    std::unique_lock<std::mutex> lk(mu_);
    --pending_;
    if (task->cancel) {  // its client left while it waited
      --busy_;
      snapshot();
      gate_cv_.notify_all();
      lk.unlock();
      task->finish(nullptr);
      continue;
    }
    task->started_ = true;
    running_.push_back(task);
    ++active_;
    locks_[static_cast<size_t>(index)] = &lk;
    snapshot();
    Slot slot;
    slot.engine_ = this;
    slot.lock_ = &lk;
    slot.reasoner_ = reasoners_[static_cast<size_t>(index)].get();
    slot.task_ = task.get();
    std::exception_ptr error;
    try {
      task->work_(slot);
    } catch (...) {
      error = std::current_exception();
    }
    MUSE_ASSERT(lk.owns_lock());
    locks_[static_cast<size_t>(index)] = nullptr;
    --active_;
    running_.erase(std::find(running_.begin(), running_.end(), task));
    --busy_;
    snapshot();
    gate_cv_.notify_all();  // the others may all be waiting for this one to reach the gate
    lk.unlock();
    task->work_ = nullptr;
    task->finish(error);
  }
}

void Engine::shutdown(double grace_seconds) {
  std::deque<std::shared_ptr<Task>> dropped;
  {
    std::lock_guard<std::mutex> lk(queue_mu_);
    if (workers_.empty()) return;
    stopping_ = true;
    dropped.swap(queue_);
    queued_ = 0;
  }
  queue_cv_.notify_all();
  for (auto& t : dropped) {
    t->finish(std::make_exception_ptr(Error(ErrorCode::kUnavailable, "the server is shutting down")));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(std::max(0.0, grace_seconds));
  // Wait for the running tasks; past the grace period, cancel them (they end at their next step).
  for (;;) {
    std::vector<std::shared_ptr<Task>> running;
    {
      std::lock_guard<std::mutex> lk(mu_);
      running = running_;
    }
    if (running.empty() && busy_.load() == 0) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      for (auto& t : running) t->cancel = true;
    }
    if (!running.empty()) {
      running.front()->wait_for(0.02);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a task between the queue and its start
    }
  }
  for (std::thread& w : workers_) w.join();
  std::lock_guard<std::mutex> lk(mu_);
  workers_.clear();
  snapshot();
}

// ---------------------------------------------------------------------------------------------- Slot

bool Slot::cancelled() const { return task_->cancel.load(); }

const tools::TokenTrie& Slot::token_trie() {
  MUSE_ASSERT(lock_->owns_lock());
  if (!engine_->trie_) engine_->trie_ = tools::TokenTrie::from_tokenizer(engine_->tok_);
  return *engine_->trie_;
}

CompletionResult Slot::complete(const CompletionRequest& req) {
  engine::Scheduler& sched = *engine_->sched_;
  const text::Tokenizer& tok = engine_->tok_;
  if (req.prompt.empty()) fail(ErrorCode::kInvalidArgument, "prompt: must not be empty");
  if (req.max_tokens < 1) fail(ErrorCode::kInvalidArgument, "max_tokens: must be >= 1 (got {})", req.max_tokens);
  req.sampling.validate();
  CompletionResult res;
  engine::SeqConfig c;
  c.prompt = tok.encode(req.prompt, /*add_special=*/true, /*parse_special=*/false);
  if (c.prompt.empty()) fail(ErrorCode::kInvalidArgument, "prompt: encodes to no tokens");
  const int64_t room = sched.n_ctx() - static_cast<int64_t>(c.prompt.size());
  if (room < 1) {
    fail(ErrorCode::kOutOfRange, "the prompt ({} tokens) leaves no room in the context size {}", c.prompt.size(),
         sched.n_ctx());
  }
  res.prompt_tokens = static_cast<int64_t>(c.prompt.size());
  c.max_new_tokens = std::min(req.max_tokens, room);
  c.sampler = req.sampling;
  c.is_eog = [&tok](int32_t t) { return tok.is_eog(t); };
  text::StreamDecoder dec(tok);
  engine::StopMatcher stops(req.stop);
  auto emit = [&](const std::string& text) {
    if (text.empty()) return;
    res.text += text;
    if (req.on_text) req.on_text(text);
  };
  c.on_token = [&](const engine::TokenEvent& ev) {
    engine::Directive d;
    emit(stops.push(dec.push(ev.token)));
    d.stop = stops.stopped();
    return d;
  };
  const engine::SeqId id = sched.add(std::move(c));
  struct Forget {
    engine::Scheduler& s;
    engine::SeqId id;
    ~Forget() { s.forget(id); }
  } forget{sched, id};
  bool cancelled = false;
  while (sched.running(id)) {
    engine_->gate_step(*lock_);
    if (req.should_cancel && req.should_cancel()) {
      sched.cancel(id);
      cancelled = true;
    }
  }
  if (!stops.stopped()) {
    emit(stops.push(dec.flush()));
    emit(stops.flush());
  }
  const engine::SeqInfo& info = sched.info(id);
  res.completion_tokens = info.usage.generated();
  res.finish = cancelled ? "cancelled"
               : info.finish == engine::FinishReason::kEog || info.finish == engine::FinishReason::kStop ? "stop"
                                                                                                       : "length";
  return res;
}

}  // namespace muse::server
