#include "engine/scheduler.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace muse::engine {

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::kNone: return "none";
    case FinishReason::kEog: return "eog";
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kContext: return "context";
    case FinishReason::kNoMemory: return "no_memory";
    case FinishReason::kCancelled: return "cancelled";
  }
  return "?";
}

struct Scheduler::Seq {
  SeqInfo info;
  SeqConfig config;
  int32_t slot = -1;
  Sampler sampler;
  std::vector<int32_t> ban;
  // Logits that predict the token after tokens[0, logits_at): kept by parked sequences for forks, and
  // by fresh forks until their first sample.
  std::vector<float> kept_logits;
  int64_t logits_at = -1;
  bool pending_sample = false;

  explicit Seq(SeqConfig c) : config(std::move(c)), sampler(config.sampler), ban(config.ban) {}
};

Scheduler::Scheduler(model::Runner& runner, const SchedulerOptions& options) : runner_(runner), options_(options) {
  if (options.n_ctx <= 0) fail(ErrorCode::kInvalidArgument, "scheduler: context size must be > 0 (got {})", options.n_ctx);
  if (options.max_seqs <= 0 || options.max_seqs > 4096) {
    fail(ErrorCode::kInvalidArgument, "scheduler: sequence slots must be in 1..4096 (got {})", options.max_seqs);
  }
  if (options.max_batch <= 0) fail(ErrorCode::kInvalidArgument, "scheduler: batch size must be > 0 (got {})", options.max_batch);
  cache_ = std::make_unique<model::KvCache>(runner.model().hparams(), options.n_ctx, options.max_seqs, options.kv);
  for (int64_t i = options.max_seqs - 1; i >= 0; --i) free_slots_.push_back(static_cast<int32_t>(i));
}

Scheduler::~Scheduler() = default;

Scheduler::Seq& Scheduler::get(SeqId id) {
  auto it = seqs_.find(id);
  if (it == seqs_.end()) fail(ErrorCode::kNotFound, "scheduler: no sequence {}", id);
  return *it->second;
}

const Scheduler::Seq& Scheduler::get(SeqId id) const {
  auto it = seqs_.find(id);
  if (it == seqs_.end()) fail(ErrorCode::kNotFound, "scheduler: no sequence {}", id);
  return *it->second;
}

const SeqInfo& Scheduler::info(SeqId id) const { return get(id).info; }

bool Scheduler::running(SeqId id) const {
  const SeqState st = get(id).info.state;
  return st == SeqState::kRunning || st == SeqState::kWaiting;
}

bool Scheduler::has_work() const { return !order_.empty(); }

void Scheduler::validate(const SeqConfig& c, const char* what) const {
  const int64_t V = runner_.model().hparams().n_vocab;
  c.sampler.validate();
  if (c.max_new_tokens < 0) fail(ErrorCode::kInvalidArgument, "{}: max_new_tokens must be >= 0 (got {})", what, c.max_new_tokens);
  if (c.top_logprobs < 0 || c.top_logprobs > V) {
    fail(ErrorCode::kInvalidArgument, "{}: top_logprobs must be in 0..{} (got {})", what, V, c.top_logprobs);
  }
  for (size_t i = 0; i < c.prompt.size(); ++i) {
    if (c.prompt[i] < 0 || c.prompt[i] >= V) {
      fail(ErrorCode::kInvalidArgument, "{}: prompt token {} at index {} is outside the vocabulary (0..{})", what,
           c.prompt[i], i, V - 1);
    }
  }
  for (int32_t t : c.ban) {
    if (t < 0 || t >= V) fail(ErrorCode::kInvalidArgument, "{}: banned token {} is outside the vocabulary", what, t);
  }
}

SeqId Scheduler::admit(std::unique_ptr<Seq> seq) {
  const SeqId id = next_id_++;
  seq->info.id = id;
  seq->info.state = SeqState::kRunning;
  order_.push_back(id);
  seqs_.emplace(id, std::move(seq));
  return id;
}

SeqId Scheduler::add(SeqConfig config) {
  validate(config, "add");
  if (config.prompt.empty()) fail(ErrorCode::kInvalidArgument, "add: the prompt is empty (no tokens to start from)");
  if (static_cast<int64_t>(config.prompt.size()) > options_.n_ctx) {
    fail(ErrorCode::kOutOfRange, "add: the prompt ({} tokens) exceeds the context size {}", config.prompt.size(),
         options_.n_ctx);
  }
  if (free_slots_.empty()) {
    fail(ErrorCode::kOutOfRange, "add: all {} sequence slots are in use", options_.max_seqs);
  }
  auto s = std::make_unique<Seq>(std::move(config));
  s->info.tokens = s->config.prompt;
  s->info.n_prefix = static_cast<int64_t>(s->info.tokens.size());
  s->info.usage.prompt_tokens = s->info.n_prefix;
  s->slot = free_slots_.back();
  free_slots_.pop_back();
  return admit(std::move(s));
}

