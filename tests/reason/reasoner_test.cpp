// The three modes end to end on a random model with think tokens (random text, so the tests check the
// mechanics: budgets, accounting, one prefill, shared pages, distinct agents) and on the real
// stories260K model, which has no think tokens.
#include "reason/reasoner.h"

#include <gtest/gtest.h>

#include <set>

#include "chat_model.h"
#include "core/error.h"

namespace muse::reason {
namespace {

using test_models::ChatModel;

Request ask(Mode mode, const std::string& question = "What is 2 + 3?") {
  Request r;
  r.messages = {{"user", question}};
  r.mode = mode;
  r.sampling.temperature = 0.8f;
  r.sampling.seed = 7;
  r.max_tokens = 40;
  return r;
}

ReasonerOptions options(int64_t n_ctx = 512, int agents = 4) {
  ReasonerOptions o;
  o.n_ctx = n_ctx;
  o.max_agents = agents;
  o.kv.page_size = 16;
  return o;
}

void expect_consistent(const Result& res) {
  Usage sum;
  for (const AgentTrace& a : res.agents) {
    sum.thinking_tokens += a.usage.thinking_tokens;
    sum.forced_tokens += a.usage.forced_tokens;
    sum.answer_tokens += a.usage.answer_tokens;
  }
  if (res.winner != -1 || res.mode != Mode::kContemplating) {
    EXPECT_EQ(sum.thinking_tokens, res.total.thinking_tokens);
    EXPECT_EQ(sum.answer_tokens, res.total.answer_tokens);
  }
  EXPECT_GE(res.timing.wall_seconds, res.timing.prefill_seconds);
}

TEST(Reasoner, FindsTheThinkTagsFromTheVocabulary) {
  ChatModel m = test_models::think_model();
  core::ThreadPool pool(1);
  Reasoner r(*m.model, *m.tok, pool, options());
  EXPECT_TRUE(r.format().tags().available());
  EXPECT_EQ(r.format().tags().open, *m.tok->find_token("<think>"));
  EXPECT_EQ(r.format().tags().close, *m.tok->find_token("</think>"));
}

// Thinking: for every budget, thinking tokens never exceed it and an answer always follows, also when
// max_tokens is tight.
TEST(Reasoner, ThinkingBudgetIsNeverExceededAndAnAnswerFollows) {
  ChatModel m = test_models::think_model();
  core::ThreadPool pool(1);
  Reasoner r(*m.model, *m.tok, pool, options());
  struct Case {
    int64_t budget, max_tokens;
  };
  // This vocabulary spells the cue letter by letter (~60 tokens): it only fits a large max_tokens.
  const int64_t wrap_with_cue =
      static_cast<int64_t>(m.tok->encode(std::string(kWrapUpCue) + "</think>\n\n", false, true).size());
  const int64_t wrap_tag_only = static_cast<int64_t>(m.tok->encode("</think>\n\n", false, true).size());
  int cue_seen = 0;
  for (const Case c : {Case{0, 40}, Case{1, 40}, Case{8, 40}, Case{30, 40}, Case{200, 60}, Case{-1, 50},
                       Case{8, 200}, Case{20, 300}}) {
    SCOPED_TRACE(testing::Message() << "budget " << c.budget << " max_tokens " << c.max_tokens);
    Request req = ask(Mode::kThinking);
    req.think_budget = c.budget;
    req.max_tokens = c.max_tokens;
    std::string streamed_reasoning, streamed_content;
    req.on_delta = [&](const Delta& d) {
      EXPECT_EQ(d.agent, 0);
      (d.kind == DeltaKind::kReasoning ? streamed_reasoning : streamed_content) += d.text;
    };
    const Result res = r.run(req);
    ASSERT_EQ(res.agents.size(), 1u);
    const AgentTrace& a = res.agents[0];
    if (c.budget >= 0) {
      EXPECT_LE(a.usage.thinking_tokens, c.budget);
    }
    EXPECT_LE(a.usage.generated(), c.max_tokens);
    EXPECT_GE(a.usage.answer_tokens, 1);
    EXPECT_FALSE(res.content.empty()) << "an answer always follows the thinking";
    EXPECT_EQ(streamed_content, res.content);
    EXPECT_EQ(streamed_reasoning, res.reasoning);
    if (c.budget == 0) {
      EXPECT_EQ(a.usage.thinking_tokens, 0);
      EXPECT_TRUE(res.reasoning.empty());
    }
    if (a.budget_hit) {
      // The wrap-up is the cue and the closing tag when the cue fits in max_tokens, else the tag alone.
      const bool cue = a.usage.forced_tokens == wrap_with_cue;
      EXPECT_TRUE(cue || a.usage.forced_tokens == wrap_tag_only) << a.usage.forced_tokens;
      EXPECT_EQ(res.reasoning.find("Considering the limited time") != std::string::npos, cue);
    } else {
      EXPECT_EQ(a.usage.forced_tokens, 0);
    }
    cue_seen += res.reasoning.find("Considering the limited time") != std::string::npos;
    expect_consistent(res);
  }
  EXPECT_GE(cue_seen, 1) << "with max_tokens 200 and 300 the cue fits";
}

// A random model rarely closes its own thinking: a small budget is hit, a large one is bounded by
// max_tokens minus the reserve for the answer.
TEST(Reasoner, BudgetHitInsertsTheWrapUpAndCountsItAsForced) {
  ChatModel m = test_models::think_model();
  core::ThreadPool pool(1);
  Reasoner r(*m.model, *m.tok, pool, options());
  Request req = ask(Mode::kThinking);
  req.think_budget = 12;
  req.max_tokens = 200;  // room for the letter-by-letter cue
  const Result res = r.run(req);
  const AgentTrace& a = res.agents[0];
  if (!a.budget_hit) GTEST_SKIP() << "the random model closed its thinking by itself";
  EXPECT_EQ(a.usage.thinking_tokens, 12);
  const auto wrap = m.tok->encode(std::string(kWrapUpCue) + "</think>\n\n", false, true);
  EXPECT_EQ(a.usage.forced_tokens, static_cast<int64_t>(wrap.size()));
}

TEST(Reasoner, InstantEmitsNoReasoning) {
  ChatModel m = test_models::think_model();
  core::ThreadPool pool(1);
  Reasoner r(*m.model, *m.tok, pool, options());
  for (uint64_t seed : {1, 2, 3}) {
    Request req = ask(Mode::kInstant);
    req.sampling.seed = seed;
    req.max_tokens = 30;
    bool any_reasoning = false;
    req.on_delta = [&](const Delta& d) { any_reasoning = any_reasoning || d.kind == DeltaKind::kReasoning; };
    const Result res = r.run(req);
    EXPECT_FALSE(any_reasoning);
    EXPECT_TRUE(res.reasoning.empty());
    EXPECT_EQ(res.total.thinking_tokens, 0);
    EXPECT_EQ(res.total.forced_tokens, 0);
    EXPECT_FALSE(res.content.empty());
  }
  // The prompt closes the (empty) thinking block, as Qwen3's template does with enable_thinking=false.
  const RenderedPrompt p = r.format().render({{"user", "hi"}}, PromptMode::kInstant);
  EXPECT_NE(p.text.find("<think>\n\n</think>\n\n"), std::string::npos) << p.text;
  EXPECT_FALSE(p.thinking);
  const RenderedPrompt t = r.format().render({{"user", "hi"}}, PromptMode::kThinking);
  EXPECT_EQ(t.text.substr(t.text.size() - 8), "<think>\n") << "thinking mode opens the block for the model";
  EXPECT_TRUE(t.thinking);
}

// An always-thinking template (DeepSeek-R1 style: the generation prompt opens <think>) in instant mode:
// the block is closed at once.
TEST(Reasoner, InstantClosesTheBlockOfAnAlwaysThinkingTemplate) {
  ChatModel m = test_models::think_model(true, 3,
                                         "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
                                         "{% endfor %}<|im_start|>assistant\n<think>\n");
  core::ThreadPool pool(1);
  Reasoner r(*m.model, *m.tok, pool, options());
  const RenderedPrompt p = r.format().render({{"user", "hi"}}, PromptMode::kInstant);
  // (jinja drops the template's final newline, so the block reads "<think>\n</think>")
  EXPECT_EQ(p.text.substr(p.text.size() - 28), "assistant\n<think>\n</think>\n\n");
  EXPECT_FALSE(p.thinking);
  EXPECT_TRUE(r.format().render({{"user", "hi"}}, PromptMode::kThinking).thinking);
  EXPECT_EQ(r.format().render({{"user", "hi"}}, PromptMode::kThinking).text.find("<think><think>"), std::string::npos)
      << "the block the template opened is not opened twice";
  const Result res = r.run(ask(Mode::kInstant));
  EXPECT_TRUE(res.reasoning.empty());
  EXPECT_FALSE(res.content.empty());
}

// Contemplating: N agents from one prefill, the prompt's KV pages stored once, N distinct traces.
TEST(Reasoner, ContemplatingForksAgentsFromOnePrefill) {
  ChatModel m = test_models::think_model();
  core::ThreadPool pool(2);
  Reasoner r(*m.model, *m.tok, pool, options(512, 4));
  Request req = ask(Mode::kContemplating, "A long question, so that the prompt spans several KV pages: what is "
                                          "the sum of the first ten positive integers?");
  req.agents = 4;
  req.think_budget = 24;
  req.max_tokens = 48;
  std::vector<std::string> content(4);
  int final_deltas = 0;
  req.on_delta = [&](const Delta& d) {
    ASSERT_GE(d.agent, -1);
    ASSERT_LT(d.agent, 4);
    if (d.agent < 0) {
      ++final_deltas;
    } else if (d.kind == DeltaKind::kContent) {
      content[static_cast<size_t>(d.agent)] += d.text;
    }
  };
  int progress_calls = 0;
  req.on_progress = [&](std::span<const AgentProgress> p) {
    EXPECT_EQ(p.size(), 4u);
    ++progress_calls;
  };
  const Result res = r.run(req);
  ASSERT_EQ(res.agents.size(), 4u);
  EXPECT_EQ(res.prefill_calls, 1) << "the prompt is prefilled once, agents fork from it";
  const int64_t prompt = res.total.prompt_tokens;
  const int64_t prompt_pages = (prompt + 15) / 16;
  // Peak: the prompt's pages once, plus per agent at most the pages its own tokens need (+1 for the
  // copied partial page).
  const int64_t own = (req.max_tokens + 15) / 16 + 1;
  EXPECT_LE(res.kv_pages_peak, prompt_pages + 4 * own);
  EXPECT_LT(res.kv_pages_peak, 4 * prompt_pages) << "4 private copies of the prompt would need this much";
  std::set<std::string> traces;
  for (const AgentTrace& a : res.agents) {
    traces.insert(a.reasoning + "|" + a.content);
    EXPECT_EQ(a.usage.prompt_tokens, prompt);
    EXPECT_LE(a.usage.thinking_tokens, 24);
    EXPECT_GE(a.usage.answer_tokens, 1);
    EXPECT_EQ(content[static_cast<size_t>(a.index)], a.content);
  }
  EXPECT_EQ(traces.size(), 4u) << "per-agent seeds and temperatures give distinct traces";
  std::set<float> temps;
  for (const AgentTrace& a : res.agents) temps.insert(a.temperature);
  EXPECT_EQ(temps.size(), 4u);
  EXPECT_GT(progress_calls, 0);
  EXPECT_EQ(final_deltas, res.content.empty() ? 0 : 1);
  EXPECT_FALSE(res.content.empty());
  expect_consistent(res);
}

TEST(Reasoner, SynthesizeRefineAndEarlyStopRunEndToEnd) {
  ChatModel m = test_models::think_model();
  core::ThreadPool pool(1);
  Reasoner r(*m.model, *m.tok, pool, options(1024, 3));
  Request req = ask(Mode::kContemplating);
  req.agents = 3;
  req.think_budget = 10;
  req.max_tokens = 24;
  req.aggregate = Aggregate::kSynthesize;
  req.refine = true;
  req.early_stop.enabled = true;
  req.early_stop.window = 4;
  req.early_stop.percentile = 50;
  req.early_stop.min_keep = 1;
  std::string final_text;
  req.on_delta = [&](const Delta& d) {
    if (d.agent == -1 && d.kind == DeltaKind::kContent) final_text += d.text;
  };
  const Result res = r.run(req);
  ASSERT_EQ(res.agents.size(), 3u);
  EXPECT_TRUE(res.early_stop_threshold.has_value());
  int stopped = 0;
  for (const AgentTrace& a : res.agents) {
    if (a.stopped_early) {
      ++stopped;
      EXPECT_TRUE(a.answer.empty()) << "an agent cut off mid-thought does not vote";
      EXPECT_FALSE(a.refined);
    } else if (!a.content.empty()) {
      EXPECT_TRUE(a.refined);
    }
  }
  EXPECT_GE(stopped, 1) << "with the 50th percentile of 3 agents, the lowest is below the threshold";
  EXPECT_FALSE(res.content.empty());
  EXPECT_EQ(final_text, res.content);
  EXPECT_GE(res.prefill_calls, 2) << "refinement and synthesis prompts add their own (suffix) prefills";
}

// The next turn of a conversation reuses the previous prompt's KV pages.
TEST(Reasoner, NextTurnReusesThePreviousPrompt) {
  ChatModel m = test_models::think_model();
  core::ThreadPool pool(1);
  Reasoner r(*m.model, *m.tok, pool, options());
  Request req = ask(Mode::kInstant);
  req.max_tokens = 10;
  const Result first = r.run(req);
  EXPECT_EQ(first.total.cached_prompt_tokens, 0);
  req.messages.push_back({"assistant", first.content});
  req.messages.push_back({"user", "And 3 + 4?"});
  const Result second = r.run(req);
  EXPECT_GT(second.total.cached_prompt_tokens, 10);
  EXPECT_LT(second.total.cached_prompt_tokens, second.total.prompt_tokens);
  // The same question again: nothing to compute at all.
  const Result third = r.run(req);
  EXPECT_EQ(third.total.cached_prompt_tokens, third.total.prompt_tokens);
  EXPECT_EQ(third.prefill_calls, 0);
}

TEST(Reasoner, StopStringsCutTheAnswer) {
  ChatModel m = test_models::think_model();
  core::ThreadPool pool(1);
  Reasoner r(*m.model, *m.tok, pool, options());
  Request req = ask(Mode::kInstant);
  req.max_tokens = 40;
  const Result free_run = r.run(req);
  ASSERT_GE(free_run.content.size(), 3u);
  req.stop = {free_run.content.substr(1, 2)};
  const Result cut = r.run(req);
  EXPECT_EQ(cut.content, free_run.content.substr(0, free_run.content.find(req.stop[0])));
  EXPECT_EQ(cut.agents[0].finish, "stop");
}

TEST(Reasoner, BadRequestsAreRejected) {
  ChatModel m = test_models::think_model();
  core::ThreadPool pool(1);
  Reasoner r(*m.model, *m.tok, pool, options(128, 2));
  Request req = ask(Mode::kContemplating);
  req.agents = 3;
  EXPECT_THROW(r.run(req), Error) << "more agents than the engine has slots for";
  req = ask(Mode::kThinking);
  req.messages[0].content = std::string(200, 'x');
  EXPECT_THROW(r.run(req), Error) << "a prompt longer than the context";
  req = ask(Mode::kThinking);
  req.max_tokens = 500;
  const Result clamped = r.run(req);
  ASSERT_FALSE(clamped.notes.empty());
  EXPECT_NE(clamped.notes[0].find("max_tokens lowered from 500"), std::string::npos) << clamped.notes[0];
  EXPECT_LE(clamped.total.prompt_tokens + clamped.agents[0].usage.generated(), 128);
  EXPECT_GE(clamped.agents[0].usage.answer_tokens, 1);
  req = ask(Mode::kThinking);
  req.messages.clear();
  EXPECT_THROW(r.run(req), Error);
  req = ask(Mode::kThinking);
  req.answer_pattern = "(";
  EXPECT_THROW(r.run(req), Error);
  // Still usable after errors.
  req = ask(Mode::kInstant);
  req.max_tokens = 5;
  EXPECT_NO_THROW(r.run(req));
}

// A model without think tokens runs every mode as plain chat and says so.
TEST(Reasoner, StoriesModelHasNoThinkingAndSaysSo) {
  ChatModel m = test_models::stories();
  core::ThreadPool pool(1);
  Reasoner r(*m.model, *m.tok, pool, options(512, 3));
  EXPECT_FALSE(r.format().tags().available());
  for (Mode mode : {Mode::kInstant, Mode::kThinking, Mode::kContemplating}) {
    Request req = ask(mode, "Once upon a time");
    req.agents = 3;
    req.max_tokens = 24;
    const Result res = r.run(req);
    EXPECT_EQ(res.total.thinking_tokens, 0);
    EXPECT_TRUE(res.reasoning.empty());
    EXPECT_EQ(res.notes.empty(), mode == Mode::kInstant);
    for (const AgentTrace& a : res.agents) {
      EXPECT_GE(a.usage.answer_tokens, 1);
    }
    EXPECT_EQ(res.agents.size(), mode == Mode::kContemplating ? 3u : 1u);
  }
}

}  // namespace
}  // namespace muse::reason
