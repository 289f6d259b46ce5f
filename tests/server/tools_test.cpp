// Tool calling and structured output through `muse serve` over real HTTP, on the random think model
// (Qwen3's template, which renders `tools` and writes calls in the Hermes format). The model's weights
// are random, so whatever it writes under a grammar is what the grammar allows: a call that parses
// and whose arguments validate proves the constraint, not the model.
#include <gtest/gtest.h>

#include <map>

#include "fixture.h"
#include "reason/chat_format.h"
#include "server/api.h"
#include "tools/json_schema.h"

namespace muse::server {
namespace {

using nlohmann::json;
using testing::Running;
using testing::sse_events;
namespace models = reason::test_models;

// Short names and bounded strings keep the prompt (one token per character) and the call inside the
// test model's 1024 positions.
const json kWeatherParams = {{"type", "object"},
                             {"properties", {{"city", {{"type", "string"}, {"maxLength", 6}}}, {"unit", {{"enum", {"c", "f"}}}}}},
                             {"required", {"city", "unit"}}};
const json kTimeParams = {{"type", "object"}, {"properties", {{"utc", {{"type", "boolean"}}}}}, {"required", {"utc"}}};

// Both tools, or (for a longer prompt or answer) only the weather tool.
json tools_json(bool both = true) {
  json t = json::array({{{"type", "function"}, {"function", {{"name", "weather"}, {"parameters", kWeatherParams}}}}});
  if (both) t.push_back({{"type", "function"}, {"function", {{"name", "time"}, {"parameters", kTimeParams}}}});
  return t;
}

// Thinking takes its budget plus the wrap-up cue (~70 tokens) before the call (~110 tokens).
json tool_request(const std::string& mode, const json& tool_choice, uint64_t seed) {
  const bool thinking = mode != "instant";
  return json{{"messages", json::array({{{"role", "user"}, {"content", "Weather?"}}})},
              {"mode", mode},
              {"think_budget", 8},
              {"max_tokens", thinking ? 220 : 120},
              {"temperature", 1.0},
              {"seed", seed},
              {"tools", tools_json(!thinking)},
              {"tool_choice", tool_choice}};
}

EngineOptions long_context() {
  EngineOptions eo;
  eo.n_ctx = 1024;
  return eo;
}

const json& params_of(const std::string& name) { return name == "weather" ? kWeatherParams : kTimeParams; }

TEST(ServerTools, NamedToolChoiceForcesAValidCallInEveryMode) {
  Running s(models::think_model(), long_context());
  const json named = {{"type", "function"}, {"function", {{"name", "weather"}}}};
  for (const std::string mode : {"instant", "thinking", "contemplating"}) {
    for (uint64_t seed : {1, 2}) {
      json req = tool_request(mode, named, seed);
      req["agents"] = 2;  // contemplating: every agent is constrained; the calls come from the final answer
      auto r = s.post("/v1/chat/completions", req);
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << r->body;
      const json j = json::parse(r->body);
      const json& choice = j["choices"][0];
      EXPECT_EQ(choice["finish_reason"], "tool_calls") << r->body;
      const json& msg = choice["message"];
      EXPECT_TRUE(msg["content"].is_null()) << r->body;
      ASSERT_TRUE(msg.contains("tool_calls")) << r->body;
      ASSERT_EQ(msg["tool_calls"].size(), 1u) << r->body;
      const json& call = msg["tool_calls"][0];
      EXPECT_EQ(call["type"], "function");
      EXPECT_EQ(call["id"].get<std::string>().rfind("call_", 0), 0u);
      EXPECT_EQ(call["function"]["name"], "weather");
      ASSERT_TRUE(call["function"]["arguments"].is_string());
      const json args = json::parse(call["function"]["arguments"].get<std::string>(), nullptr, false);
      ASSERT_FALSE(args.is_discarded()) << call.dump();
      EXPECT_EQ(tools::validate_json(kWeatherParams, args), "") << args.dump();
      if (mode != "instant") {
        EXPECT_FALSE(msg["reasoning_content"].get<std::string>().empty());  // thinking stays free
      }
    }
  }
}

TEST(ServerTools, RequiredCallsOneOfTheToolsAndStreamsTheSameCall) {
  Running s(models::think_model(), long_context());
  for (uint64_t seed : {3, 4, 5}) {
    json req = tool_request("instant", "required", seed);
    auto r = s.post("/v1/chat/completions", req);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json msg = json::parse(r->body)["choices"][0]["message"];
    ASSERT_EQ(msg["tool_calls"].size(), 1u) << r->body;
    const json& fn = msg["tool_calls"][0]["function"];
    const std::string name = fn["name"];
    ASSERT_TRUE(name == "weather" || name == "time") << name;
    const json args = json::parse(fn["arguments"].get<std::string>());
    EXPECT_EQ(tools::validate_json(params_of(name), args), "") << args.dump();

    // The same seeded request streamed: tool_calls deltas reassemble to the same call.
    req["stream"] = true;
    auto st = s.post("/v1/chat/completions", req);
    ASSERT_TRUE(st);
    ASSERT_EQ(st->status, 200) << st->body;
    const std::vector<std::string> events = sse_events(st->body);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back(), "[DONE]");
    std::map<int, json> calls;  // index -> {id, name, arguments}
    std::string finish, content;
    for (size_t i = 0; i + 1 < events.size(); ++i) {
      const json c = json::parse(events[i]);
      ASSERT_FALSE(c.contains("error")) << events[i];
      for (const json& ch : c["choices"]) {
        if (!ch["finish_reason"].is_null()) finish = ch["finish_reason"];
        const json& d = ch["delta"];
        if (d.contains("content")) content += d["content"].get<std::string>();
        if (!d.contains("tool_calls")) continue;
        for (const json& tc : d["tool_calls"]) {
          json& acc = calls[tc["index"].get<int>()];
          if (tc.contains("id")) acc["id"] = tc["id"];
          if (tc.contains("type")) {
            EXPECT_EQ(tc["type"], "function");
          }
          if (tc["function"].contains("name")) acc["name"] = tc["function"]["name"];
          acc["arguments"] = acc.value("arguments", std::string()) + tc["function"].value("arguments", std::string());
        }
      }
    }
    EXPECT_EQ(finish, "tool_calls");
    EXPECT_EQ(content, "");  // the call is not also sent as text
    ASSERT_EQ(calls.size(), 1u);
    ASSERT_EQ(calls.begin()->first, 0);
    const json& sc = calls.begin()->second;
    EXPECT_EQ(sc["id"].get<std::string>().rfind("call_", 0), 0u);
    EXPECT_EQ(sc["name"], name);
    EXPECT_EQ(json::parse(sc["arguments"].get<std::string>()), args);
  }
}

TEST(ServerTools, ToolChoiceNoneAndAutoLeaveTheAnswerFree) {
  Running s(models::think_model(), long_context());
  auto none = s.post("/v1/chat/completions", tool_request("instant", "none", 7));
  ASSERT_TRUE(none);
  ASSERT_EQ(none->status, 200) << none->body;
  const json jn = json::parse(none->body);
  EXPECT_FALSE(jn["choices"][0]["message"].contains("tool_calls"));
  // "none" does not show the tools to the model: its prompt is much shorter than with "auto".
  auto aut = s.post("/v1/chat/completions", tool_request("instant", "auto", 7));
  ASSERT_TRUE(aut);
  ASSERT_EQ(aut->status, 200) << aut->body;
  const json ja = json::parse(aut->body);
  EXPECT_GT(ja["usage"]["prompt_tokens"].get<int64_t>(), jn["usage"]["prompt_tokens"].get<int64_t>() + 200);
  // A random model does not write the call markup by chance: a plain answer, finish "stop" or "length".
  EXPECT_NE(ja["choices"][0]["finish_reason"], "tool_calls");
}

TEST(ServerTools, ResponseFormatJsonSchemaOutputValidates) {
  Running s(models::think_model(), long_context());
  const json schema = {{"type", "object"},
                       {"properties", {{"ok", {{"type", "boolean"}}}, {"n", {{"enum", {1, 2, 3}}}}, {"w", {{"type", "string"}, {"maxLength", 5}}}}},
                       {"required", {"n", "ok", "w"}}};
  for (const std::string mode : {"instant", "thinking"}) {
    for (uint64_t seed : {1, 2}) {
      json req = {{"messages", json::array({{{"role", "user"}, {"content", "Answer in JSON"}}})},
                  {"mode", mode},
                  {"think_budget", 8},
                  {"max_tokens", 200},
                  {"temperature", 1.0},
                  {"seed", seed},
                  {"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "a"}, {"schema", schema}}}}}};
      auto r = s.post("/v1/chat/completions", req);
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << r->body;
      const json j = json::parse(r->body);
      EXPECT_EQ(j["choices"][0]["finish_reason"], "stop") << r->body;
      const json doc = json::parse(j["choices"][0]["message"]["content"].get<std::string>(), nullptr, false);
      ASSERT_FALSE(doc.is_discarded()) << r->body;
      EXPECT_EQ(tools::validate_json(schema, doc), "") << doc.dump();
      EXPECT_EQ(j["openmuse"]["notes"].dump().find("response_format"), std::string::npos) << r->body;
    }
  }
  // json_object: any object.
  json req = {{"messages", json::array({{{"role", "user"}, {"content", "JSON"}}})}, {"mode", "instant"},
              {"max_tokens", 60}, {"temperature", 0.0}, {"response_format", {{"type", "json_object"}}}};
  auto r = s.post("/v1/chat/completions", req);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  const std::string content = j["choices"][0]["message"]["content"];
  // Greedy random weights may run to max_tokens inside an open string; when the document closed, it is an object.
  if (j["choices"][0]["finish_reason"] == "stop") {
    EXPECT_TRUE(is_json_object(content)) << content;
  }
  EXPECT_EQ(content.rfind("{", 0), 0u) << content;
}

// A conversation with an assistant call and its result, as an OpenAI client sends it back.
json followup(const std::string& call_id) {
  return json::array({{{"role", "user"}, {"content", "Weather in Oslo?"}},
                      {{"role", "assistant"},
                       {"content", nullptr},
                       {"tool_calls", json::array({{{"id", call_id},
                                                    {"type", "function"},
                                                    {"function", {{"name", "weather"}, {"arguments", R"({"city":"Oslo","unit":"c"})"}}}}})}},
                      {{"role", "tool"}, {"tool_call_id", call_id}, {"content", "4 degrees"}}});
}

TEST(ServerTools, ToolHistoryRendersThroughRealTemplates) {
  // Qwen 2.5 and Qwen 3 write the call and the result into the prompt; the rendered text shows both.
  for (const char* file : {"Qwen-Qwen2.5-7B-Instruct.jinja", "Qwen-Qwen3-0.6B.jinja"}) {
    const std::string src = models::read_text(std::string(MUSE_SHARED_DATA) + "/templates/" + file);
    ASSERT_FALSE(src.empty()) << file;
    const models::ChatModel m = models::think_model(true, 3, src);
    const reason::ChatFormat fmt(text::ChatTemplate::parse(src, file), *m.tok);
    json body = {{"messages", followup("call_7")}, {"tools", tools_json()}};
    const ChatCall call = parse_chat(body, ApiLimits{});
    const std::string text = fmt.render(call.request.messages, reason::PromptMode::kInstant, call.request.tools).text;
    EXPECT_NE(text.find(R"(<tool_call>)"), std::string::npos) << file << "\n" << text;
    EXPECT_NE(text.find(R"("name": "weather")"), std::string::npos) << file << "\n" << text;
    EXPECT_NE(text.find(R"("city": "Oslo")"), std::string::npos) << file << "\n" << text;  // decoded, not a string
    EXPECT_NE(text.find("<tool_response>\n4 degrees\n</tool_response>"), std::string::npos) << file << "\n" << text;
    EXPECT_NE(text.find("<tools>"), std::string::npos) << file << "\n" << text;
  }
  // Over HTTP, the same history is answered (the template accepted it) and may call again.
  Running s(models::think_model(), long_context());
  json req = {{"messages", followup("call_abc")}, {"tools", tools_json(false)}, {"tool_choice", "required"},
              {"mode", "instant"}, {"max_tokens", 120}, {"temperature", 1.0}, {"seed", 9}};
  auto r = s.post("/v1/chat/completions", req);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["choices"][0]["finish_reason"], "tool_calls") << r->body;
  // A tool message for a call nobody made is a 400 naming it.
  req["messages"][2]["tool_call_id"] = "call_zzz";
  auto bad = s.post("/v1/chat/completions", req);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(json::parse(bad->body)["error"]["param"], "messages[2].tool_call_id");
}

}  // namespace
}  // namespace muse::server
