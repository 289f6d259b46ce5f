// The reason API's request and result: what the CLI, the server and the tools pass to
// reason::Reasoner::run, and the exact accounting they get back.
//
// Plain data plus callbacks. Callbacks run on the thread that calls run(), between forward passes;
// they must not call back into the Reasoner. validate() throws muse::Error(kInvalidArgument) naming
// the field; run() calls it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/sampler.h"
#include "reason/agent.h"
#include "reason/aggregate.h"
#include "reason/chat_format.h"
#include "reason/confidence.h"

namespace muse::reason {

enum class Mode { kInstant, kThinking, kContemplating };
const char* mode_name(Mode mode);
Mode parse_mode(std::string_view name);  // "instant" | "thinking" | "contemplating"; throws kInvalidArgument

enum class Aggregate { kVote, kWeighted, kSynthesize };
const char* aggregate_name(Aggregate a);
Aggregate parse_aggregate(std::string_view name);  // "vote" | "weighted" | "synthesize"

// A piece of streamed text. agent is 0..N-1 for the agents, -1 for the final answer of contemplating
// (the synthesizer's text, or the winning answer once the vote is done).
struct Delta {
  int agent = 0;
  DeltaKind kind = DeltaKind::kContent;
  std::string_view text;
};

struct AgentProgress {
  int agent = 0;
  Phase phase = Phase::kThinking;
  int64_t thinking_tokens = 0;
  int64_t answer_tokens = 0;
  bool stopped_early = false;
};

// Tokens kept for the answer after the thinking when Request::answer_reserve is 0: a sixteenth of
// max_tokens, at least 32 (or a quarter of max_tokens when that is smaller), at most 256. It only
// matters when max_tokens, not the thinking budget, bounds the thinking: in a small context (a 512-token
// model) a larger share would cut off reasoning that fits, while the wrap-up cue already guarantees
// that an answer follows.
int64_t default_answer_reserve(int64_t max_tokens);

struct Request {
  std::vector<ChatMessage> messages;
  Mode mode = Mode::kThinking;
  int agents = 8;                 // contemplating only; instant and thinking run `samples` agents
  // Instant and thinking: independent answers sampled together (one prefill, one batched forward pass
  // per step), agent i with seed sampling.seed + i * golden ratio; the result's content is agent 0's and
  // Result::agents holds them all (the API's n). Contemplating ignores it.
  int samples = 1;
  int64_t think_budget = 1024;    // thinking tokens per agent at most; < 0: only max_tokens limits it
  int64_t max_tokens = 2048;      // generated tokens per agent: thinking + forced wrap-up + answer
  int64_t answer_reserve = 0;     // tokens kept for the answer; 0: default_answer_reserve(max_tokens)
  engine::SamplerParams sampling;
  // Per-agent temperatures (contemplating); empty: spread over +-25% around sampling.temperature (0.7
  // when that is 0: identical greedy agents would make contemplating pointless).
  std::vector<float> agent_temperatures;
  Aggregate aggregate = Aggregate::kVote;
  std::string answer_pattern;     // ECMAScript regex for answer extraction (group 1 if present)
  EarlyStopOptions early_stop;
  bool refine = false;            // one refinement round before aggregation
  std::vector<std::string> stop;  // stop strings for the answer
  // Answer-token log-probabilities in the result (Result::logprobs): -1 none; 0..20 each content token's
  // log-probability with this many most likely alternatives (OpenAI logprobs / top_logprobs).
  int logprobs = -1;
  // OpenAI-style tool definitions for the chat template's `tools` variable; null or empty: none.
  nlohmann::json tools;
  // When set, each agent's answer (after its thinking) is limited by a fresh constraint from this
  // factory (e.g. a JSON-Schema or tool-call grammar); the answer ends when the constraint is finished.
  std::function<std::unique_ptr<TokenConstraint>()> answer_constraint;
  std::function<void(const Delta&)> on_delta;
  std::function<void(std::span<const AgentProgress>)> on_progress;  // after every forward pass
  std::function<bool()> should_cancel;  // polled after every forward pass; true cancels the request

  void validate() const;
};

struct Usage {
  int64_t prompt_tokens = 0;         // prompt tokens the request conditioned on
  int64_t cached_prompt_tokens = 0;  // of those, reused from an earlier request's KV (not recomputed)
  int64_t thinking_tokens = 0;
  int64_t forced_tokens = 0;         // wrap-up cue and tags the engine inserted
  int64_t answer_tokens = 0;
  int64_t generated() const { return thinking_tokens + forced_tokens + answer_tokens; }
};

struct Timing {
  double wall_seconds = 0.0;
  double prefill_seconds = 0.0;    // the shared prompt
  double decode_seconds = 0.0;     // the agents
  double aggregate_seconds = 0.0;  // refinement and synthesis passes
};

struct AgentTrace {
  int index = 0;
  uint64_t seed = 0;
  float temperature = 0.0f;
  std::string reasoning, content;
  std::string answer;       // normalized extracted answer; empty when none
  std::string answer_how;   // which extraction rule found it
  Usage usage;
  double confidence = 0.0;       // lowest window confidence (weighted-vote weight); 0 without logprobs
  double mean_confidence = 0.0;
  bool budget_hit = false;       // the thinking budget forced the wrap-up
  bool stopped_early = false;
  bool refined = false;
  std::string finish;            // engine finish reason ("eog", "length", ...) or "early-stop"
  std::vector<AnswerLogprob> logprobs;  // the content's tokens, when Request::logprobs >= 0
};

struct Result {
  Mode mode = Mode::kThinking;
  std::string content;    // the final answer text
  std::string reasoning;  // the reasoning behind it (the winner's, or the synthesizer's)
  std::string answer;     // normalized extracted answer (empty when none)
  std::vector<AnswerLogprob> logprobs;  // content tokens of the final answer (Request::logprobs >= 0)
  int winner = -1;        // agent whose content is the final one; -1 for synthesis
  std::vector<AgentTrace> agents;
  std::vector<Candidate> candidates;  // what the aggregation saw (contemplating)
  Usage total;            // prompt counted once per distinct prompt; generated summed over all passes
  Timing timing;
  int64_t prefill_calls = 0;    // forward passes that carried prompt tokens
  int64_t forward_calls = 0;
  int64_t kv_pages_peak = 0;    // most KV pages in use at once
  size_t kv_page_bytes = 0;
  std::optional<double> early_stop_threshold;
  bool cancelled = false;
  std::vector<std::string> notes;  // e.g. "the model has no thinking tokens"

  nlohmann::json to_json() const;
};

}  // namespace muse::reason
