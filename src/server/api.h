// The OpenAI-compatible request and response shapes of `muse serve` (docs/server.md): one place that
// turns a JSON body into a reason::Request (or a completion) and results into response JSON. The tools
// module extends parse_chat when tool calling arrives.
//
// Pure functions, no state; thread-safe. Errors: parse_* throw ApiError (status 400, the OpenAI error
// type and the offending field in `param`) for anything a client got wrong; they never crash on a
// hostile body.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reason/request.h"
#include "server/engine.h"

namespace muse::server {

struct ApiError : std::runtime_error {
  ApiError(int status, std::string type, const std::string& message, std::string param = "", std::string code = "")
      : std::runtime_error(message), status(status), type(std::move(type)), param(std::move(param)), code(std::move(code)) {}
  int status;
  std::string type;   // invalid_request_error, authentication_error, rate_limit_error, server_error, ...
  std::string param;  // the offending field; empty: null
  std::string code;   // empty: null
  double retry_after = 0.0;  // seconds; > 0 adds a Retry-After header
};

// {"error": {"message", "type", "param", "code"}}
nlohmann::json error_json(const ApiError& e);
// muse::Error (from the engine or the reason module) -> the status and type a client should see.
ApiError api_error_from(const std::exception& e);

struct ApiLimits {
  int max_agents = 8;
  bool has_think_tags = true;
};

struct ChatCall {
  reason::Request request;  // callbacks unset
  std::string model;
  bool stream = false;
  bool include_usage = false;
  int n = 1;
  bool json_object = false;
  bool seed_given = false;
};
ChatCall parse_chat(const nlohmann::json& body, const ApiLimits& limits);

struct CompletionCall {
  CompletionRequest request;  // callbacks unset
  std::string model;
  bool stream = false;
  bool include_usage = false;
};
CompletionCall parse_completion(const nlohmann::json& body);

// OpenAI usage: completion_tokens = every generated token of every agent; reasoning = thinking + forced.
nlohmann::json usage_json(const reason::Usage& u);
// "stop" | "length" for a result's final answer.
std::string finish_reason(const reason::Result& res);
// The "openmuse" extension object (mode, notes, timing; agents and aggregation when contemplating).
nlohmann::json openmuse_json(const reason::Result& res, bool with_agents);
nlohmann::json aggregation_json(const reason::Result& res, reason::Aggregate method);
// agent_progress entries for streaming.
nlohmann::json progress_json(std::span<const reason::AgentProgress> agents);

// The instruction added for response_format json_object, and the check of the answer.
extern const char* const kJsonObjectInstruction;
bool is_json_object(const std::string& text);

}  // namespace muse::server
