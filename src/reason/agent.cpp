#include "reason/agent.h"

#include <algorithm>

#include "core/error.h"

namespace muse::reason {

BudgetPlan plan_budget(int64_t think_budget, int64_t max_tokens, int64_t answer_reserve, int64_t cue_tokens,
                       int64_t close_tokens) {
  MUSE_ASSERT(max_tokens >= 1 && answer_reserve >= 1);
  const int64_t budget = think_budget < 0 ? max_tokens : think_budget;
  BudgetPlan plan;
  const int64_t with_cue = max_tokens - answer_reserve - cue_tokens - close_tokens;
  if (with_cue >= 1 && cue_tokens > 0) {
    plan.think_limit = std::min(budget, with_cue);
    plan.with_cue = true;
  } else {
    plan.think_limit = std::max<int64_t>(0, std::min(budget, max_tokens - answer_reserve - close_tokens));
  }
  return plan;
}

AgentController::AgentController(AgentSetup setup)
    : s_(std::move(setup)),
      phase_(s_.thinking && s_.tags.available() ? Phase::kThinking : Phase::kAnswer),
      think_dec_(*s_.tok),
      answer_dec_(*s_.tok),
      stop_(s_.stop),
      confidence_(s_.confidence_window) {
  MUSE_ASSERT(s_.tok != nullptr);
}

std::vector<int32_t> AgentController::ban_set() const {
  std::vector<int32_t> ban;
  if (s_.tags.available()) {
    ban.push_back(s_.tags.open);
    if (phase_ == Phase::kAnswer) ban.push_back(s_.tags.close);
  }
  if (phase_ == Phase::kThinking || !visible_) ban.insert(ban.end(), s_.eog.begin(), s_.eog.end());
  if (phase_ == Phase::kAnswer && s_.constraint) {
    const std::vector<int32_t> more = s_.constraint->banned();
    ban.insert(ban.end(), more.begin(), more.end());
  }
  return ban;
}

std::vector<int32_t> AgentController::initial_ban() const { return ban_set(); }

void AgentController::emit(DeltaKind kind, std::string_view text) {
  if (text.empty()) return;
  (kind == DeltaKind::kReasoning ? reasoning_ : content_) += text;
  if (s_.on_delta) s_.on_delta(kind, text);
}

// Answer text goes through the stop matcher; leading whitespace (the "\n\n" after the think block) is
// dropped so that the content starts with its first visible character.
void AgentController::emit_content(std::string_view text) {
  if (!visible_) {
    const size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return;
    text.remove_prefix(first);
    visible_ = true;
  }
  emit(DeltaKind::kContent, stop_.push(text));
}

void AgentController::end_thinking() {
  emit(DeltaKind::kReasoning, think_dec_.flush());
  phase_ = Phase::kAnswer;
}

engine::Directive AgentController::on_token(const engine::TokenEvent& ev) {
  engine::Directive d;
  if (!ev.top.empty()) {
    confidence_.push(token_confidence(ev.top.first(std::min(ev.top.size(), static_cast<size_t>(s_.confidence_top)))));
  }
  if (phase_ == Phase::kDone) {
    d.stop = true;
    return d;
  }
  const bool was_visible = visible_;
  if (phase_ == Phase::kThinking) {
    ++thinking_;
    if (ev.token == s_.tags.close) {
      end_thinking();
      d.ban = ban_set();
      return d;
    }
    emit(DeltaKind::kReasoning, think_dec_.push(ev.token));
    if (thinking_ >= s_.think_limit) {
      // Budget spent: wrap up in the model's own words, close the block, let it answer.
      budget_hit_ = true;
      emit(DeltaKind::kReasoning, think_dec_.flush());
      emit(DeltaKind::kReasoning, s_.wrap_text);
      d.force = s_.wrap;
      forced_ += static_cast<int64_t>(s_.wrap.size());
      phase_ = Phase::kAnswer;
      d.ban = ban_set();
    }
    return d;
  }
  ++answer_;
  emit_content(answer_dec_.push(ev.token));
  if (s_.logprobs >= 0 && visible_ && !stop_.stopped()) {
    AnswerLogprob lp{ev.token, ev.logprob, {}};
    const size_t n = std::min(ev.top.size(), static_cast<size_t>(s_.logprobs));
    lp.top.assign(ev.top.begin(), ev.top.begin() + static_cast<std::ptrdiff_t>(n));
    answer_logprobs_.push_back(std::move(lp));
  }
  // A token the constraint rejects was banned, so it cannot have been sampled; stop rather than go on
  // outside the grammar if it happens anyway.
  const bool off_grammar = s_.constraint && !s_.constraint->accept(ev.token);
  if (stop_.stopped() || off_grammar || (s_.constraint && s_.constraint->finished())) {
    phase_ = Phase::kDone;
    d.stop = true;
    return d;
  }
  // The constraint's mask changes with every token; otherwise only end-of-generation becomes allowed.
  if (s_.constraint || visible_ != was_visible) d.ban = ban_set();
  return d;
}

void AgentController::finish() {
  if (phase_ == Phase::kThinking) {
    emit(DeltaKind::kReasoning, think_dec_.flush());
  } else {
    emit_content(answer_dec_.flush());
    emit(DeltaKind::kContent, stop_.flush());
  }
  phase_ = Phase::kDone;
}

}  // namespace muse::reason
