#include "server/api.h"

#include <cmath>
#include <random>

#include "core/error.h"

namespace muse::server {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& param, const std::string& message) {
  throw ApiError(400, "invalid_request_error", message, param);
}

const json* field(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

bool get_bool(const json& body, const char* name, bool dflt) {
  const json* v = field(body, name);
  if (!v) return dflt;
  if (!v->is_boolean()) bad(name, fmt::format("{}: expected a boolean, got {}", name, v->type_name()));
  return v->get<bool>();
}

int64_t get_int(const json& body, const char* name, int64_t dflt, int64_t lo, int64_t hi) {
  const json* v = field(body, name);
  if (!v) return dflt;
  if (!v->is_number()) bad(name, fmt::format("{}: expected an integer, got {}", name, v->type_name()));
  const double d = v->get<double>();
  if (v->is_number_float() && std::floor(d) != d) bad(name, fmt::format("{}: expected an integer, got a fraction", name));
  // Range first, so that no out-of-range double is ever converted to an integer.
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi))) {
    bad(name, fmt::format("{}: must be in {}..{} (got {})", name, lo, hi, v->dump()));
  }
  if (v->is_number_unsigned()) {
    const uint64_t u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(hi)) bad(name, fmt::format("{}: must be in {}..{} (got {})", name, lo, hi, u));
    return static_cast<int64_t>(u);
  }
  if (v->is_number_integer()) {
    const int64_t i = v->get<int64_t>();
    if (i < lo || i > hi) bad(name, fmt::format("{}: must be in {}..{} (got {})", name, lo, hi, i));
    return i;
  }
  return d >= 9.2e18 ? hi : d <= -9.2e18 ? lo : static_cast<int64_t>(d);
}

double get_number(const json& body, const char* name, double dflt, double lo, double hi) {
  const json* v = field(body, name);
  if (!v) return dflt;
  if (!v->is_number()) bad(name, fmt::format("{}: expected a number, got {}", name, v->type_name()));
  const double d = v->get<double>();
  if (!(d >= lo && d <= hi)) bad(name, fmt::format("{}: must be in [{}, {}] (got {})", name, lo, hi, d));
  return d;
}

std::optional<std::string> get_string(const json& body, const char* name) {
  const json* v = field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_string()) bad(name, fmt::format("{}: expected a string, got {}", name, v->type_name()));
  return v->get<std::string>();
}

std::vector<std::string> get_stop(const json& body) {
  const json* v = field(body, "stop");
  if (!v) return {};
  if (v->is_string()) return {v->get<std::string>()};
  if (!v->is_array()) bad("stop", fmt::format("stop: expected a string or an array of strings, got {}", v->type_name()));
  if (v->size() > 4) bad("stop", fmt::format("stop: at most 4 strings (got {})", v->size()));
  std::vector<std::string> out;
  for (const json& s : *v) {
    if (!s.is_string()) bad("stop", "stop: every element must be a string");
    out.push_back(s.get<std::string>());
  }
  return out;
}

engine::SamplerParams sampling_from(const json& body, bool& seed_given) {
  engine::SamplerParams p;  // Qwen3's recommended sampling for thinking (as the CLI)
  p.temperature = static_cast<float>(get_number(body, "temperature", 0.6, 0.0, 2.0));
  p.top_k = 20;
  p.top_p = static_cast<float>(get_number(body, "top_p", 0.95, 0.0, 1.0));
  if (p.top_p <= 0.0f) bad("top_p", "top_p: must be > 0");
  p.min_p = 0.0f;
  const json* seed = field(body, "seed");
  seed_given = seed != nullptr;
  if (seed) {
    const int64_t s = get_int(body, "seed", 0, INT64_MIN, INT64_MAX);
    p.seed = static_cast<uint64_t>(s);
  } else {
    p.seed = std::random_device{}();
  }
  for (const char* pen : {"frequency_penalty", "presence_penalty"}) {
    if (get_number(body, pen, 0.0, -2.0, 2.0) != 0.0) bad(pen, fmt::format("{}: only 0 is supported", pen));
  }
  return p;
}

