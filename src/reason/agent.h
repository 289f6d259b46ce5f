// AgentController: the per-sequence hook that turns a stream of tokens into a thinking phase and an
// answer, enforcing the thinking budget.
//
// Phases: kThinking (inside the think block) -> kAnswer -> finished. While thinking, end-of-generation
// tokens and the opening tag are banned, so a model cannot end (or nest) inside its reasoning. The
// thinking phase ends when the model writes the closing tag, or when it has written think_limit tokens:
// the controller then forces the wrap-up (a short cue such as "Considering the limited time, I have to
// give the answer now." and the closing tag) and the model answers. In the answer, both tags are
// banned, and end-of-generation too until the answer has a visible character, so an answer always
// follows. Stop strings end the answer (the match is cut from the content). With a TokenConstraint the
// answer tokens are also limited to what it allows, and the answer ends when it is finished.
//
// Counting: thinking tokens are the tokens the model sampled inside the block (its own closing tag
// included) and never exceed think_limit; forced tokens are the wrap-up the controller inserted; answer
// tokens are sampled after the block. plan_budget() picks think_limit so that max_tokens always leaves
// room for the wrap-up and an answer.
//
// One controller per agent, used on the scheduler's thread; borrows the tokenizer. Never throws except
// through the delta callback (whose exceptions propagate out of Scheduler::step).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/sequence.h"
#include "engine/stop_strings.h"
#include "reason/chat_format.h"
#include "reason/confidence.h"
#include "text/tokenizer.h"

namespace muse::reason {

// think_limit = min(think_budget, max_tokens - reserve - wrap), where wrap is the cue and the closing
// tag when they fit, else the closing tag alone; never negative. think_budget < 0 means "no budget".
// REQUIRES: max_tokens >= 1, answer_reserve >= 1.
struct BudgetPlan {
  int64_t think_limit = 0;
  bool with_cue = false;
};
BudgetPlan plan_budget(int64_t think_budget, int64_t max_tokens, int64_t answer_reserve, int64_t cue_tokens,
                       int64_t close_tokens);

// The default wrap-up cue (reasoning text inserted when the budget runs out).
inline constexpr std::string_view kWrapUpCue = "\n\nConsidering the limited time, I have to give the answer now.\n";

enum class Phase { kThinking, kAnswer, kDone };
enum class DeltaKind { kReasoning, kContent };

// A limit on which answer tokens may come next (a grammar: tools::make_answer_constraint). The
// controller consults it only in the answer phase, after the thinking block: the reasoning stays free,
// the answer is what must match. One per agent; used on the scheduler's thread.
class TokenConstraint {
 public:
  virtual ~TokenConstraint() = default;
  virtual std::vector<int32_t> banned() = 0;  // tokens that may not come next (end-of-generation included)
  virtual bool accept(int32_t token) = 0;     // advance; false when the token was not allowed (no change)
  virtual bool finished() const = 0;          // complete, and nothing may follow
};

// One answer token with its log-probability under the raw logits and, when asked for, the most likely
// alternatives at that position (most likely first): the OpenAI `logprobs` of the content.
struct AnswerLogprob {
  int32_t token = 0;
  float logprob = 0.0f;
  std::vector<engine::TokenLogprob> top;
};

struct AgentSetup {
  const text::Tokenizer* tok = nullptr;
  ThinkTags tags;
  bool thinking = false;            // generation starts inside an open think block
  int64_t think_limit = 0;
  std::vector<int32_t> wrap;        // forced when think_limit is reached (cue + closing tag + "\n\n")
  std::string wrap_text;            // the part of the wrap shown as reasoning (the cue)
  std::vector<int32_t> eog;         // end-of-generation tokens of the vocabulary
  std::vector<std::string> stop;    // stop strings for the answer
  int confidence_window = 64;
  int confidence_top = 5;           // alternatives a token's confidence averages over (of TokenEvent::top)
  // Record answer-token log-probabilities: -1 no; n >= 0 yes, each with n alternatives (the scheduler
  // must be asked for at least n top logprobs). Leading whitespace before the first visible character
  // and a token that completes a stop string are not part of the content, so they are not recorded.
  int logprobs = -1;
  std::function<void(DeltaKind, std::string_view)> on_delta;  // may be empty
  std::unique_ptr<TokenConstraint> constraint;  // may be null: the answer is free
};

class AgentController {
 public:
  explicit AgentController(AgentSetup setup);

  // Tokens banned before the first sample.
  std::vector<int32_t> initial_ban() const;
  engine::Directive on_token(const engine::TokenEvent& ev);
  // Flushes the decoders (held-back bytes, stop-string tails) at the end of generation.
  void finish();

  Phase phase() const { return phase_; }
  int64_t thinking_tokens() const { return thinking_; }
  int64_t answer_tokens() const { return answer_; }
  int64_t forced_tokens() const { return forced_; }
  bool budget_hit() const { return budget_hit_; }
  const std::string& reasoning() const { return reasoning_; }
  const std::string& content() const { return content_; }
  const ConfidenceWindow& confidence() const { return confidence_; }
  const std::vector<AnswerLogprob>& answer_logprobs() const { return answer_logprobs_; }

 private:
  std::vector<int32_t> ban_set() const;
  void emit(DeltaKind kind, std::string_view text);
  void emit_content(std::string_view text);
  void end_thinking();

  AgentSetup s_;
  Phase phase_;
  int64_t thinking_ = 0, answer_ = 0, forced_ = 0;
  bool budget_hit_ = false;
  bool visible_ = false;  // the answer has a non-whitespace character
  std::string reasoning_, content_;
  text::StreamDecoder think_dec_, answer_dec_;
  engine::StopMatcher stop_;
  ConfidenceWindow confidence_;
  std::vector<AnswerLogprob> answer_logprobs_;
};

}  // namespace muse::reason
