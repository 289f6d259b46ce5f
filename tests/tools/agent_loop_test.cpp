// AgentLoop over a real Reasoner (the small ChatML think model of the reason tests, and stories260K with
// its built-in template) in every mode: a turn without tool calls ends the run after one step, the
// history and transcript grow by exactly the answer, usage is counted; tool descriptions are rendered
// per call format. (No tiny model writes tool calls, so the call path is covered by the parser and
// registry tests, not end to end here.)
#include <gtest/gtest.h>

#include "core/error.h"
#include "reason/chat_model.h"
#include "reason/reasoner.h"
#include "tools/agent_loop.h"

namespace muse::tools {
namespace {

TEST(AgentLoop, ToolSystemPromptListsToolsInTheFamilyFormat) {
  ToolRegistry reg;
  add_builtin_tools(reg, {"calculator"}, nullptr);
  const std::string hermes = tool_system_prompt(reg, ToolFormat::kHermes);
  EXPECT_NE(hermes.find("<tools>"), std::string::npos);
  EXPECT_NE(hermes.find("\"calculator\""), std::string::npos);
  EXPECT_NE(hermes.find("<tool_call>"), std::string::npos);
  EXPECT_NE(tool_system_prompt(reg, ToolFormat::kLlama3).find("\"parameters\""), std::string::npos);
  EXPECT_NE(tool_system_prompt(reg, ToolFormat::kMistral).find("[TOOL_CALLS]"), std::string::npos);
}

TEST(AgentLoop, ToolsGoToATemplateThatRendersThemElseIntoTheSystemMessage) {
  reason::test_models::ChatModel m = reason::test_models::think_model();  // Qwen3's template: renders tools
  core::ThreadPool pool(1);
  reason::Reasoner r(*m.model, *m.tok, pool);
  ToolRegistry reg;
  add_builtin_tools(reg, {"calculator"}, nullptr);
  const std::vector<reason::ChatMessage> history = {{"system", "Be brief."}, {"user", "What is 6 times 7?"}};
  reason::Request base;
  base.tools = nlohmann::json::array({1});  // replaced either way

  AgentLoopOptions lo;
  lo.template_renders_tools = true;
  const reason::Request in_template = AgentLoop(r, reg, lo).turn_request(history, base);
  EXPECT_EQ(in_template.tools, reg.openai_tools());
  ASSERT_EQ(in_template.messages.size(), 2u);
  EXPECT_EQ(in_template.messages[0].content, "Be brief.");
  // The template itself writes them into the prompt, in its own words.
  const std::string prompt = r.format().render(in_template.messages, reason::PromptMode::kThinking, in_template.tools).text;
  EXPECT_NE(prompt.find("\"calculator\""), std::string::npos) << prompt;
  const size_t first = prompt.find("\"calculator\"");
  EXPECT_EQ(prompt.find("\"calculator\"", first + 1), std::string::npos) << "described twice: " << prompt;

  lo.template_renders_tools = false;
  const reason::Request in_system = AgentLoop(r, reg, lo).turn_request(history, base);
  EXPECT_TRUE(in_system.tools.is_null());
  ASSERT_EQ(in_system.messages.size(), 2u);
  EXPECT_EQ(in_system.messages[0].content, "Be brief.\n\n" + tool_system_prompt(reg, lo.format));
}

TEST(AgentLoop, AnswerWithoutCallsEndsAfterOneStepInEveryMode) {
  for (bool think : {true, false}) {
    reason::test_models::ChatModel m = think ? reason::test_models::think_model() : reason::test_models::stories();
    core::ThreadPool pool(1);
    reason::ReasonerOptions ro;
    ro.n_ctx = think ? 2048 : 512;  // the think model spells most text one byte per token
    ro.max_agents = 2;
    reason::Reasoner r(*m.model, *m.tok, pool, ro);
    ToolRegistry reg;
    reg.add({"f", "", nlohmann::json::parse(R"({"type":"object"})")}, [](const nlohmann::json&) { return "x"; });
    AgentLoopOptions lo;
    lo.max_steps = 3;
    AgentLoop loop(r, reg, lo);
    for (reason::Mode mode : {reason::Mode::kInstant, reason::Mode::kThinking, reason::Mode::kContemplating}) {
      std::vector<reason::ChatMessage> history = {{"user", "What is 6 times 7?"}};
      reason::Request req;
      req.mode = mode;
      req.agents = 2;
      req.max_tokens = 24;
      req.think_budget = 8;
      req.sampling = engine::SamplerParams::greedy();
      int deltas = 0;
      AgentCallbacks cb;
      cb.on_delta = [&](const reason::Delta&) { ++deltas; };
      AgentLoopResult res = loop.run(history, req, cb);
      // A random/tiny model writes no <tool_call>: one step, no calls, the answer appended.
      ASSERT_EQ(res.tool_calls, 0) << res.content;
      EXPECT_EQ(res.steps, 1);
      EXPECT_FALSE(res.step_limit_hit);
      ASSERT_EQ(history.size(), 2u);
      EXPECT_EQ(history[1].role, "assistant");
      ASSERT_EQ(res.transcript.size(), 1u);
      EXPECT_EQ(res.transcript[0]["role"], "assistant");
      EXPECT_EQ(res.transcript[0]["content"], res.content);
      EXPECT_GT(res.usage.prompt_tokens, 0);
      EXPECT_GT(res.usage.generated(), 0);
      EXPECT_GT(deltas, 0) << reason::mode_name(mode);
    }
  }
}

TEST(AgentLoop, RejectsAZeroStepLimit) {
  reason::test_models::ChatModel m = reason::test_models::stories();
  core::ThreadPool pool(1);
  reason::ReasonerOptions ro;
  ro.n_ctx = 512;
  reason::Reasoner r(*m.model, *m.tok, pool, ro);
  ToolRegistry reg;
  AgentLoopOptions lo;
  lo.max_steps = 0;
  EXPECT_THROW(AgentLoop(r, reg, lo), Error);
}

}  // namespace
}  // namespace muse::tools
