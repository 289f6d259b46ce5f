#include "server/api.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <random>

#include "core/error.h"
#include "tools/agent_loop.h"
#include "tools/json_schema.h"

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
  for (const char* t : {"functions", "function_call"}) {
    if (const json* v = field(body, t); v && !(v->is_array() && v->empty())) {
      bad(t, fmt::format("{}: the legacy function-calling fields are not supported; use tools and tool_choice", t));
    }
  }
  if (get_bool(body, "echo", false)) bad("echo", "echo is not supported");
}

// obj[key] as a string (absent or null: nullopt); any other type is a 400 naming `at.key`.
std::optional<std::string> string_at(const json& obj, const char* key, const std::string& at) {
  const json* v = field(obj, key);
  if (!v) return std::nullopt;
  const std::string path = at + "." + key;
  if (!v->is_string()) bad(path, fmt::format("{}: expected a string, got {}", path, v->type_name()));
  return v->get<std::string>();
}

// obj[key] as an object; absent is a 400 when required, else null.
const json* object_at(const json& obj, const char* key, const std::string& at, bool required) {
  const json* v = field(obj, key);
  const std::string path = at + "." + key;
  if (!v) {
    if (required) bad(path, fmt::format("{}: required", path));
    return nullptr;
  }
  if (!v->is_object()) bad(path, fmt::format("{}: expected an object, got {}", path, v->type_name()));
  return v;
}

// The schema compiles to a grammar (so constrained decoding can use it), else a 400 naming `at`.
void check_schema(const json& schema, const std::string& at) {
  try {
    tools::compile_json_schema(schema);
  } catch (const Error& e) {
    bad(at, fmt::format("{}: {}", at, e.what()));
  }
}

// `tools`: [{"type": "function", "function": {"name", "description"?, "parameters"?}}].
std::vector<tools::ToolSpec> tools_from(const json& body) {
  const json* t = field(body, "tools");
  if (!t) return {};
  if (!t->is_array()) bad("tools", fmt::format("tools: expected an array, got {}", t->type_name()));
  if (t->size() > 128) bad("tools", fmt::format("tools: at most 128 tools (got {})", t->size()));
  std::vector<tools::ToolSpec> out;
  for (size_t i = 0; i < t->size(); ++i) {
    const json& tool = (*t)[i];
    const std::string at = fmt::format("tools[{}]", i);
    if (!tool.is_object()) bad(at, fmt::format("{}: expected an object, got {}", at, tool.type_name()));
    const std::string type = string_at(tool, "type", at).value_or("");
    if (type != "function") bad(at + ".type", fmt::format("{}.type: expected 'function' (got '{}')", at, type));
    const json& fn = *object_at(tool, "function", at, true);
    const std::string fat = at + ".function";
    tools::ToolSpec spec;
    spec.name = string_at(fn, "name", fat).value_or("");
    const bool name_ok = !spec.name.empty() && spec.name.size() <= 64 &&
                         std::all_of(spec.name.begin(), spec.name.end(), [](char c) {
                           return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
                         });
    if (!name_ok) {
      bad(fat + ".name", fmt::format("{}.name: 1 to 64 letters, digits, '_' or '-' (got '{}')", fat, spec.name));
    }
    for (const tools::ToolSpec& o : out) {
      if (o.name == spec.name) bad(fat + ".name", fmt::format("{}.name: '{}' is defined twice", fat, spec.name));
    }
    spec.description = string_at(fn, "description", fat).value_or("");
    if (const json* p = object_at(fn, "parameters", fat, false)) spec.parameters = *p;
    check_schema(spec.parameters, fat + ".parameters");
    out.push_back(std::move(spec));
  }
  return out;
}

// `tool_choice`: "none" | "auto" | "required" | {"type": "function", "function": {"name"}}; sets
// call.tool_choice (and tool_name for a named function).
void tool_choice_from(const json& body, ChatCall& call) {
  call.tool_choice = call.tools.empty() ? "none" : "auto";
  const json* v = field(body, "tool_choice");
  if (!v) return;
  if (v->is_string()) {
    const std::string c = v->get<std::string>();
    if (c != "none" && c != "auto" && c != "required") {
      bad("tool_choice", fmt::format("tool_choice: expected none, auto, required or a function object (got '{}')", c));
    }
    if (c == "required" && call.tools.empty()) bad("tool_choice", "tool_choice: 'required' needs tools");
    if (c != "auto" || !call.tools.empty()) call.tool_choice = c;
    return;
  }
  if (!v->is_object()) bad("tool_choice", fmt::format("tool_choice: expected a string or an object, got {}", v->type_name()));
  const std::string type = string_at(*v, "type", "tool_choice").value_or("");
  if (type != "function") bad("tool_choice.type", fmt::format("tool_choice.type: expected 'function' (got '{}')", type));
  const json& fn = *object_at(*v, "function", "tool_choice", true);
  const std::string name = string_at(fn, "name", "tool_choice.function").value_or("");
  const bool known = std::any_of(call.tools.begin(), call.tools.end(), [&](const tools::ToolSpec& t) { return t.name == name; });
  if (!known) bad("tool_choice.function.name", fmt::format("tool_choice.function.name: no tool named '{}' in tools", name));
  call.tool_choice = "function";
  call.tool_name = name;
}

