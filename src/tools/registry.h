// ToolRegistry: the tools a conversation may call, by name, with their JSON-Schema parameters.
//
//   ToolRegistry reg;
//   add_builtin_tools(reg, {"calculator", "read_file"}, &sandbox);   // or reg.add(spec, fn)
//   ToolResult r = reg.call(call);   // validates call.arguments against the schema, then runs it
//
// call() never throws for a bad call: an unknown tool, arguments that do not match the schema, or a
// tool that throws muse::Error become a ToolResult with is_error set and a message the model can read
// and act on. A tool function may throw only muse::Error (anything else is a programmer error and
// propagates). The registry is filled once and then read-only: call() is as thread-safe as the tools.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/builtin.h"
#include "tools/json_schema.h"
#include "tools/tool_calls.h"

namespace muse::tools {

struct ToolSpec {
  std::string name;
  std::string description;
  nlohmann::json parameters = nlohmann::json{{"type", "object"}, {"properties", nlohmann::json::object()}};
};

struct ToolResult {
  std::string call_id;
  std::string name;
  std::string content;
  bool is_error = false;
};

using ToolFn = std::function<std::string(const nlohmann::json& arguments)>;

class ToolRegistry {
 public:
  // Throws kInvalidArgument for a duplicate or empty name, or a parameters schema that does not compile.
  void add(ToolSpec spec, ToolFn fn);
  bool has(const std::string& name) const;
  const std::vector<ToolSpec>& specs() const { return specs_; }
  bool empty() const { return specs_.empty(); }

  ToolResult call(const ToolCall& call) const;

  // [{"type": "function", "function": {"name", "description", "parameters"}}, ...] (OpenAI's form,
  // which chat templates' `tools` variable also expects).
  nlohmann::json openai_tools() const;

 private:
  std::vector<ToolSpec> specs_;
  std::vector<ToolFn> fns_;
};

// One call, written as a model of `format` writes it, to one of `tools` with arguments matching that
// tool's parameters; compile_wrapped_json(call_choices(...)) is the grammar tool_choice "required" or a
// named function limits a reply to:
//   hermes   <tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>
//   llama3   {"name": "f", "parameters": {...}}
//   mistral  [TOOL_CALLS][{"name": "f", "arguments": {...}}]
std::vector<WrappedSchema> call_choices(ToolFormat format, const std::vector<ToolSpec>& tools);

// Registers the named built-in tools: "calculator", "read_file", "list_dir". The file tools need a
// sandbox (throws kInvalidArgument without one, and for unknown names). The sandbox must outlive reg.
void add_builtin_tools(ToolRegistry& reg, const std::vector<std::string>& names, const Sandbox* sandbox);

}  // namespace muse::tools