void reject_unsupported(const json& body) {
  for (const char* t : {"tools", "functions"}) {
    if (const json* v = field(body, t); v && !(v->is_array() && v->empty())) bad(t, "tools are not supported yet");
  }
  if (const json* v = field(body, "tool_choice"); v && !(v->is_string() && v->get<std::string>() == "none")) {
    bad("tool_choice", "tools are not supported yet");
  }
  if (get_bool(body, "logprobs", false)) bad("logprobs", "logprobs are not supported yet");
  if (get_int(body, "top_logprobs", 0, 0, 20) != 0) bad("top_logprobs", "logprobs are not supported yet");
  if (get_bool(body, "echo", false)) bad("echo", "echo is not supported");
}

std::string content_text(const json& c, size_t index) {
  const std::string where = fmt::format("messages[{}].content", index);
  if (c.is_null()) return "";
  if (c.is_string()) return c.get<std::string>();
  if (!c.is_array()) bad(where, fmt::format("{}: expected a string or an array of parts, got {}", where, c.type_name()));
  std::string out;
  for (size_t i = 0; i < c.size(); ++i) {
    const json& part = c[i];
    if (!part.is_object()) bad(where, fmt::format("{}[{}]: expected an object", where, i));
    const auto type = part.find("type");
    if (type == part.end() || !type->is_string()) bad(where, fmt::format("{}[{}].type: expected a string", where, i));
    if (*type != "text") bad(where, fmt::format("{}[{}]: only text parts are supported (got '{}')", where, i, type->get<std::string>()));
    const auto text = part.find("text");
    if (text == part.end() || !text->is_string()) bad(where, fmt::format("{}[{}].text: expected a string", where, i));
    out += text->get<std::string>();
  }
  return out;
}

std::vector<reason::ChatMessage> messages_from(const json& body) {
  const json* m = field(body, "messages");
  if (!m) bad("messages", "messages: required");
  if (!m->is_array()) bad("messages", fmt::format("messages: expected an array, got {}", m->type_name()));
  if (m->empty()) bad("messages", "messages: must not be empty");
  if (m->size() > 4096) bad("messages", "messages: at most 4096 messages");
  std::vector<reason::ChatMessage> out;
  for (size_t i = 0; i < m->size(); ++i) {
    const json& msg = (*m)[i];
    const std::string where = fmt::format("messages[{}]", i);
    if (!msg.is_object()) bad(where, fmt::format("{}: expected an object, got {}", where, msg.type_name()));
    const auto role = msg.find("role");
    if (role == msg.end() || !role->is_string()) bad(where + ".role", fmt::format("{}.role: expected a string", where));
    std::string r = role->get<std::string>();
    if (r == "developer") r = "system";
    if (r == "tool" || r == "function") bad(where + ".role", "tools are not supported yet");
    if (r != "system" && r != "user" && r != "assistant") {
      bad(where + ".role", fmt::format("{}.role: expected system, user or assistant (got '{}')", where, r));
    }
    if (msg.contains("tool_calls") && !msg["tool_calls"].is_null() && !(msg["tool_calls"].is_array() && msg["tool_calls"].empty())) {
      bad(where + ".tool_calls", "tools are not supported yet");
    }
    const auto content = msg.find("content");
    out.push_back({r, content == msg.end() ? std::string() : content_text(*content, i)});
  }
  if (out.back().role == "assistant") bad("messages", "messages: the last message must not be the assistant's");
  return out;
}

}  // namespace

const char* const kJsonObjectInstruction = "Respond with a single JSON object and nothing else.";

json error_json(const ApiError& e) {
  json err = {{"message", e.what()}, {"type", e.type}, {"param", nullptr}, {"code", nullptr}};
  if (!e.param.empty()) err["param"] = e.param;
  if (!e.code.empty()) err["code"] = e.code;
  return json{{"error", err}};
}

