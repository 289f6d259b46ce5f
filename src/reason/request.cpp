#include "reason/request.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "reason/answer.h"

namespace muse::reason {

const char* mode_name(Mode mode) {
  switch (mode) {
    case Mode::kInstant: return "instant";
    case Mode::kThinking: return "thinking";
    case Mode::kContemplating: return "contemplating";
  }
  return "?";
}

Mode parse_mode(std::string_view name) {
  if (name == "instant") return Mode::kInstant;
  if (name == "thinking") return Mode::kThinking;
  if (name == "contemplating") return Mode::kContemplating;
  fail(ErrorCode::kInvalidArgument, "mode '{}': expected instant, thinking or contemplating", name);
}

const char* aggregate_name(Aggregate a) {
  switch (a) {
    case Aggregate::kVote: return "vote";
    case Aggregate::kWeighted: return "weighted";
    case Aggregate::kSynthesize: return "synthesize";
  }
  return "?";
}

Aggregate parse_aggregate(std::string_view name) {
  if (name == "vote") return Aggregate::kVote;
  if (name == "weighted") return Aggregate::kWeighted;
  if (name == "synthesize") return Aggregate::kSynthesize;
  fail(ErrorCode::kInvalidArgument, "aggregate '{}': expected vote, weighted or synthesize", name);
}

int64_t default_answer_reserve(int64_t max_tokens) {
  const int64_t floor = std::min<int64_t>(32, max_tokens / 4);
  return std::clamp<int64_t>(std::max(max_tokens / 16, floor), 1, 256);
}

void Request::validate() const {
  if (messages.empty()) fail(ErrorCode::kInvalidArgument, "messages: the conversation is empty");
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].role.empty()) fail(ErrorCode::kInvalidArgument, "messages[{}].role is empty", i);
  }
  if (agents < 1 || agents > 256) fail(ErrorCode::kInvalidArgument, "agents must be in 1..256 (got {})", agents);
  if (samples < 1 || samples > 256) fail(ErrorCode::kInvalidArgument, "samples must be in 1..256 (got {})", samples);
  if (max_tokens < 1) fail(ErrorCode::kInvalidArgument, "max_tokens must be >= 1 (got {})", max_tokens);
  if (answer_reserve < 0 || answer_reserve >= max_tokens) {
    fail(ErrorCode::kInvalidArgument, "answer_reserve must be in 0..max_tokens-1 (got {} with max_tokens {})",
         answer_reserve, max_tokens);
  }
  sampling.validate();
  if (logprobs < -1 || logprobs > 20) fail(ErrorCode::kInvalidArgument, "logprobs must be in -1..20 (got {})", logprobs);
  if (!agent_temperatures.empty()) {
    if (mode == Mode::kContemplating && static_cast<int>(agent_temperatures.size()) != agents) {
      fail(ErrorCode::kInvalidArgument, "agent_temperatures has {} values for {} agents", agent_temperatures.size(),
           agents);
    }
    for (float t : agent_temperatures) {
      if (!(t >= 0.0f) || !std::isfinite(t)) fail(ErrorCode::kInvalidArgument, "agent temperature {} is not >= 0", t);
    }
  }
  if (early_stop.window < 1 || early_stop.warmup < 0 || early_stop.min_keep < 1 ||
      !(early_stop.percentile >= 0 && early_stop.percentile <= 100)) {
    fail(ErrorCode::kInvalidArgument, "early_stop: window >= 1, warmup >= 0, min_keep >= 1 and percentile in "
         "0..100 required (got {}, {}, {}, {})", early_stop.window, early_stop.warmup, early_stop.min_keep,
         early_stop.percentile);
  }
  if (!answer_pattern.empty()) compile_answer_pattern(answer_pattern);
}

namespace {

nlohmann::json usage_json(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},     {"cached_prompt_tokens", u.cached_prompt_tokens},
          {"thinking_tokens", u.thinking_tokens}, {"forced_tokens", u.forced_tokens},
          {"answer_tokens", u.answer_tokens},     {"generated_tokens", u.generated()}};
}

}  // namespace

nlohmann::json Result::to_json() const {
  nlohmann::json agents_j = nlohmann::json::array();
  for (const AgentTrace& a : agents) {
    agents_j.push_back({{"index", a.index},
                        {"seed", a.seed},
                        {"temperature", a.temperature},
                        {"reasoning", a.reasoning},
                        {"content", a.content},
                        {"answer", a.answer},
                        {"answer_rule", a.answer_how},
                        {"usage", usage_json(a.usage)},
                        {"confidence", a.confidence},
                        {"mean_confidence", a.mean_confidence},
                        {"budget_hit", a.budget_hit},
                        {"stopped_early", a.stopped_early},
                        {"refined", a.refined},
                        {"finish", a.finish}});
  }
  nlohmann::json j = {{"mode", mode_name(mode)},
                      {"content", content},
                      {"reasoning", reasoning},
                      {"answer", answer},
                      {"winner", winner},
                      {"agents", std::move(agents_j)},
                      {"usage", usage_json(total)},
                      {"timing",
                       {{"wall_seconds", timing.wall_seconds},
                        {"prefill_seconds", timing.prefill_seconds},
                        {"decode_seconds", timing.decode_seconds},
                        {"aggregate_seconds", timing.aggregate_seconds}}},
                      {"prefill_calls", prefill_calls},
                      {"forward_calls", forward_calls},
                      {"kv_pages_peak", kv_pages_peak},
                      {"kv_page_bytes", kv_page_bytes},
                      {"cancelled", cancelled},
                      {"notes", notes}};
  if (early_stop_threshold) j["early_stop_threshold"] = *early_stop_threshold;
  return j;
}

}  // namespace muse::reason
