#include "reason/reasoner.h"

#include <algorithm>
#include <chrono>
#include <exception>

#include "core/error.h"
#include "reason/aggregate.h"
#include "reason/answer.h"

namespace muse::reason {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

constexpr int kTopLogprobs = 5;  // alternatives per token for DeepConf token confidence

}  // namespace

struct Reasoner::AgentRun {
  int index = 0;                // agent index; -1: the synthesizer
  std::vector<int32_t> prompt;  // the whole prompt this agent conditions on
  engine::SamplerParams sampler;
  bool thinking = false;
  BudgetPlan plan;
  int64_t max_tokens = 1;
  engine::SeqId seq = -1;
  std::unique_ptr<AgentController> ctl;
  bool stopped_early = false;
  int64_t fed_prompt = 0;  // prompt tokens it had to compute itself (not shared)
};

struct Reasoner::Pass {
  std::vector<AgentRun> runs;
  bool early_stop = false;
  int top_logprobs = 0;
};

namespace {

ChatFormat make_format(const model::Model& model, const text::Tokenizer& tok, const ReasonerOptions& options) {
  return options.chat_template.empty() ? ChatFormat(model.file(), tok)
                                       : ChatFormat(model.file(), tok, options.chat_template);
}

}  // namespace

Reasoner::Reasoner(const model::Model& model, const text::Tokenizer& tok, core::ThreadPool& pool,
                   const ReasonerOptions& options)
    : model_(model), tok_(tok), options_(options), format_(make_format(model, tok, options)) {
  init();
  runner_ = std::make_unique<model::Runner>(model, pool);
  engine::SchedulerOptions so;
  so.n_ctx = options.n_ctx;
  so.max_seqs = options.max_agents + 2;  // agents + the parked prompt + the previous one while it is replaced
  so.max_batch = options.max_batch;
  so.kv = options.kv;
  owned_sched_ = std::make_unique<engine::Scheduler>(*runner_, so);
  sched_ = owned_sched_.get();
}

Reasoner::Reasoner(const model::Model& model, const text::Tokenizer& tok, engine::Scheduler& shared,
                   std::function<void()> step, const ReasonerOptions& options)
    : model_(model), tok_(tok), options_(options), format_(make_format(model, tok, options)) {
  MUSE_ASSERT(step);
  init();
  if (shared.n_ctx() < options.n_ctx) {
    fail(ErrorCode::kInvalidArgument, "n_ctx {} is larger than the shared scheduler's {}", options.n_ctx,
         shared.n_ctx());
  }
  sched_ = &shared;
  step_ = std::move(step);
}

void Reasoner::init() {
  if (options_.max_agents < 1 || options_.max_agents > 256) {
    fail(ErrorCode::kInvalidArgument, "max_agents must be in 1..256 (got {})", options_.max_agents);
  }
  if (tok_.n_vocab() > model_.hparams().n_vocab) {
    fail(ErrorCode::kInvalidArgument, "the tokenizer has {} tokens but the model only {} embeddings", tok_.n_vocab(),
         model_.hparams().n_vocab);
  }
  for (int32_t id = 0; id < tok_.n_vocab(); ++id) {
    if (tok_.is_eog(id)) eog_.push_back(id);
  }
}

void Reasoner::step() {
  if (step_) {
    step_();
  } else {
    sched_->step();
  }
}

Reasoner::~Reasoner() {
  // Shared mode: the scheduler outlives this Reasoner, so give back the parked prompt's slot and pages.
  if (!owned_sched_ && cached_ >= 0) sched_->forget(cached_);
}

std::vector<int32_t> Reasoner::encode_fragment(const std::string& text) const {
  return tok_.encode(text, /*add_special=*/false, /*parse_special=*/true);
}

AgentSetup Reasoner::setup_for(const Request& req, bool thinking, int64_t think_limit, bool with_cue) const {
  AgentSetup s;
  s.tok = &tok_;
  s.tags = format_.tags();
  s.thinking = thinking;
  s.think_limit = think_limit;
  if (s.tags.available()) {
    s.wrap = encode_fragment((with_cue ? std::string(kWrapUpCue) : std::string()) + s.tags.close_text + "\n\n");
    s.wrap_text = with_cue ? std::string(kWrapUpCue) : std::string();
  }
  s.eog = eog_;
  s.stop = req.stop;
  s.confidence_window = req.early_stop.window;
  s.confidence_top = kTopLogprobs;
  s.logprobs = req.logprobs;
  if (req.answer_constraint) s.constraint = req.answer_constraint();
  return s;
}