// An assistant message's tool_calls, in the form chat templates expect (arguments decoded).
json tool_calls_from(const json& tc, const std::string& where, std::vector<std::string>& ids) {
  if (!tc.is_array()) bad(where, fmt::format("{}: expected an array, got {}", where, tc.type_name()));
  json out = json::array();
  for (size_t j = 0; j < tc.size(); ++j) {
    const json& c = tc[j];
    const std::string at = fmt::format("{}[{}]", where, j);
    if (!c.is_object()) bad(at, fmt::format("{}: expected an object, got {}", at, c.type_name()));
    const std::string id = string_at(c, "id", at).value_or("");
    if (id.empty()) bad(at + ".id", fmt::format("{}.id: required", at));
    const std::string type = string_at(c, "type", at).value_or("function");
    if (type != "function") bad(at + ".type", fmt::format("{}.type: expected 'function' (got '{}')", at, type));
    const json& fn = *object_at(c, "function", at, true);
    const std::string fat = at + ".function";
    const std::string name = string_at(fn, "name", fat).value_or("");
    if (name.empty()) bad(fat + ".name", fmt::format("{}.name: required", fat));
    // OpenAI sends the arguments as a string of JSON; templates want the object.
    json args = json::object();
    if (const json* a = field(fn, "arguments")) {
      if (a->is_string()) {
        args = json::parse(a->get<std::string>(), nullptr, /*allow_exceptions=*/false);
        if (args.is_discarded()) bad(fat + ".arguments", fmt::format("{}.arguments: not valid JSON", fat));
      } else if (a->is_object()) {
        args = *a;
      } else {
        bad(fat + ".arguments", fmt::format("{}.arguments: expected a string of JSON, got {}", fat, a->type_name()));
      }
    }
    ids.push_back(id);
    out.push_back({{"id", id}, {"type", "function"}, {"function", {{"name", name}, {"arguments", std::move(args)}}}});
  }
  return out;
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
  std::vector<std::string> call_ids;  // of the assistant turns so far
  for (size_t i = 0; i < m->size(); ++i) {
    const json& msg = (*m)[i];
    const std::string where = fmt::format("messages[{}]", i);
    if (!msg.is_object()) bad(where, fmt::format("{}: expected an object, got {}", where, msg.type_name()));
    const auto role = msg.find("role");
    if (role == msg.end() || !role->is_string()) bad(where + ".role", fmt::format("{}.role: expected a string", where));
    std::string r = role->get<std::string>();
    if (r == "developer") r = "system";
    if (r == "function") {
      bad(where + ".role", fmt::format("{}.role: 'function' (legacy function calling) is not supported; use 'tool'", where));
    }
    if (r != "system" && r != "user" && r != "assistant" && r != "tool") {
      bad(where + ".role", fmt::format("{}.role: expected system, user, assistant or tool (got '{}')", where, r));
    }
    const auto content = msg.find("content");
    reason::ChatMessage cm{r, content == msg.end() ? std::string() : content_text(*content, i)};
    if (const json* tc = field(msg, "tool_calls")) {
      if (r != "assistant") bad(where + ".tool_calls", fmt::format("{}.tool_calls: only assistant messages make calls", where));
      if (!(tc->is_array() && tc->empty())) cm.tool_calls = tool_calls_from(*tc, where + ".tool_calls", call_ids);
    }
    if (r == "tool") {
      cm.tool_call_id = string_at(msg, "tool_call_id", where).value_or("");
      if (cm.tool_call_id.empty()) bad(where + ".tool_call_id", fmt::format("{}.tool_call_id: required for role 'tool'", where));
      if (std::find(call_ids.begin(), call_ids.end(), cm.tool_call_id) == call_ids.end()) {
        bad(where + ".tool_call_id", fmt::format("{}.tool_call_id: '{}' answers no earlier assistant tool call", where,
                                                 cm.tool_call_id));
      }
      cm.name = string_at(msg, "name", where).value_or("");
    }
    out.push_back(std::move(cm));
  }
  if (out.back().role == "assistant") bad("messages", "messages: the last message must not be the assistant's");
  return out;
}

