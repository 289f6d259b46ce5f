#include "tools/registry.h"

#include "core/error.h"
#include "tools/json_schema.h"

namespace muse::tools {

using json = nlohmann::json;

void ToolRegistry::add(ToolSpec spec, ToolFn fn) {
  if (spec.name.empty()) fail(ErrorCode::kInvalidArgument, "tools: a tool needs a name");
  if (has(spec.name)) fail(ErrorCode::kInvalidArgument, "tools: '{}' is registered twice", spec.name);
  compile_json_schema(spec.parameters);  // throws for a schema the grammar cannot use
  specs_.push_back(std::move(spec));
  fns_.push_back(std::move(fn));
}

bool ToolRegistry::has(const std::string& name) const {
  for (const ToolSpec& s : specs_) {
    if (s.name == name) return true;
  }
  return false;
}

ToolResult ToolRegistry::call(const ToolCall& call) const {
  ToolResult r{call.id, call.name, "", false};
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].name != call.name) continue;
    std::string bad = validate_json(specs_[i].parameters, call.arguments);
    if (!bad.empty()) {
      r.is_error = true;
      r.content = fmt::format("error: bad arguments for {}: {}", call.name, bad);
      return r;
    }
    try {
      r.content = fns_[i](call.arguments);
    } catch (const Error& e) {
      r.is_error = true;
      r.content = std::string("error: ") + e.what();
    }
    return r;
  }
  r.is_error = true;
  std::string names;
  for (const ToolSpec& s : specs_) names += (names.empty() ? "" : ", ") + s.name;
  r.content = fmt::format("error: there is no tool named '{}' (available: {})", call.name, names);
  return r;
}

json ToolRegistry::openai_tools() const {
  json out = json::array();
  for (const ToolSpec& s : specs_) {
    out.push_back({{"type", "function"},
                   {"function", {{"name", s.name}, {"description", s.description}, {"parameters", s.parameters}}}});
  }
  return out;
}

std::vector<WrappedSchema> call_choices(ToolFormat format, const std::vector<ToolSpec>& tools) {
  const char* args_key = format == ToolFormat::kLlama3 ? "parameters" : "arguments";
  const char* open = format == ToolFormat::kHermes ? "<tool_call>\n" : format == ToolFormat::kMistral ? "[TOOL_CALLS][" : "";
  const char* close = format == ToolFormat::kHermes ? "}\n</tool_call>" : format == ToolFormat::kMistral ? "}]" : "}";
  std::vector<WrappedSchema> choices;
  for (const ToolSpec& t : tools) {
    choices.push_back({fmt::format("{}{{\"name\": {}, \"{}\": ", open, json(t.name).dump(), args_key), t.parameters, close});
  }
  return choices;
}

void add_builtin_tools(ToolRegistry& reg, const std::vector<std::string>& names, const Sandbox* sandbox) {
  auto need_sandbox = [&](const std::string& n) {
    if (sandbox == nullptr) fail(ErrorCode::kInvalidArgument, "tools: '{}' needs a sandbox folder (--sandbox DIR)", n);
  };
  for (const std::string& n : names) {
    if (n == "calculator") {
      reg.add({"calculator",
               "Evaluates an arithmetic expression exactly (big integers, decimals, + - * / ^, parentheses).",
               json::parse(R"({"type":"object","properties":{"expression":{"type":"string","description":"e.g. (2^64 - 1) / 3"}},"required":["expression"],"additionalProperties":false})")},
              [](const json& a) { return calculate(a.at("expression").get<std::string>()); });
    } else if (n == "read_file") {
      need_sandbox(n);
      reg.add({"read_file", "Reads a text file; the path is relative to the working folder.",
               json::parse(R"({"type":"object","properties":{"path":{"type":"string"}},"required":["path"],"additionalProperties":false})")},
              [sandbox](const json& a) { return sandbox->read_file(a.at("path").get<std::string>()); });
    } else if (n == "list_dir") {
      need_sandbox(n);
      reg.add({"list_dir", "Lists a folder (relative to the working folder; \".\" is the folder itself).",
               json::parse(R"({"type":"object","properties":{"path":{"type":"string"}},"additionalProperties":false})")},
              [sandbox](const json& a) { return sandbox->list_dir(a.value("path", std::string("."))); });
    } else {
      fail(ErrorCode::kInvalidArgument, "tools: unknown built-in tool '{}' (calculator, read_file, list_dir)", n);
    }
  }
}

}  // namespace muse::tools