SeqId Scheduler::fork(SeqId parent, int64_t n_shared, SeqConfig config) {
  validate(config, "fork");
  const Seq& p = get(parent);
  if (p.info.state == SeqState::kFinished) {
    fail(ErrorCode::kNotFound, "fork: sequence {} has finished and released its cache (park it to fork later)", parent);
  }
  const int64_t n_parent = static_cast<int64_t>(p.info.tokens.size());
  const int64_t n = n_shared < 0 ? n_parent : n_shared;
  if (n > n_parent) {
    fail(ErrorCode::kInvalidArgument, "fork: {} shared tokens requested but sequence {} has {}", n, parent, n_parent);
  }
  auto s = std::make_unique<Seq>(std::move(config));
  s->info.parent = parent;
  s->info.tokens.assign(p.info.tokens.begin(), p.info.tokens.begin() + n);
  s->info.tokens.insert(s->info.tokens.end(), s->config.prompt.begin(), s->config.prompt.end());
  const int64_t total = static_cast<int64_t>(s->info.tokens.size());
  if (total == 0) fail(ErrorCode::kInvalidArgument, "fork: no shared tokens and an empty prompt");
  if (total > options_.n_ctx) {
    fail(ErrorCode::kOutOfRange, "fork: {} tokens exceed the context size {}", total, options_.n_ctx);
  }
  if (free_slots_.empty()) fail(ErrorCode::kOutOfRange, "fork: all {} sequence slots are in use", options_.max_seqs);

  int64_t share = std::min(n, p.info.n_cached);
  if (share == total) {
    // Nothing left to feed: sample from the parent's kept logits, or recompute the last token.
    if (p.logits_at == total && !p.kept_logits.empty()) {
      s->kept_logits = p.kept_logits;
      s->logits_at = total;
      s->pending_sample = true;
    } else {
      --share;
    }
  }
  s->info.n_prefix = total;
  s->info.n_cached = share;
  s->info.usage.shared_tokens = share;
  s->info.usage.prompt_tokens = total - share;
  s->slot = free_slots_.back();
  free_slots_.pop_back();
  cache_->fork(p.slot, s->slot, share);
  return admit(std::move(s));
}

void Scheduler::finish(Seq& s, FinishReason reason) {
  s.info.finish = reason;
  s.pending_sample = false;
  order_.erase(std::remove(order_.begin(), order_.end(), s.info.id), order_.end());
  if (s.config.park && reason != FinishReason::kCancelled && reason != FinishReason::kNoMemory) {
    s.info.state = SeqState::kParked;
    return;
  }
  s.info.state = SeqState::kFinished;
  s.kept_logits.clear();
  s.kept_logits.shrink_to_fit();
  s.logits_at = -1;
  if (s.slot >= 0) {
    cache_->release(s.slot);
    free_slots_.push_back(s.slot);
    s.slot = -1;
  }
}

void Scheduler::cancel(SeqId id) {
  Seq& s = get(id);
  if (s.info.state == SeqState::kFinished) return;
  if (s.info.state == SeqState::kParked) {
    s.config.park = false;  // release now, keep the reason it finished for
    finish(s, s.info.finish);
    return;
  }
  finish(s, FinishReason::kCancelled);
}

void Scheduler::forget(SeqId id) {
  cancel(id);
  seqs_.erase(id);
}

// Chooses the next token of `s` from `logits` (the row predicting tokens.size()) and applies the hook.
void Scheduler::sample(Seq& s, std::span<const float> logits) {
  SeqInfo& in = s.info;
  const int64_t n_tokens = static_cast<int64_t>(in.tokens.size());
  auto keep_logits = [&] {
    if (!s.config.park) return;
    s.kept_logits.assign(logits.begin(), logits.end());
    s.logits_at = n_tokens;
  };
  if (in.usage.generated() >= s.config.max_new_tokens) {  // prefill only
    keep_logits();
    finish(s, FinishReason::kLength);
    return;
  }
  std::span<const float> use = logits;
  if (!s.ban.empty()) {
    masked_.assign(logits.begin(), logits.end());
    for (int32_t t : s.ban) masked_[t] = -std::numeric_limits<float>::infinity();
    use = masked_;
  }
  const Sampled sm = s.sampler.sample(use, in.tokens);
  ++stats_.samples;
  if (s.config.is_eog && s.config.is_eog(sm.token)) {
    keep_logits();
    finish(s, FinishReason::kEog);
    return;
  }
  in.tokens.push_back(sm.token);
  ++in.usage.sampled_tokens;

  Directive d;
  if (s.config.on_token) {
    TokenEvent ev;
    ev.seq = in.id;
    ev.token = sm.token;
    ev.logprob = s.ban.empty() ? sm.logprob : Sampler::logprob_of(logits, sm.token);
    ev.index = in.usage.generated() - 1;
    std::vector<TokenLogprob> top;
    if (s.config.top_logprobs > 0) {
      top = Sampler::top_logprobs(logits, s.config.top_logprobs);
      ev.top = top;
    }
    d = s.config.on_token(ev);
  }
  if (d.ban) {
    const int64_t V = static_cast<int64_t>(logits.size());
    s.ban.clear();
    for (int32_t t : *d.ban) {
      if (t >= 0 && t < V) s.ban.push_back(t);
    }
  }
  for (int32_t t : d.force) {
    if (in.usage.generated() >= s.config.max_new_tokens || static_cast<int64_t>(in.tokens.size()) >= options_.n_ctx) break;
    MUSE_ASSERT(t >= 0 && t < static_cast<int64_t>(logits.size()));
    in.tokens.push_back(t);
    ++in.usage.forced_tokens;
  }
  if (d.stop) {
    finish(s, FinishReason::kStop);
  } else if (in.usage.generated() >= s.config.max_new_tokens) {
    finish(s, FinishReason::kLength);
  } else if (static_cast<int64_t>(in.tokens.size()) > options_.n_ctx) {
    finish(s, FinishReason::kContext);
  }
}

