// Request parsing: every field maps to the reason::Request the CLI would build, and every bad field is a
// 400 that names it.
#include "server/api.h"

#include <gtest/gtest.h>

#include "tools/grammar.h"

namespace muse::server {
namespace {

using nlohmann::json;

json base() { return json{{"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}}; }

ApiError error_of(const json& body) {
  try {
    parse_chat(body, ApiLimits{});
  } catch (const ApiError& e) {
    return e;
  }
  return ApiError(0, "", "no error");
}

TEST(Api, FieldsMapToTheRequest) {
  json b = base();
  b["messages"] = json::array({{{"role", "developer"}, {"content", "be brief"}},
                               {{"role", "user"}, {"content", json::array({{{"type", "text"}, {"text", "a"}}, {{"type", "text"}, {"text", "b"}}})}}});
  b["max_completion_tokens"] = 77;
  b["temperature"] = 0.25;
  b["top_p"] = 0.5;
  b["seed"] = 42;
  b["stop"] = "END";
  b["mode"] = "contemplating";
  b["agents"] = 3;
  b["aggregate"] = "weighted";
  b["think_budget"] = 99;
  b["stream"] = true;
  b["stream_options"] = {{"include_usage", true}};
  b["n"] = 2;
  b["some_future_field"] = {1, 2};
  const ChatCall c = parse_chat(b, ApiLimits{});
  EXPECT_EQ(c.request.messages.size(), 2u);
  EXPECT_EQ(c.request.messages[0].role, "system");
  EXPECT_EQ(c.request.messages[1].content, "ab");
  EXPECT_EQ(c.request.max_tokens, 77);
  EXPECT_FLOAT_EQ(c.request.sampling.temperature, 0.25f);
  EXPECT_FLOAT_EQ(c.request.sampling.top_p, 0.5f);
  EXPECT_EQ(c.request.sampling.seed, 42u);
  EXPECT_EQ(c.request.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(c.request.mode, reason::Mode::kContemplating);
  EXPECT_EQ(c.request.agents, 3);
  EXPECT_EQ(c.request.aggregate, reason::Aggregate::kWeighted);
  EXPECT_EQ(c.request.think_budget, 99);
  EXPECT_TRUE(c.stream);
  EXPECT_TRUE(c.include_usage);
  EXPECT_EQ(c.n, 2);
}

TEST(Api, ReasoningEffortSetsModeAndBudget) {
  auto with = [](const char* effort) {
    json b = base();
    b["reasoning_effort"] = effort;
    return parse_chat(b, ApiLimits{}).request;
  };
  EXPECT_EQ(with("none").mode, reason::Mode::kInstant);
  EXPECT_EQ(with("minimal").mode, reason::Mode::kInstant);
  EXPECT_EQ(with("low").mode, reason::Mode::kThinking);
  EXPECT_LT(with("low").think_budget, with("medium").think_budget);
  EXPECT_LT(with("medium").think_budget, with("high").think_budget);
  json b = base();
  b["reasoning_effort"] = "low";
  b["think_budget"] = 5;  // explicit wins
  EXPECT_EQ(parse_chat(b, ApiLimits{}).request.think_budget, 5);
  EXPECT_EQ(error_of([] { json x = base(); x["reasoning_effort"] = "max"; return x; }()).param, "reasoning_effort");
}

TEST(Api, BadFieldsAre400sNamingTheField) {
  struct Case {
    const char* field;
    json value;
  };
  for (const Case& c : {Case{"temperature", "hot"}, Case{"temperature", 3.0}, Case{"top_p", 0.0},
                        Case{"max_tokens", 0}, Case{"max_tokens", 1.5}, Case{"max_completion_tokens", "10"},
                        Case{"stream", 1}, Case{"stop", json::array({1})}, Case{"stop", json::array({"a", "b", "c", "d", "e"})},
                        Case{"n", 0}, Case{"n", 100}, Case{"mode", "fast"}, Case{"agents", 0}, Case{"agents", 99},
                        Case{"aggregate", "max"}, Case{"think_budget", -2}, Case{"seed", "x"},
                        Case{"logprobs", "yes"}, Case{"parallel_tool_calls", "no"}, Case{"top_logprobs", 3}, Case{"top_logprobs", -1}, Case{"frequency_penalty", 0.5},
                        Case{"response_format", {{"type", "xml"}}}, Case{"stream_options", 3}}) {
    json b = base();
    b[c.field] = c.value;
    const ApiError e = error_of(b);
    EXPECT_EQ(e.status, 400) << c.field << " = " << c.value.dump();
    EXPECT_EQ(e.param, c.field) << c.value.dump() << ": " << e.what();
  }
}

TEST(Api, BadMessagesAre400s) {
  for (const json& m : {json(nullptr), json("hi"), json::array(), json::array({1}), json::array({{{"content", "x"}}}),
                        json::array({{{"role", "wizard"}, {"content", "x"}}}),
                        json::array({{{"role", "user"}, {"content", 5}}}),
                        json::array({{{"role", "user"}, {"content", json::array({{{"type", "image_url"}}})}}}),
                        json::array({{{"role", "assistant"}, {"content", "x"}}})}) {
    json b = base();
    b["messages"] = m;
    const ApiError e = error_of(b);
    EXPECT_EQ(e.status, 400) << m.dump();
    EXPECT_NE(e.param.find("messages"), std::string::npos) << m.dump() << ": " << e.what();
  }
  EXPECT_EQ(error_of(json::array()).status, 400);
  EXPECT_EQ(error_of(json("x")).status, 400);
}

json weather_tool(const std::string& name = "get_weather") {
  return {{"type", "function"},
          {"function",
           {{"name", name},
            {"description", "Current weather"},
            {"parameters",
             {{"type", "object"},
              {"properties", {{"city", {{"type", "string"}}}, {"unit", {{"enum", {"c", "f"}}}}}},
              {"required", {"city"}}}}}}};
}

// A conversation that called get_weather and got its result back.
json tool_conversation() {
  return json::array({{{"role", "user"}, {"content", "Weather in Paris?"}},
                      {{"role", "assistant"},
                       {"content", nullptr},
                       {"tool_calls", json::array({{{"id", "call_1"},
                                                    {"type", "function"},
                                                    {"function", {{"name", "get_weather"}, {"arguments", R"({"city": "Paris"})"}}}}})}},
                      {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "18C"}}});
}

TEST(Api, BadToolRequestsAre400sNamingTheField) {
  struct Case {
    const char* what;
    json body;
    std::string param;
  };
  auto with = [](const char* key, json v) {
    json b = base();
    b[key] = std::move(v);
    return b;
  };
  auto tools_with = [&](json v) {
    json b = with("tools", json::array({weather_tool()}));
    b["tool_choice"] = std::move(v);
    return b;
  };
  json dup = with("tools", json::array({weather_tool(), weather_tool()}));
  json bad_params = weather_tool();
  bad_params["function"]["parameters"] = {{"type", "wizard"}};
  json no_id = base();
  no_id["messages"] = tool_conversation();
  no_id["messages"][2].erase("tool_call_id");
  json unknown_id = base();
  unknown_id["messages"] = tool_conversation();
  unknown_id["messages"][2]["tool_call_id"] = "call_9";
  json bad_args = base();
  bad_args["messages"] = tool_conversation();
  bad_args["messages"][1]["tool_calls"][0]["function"]["arguments"] = "{city: Paris";
  json no_call_name = base();
  no_call_name["messages"] = tool_conversation();
  no_call_name["messages"][1]["tool_calls"][0]["function"].erase("name");
  json user_calls = base();
  user_calls["messages"][0]["tool_calls"] = json::array({1});
  for (const Case& c : {
           Case{"tools not an array", with("tools", "get_weather"), "tools"},
           Case{"a tool not an object", with("tools", json::array({1})), "tools[0]"},
           Case{"a tool of another type", with("tools", json::array({{{"type", "web_search"}}})), "tools[0].type"},
           Case{"no function", with("tools", json::array({{{"type", "function"}}})), "tools[0].function"},
           Case{"a bad name", with("tools", json::array({weather_tool("get weather")})), "tools[0].function.name"},
           Case{"a name twice", dup, "tools[1].function.name"},
           Case{"a schema that does not compile", with("tools", json::array({bad_params})), "tools[0].function.parameters"},
           Case{"an unknown tool_choice", tools_with("sometimes"), "tool_choice"},
           Case{"a tool_choice of another type", tools_with(json{{"type", "web"}}), "tool_choice.type"},
           Case{"an unknown tool_choice name", tools_with({{"type", "function"}, {"function", {{"name", "get_time"}}}}),
                "tool_choice.function.name"},
           Case{"required without tools", with("tool_choice", "required"), "tool_choice"},
           Case{"legacy functions", with("functions", json::array({1})), "functions"},
           Case{"a tool message without tool_call_id", no_id, "messages[2].tool_call_id"},
           Case{"a tool message answering no call", unknown_id, "messages[2].tool_call_id"},
           Case{"arguments that are not JSON", bad_args, "messages[1].tool_calls[0].function.arguments"},
           Case{"a call without a name", no_call_name, "messages[1].tool_calls[0].function.name"},
           Case{"a user making calls", user_calls, "messages[0].tool_calls"},
           Case{"json_schema without json_schema", with("response_format", {{"type", "json_schema"}}),
                "response_format.json_schema"},
           Case{"a json_schema that does not compile",
                with("response_format", {{"type", "json_schema"}, {"json_schema", {{"schema", {{"$ref", "#/nowhere"}}}}}}),
                "response_format.json_schema.schema"},
       }) {
    const ApiError e = error_of(c.body);
    EXPECT_EQ(e.status, 400) << c.what;
    EXPECT_EQ(e.param, c.param) << c.what << ": " << e.what();
  }
}

// Whether `text` is a whole document of the call's grammar.
bool grammar_accepts(const ChatCall& c, const std::string& text) {
  tools::GrammarMatcher m(*c.grammar);
  return m.advance(text) && m.accepting();
}

TEST(Api, ToolChoiceDecidesWhatTheModelSeesAndTheGrammar) {
  json b = base();
  b["tools"] = json::array({weather_tool(), weather_tool("get_time")});
  const ChatCall aut = parse_chat(b, ApiLimits{});  // auto: tools in the template, calls parsed, no grammar
  EXPECT_EQ(aut.tool_choice, "auto");
  EXPECT_TRUE(aut.parse_calls);
  ASSERT_EQ(aut.request.tools.size(), 2u);
  EXPECT_EQ(aut.request.tools[1]["function"]["name"], "get_time");
  EXPECT_EQ(aut.grammar, nullptr);
  EXPECT_TRUE(aut.parallel_tool_calls);
  b["parallel_tool_calls"] = false;
  EXPECT_FALSE(parse_chat(b, ApiLimits{}).parallel_tool_calls);
  b.erase("parallel_tool_calls");

  b["tool_choice"] = "none";  // none: the model does not see them and nothing is parsed
  const ChatCall none = parse_chat(b, ApiLimits{});
  EXPECT_FALSE(none.parse_calls);
  EXPECT_TRUE(none.request.tools.is_null());
  EXPECT_EQ(none.grammar, nullptr);

  const std::string paris = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>";
  const std::string time = "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"city\": \"Oslo\", \"unit\": \"c\"}}\n</tool_call>";
  b["tool_choice"] = "required";  // any one call, arguments per the tool's schema
  const ChatCall req = parse_chat(b, ApiLimits{});
  ASSERT_NE(req.grammar, nullptr);
  EXPECT_TRUE(grammar_accepts(req, paris));
  EXPECT_TRUE(grammar_accepts(req, time));
  EXPECT_FALSE(grammar_accepts(req, "Paris is sunny."));
  EXPECT_FALSE(grammar_accepts(req, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"unit\": \"c\"}}\n</tool_call>"));

  b["tool_choice"] = {{"type", "function"}, {"function", {{"name", "get_time"}}}};  // that one tool only
  const ChatCall named = parse_chat(b, ApiLimits{});
  EXPECT_EQ(named.tool_name, "get_time");
  EXPECT_TRUE(grammar_accepts(named, time));
  EXPECT_FALSE(grammar_accepts(named, paris));

  // Llama 3.1 writes calls as a bare object with "parameters".
  ApiLimits llama;
  llama.tool_format = tools::ToolFormat::kLlama3;
  const ChatCall l = parse_chat(b, llama);
  EXPECT_TRUE(grammar_accepts(l, R"({"name": "get_time", "parameters": {"city": "Oslo"}})"));
  EXPECT_FALSE(grammar_accepts(l, time));

  // response_format with tool_choice auto: a call or the JSON document.
  b["tool_choice"] = "auto";
  b["response_format"] = {{"type", "json_object"}};
  const ChatCall either = parse_chat(b, ApiLimits{});
  EXPECT_TRUE(grammar_accepts(either, paris));
  EXPECT_TRUE(grammar_accepts(either, R"({"answer": 1})"));
  EXPECT_FALSE(grammar_accepts(either, "[1]"));
}

TEST(Api, ToolHistoryReachesTheTemplateDecoded) {
  json b = base();
  b["messages"] = tool_conversation();
  const ChatCall c = parse_chat(b, ApiLimits{});
  ASSERT_EQ(c.request.messages.size(), 3u);
  const reason::ChatMessage& a = c.request.messages[1];
  ASSERT_TRUE(a.tool_calls.is_array());
  EXPECT_EQ(a.tool_calls[0]["id"], "call_1");
  EXPECT_EQ(a.tool_calls[0]["function"]["arguments"], json({{"city", "Paris"}}));  // an object, not a string
  EXPECT_EQ(c.request.messages[2].role, "tool");
  EXPECT_EQ(c.request.messages[2].tool_call_id, "call_1");
  EXPECT_EQ(c.request.messages[2].content, "18C");

  // A template that renders neither tools nor tool_calls: both are written into the messages instead.
  ApiLimits plain;
  plain.template_renders_tools = false;
  plain.template_renders_tool_calls = false;
  b["tools"] = json::array({weather_tool()});
  const ChatCall p = parse_chat(b, plain);
  ASSERT_EQ(p.request.messages.front().role, "system");
  EXPECT_NE(p.request.messages.front().content.find("<tools>"), std::string::npos);
  EXPECT_NE(p.request.messages.front().content.find("get_weather"), std::string::npos);
  const reason::ChatMessage& pa = p.request.messages[2];
  EXPECT_TRUE(pa.tool_calls.is_null());
  EXPECT_NE(pa.content.find(R"(<tool_call>)"), std::string::npos);
  EXPECT_NE(pa.content.find(R"("Paris")"), std::string::npos);
}

TEST(Api, SplitToolCallsKeepsTheTextAndMakesOpenAiCalls) {
  const ReplyCalls r = split_tool_calls(
      tools::ToolFormat::kHermes,
      "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n"
      "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call><tool_call>\n{oops}\n</tool_call>");
  ASSERT_EQ(r.calls.size(), 2u);
  EXPECT_NE(r.calls[0].id, r.calls[1].id);
  EXPECT_EQ(r.calls[0].id.rfind("call_", 0), 0u);
  const json j = tool_call_json(r.calls[0], 3);
  EXPECT_EQ(j["type"], "function");
  EXPECT_EQ(j["index"], 3);
  EXPECT_EQ(j["function"]["name"], "get_weather");
  ASSERT_TRUE(j["function"]["arguments"].is_string());  // OpenAI sends the arguments as a JSON string
  EXPECT_EQ(json::parse(j["function"]["arguments"].get<std::string>()), json({{"city", "Paris"}}));
  EXPECT_NE(r.content.find("Let me check."), std::string::npos);
  EXPECT_NE(r.content.find("{oops}"), std::string::npos);  // a call that does not parse stays visible
  EXPECT_EQ(r.notes.size(), 1u);
  EXPECT_EQ(tool_call_json(r.calls[1]).count("index"), 0u);

  // parallel_tool_calls: false keeps the first call; the second becomes a note naming it.
  const ReplyCalls one = split_tool_calls(
      tools::ToolFormat::kHermes,
      "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n"
      "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>",
      /*parallel=*/false);
  ASSERT_EQ(one.calls.size(), 1u);
  EXPECT_EQ(one.calls[0].name, "get_weather");
  ASSERT_EQ(one.notes.size(), 1u);
  EXPECT_NE(one.notes[0].find("get_time"), std::string::npos) << one.notes[0];
  EXPECT_EQ(one.content.find("get_time"), std::string::npos);

  // Calls drafted inside the thinking are found there (the reasoning text comes without its <think>).
  const ReplyCalls drafted = calls_in_reasoning(
      tools::ToolFormat::kHermes,
      "The user wants the weather.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n"
      "</tool_call>\nThat should do.",
      /*parallel=*/true);
  ASSERT_EQ(drafted.calls.size(), 1u);
  EXPECT_EQ(drafted.calls[0].name, "get_weather");
  EXPECT_EQ(drafted.calls[0].arguments, json({{"city", "Oslo"}}));
  EXPECT_EQ(drafted.calls[0].id.rfind("call_", 0), 0u);
  EXPECT_TRUE(calls_in_reasoning(tools::ToolFormat::kHermes, "Just thinking, no calls.", true).calls.empty());
}

TEST(Api, JsonObjectAddsAnInstruction) {
  json b = base();
  b["response_format"] = {{"type", "json_object"}};
  const ChatCall c = parse_chat(b, ApiLimits{});
  EXPECT_TRUE(c.json_object);
  ASSERT_EQ(c.request.messages.front().role, "system");
  EXPECT_NE(c.request.messages.front().content.find("JSON"), std::string::npos);
  EXPECT_TRUE(is_json_object(R"({"a": 1})"));
  EXPECT_FALSE(is_json_object("[1]"));
  EXPECT_FALSE(is_json_object("{oops"));
}

TEST(Api, UsageCountsThinkingAsReasoning) {
  reason::Usage u;
  u.prompt_tokens = 10;
  u.cached_prompt_tokens = 4;
  u.thinking_tokens = 20;
  u.forced_tokens = 3;
  u.answer_tokens = 7;
  const json j = usage_json(u);
  EXPECT_EQ(j["completion_tokens"], 30);
  EXPECT_EQ(j["total_tokens"], 40);
  EXPECT_EQ(j["completion_tokens_details"]["reasoning_tokens"], 23);
  EXPECT_EQ(j["prompt_tokens_details"]["cached_tokens"], 4);
}

TEST(Api, CompletionFields) {
  const CompletionCall c = parse_completion(json{{"prompt", "Once"}, {"max_tokens", 5}, {"stop", json::array({"."})}});
  EXPECT_EQ(c.request.prompt, "Once");
  EXPECT_EQ(c.request.max_tokens, 5);
  EXPECT_THROW(parse_completion(json{{"max_tokens", 5}}), ApiError);
  EXPECT_THROW(parse_completion(json{{"prompt", ""}}), ApiError);
  EXPECT_THROW(parse_completion(json{{"prompt", 3}}), ApiError);
}

}  // namespace
}  // namespace muse::server