// The parked sequence holding `tokens`: the cached one when it matches, else a fork of it that shares
// the common prefix, else a fresh prefill. Steps the scheduler until the prompt is computed.
engine::SeqId Reasoner::acquire_prompt(const std::vector<int32_t>& tokens, Result& res) {
  const auto t0 = Clock::now();
  const size_t lcp = cached_ >= 0 ? common_prefix(cached_tokens_, tokens) : 0;
  if (cached_ >= 0 && lcp == tokens.size() && lcp == cached_tokens_.size()) {
    res.total.cached_prompt_tokens = static_cast<int64_t>(lcp);
    return cached_;
  }
  engine::SeqConfig c;
  c.max_new_tokens = 0;
  c.park = true;
  engine::SeqId id;
  if (cached_ >= 0 && lcp > 0) {
    c.prompt.assign(tokens.begin() + static_cast<std::ptrdiff_t>(lcp), tokens.end());
    id = sched_->fork(cached_, static_cast<int64_t>(lcp), std::move(c));
  } else {
    c.prompt = tokens;
    id = sched_->add(std::move(c));
  }
  if (cached_ >= 0) sched_->forget(cached_);
  cached_ = id;
  cached_tokens_ = tokens;
  while (sched_->running(id)) {
    step();
    res.kv_pages_peak = std::max(res.kv_pages_peak, sched_->cache().pages_in_use());
  }
  res.total.cached_prompt_tokens = sched_->info(id).usage.shared_tokens;
  res.timing.prefill_seconds += since(t0);
  return id;
}

void Reasoner::run_pass(Pass& pass, const Request& req, Result& res) {
  // Whatever happens (a callback throws, the request is cancelled), no sequence of this pass survives it.
  struct Cleanup {
    engine::Scheduler& s;
    Pass& p;
    ~Cleanup() {
      const bool unwinding = std::uncaught_exceptions() > 0;
      for (AgentRun& r : p.runs) {
        if (r.seq < 0) continue;
        if (unwinding) {
          s.forget(r.seq);
        } else if (s.running(r.seq)) {
          s.cancel(r.seq);
        }
      }
    }
  } cleanup{*sched_, pass};

  for (AgentRun& r : pass.runs) {
    AgentSetup setup = setup_for(req, r.thinking, r.plan.think_limit, r.plan.with_cue);
    if (req.on_delta) {
      const int agent = r.index;
      setup.on_delta = [&req, agent](DeltaKind kind, std::string_view text) { req.on_delta({agent, kind, text}); };
    }
    r.ctl = std::make_unique<AgentController>(std::move(setup));
    const size_t lcp = common_prefix(cached_tokens_, r.prompt);
    engine::SeqConfig c;
    c.prompt.assign(r.prompt.begin() + static_cast<std::ptrdiff_t>(lcp), r.prompt.end());
    c.sampler = r.sampler;
    c.max_new_tokens = r.max_tokens;
    c.is_eog = [this](int32_t t) { return tok_.is_eog(t); };
    c.ban = r.ctl->initial_ban();
    c.top_logprobs = pass.top_logprobs;
    AgentController* ctl = r.ctl.get();
    c.on_token = [ctl](const engine::TokenEvent& ev) { return ctl->on_token(ev); };
    r.seq = sched_->fork(cached_, static_cast<int64_t>(lcp), std::move(c));
    r.fed_prompt = sched_->info(r.seq).usage.prompt_tokens;
  }

  EarlyStopOptions es = req.early_stop;
  es.enabled = es.enabled && pass.early_stop && pass.runs.size() > 1;
  EarlyStopper stopper(es);
  std::vector<AgentProgress> progress(pass.runs.size());
  std::vector<EarlyStopper::Agent> views(pass.runs.size());
  auto any_running = [&] {
    return std::any_of(pass.runs.begin(), pass.runs.end(), [&](const AgentRun& r) { return sched_->running(r.seq); });
  };
  while (any_running()) {
    step();
    res.kv_pages_peak = std::max(res.kv_pages_peak, sched_->cache().pages_in_use());
    if (req.should_cancel && req.should_cancel()) {
      res.cancelled = true;
      for (AgentRun& r : pass.runs) sched_->cancel(r.seq);
      break;
    }
    for (size_t i = 0; i < pass.runs.size(); ++i) {
      const AgentRun& r = pass.runs[i];
      const bool running = sched_->running(r.seq);
      views[i] = {running, r.ctl->thinking_tokens() + r.ctl->answer_tokens(), r.ctl->confidence().current()};
      progress[i] = {r.index, running ? r.ctl->phase() : Phase::kDone, r.ctl->thinking_tokens(),
                     r.ctl->answer_tokens(), r.stopped_early};
    }
    for (int i : stopper.update(views)) {
      AgentRun& r = pass.runs[static_cast<size_t>(i)];
      sched_->cancel(r.seq);
      r.stopped_early = true;
      progress[static_cast<size_t>(i)].stopped_early = true;
      progress[static_cast<size_t>(i)].phase = Phase::kDone;
    }
    if (req.on_progress) req.on_progress(progress);
  }
  if (stopper.threshold()) res.early_stop_threshold = stopper.threshold();
  for (AgentRun& r : pass.runs) r.ctl->finish();
}