ApiError api_error_from(const std::exception& e) {
  if (const auto* a = dynamic_cast<const ApiError*>(&e)) return *a;
  if (const auto* m = dynamic_cast<const Error*>(&e)) {
    switch (m->code()) {
      case ErrorCode::kInvalidArgument:
      case ErrorCode::kUnsupported:
        return ApiError(400, "invalid_request_error", m->what());
      case ErrorCode::kOutOfRange:
        return ApiError(400, "invalid_request_error", m->what(), "messages", "context_length_exceeded");
      case ErrorCode::kUnavailable: {
        ApiError a(503, "server_error", m->what(), "", "unavailable");
        a.retry_after = 1;
        return a;
      }
      default:
        return ApiError(500, "server_error", m->what());
    }
  }
  // The template interpreter's errors are the prompt's fault as far as a client can tell.
  if (std::string(e.what()).find("template") != std::string::npos) {
    return ApiError(400, "invalid_request_error", e.what(), "messages");
  }
  return ApiError(500, "server_error", e.what());
}

ChatCall parse_chat(const json& body, const ApiLimits& limits) {
  if (!body.is_object()) bad("", "the request body must be a JSON object");
  reject_unsupported(body);
  ChatCall call;
  reason::Request& r = call.request;
  r.messages = messages_from(body);
  call.model = get_string(body, "model").value_or("muse");
  call.stream = get_bool(body, "stream", false);
  if (const json* so = field(body, "stream_options")) {
    if (!so->is_object()) bad("stream_options", "stream_options: expected an object");
    call.include_usage = get_bool(*so, "include_usage", false);
  }
  r.sampling = sampling_from(body, call.seed_given);
  r.max_tokens = get_int(body, "max_tokens", 2048, 1, int64_t{1} << 20);
  r.max_tokens = get_int(body, "max_completion_tokens", r.max_tokens, 1, int64_t{1} << 20);
  r.stop = get_stop(body);
  call.n = static_cast<int>(get_int(body, "n", 1, 1, 8));
  if (const json* rf = field(body, "response_format")) {
    if (!rf->is_object()) bad("response_format", "response_format: expected an object");
    const std::string type = get_string(*rf, "type").value_or("text");
    if (type == "json_object") {
      call.json_object = true;
    } else if (type != "text") {
      bad("response_format", fmt::format("response_format.type: '{}' is not supported (text or json_object)", type));
    }
  }
  r.mode = reason::Mode::kThinking;
  r.think_budget = 1024;
  if (auto effort = get_string(body, "reasoning_effort")) {
    if (*effort == "none" || *effort == "minimal") {
      r.mode = reason::Mode::kInstant;
    } else if (*effort == "low") {
      r.think_budget = 256;
    } else if (*effort == "medium") {
      r.think_budget = 1024;
    } else if (*effort == "high") {
      r.think_budget = 4096;
    } else {
      bad("reasoning_effort", fmt::format("reasoning_effort: expected none, minimal, low, medium or high (got '{}')", *effort));
    }
  }
  if (auto mode = get_string(body, "mode")) {
    try {
      r.mode = reason::parse_mode(*mode);
    } catch (const Error&) {
      bad("mode", fmt::format("mode: expected instant, thinking or contemplating (got '{}')", *mode));
    }
  }
  r.think_budget = get_int(body, "think_budget", r.think_budget, -1, int64_t{1} << 20);
  r.agents = static_cast<int>(get_int(body, "agents", std::min(4, limits.max_agents), 1, limits.max_agents));
  if (auto agg = get_string(body, "aggregate")) {
    try {
      r.aggregate = reason::parse_aggregate(*agg);
    } catch (const Error&) {
      bad("aggregate", fmt::format("aggregate: expected vote, weighted or synthesize (got '{}')", *agg));
    }
  }
  r.early_stop.enabled = get_bool(body, "early_stop", false);
  r.refine = get_bool(body, "refine", false);
  if (call.json_object) {
    if (r.messages.front().role == "system") {
      r.messages.front().content += std::string("\n\n") + kJsonObjectInstruction;
    } else {
      r.messages.insert(r.messages.begin(), reason::ChatMessage{"system", kJsonObjectInstruction});
    }
  }
  try {
    r.validate();
  } catch (const Error& e) {
    bad("", e.what());
  }
  return call;
}