// Puts `text` into the first system message (or a new one in front).
void add_system_text(std::vector<reason::ChatMessage>& msgs, const std::string& text) {
  if (msgs.front().role == "system") {
    msgs.front().content += "\n\n" + text;
  } else {
    msgs.insert(msgs.begin(), reason::ChatMessage{"system", text});
  }
}

// Tools the template cannot show: the tools in the system message, earlier calls as the text a model of
// the family writes.
void render_tools_ourselves(ChatCall& call, const ApiLimits& limits) {
  std::vector<reason::ChatMessage>& msgs = call.request.messages;
  if (!limits.template_renders_tool_calls) {
    for (reason::ChatMessage& m : msgs) {
      if (!m.tool_calls.is_array()) continue;
      for (const json& c : m.tool_calls) {
        tools::ToolCall tc;
        tc.id = c["id"].get<std::string>();
        tc.name = c["function"]["name"].get<std::string>();
        tc.arguments = c["function"]["arguments"];
        m.content += (m.content.empty() ? "" : "\n") + tools::format_tool_call(limits.tool_format, tc);
      }
      m.tool_calls = nullptr;
    }
  }
  if (!limits.template_renders_tools && call.parse_calls) {
    tools::ToolRegistry reg;
    for (const tools::ToolSpec& t : call.tools) reg.add(t, nullptr);
    add_system_text(msgs, tools::tool_system_prompt(reg, limits.tool_format));
  }
}

// The grammar of the answer: one call for tool_choice required/named; for response_format json a JSON
// document (or, with tool_choice auto, a call or the document).
void build_grammar(ChatCall& call) {
  std::vector<tools::WrappedSchema> choices;
  if (call.tool_choice == "required") {
    choices = tools::call_choices(call.tool_format, call.tools);
  } else if (call.tool_choice == "function") {
    for (const tools::ToolSpec& t : call.tools) {
      if (t.name == call.tool_name) choices = tools::call_choices(call.tool_format, {t});
    }
  } else if (call.json_object || !call.json_schema.is_null()) {
    if (call.parse_calls) choices = tools::call_choices(call.tool_format, call.tools);
    const json doc = call.json_object ? json{{"type", "object"}, {"additionalProperties", true}} : call.json_schema;
    choices.push_back({"", doc, ""});
  }
  if (!choices.empty()) call.grammar = std::make_shared<const tools::Grammar>(tools::compile_wrapped_json(choices).grammar);
}

}  // namespace