namespace {

AgentTrace make_trace(const engine::SeqInfo& info, const AgentController& ctl, int index, const std::regex* pattern) {
  AgentTrace t;
  t.index = index;
  t.reasoning = ctl.reasoning();
  t.content = ctl.content();
  t.usage.thinking_tokens = ctl.thinking_tokens();
  t.usage.answer_tokens = ctl.answer_tokens();
  t.usage.forced_tokens = info.usage.forced_tokens;
  MUSE_ASSERT(t.usage.thinking_tokens + t.usage.answer_tokens == info.usage.sampled_tokens);
  t.confidence = ctl.confidence().lowest();
  t.mean_confidence = ctl.confidence().mean();
  t.budget_hit = ctl.budget_hit();
  t.finish = engine::finish_reason_name(info.finish);
  t.logprobs = ctl.answer_logprobs();
  if (auto a = extract_answer(t.content, pattern)) {
    t.answer = a->normalized;
    t.answer_how = a->how;
  }
  return t;
}

}  // namespace

Result Reasoner::run(const Request& req) {
  req.validate();
  const auto t0 = Clock::now();
  Result res;
  res.mode = req.mode;
  res.kv_page_bytes = sched_->cache().page_bytes();
  const engine::SchedulerStats stats0 = sched_->stats();
  const int n = req.mode == Mode::kContemplating ? req.agents : req.samples;
  if (n > options_.max_agents) {
    fail(ErrorCode::kInvalidArgument, "{}: {} requested but this engine was started for at most {}",
         req.mode == Mode::kContemplating ? "agents" : "samples", n, options_.max_agents);
  }
  std::optional<std::regex> pattern;
  if (!req.answer_pattern.empty()) pattern = compile_answer_pattern(req.answer_pattern);
  const std::regex* pat = pattern ? &*pattern : nullptr;

  const ThinkTags& tags = format_.tags();
  const bool think = req.mode != Mode::kInstant && tags.available();
  if (req.mode != Mode::kInstant && !tags.available()) {
    res.notes.push_back("the model has no thinking tokens (no <think>/</think> pair in its vocabulary): answering "
                        "without a reasoning phase");
  }
  // The prompt, the thinking budget plan and max_tokens, clamped to the room the context leaves.
  int64_t cue_len = 0, close_len = 0;
  if (think) {
    const int64_t with = static_cast<int64_t>(encode_fragment(std::string(kWrapUpCue) + tags.close_text + "\n\n").size());
    close_len = static_cast<int64_t>(encode_fragment(tags.close_text + "\n\n").size());
    cue_len = with - close_len;
  }
  const auto plan_for = [&](int64_t max_tokens) {
    if (!think) return BudgetPlan{};
    const int64_t reserve = req.answer_reserve > 0 ? req.answer_reserve : default_answer_reserve(max_tokens);
    return plan_budget(req.think_budget, max_tokens, reserve, cue_len, close_len);
  };
  struct Prepared {
    RenderedPrompt rp;
    BudgetPlan plan;
    int64_t max_tokens = 0;
  };
  const auto prepare = [&](const std::vector<ChatMessage>& msgs, bool main_prompt) {
    Prepared p;
    p.max_tokens = req.max_tokens;
    p.plan = plan_for(p.max_tokens);
    for (int attempt = 0; attempt < 2; ++attempt) {
      const PromptMode pm = !think ? PromptMode::kInstant
                                   : p.plan.think_limit == 0 ? PromptMode::kThinkingClosed : PromptMode::kThinking;
      p.rp = format_.render(msgs, pm, req.tools);
      const int64_t room = options_.n_ctx - static_cast<int64_t>(p.rp.tokens.size());
      if (room < 1) {
        fail(ErrorCode::kOutOfRange, "the prompt ({} tokens) leaves no room in the context size {}; raise the context "
             "(-c) or shorten the conversation", p.rp.tokens.size(), options_.n_ctx);
      }
      if (room >= p.max_tokens) break;
      p.max_tokens = room;
      const BudgetPlan before = p.plan;
      p.plan = plan_for(room);
      // A plan that no longer leaves room for thinking closes the block in the prompt: render again.
      if (!(think && before.think_limit > 0 && p.plan.think_limit == 0)) break;
    }
    if (main_prompt && p.max_tokens < req.max_tokens) {
      res.notes.push_back(fmt::format("max_tokens lowered from {} to {} to fit the context size {}", req.max_tokens,
                                      p.max_tokens, options_.n_ctx));
    }
    if (main_prompt && think && p.plan.think_limit == 0) {
      res.notes.push_back("no room for thinking within max_tokens: the thinking block is closed");
    }
    return p;
  };
  const Prepared prep = prepare(req.messages, true);
  const RenderedPrompt& rp = prep.rp;
  acquire_prompt(rp.tokens, res);
  res.total.prompt_tokens = static_cast<int64_t>(rp.tokens.size());

  // The agents: agent i has seed + i*golden and, in contemplating, a temperature spread around the base.
  Pass main;
  main.early_stop = req.mode == Mode::kContemplating;
  main.top_logprobs = std::max(req.mode == Mode::kContemplating ? kTopLogprobs : 0, req.logprobs);
  for (int i = 0; i < n; ++i) {
    AgentRun r;
    r.index = i;
    r.prompt = rp.tokens;
    r.sampler = req.sampling;
    r.sampler.seed = req.sampling.seed + static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ull;
    if (req.mode == Mode::kContemplating) {
      if (!req.agent_temperatures.empty()) {
        r.sampler.temperature = req.agent_temperatures[static_cast<size_t>(i)];
      } else if (n > 1) {
        const float base = req.sampling.temperature > 0.0f ? req.sampling.temperature : 0.7f;
        r.sampler.temperature = base * (0.75f + 0.5f * static_cast<float>(i) / static_cast<float>(n - 1));
      }
    }
    r.thinking = rp.thinking;
    r.plan = prep.plan;
    r.max_tokens = prep.max_tokens;
    main.runs.push_back(std::move(r));
  }
  const auto t_decode = Clock::now();
  run_pass(main, req, res);
  res.timing.decode_seconds = since(t_decode);

  for (AgentRun& r : main.runs) {
    AgentTrace t = make_trace(sched_->info(r.seq), *r.ctl, r.index, pat);
    t.seed = r.sampler.seed;
    t.temperature = r.sampler.temperature;
    t.usage.prompt_tokens = static_cast<int64_t>(r.prompt.size());
    t.stopped_early = r.stopped_early;
    if (r.stopped_early) {
      t.finish = "early-stop";
      t.answer.clear();  // cut off mid-thought: no answer to count
    }
    sched_->forget(r.seq);
    res.agents.push_back(std::move(t));
  }

  const auto t_agg = Clock::now();
  auto candidates = [&] {
    std::vector<Candidate> cs;
    for (const AgentTrace& t : res.agents) {
      cs.push_back({t.index, t.answer, t.confidence, summarize_trace(t.reasoning, t.content)});
    }
    return cs;
  };
  if (req.mode == Mode::kContemplating && req.refine && !res.cancelled) {
    const std::vector<Candidate> before = candidates();
    Pass refine;
    refine.top_logprobs = std::max(kTopLogprobs, req.logprobs);
    for (const AgentTrace& t : res.agents) {
      if (t.stopped_early || t.content.empty()) continue;
      std::vector<ChatMessage> msgs = req.messages;
      msgs.push_back({"assistant", t.content});
      msgs.push_back({"user", refinement_message(before, t.index)});
      AgentRun r;
      r.index = t.index;
      const Prepared p = prepare(msgs, false);
      r.prompt = p.rp.tokens;
      r.sampler = main.runs[static_cast<size_t>(t.index)].sampler;
      r.thinking = p.rp.thinking;
      r.plan = p.plan;
      r.max_tokens = p.max_tokens;
      refine.runs.push_back(std::move(r));
    }
    run_pass(refine, req, res);
    for (AgentRun& r : refine.runs) {
      AgentTrace t = make_trace(sched_->info(r.seq), *r.ctl, r.index, pat);
      AgentTrace& a = res.agents[static_cast<size_t>(r.index)];
      a.reasoning = t.reasoning;
      a.content = t.content;
      a.answer = t.answer;
      a.answer_how = t.answer_how;
      a.confidence = t.confidence;
      a.mean_confidence = t.mean_confidence;
      a.finish = t.finish;
      a.logprobs = t.logprobs;
      a.budget_hit = a.budget_hit || t.budget_hit;
      a.refined = true;
      a.usage.prompt_tokens += static_cast<int64_t>(r.prompt.size());
      a.usage.thinking_tokens += t.usage.thinking_tokens;
      a.usage.forced_tokens += t.usage.forced_tokens;
      a.usage.answer_tokens += t.usage.answer_tokens;
      res.total.prompt_tokens += r.fed_prompt;
      sched_->forget(r.seq);
    }
  }

  for (const AgentTrace& t : res.agents) {
    res.total.thinking_tokens += t.usage.thinking_tokens;
    res.total.forced_tokens += t.usage.forced_tokens;
    res.total.answer_tokens += t.usage.answer_tokens;
  }

  if (req.mode != Mode::kContemplating) {
    const AgentTrace& t = res.agents.front();
    res.content = t.content;
    res.reasoning = t.reasoning;
    res.answer = t.answer;
    res.logprobs = t.logprobs;
    res.winner = 0;
  } else {
    res.candidates = candidates();
    Aggregation agg = req.aggregate == Aggregate::kWeighted ? weighted_vote(res.candidates) : vote(res.candidates);
    bool synthesized = false;
    if (req.aggregate == Aggregate::kSynthesize && !res.cancelled) {
      std::vector<ChatMessage> msgs = req.messages;
      ChatMessage& last = msgs.back();
      last.content = synthesis_message(last.content, res.candidates, agg);
      Pass synth;
      synth.top_logprobs = std::max(0, req.logprobs);
      AgentRun r;
      r.index = -1;
      const Prepared p = prepare(msgs, false);
      r.prompt = p.rp.tokens;
      r.sampler = engine::SamplerParams::greedy();
      r.thinking = p.rp.thinking;
      r.plan = p.plan;
      r.max_tokens = p.max_tokens;
      synth.runs.push_back(std::move(r));
      run_pass(synth, req, res);
      AgentRun& s = synth.runs.front();
      const AgentTrace t = make_trace(sched_->info(s.seq), *s.ctl, -1, pat);
      sched_->forget(s.seq);
      res.total.prompt_tokens += s.fed_prompt;
      res.total.thinking_tokens += t.usage.thinking_tokens;
      res.total.forced_tokens += t.usage.forced_tokens;
      res.total.answer_tokens += t.usage.answer_tokens;
      agg = settle_synthesis(t.content, pat, agg);
      synthesized = agg.winner == -1 && !t.content.empty();
      if (synthesized) {
        res.content = t.content;
        res.reasoning = t.reasoning;
        res.logprobs = t.logprobs;
      } else {
        res.notes.push_back("the synthesizer wrote no answer; using the vote");
      }
    }
    res.answer = agg.answer;
    res.winner = synthesized ? -1 : agg.winner;
    if (!synthesized) {
      if (res.winner < 0) {
        // Nobody gave an extractable answer: the most confident agent that wrote anything.
        res.notes.push_back("no agent gave an extractable answer");
        for (const AgentTrace& t : res.agents) {
          if (t.content.empty()) continue;
          if (res.winner < 0 || t.confidence > res.agents[static_cast<size_t>(res.winner)].confidence) {
            res.winner = t.index;
          }
        }
      }
      if (res.winner >= 0) {
        const AgentTrace& w = res.agents[static_cast<size_t>(res.winner)];
        res.content = w.content;
        res.reasoning = w.reasoning;
        res.logprobs = w.logprobs;
        if (req.on_delta && !res.content.empty()) req.on_delta({-1, DeltaKind::kContent, res.content});
      }
    }
  }
  res.timing.aggregate_seconds = since(t_agg);
  res.timing.wall_seconds = since(t0);
  res.prefill_calls = sched_->stats().prefill_calls - stats0.prefill_calls;
  res.forward_calls = sched_->stats().forward_calls - stats0.forward_calls;
  return res;
}

}  // namespace muse::reason