int64_t Scheduler::step() {
  // Fresh forks of a parked prompt sample their first token from the kept logits (no forward pass).
  for (SeqId id : std::vector<SeqId>(order_)) {
    Seq& s = get(id);
    if (!s.pending_sample) continue;
    s.pending_sample = false;
    std::vector<float> logits = std::move(s.kept_logits);
    s.kept_logits.clear();
    s.logits_at = -1;
    sample(s, logits);
  }

  struct Part {
    Seq* s;
    int64_t begin, end;
  };
  std::vector<Part> parts;
  for (;;) {
    parts.clear();
    batch_.clear();
    int64_t room = options_.max_batch, pages_left = cache_->free_pages();
    // Decoding sequences first (latency of running requests), then prompt chunks, oldest first.
    for (int pass = 0; pass < 2; ++pass) {
      for (SeqId id : order_) {
        Seq& s = get(id);
        const bool decoding = s.info.n_cached >= s.info.n_prefix;
        if (decoding != (pass == 0) || room == 0) continue;
        const int64_t left = static_cast<int64_t>(s.info.tokens.size()) - s.info.n_cached;
        MUSE_ASSERT(left > 0);
        const int64_t take = std::min(left, room);
        const int64_t pages = cache_->pages_needed(s.slot, s.info.n_cached, s.info.n_cached + take);
        if (pages > pages_left) {
          s.info.state = SeqState::kWaiting;
          continue;
        }
        s.info.state = SeqState::kRunning;
        pages_left -= pages;
        room -= take;
        for (int64_t i = s.info.n_cached; i < s.info.n_cached + take; ++i) {
          batch_.push_back({s.info.tokens[i], static_cast<int32_t>(i), s.slot, i + 1 == s.info.n_cached + left});
        }
        parts.push_back({&s, s.info.n_cached, s.info.n_cached + take});
      }
    }
    if (!batch_.empty() || order_.empty()) break;
    // Every live sequence waits for pages that only finishing one of them can free: drop the newest.
    finish(get(order_.back()), FinishReason::kNoMemory);
  }
  if (batch_.empty()) return 0;

  const auto t0 = std::chrono::steady_clock::now();
  std::span<const float> logits = runner_.forward(batch_, *cache_);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ++stats_.forward_calls;
  stats_.forward_seconds += seconds;

  const int64_t V = runner_.model().hparams().n_vocab;
  bool any_prompt = false;
  int64_t row = 0;
  for (const Part& p : parts) {
    Seq& s = *p.s;
    const int64_t prompt_part = std::max<int64_t>(0, std::min(p.end, s.info.n_prefix) - p.begin);
    any_prompt = any_prompt || prompt_part > 0;
    stats_.prompt_tokens_fed += prompt_part;
    stats_.generated_tokens_fed += (p.end - p.begin) - prompt_part;
    s.info.usage.fed_tokens += p.end - p.begin;
    (prompt_part > 0 ? s.info.usage.prefill_seconds : s.info.usage.decode_seconds) += seconds;
    s.info.n_cached = p.end;
  }
  if (any_prompt) ++stats_.prefill_calls;
  // Sampling runs hooks that may throw; each part's bookkeeping above is already complete.
  for (const Part& p : parts) {
    if (p.end != static_cast<int64_t>(p.s->info.tokens.size())) continue;
    sample(*p.s, logits.subspan(static_cast<size_t>(row * V), static_cast<size_t>(V)));
    ++row;
  }
  return static_cast<int64_t>(batch_.size());
}

}  // namespace muse::engine
