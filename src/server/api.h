// The OpenAI-compatible request and response shapes of `muse serve` (docs/server.md): one place that
// turns a JSON body into a reason::Request (or a completion) and results into response JSON, tools,
// tool_choice, tool messages and response_format included.
//
// Pure functions, no state; thread-safe. Errors: parse_* throw ApiError (status 400, the OpenAI error
// type and the offending field in `param`) for anything a client got wrong; they never crash on a
// hostile body.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reason/request.h"
#include "server/engine.h"
#include "tools/grammar.h"
#include "tools/registry.h"
#include "tools/tool_calls.h"

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

// What parse_chat needs to know about the served model.
struct ApiLimits {
  int max_agents = 8;
  bool has_think_tags = true;
  tools::ToolFormat tool_format = tools::ToolFormat::kHermes;  // how the model writes calls
  // The chat template renders the `tools` variable / assistant `tool_calls` itself. When it does not,
  // parse_chat describes the tools in the system message (tools::tool_system_prompt) / writes the calls
  // into the assistant's content in tool_format.
  bool template_renders_tools = true;
  bool template_renders_tool_calls = true;
};

struct ChatCall {
  reason::Request request;  // callbacks and answer_constraint unset; tools set when the model sees them
  std::string model;
  bool stream = false;
  bool include_usage = false;
  int n = 1;
  bool json_object = false;
  bool seed_given = false;
  // Tool calling: the request's tools; tool_choice "none" | "auto" | "required" | "function" (named, in
  // tool_name). parse_calls: the reply is parsed for calls in tool_format.
  std::vector<tools::ToolSpec> tools;
  std::string tool_choice = "auto";
  std::string tool_name;
  bool parse_calls = false;
  bool parallel_tool_calls = true;  // false: at most one call per reply (later ones dropped with a note)
  tools::ToolFormat tool_format = tools::ToolFormat::kHermes;
  // The grammar every answer must match (tool_choice required or named, response_format json_object or
  // json_schema); null: the answer is free.
  std::shared_ptr<const tools::Grammar> grammar;
  nlohmann::json json_schema;  // response_format json_schema's schema (null: none), checked after
};
ChatCall parse_chat(const nlohmann::json& body, const ApiLimits& limits);

struct CompletionCall {
  CompletionRequest request;  // callbacks unset
  std::string model;
  bool stream = false;
  bool include_usage = false;
};
CompletionCall parse_completion(const nlohmann::json& body);

// OpenAI chat logprobs: {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}], "refusal": null}.
nlohmann::json logprobs_json(const std::vector<reason::AnswerLogprob>& logprobs, const text::Tokenizer& tok);
// OpenAI usage: completion_tokens = every generated token of every agent; reasoning = thinking + forced.
nlohmann::json usage_json(const reason::Usage& u);
// "stop" | "length" for a result's final answer.
std::string finish_reason(const reason::Result& res);
// The "openmuse" extension object (mode, notes, timing; agents and aggregation when contemplating).
nlohmann::json openmuse_json(const reason::Result& res, bool with_agents);
nlohmann::json aggregation_json(const reason::Result& res, reason::Aggregate method);
// agent_progress entries for streaming.
nlohmann::json progress_json(std::span<const reason::AgentProgress> agents);

// A reply split into its tool calls (ids "call_<random hex>") and the text around them; parse
// errors (a call whose JSON does not parse) become notes and their text stays in content.
struct ReplyCalls {
  std::vector<tools::ToolCall> calls;
  std::string content;
  std::vector<std::string> notes;
};
// A run of Request::samples > 1 (instant or thinking with n > 1) as one result per sample, each as if its
// agent had run alone; the prompt tokens, timing and pass counts go with the first (so summed usage
// counts the shared prompt once).
std::vector<reason::Result> split_samples(reason::Result whole);
// parallel = false (the request's parallel_tool_calls): only the first call is kept, each further one
// becomes a note (dropped_call_note), its text dropped too.
ReplyCalls split_tool_calls(tools::ToolFormat format, const std::string& content, bool parallel = true);
std::string dropped_call_note(const std::string& name);
// The tool calls a model wrote inside its thinking (reasoning models often write the call there and then
// answer without it); the server returns them when the answer itself holds none, so they are not lost.
// Parse errors and calls dropped by parallel = false become notes; `content` stays empty.
ReplyCalls calls_in_reasoning(tools::ToolFormat format, const std::string& reasoning, bool parallel);
// A fresh call id, "call_" + 16 hex digits (clients send it back in tool messages).
std::string new_call_id();
// OpenAI's {"id", "type": "function", "function": {"name", "arguments": "<JSON string>"}}; with
// index >= 0 also "index" (the streaming delta form).
nlohmann::json tool_call_json(const tools::ToolCall& call, int index = -1);

// The instruction added for response_format json_object, and the check of the answer.
extern const char* const kJsonObjectInstruction;
extern const char* const kJsonSchemaInstruction;  // followed by the schema
bool is_json_object(const std::string& text);

}  // namespace muse::server