CompletionCall parse_completion(const json& body) {
  if (!body.is_object()) bad("", "the request body must be a JSON object");
  reject_unsupported(body);
  CompletionCall call;
  const json* p = field(body, "prompt");
  if (!p) bad("prompt", "prompt: required");
  if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) p = &(*p)[0];
  if (!p->is_string()) bad("prompt", fmt::format("prompt: expected a string, got {}", p->type_name()));
  call.request.prompt = p->get<std::string>();
  if (call.request.prompt.empty()) bad("prompt", "prompt: must not be empty");
  call.model = get_string(body, "model").value_or("muse");
  call.stream = get_bool(body, "stream", false);
  if (const json* so = field(body, "stream_options")) {
    if (!so->is_object()) bad("stream_options", "stream_options: expected an object");
    call.include_usage = get_bool(*so, "include_usage", false);
  }
  bool seed_given = false;
  call.request.sampling = sampling_from(body, seed_given);
  call.request.max_tokens = get_int(body, "max_tokens", 16, 1, int64_t{1} << 20);
  call.request.stop = get_stop(body);
  if (get_int(body, "n", 1, 1, 1) != 1) bad("n", "n: only 1 is supported");
  return call;
}

json usage_json(const reason::Usage& u) {
  const int64_t completion = u.generated();
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", completion},
          {"total_tokens", u.prompt_tokens + completion},
          {"prompt_tokens_details", {{"cached_tokens", u.cached_prompt_tokens}}},
          {"completion_tokens_details", {{"reasoning_tokens", u.thinking_tokens + u.forced_tokens}}}};
}

std::string finish_reason(const reason::Result& res) {
  if (res.winner < 0 || static_cast<size_t>(res.winner) >= res.agents.size()) return "stop";
  const std::string& f = res.agents[static_cast<size_t>(res.winner)].finish;
  return f == "eog" || f == "stop" ? "stop" : "length";
}

json aggregation_json(const reason::Result& res, reason::Aggregate method) {
  json cands = json::array();
  for (const reason::Candidate& c : res.candidates) {
    cands.push_back({{"agent", c.agent}, {"answer", c.answer}, {"confidence", c.confidence}});
  }
  return {{"method", reason::aggregate_name(method)}, {"answer", res.answer}, {"winner", res.winner},
          {"candidates", std::move(cands)}};
}

json openmuse_json(const reason::Result& res, bool with_agents) {
  json j = {{"mode", reason::mode_name(res.mode)},
            {"notes", res.notes},
            {"timing",
             {{"wall_seconds", res.timing.wall_seconds},
              {"prefill_seconds", res.timing.prefill_seconds},
              {"decode_seconds", res.timing.decode_seconds},
              {"aggregate_seconds", res.timing.aggregate_seconds}}}};
  if (with_agents && res.mode == reason::Mode::kContemplating) {
    json agents = json::array();
    for (const reason::AgentTrace& a : res.agents) {
      agents.push_back({{"agent", a.index},
                        {"answer", a.answer},
                        {"finish", a.finish},
                        {"reasoning_tokens", a.usage.thinking_tokens + a.usage.forced_tokens},
                        {"content_tokens", a.usage.answer_tokens},
                        {"confidence", a.confidence},
                        {"stopped_early", a.stopped_early},
                        {"content", a.content},
                        {"reasoning", a.reasoning}});
    }
    j["agents"] = std::move(agents);
  }
  return j;
}

json progress_json(std::span<const reason::AgentProgress> agents) {
  json out = json::array();
  for (const reason::AgentProgress& a : agents) {
    const char* phase = a.phase == reason::Phase::kThinking ? "thinking" : a.phase == reason::Phase::kAnswer ? "answer" : "done";
    out.push_back({{"agent", a.agent},
                   {"phase", phase},
                   {"reasoning_tokens", a.thinking_tokens},
                   {"content_tokens", a.answer_tokens},
                   {"stopped_early", a.stopped_early}});
  }
  return out;
}

bool is_json_object(const std::string& text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_object();
}

}  // namespace muse::server
