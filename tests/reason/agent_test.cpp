// The per-agent controller on scripted token streams (no model): thinking budget and wrap-up, bans,
// reasoning/content split, stop strings; and plan_budget's guarantees over a grid of limits.
#include "reason/agent.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "chat_model.h"
#include "reason/request.h"

namespace muse::reason {
namespace {

bool contains(const std::vector<int32_t>& v, int32_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

TEST(PlanBudget, NeverExceedsTheBudgetAndAlwaysLeavesRoomForTheAnswer) {
  for (int64_t budget : {-1, 0, 1, 5, 64, 1000}) {
    for (int64_t max_tokens : {1, 2, 3, 10, 30, 100, 5000}) {
      for (int64_t reserve : {1, 4, 50}) {
        if (reserve > max_tokens) continue;
        for (int64_t cue : {0, 12}) {
          for (int64_t close : {1, 3}) {
            const BudgetPlan p = plan_budget(budget, max_tokens, reserve, cue, close);
            SCOPED_TRACE(testing::Message() << budget << " " << max_tokens << " " << reserve << " " << cue << " "
                                            << close);
            EXPECT_GE(p.think_limit, 0);
            if (budget >= 0) {
              EXPECT_LE(p.think_limit, budget);
            }
            if (p.think_limit > 0) {
              // Worst case: thinking runs to the limit, then the forced wrap-up, then the answer.
              const int64_t wrap = close + (p.with_cue ? cue : 0);
              EXPECT_LE(p.think_limit + wrap + reserve, max_tokens);
            }
            if (p.with_cue) {
              EXPECT_GT(cue, 0);
            }
          }
        }
      }
    }
  }
  // A generous max_tokens leaves the budget untouched.
  EXPECT_EQ(plan_budget(100, 5000, 256, 12, 2).think_limit, 100);
  EXPECT_TRUE(plan_budget(100, 5000, 256, 12, 2).with_cue);
}

// The default answer reserve: small contexts keep most of their room for thinking (a 512-token model
// whose longest reasoning needs ~430 tokens must not lose a quarter of the window), large ones keep a
// generous answer, and the reserve always leaves something to think with.
TEST(PlanBudget, DefaultAnswerReserveScalesWithMaxTokens) {
  EXPECT_EQ(default_answer_reserve(470), 32);   // muse-nano: 512-token context minus the prompt
  EXPECT_EQ(default_answer_reserve(2048), 128);
  EXPECT_EQ(default_answer_reserve(4096), 256);
  EXPECT_EQ(default_answer_reserve(100000), 256);
  EXPECT_EQ(default_answer_reserve(40), 10);    // tiny limits: a quarter
  EXPECT_EQ(default_answer_reserve(1), 1);
  int64_t last = 0;
  for (int64_t m = 1; m <= 10000; m++) {
    const int64_t r = default_answer_reserve(m);
    EXPECT_GE(r, last) << m;  // never shrinks as max_tokens grows
    EXPECT_GE(r, 1);
    if (m >= 4) {
      EXPECT_LE(r, m / 4) << m;
    }
    last = r;
  }
}

class AgentControllerTest : public testing::Test {
 protected:
  void SetUp() override { m_ = test_models::think_model(); }
  int32_t id(const std::string& piece) { return *m_.tok->find_token(piece); }
  AgentSetup setup(bool thinking, int64_t limit) {
    AgentSetup s;
    s.tok = m_.tok.get();
    s.tags = find_think_tags(*m_.tok, "");
    s.thinking = thinking;
    s.think_limit = limit;
    s.wrap = m_.tok->encode(std::string(kWrapUpCue) + "</think>\n\n", false, true);
    s.wrap_text = std::string(kWrapUpCue);
    s.eog = {2, 4};
    s.on_delta = [this](DeltaKind k, std::string_view t) { deltas_.push_back({k, std::string(t)}); };
    return s;
  }
  engine::Directive feed(AgentController& c, int32_t token) {
    engine::TokenEvent ev;
    ev.token = token;
    return c.on_token(ev);
  }
  test_models::ChatModel m_;
  std::vector<std::pair<DeltaKind, std::string>> deltas_;
};

TEST_F(AgentControllerTest, BudgetForcesTheWrapUpAndTheAnswerFollows) {
  AgentSetup s = setup(true, 5);
  const std::vector<int32_t> wrap = s.wrap;
  AgentController c(std::move(s));
  ASSERT_EQ(c.phase(), Phase::kThinking);
  const auto ban0 = c.initial_ban();
  EXPECT_TRUE(contains(ban0, 2) && contains(ban0, 4)) << "no end of generation inside the thinking block";
  EXPECT_TRUE(contains(ban0, id("<think>")));
  EXPECT_FALSE(contains(ban0, id("</think>")));
  for (const char* p : {"a", "b", "c", "d"}) {
    const engine::Directive d = feed(c, id(p));
    EXPECT_TRUE(d.force.empty());
    EXPECT_FALSE(d.stop);
  }
  const engine::Directive d = feed(c, id("e"));  // the 5th thinking token: the budget is spent
  EXPECT_EQ(d.force, wrap);
  ASSERT_TRUE(d.ban.has_value());
  EXPECT_TRUE(contains(*d.ban, id("</think>")) && contains(*d.ban, id("<think>")));
  EXPECT_TRUE(contains(*d.ban, 4)) << "no empty answer: end of generation stays banned until visible text";
  EXPECT_EQ(c.phase(), Phase::kAnswer);
  EXPECT_TRUE(c.budget_hit());
  EXPECT_EQ(c.thinking_tokens(), 5);
  EXPECT_EQ(c.forced_tokens(), static_cast<int64_t>(wrap.size()));
  EXPECT_EQ(c.reasoning(), "abcde" + std::string(kWrapUpCue));

  EXPECT_FALSE(feed(c, id("<0x0A>")).ban.has_value()) << "whitespace is not an answer yet";
  const engine::Directive v = feed(c, id("X"));
  ASSERT_TRUE(v.ban.has_value());
  EXPECT_FALSE(contains(*v.ban, 4)) << "the answer may end now";
  feed(c, id("!"));
  c.finish();
  EXPECT_EQ(c.content(), "X!") << "leading whitespace after the block is dropped";
  EXPECT_EQ(c.answer_tokens(), 3);
  // Deltas: reasoning first, then content, and together they are the two texts.
  std::string r, k;
  bool content_started = false;
  for (const auto& [kind, text] : deltas_) {
    if (kind == DeltaKind::kContent) content_started = true;
    EXPECT_FALSE(content_started && kind == DeltaKind::kReasoning);
    (kind == DeltaKind::kReasoning ? r : k) += text;
  }
  EXPECT_EQ(r, c.reasoning());
  EXPECT_EQ(k, c.content());
}

TEST_F(AgentControllerTest, TheModelMayCloseItsThinkingEarly) {
  AgentController c(setup(true, 50));
  feed(c, id("h"));
  feed(c, id("m"));
  const engine::Directive d = feed(c, id("</think>"));
  EXPECT_TRUE(d.force.empty());
  EXPECT_EQ(c.phase(), Phase::kAnswer);
  EXPECT_EQ(c.thinking_tokens(), 3) << "the model's own closing tag counts as thinking";
  EXPECT_FALSE(c.budget_hit());
  EXPECT_EQ(c.reasoning(), "hm");
}

TEST_F(AgentControllerTest, InstantBansBothTagsAndHasNoReasoning) {
  AgentController c(setup(false, 0));
  EXPECT_EQ(c.phase(), Phase::kAnswer);
  const auto ban = c.initial_ban();
  EXPECT_TRUE(contains(ban, id("<think>")) && contains(ban, id("</think>")) && contains(ban, 4));
  feed(c, id("O"));
  feed(c, id("k"));
  c.finish();
  EXPECT_EQ(c.reasoning(), "");
  EXPECT_EQ(c.content(), "Ok");
  EXPECT_EQ(c.thinking_tokens(), 0);
}

TEST_F(AgentControllerTest, StopStringEndsTheAnswerAndIsCut) {
  AgentSetup s = setup(false, 0);
  s.stop = {"BC"};
  AgentController c(std::move(s));
  EXPECT_FALSE(feed(c, id("A")).stop);
  EXPECT_FALSE(feed(c, id("B")).stop);
  EXPECT_TRUE(feed(c, id("C")).stop);
  c.finish();
  EXPECT_EQ(c.content(), "A");
}

TEST_F(AgentControllerTest, ConfidenceComesFromTopLogprobs) {
  AgentController c(setup(false, 0));
  const std::vector<engine::TokenLogprob> top = {{1, -0.5f}, {2, -1.5f}};
  engine::TokenEvent ev;
  ev.token = id("x");
  ev.top = top;
  c.on_token(ev);
  EXPECT_DOUBLE_EQ(c.confidence().current(), 1.0);
}

}  // namespace
}  // namespace muse::reason
