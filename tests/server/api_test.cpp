// Request parsing: every field maps to the reason::Request the CLI would build, and every bad field is a
// 400 that names it.
#include "server/api.h"

#include <gtest/gtest.h>

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
                        Case{"logprobs", true}, Case{"top_logprobs", 3}, Case{"frequency_penalty", 0.5},
                        Case{"response_format", {{"type", "json_schema"}}}, Case{"stream_options", 3}}) {
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

TEST(Api, ToolsAreRefusedHonestly) {
  json b = base();
  b["tools"] = json::array({{{"type", "function"}, {"function", {{"name", "f"}}}}});
  const ApiError e = error_of(b);
  EXPECT_EQ(e.status, 400);
  EXPECT_NE(std::string(e.what()).find("tools are not supported yet"), std::string::npos);
  json empty = base();
  empty["tools"] = json::array();
  EXPECT_NO_THROW(parse_chat(empty, ApiLimits{}));
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