const char* const kJsonObjectInstruction = "Respond with a single JSON object and nothing else.";
const char* const kJsonSchemaInstruction = "Respond with a single JSON value matching this JSON Schema and nothing else:";

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
  call.tools = tools_from(body);
  tool_choice_from(body, call);
  call.tool_format = limits.tool_format;
  call.parse_calls = !call.tools.empty() && call.tool_choice != "none";
  call.parallel_tool_calls = get_bool(body, "parallel_tool_calls", true);
  if (call.parse_calls) {
    r.tools = json::array();
    for (const tools::ToolSpec& t : call.tools) {
      r.tools.push_back({{"type", "function"},
                         {"function", {{"name", t.name}, {"description", t.description}, {"parameters", t.parameters}}}});
    }
  }
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
  const bool logprobs = get_bool(body, "logprobs", false);
  const int64_t top_logprobs = get_int(body, "top_logprobs", 0, 0, 20);
  if (field(body, "top_logprobs") && !logprobs) bad("top_logprobs", "top_logprobs: needs logprobs: true");
  r.logprobs = logprobs ? static_cast<int>(top_logprobs) : -1;
  if (const json* rf = field(body, "response_format")) {
    if (!rf->is_object()) bad("response_format", "response_format: expected an object");
    const std::string type = get_string(*rf, "type").value_or("text");
    if (type == "json_object") {
      call.json_object = true;
    } else if (type == "json_schema") {
      const json& js = *object_at(*rf, "json_schema", "response_format", true);
      const json* schema = field(js, "schema");
      call.json_schema = schema ? *schema : json{{"type", "object"}, {"additionalProperties", true}};
      check_schema(call.json_schema, "response_format.json_schema.schema");
    } else if (type != "text") {
      bad("response_format",
          fmt::format("response_format.type: '{}' is not supported (text, json_object or json_schema)", type));
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
  if (call.json_object) add_system_text(r.messages, kJsonObjectInstruction);
  if (!call.json_schema.is_null()) {
    add_system_text(r.messages, std::string(kJsonSchemaInstruction) + "\n" + call.json_schema.dump());
  }
  render_tools_ourselves(call, limits);
  build_grammar(call);
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
  if (field(body, "logprobs") && !field(body, "logprobs")->is_null()) {
    bad("logprobs", "logprobs: not supported in /v1/completions yet (use /v1/chat/completions)");
  }
  return call;
}

json logprobs_json(const std::vector<reason::AnswerLogprob>& logprobs, const text::Tokenizer& tok) {
  const auto entry = [&](int32_t id, float logprob) {
    const std::string piece = tok.token_to_piece(id);
    json bytes = json::array();
    for (unsigned char c : piece) bytes.push_back(static_cast<int>(c));
    // A piece may be part of a UTF-8 character: "token" is its text (invalid bytes become U+FFFD when the
    // reply is written), "bytes" the exact bytes, as OpenAI does.
    return json{{"token", piece}, {"logprob", std::isfinite(logprob) ? logprob : -9999.0f}, {"bytes", std::move(bytes)}};
  };
  json content = json::array();
  for (const reason::AnswerLogprob& lp : logprobs) {
    json e = entry(lp.token, lp.logprob);
    json top = json::array();
    for (const engine::TokenLogprob& t : lp.top) top.push_back(entry(t.token, t.logprob));
    e["top_logprobs"] = std::move(top);
    content.push_back(std::move(e));
  }
  return {{"content", std::move(content)}, {"refusal", nullptr}};
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

std::string new_call_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("call_{:016x}", rng());
}

std::vector<reason::Result> split_samples(reason::Result whole) {
  std::vector<reason::Result> out;
  std::vector<reason::AgentTrace> agents = std::move(whole.agents);
  for (size_t i = 0; i < agents.size(); ++i) {
    reason::Result r;
    reason::AgentTrace& t = agents[i];
    r.mode = whole.mode;
    r.content = t.content;
    r.reasoning = t.reasoning;
    r.answer = t.answer;
    r.logprobs = std::move(t.logprobs);
    r.winner = 0;
    r.total = t.usage;
    r.total.prompt_tokens = i == 0 ? whole.total.prompt_tokens : 0;
    r.total.cached_prompt_tokens = i == 0 ? whole.total.cached_prompt_tokens : 0;
    r.kv_page_bytes = whole.kv_page_bytes;
    r.cancelled = whole.cancelled;
    r.notes = whole.notes;
    if (i == 0) {
      r.timing = whole.timing;
      r.prefill_calls = whole.prefill_calls;
      r.forward_calls = whole.forward_calls;
      r.kv_pages_peak = whole.kv_pages_peak;
    }
    t.index = 0;
    r.agents.push_back(std::move(t));
    out.push_back(std::move(r));
  }
  return out;
}

namespace {

// The calls of `text` (an answer, or with options.starts_in_reasoning a thinking block), their ids given;
// the rest of the text in `content`. `where` names the text in the note of a call that does not parse.
ReplyCalls collect_calls(tools::ToolFormat format, const std::string& text, bool parallel,
                         const tools::ParserOptions& options, const char* where) {
  ReplyCalls out;
  for (tools::ParseEvent& ev : tools::parse_tool_calls(format, text, options)) {
    switch (ev.kind) {
      case tools::ParseEvent::kToolCall:
        if (!parallel && !out.calls.empty()) {
          out.notes.push_back(dropped_call_note(ev.call.name));
          break;
        }
        ev.call.id = new_call_id();
        out.calls.push_back(std::move(ev.call));
        break;
      case tools::ParseEvent::kError:
        out.notes.push_back(fmt::format("a tool call{} was not understood: {}", where, ev.text));
        break;
      default:  // content (and any text the parser read as reasoning) stays visible
        out.content += ev.text;
    }
  }
  return out;
}

}  // namespace

ReplyCalls calls_in_reasoning(tools::ToolFormat format, const std::string& reasoning, bool parallel) {
  tools::ParserOptions po;
  po.starts_in_reasoning = true;
  ReplyCalls out = collect_calls(format, reasoning, parallel, po, " in the reasoning");
  out.content.clear();  // the reasoning stays in reasoning_content
  return out;
}

std::string dropped_call_note(const std::string& name) {
  return fmt::format("parallel_tool_calls is false: a further call (to {}) was dropped", name);
}

ReplyCalls split_tool_calls(tools::ToolFormat format, const std::string& content, bool parallel) {
  return collect_calls(format, content, parallel, tools::ParserOptions{}, "");
}

json tool_call_json(const tools::ToolCall& call, int index) {
  json j = {{"id", call.id}, {"type", "function"}, {"function", {{"name", call.name}, {"arguments", call.arguments.dump()}}}};
  if (index >= 0) j["index"] = index;
  return j;
}

bool is_json_object(const std::string& text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_object();
}

}  // namespace muse::server
