// Sequences: what the Scheduler runs. A sequence is a token list (prompt, then generated and forced
// tokens) with its own sampler, limits, banned tokens and a per-token hook, plus the exact accounting
// of what it fed and produced.
//
// Plain data and callbacks; the Scheduler owns the live state. A hook runs on the scheduler's thread
// inside Scheduler::step() and must not call back into the scheduler. Hooks may throw; the exception
// leaves step() and the scheduler stays consistent (the sequence keeps the token that was sampled).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/sampler.h"

namespace muse::engine {

// Ids are unique for the scheduler's lifetime (never reused), unlike KV slots.
using SeqId = int64_t;

enum class FinishReason {
  kNone,       // still running (or parked before finishing)
  kEog,        // sampled an end-of-generation token (not appended)
  kStop,       // its hook said stop
  kLength,     // max_new_tokens reached
  kContext,    // the next token would not fit the context
  kNoMemory,   // no free KV page for it while nothing else could run
  kCancelled,  // Scheduler::cancel
};
const char* finish_reason_name(FinishReason reason);

struct TokenEvent {
  SeqId seq = 0;
  int32_t token = 0;
  float logprob = 0.0f;             // log p(token) under the raw logits (before bans and temperature)
  int64_t index = 0;                // 0-based among this sequence's generated (sampled + forced) tokens
  std::span<const TokenLogprob> top;  // the top_logprobs most likely tokens, when asked for
};

// What the hook wants after a sampled token.
struct Directive {
  bool stop = false;                // finish now (kStop); the sampled token stays
  std::vector<int32_t> force;       // tokens appended after it and fed without sampling
  std::optional<std::vector<int32_t>> ban;  // replaces the banned set from the next sample on
};

struct SeqConfig {
  std::vector<int32_t> prompt;      // tokens fed first (for a fork: after the shared prefix)
  SamplerParams sampler;
  int64_t max_new_tokens = 256;     // sampled + forced tokens at most; 0 = prefill only
  std::function<bool(int32_t)> is_eog;  // a sampled token it accepts ends the sequence; empty: none
  std::vector<int32_t> ban;         // tokens never sampled (logit set to -inf) until a Directive changes it
  int top_logprobs = 0;             // fill TokenEvent::top with this many alternatives
  // Keep the KV pages and the last logits after finishing, so that fork() can continue from here
  // without recomputing anything; the sequence then holds its slot until Scheduler::release().
  bool park = false;
  std::function<Directive(const TokenEvent&)> on_token;  // empty: always continue
};

// Exact token and time accounting of one sequence. Times are the forward passes the sequence took
// part in (shared with the other sequences of the same batch).
struct SeqUsage {
  int64_t shared_tokens = 0;   // positions taken over from the parent at fork (not recomputed)
  int64_t prompt_tokens = 0;   // config.prompt tokens
  int64_t sampled_tokens = 0;  // tokens the sampler chose
  int64_t forced_tokens = 0;   // tokens a Directive inserted
  int64_t fed_tokens = 0;      // tokens this sequence put through the model
  double prefill_seconds = 0.0;  // forward passes in which it fed prompt tokens
  double decode_seconds = 0.0;   // forward passes in which it fed generated tokens
  int64_t generated() const { return sampled_tokens + forced_tokens; }
};

enum class SeqState {
  kRunning,   // has tokens to feed or to sample
  kWaiting,   // admitted but no free KV page yet
  kParked,    // finished, KV and last logits kept for forks
  kFinished,  // finished, slot and pages freed
};

struct SeqInfo {
  SeqId id = 0;
  SeqId parent = -1;
  SeqState state = SeqState::kRunning;
  FinishReason finish = FinishReason::kNone;
  std::vector<int32_t> tokens;  // shared prefix + prompt + generated, in order
  int64_t n_prefix = 0;         // tokens[0, n_prefix) are the shared prefix and the prompt
  int64_t n_cached = 0;         // tokens[0, n_cached) are in the KV cache
  SeqUsage usage;
  std::span<const int32_t> generated() const {
    return std::span<const int32_t>(tokens).subspan(static_cast<size_t>(n_prefix));
  }
};

}  // namespace muse::engine
