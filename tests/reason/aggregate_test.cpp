// Aggregation on constructed candidates: majority vote and its tie-breaks, confidence-weighted vote,
// and the texts of the synthesis and refinement passes.
#include "reason/aggregate.h"

#include <gtest/gtest.h>

#include "reason/answer.h"

namespace muse::reason {
namespace {

std::vector<Candidate> cands(std::initializer_list<std::pair<const char*, double>> list) {
  std::vector<Candidate> out;
  int i = 0;
  for (const auto& [ans, conf] : list) out.push_back({i++, ans, conf, std::string("summary of ") + ans});
  return out;
}

TEST(Aggregate, VotePicksTheMajorityAndItsMostConfidentAgent) {
  auto c = cands({{"42", 1.0}, {"41", 9.0}, {"42", 2.0}, {"", 50.0}, {"42", 1.5}});
  const Aggregation a = vote(c);
  EXPECT_EQ(a.answer, "42");
  EXPECT_EQ(a.winner, 2) << "agent 2 has the highest confidence among the '42' voters";
  ASSERT_EQ(a.tally.size(), 2u) << "an agent without an answer does not vote";
  EXPECT_EQ(a.tally[0].votes, 3);
  EXPECT_DOUBLE_EQ(a.tally[0].confidence, 4.5);
  EXPECT_EQ(a.tally[1].answer, "41");
}

TEST(Aggregate, VoteTiesGoToConfidenceThenToTheEarlierAgent) {
  EXPECT_EQ(vote(cands({{"a", 1.0}, {"b", 3.0}, {"a", 1.0}, {"b", 0.5}})).answer, "b");  // 2-2, b 3.5 > a 2
  EXPECT_EQ(vote(cands({{"x", 1.0}, {"y", 1.0}})).answer, "x");
  EXPECT_EQ(vote(cands({{"y", 1.0}, {"x", 1.0}})).answer, "y");
}

TEST(Aggregate, WeightedVoteLetsConfidenceOutweighNumbers) {
  auto c = cands({{"7", 0.5}, {"7", 0.6}, {"7", 0.4}, {"9", 2.0}});
  EXPECT_EQ(vote(c).answer, "7");
  const Aggregation w = weighted_vote(c);
  EXPECT_EQ(w.answer, "9");
  EXPECT_EQ(w.winner, 3);
  EXPECT_EQ(w.tally[1].answer, "7");
}

TEST(Aggregate, NothingToVoteOn) {
  auto c = cands({{"", 1.0}, {"", 2.0}});
  EXPECT_EQ(vote(c).answer, "");
  EXPECT_EQ(vote(c).winner, -1);
  EXPECT_EQ(weighted_vote({}).winner, -1);
}

// The synthesizer sees every distinct answer with its votes and the most confident trace's summary;
// the model's reply is then read like any answer.
TEST(Aggregate, SynthesisMessageListsCandidatesAndItsReplyIsExtracted) {
  std::vector<Candidate> c = {{0, "12", 1.0, "Reasoning (end): 3*4=12\nAnswer: The answer is 12."},
                              {1, "13", 5.0, "Reasoning (end): 3*4 is 13?\nAnswer: The answer is 13."},
                              {2, "12", 2.0, "Reasoning (end): 4+4+4=12\nAnswer: The answer is 12."}};
  const Aggregation t = vote(c);
  const std::string msg = synthesis_message("What is 3*4?", c, t);
  EXPECT_EQ(msg.rfind("What is 3*4?", 0), 0u);
  EXPECT_NE(msg.find("Candidate 1: 12 (2 of 3 attempts)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("4+4+4=12"), std::string::npos) << "the most confident '12' trace is summarized";
  EXPECT_EQ(msg.find("3*4=12\n"), std::string::npos) << "only one summary per distinct answer";
  EXPECT_NE(msg.find("Candidate 2: 13 (1 of 3 attempts)"), std::string::npos);
  EXPECT_LT(msg.find("Candidate 1"), msg.find("Candidate 2"));
  // A synthesizer that checks the work and writes the fixed form: its answer is what counts.
  const std::string reply = "Both candidates multiply 3 by 4; 3*4 = 12, so candidate 2 is wrong.\nThe answer is 12.";
  EXPECT_EQ(extract_answer(reply)->normalized, "12");
}

// Synthesize on constructed cases: the synthesizer's answer decides, even against the majority; a
// synthesizer that writes nothing leaves the vote standing.
TEST(Aggregate, SynthesizeTakesTheSynthesizersAnswerElseTheVote) {
  std::vector<Candidate> c = {{0, "12", 1.0, ""}, {1, "13", 5.0, ""}, {2, "12", 2.0, ""}};
  const Aggregation v = vote(c);
  ASSERT_EQ(v.answer, "12");
  Aggregation s = settle_synthesis("3*4 = 12, candidate 1 is right.\nThe answer is 12.", nullptr, v);
  EXPECT_EQ(s.answer, "12");
  EXPECT_EQ(s.winner, -1) << "the synthesizer's text is the final answer";
  s = settle_synthesis("Candidate 2 checked its work; the others slipped.\nThe answer is \\boxed{13}", nullptr, v);
  EXPECT_EQ(s.answer, "13") << "the synthesizer may overrule the majority";
  s = settle_synthesis("I cannot tell.", nullptr, v);
  EXPECT_EQ(s.answer, "12") << "no extractable answer in its text: the vote's answer is reported";
  EXPECT_EQ(s.winner, -1);
  s = settle_synthesis(" \n ", nullptr, v);
  EXPECT_EQ(s.answer, "12");
  EXPECT_EQ(s.winner, 2) << "nothing written: the vote and its winner stand";
  const std::regex re = compile_answer_pattern("FINAL: (\\d+)");
  EXPECT_EQ(settle_synthesis("The answer is 12.\nFINAL: 14", &re, v).answer, "14");
}

TEST(Aggregate, RefinementMessageShowsTheOthersOnly) {
  auto c = cands({{"5", 1.0}, {"6", 1.0}, {"", 1.0}, {"7", 1.0}});
  const std::string m = refinement_message(c, 1);
  EXPECT_NE(m.find("- 5\n"), std::string::npos);
  EXPECT_NE(m.find("- 7\n"), std::string::npos);
  EXPECT_EQ(m.find("- 6\n"), std::string::npos);
  EXPECT_NE(m.find("The answer is X."), std::string::npos);
}

TEST(Aggregate, SummaryKeepsTheEndOfTheReasoningAndCutsAtUtf8Boundaries) {
  std::string reasoning(1000, 'x');
  reasoning += "\xC3\xA9 so the result is 12";
  const std::string s = summarize_trace(reasoning, "The answer is 12.", 100);
  EXPECT_LE(s.size(), 100u + 40u);
  EXPECT_NE(s.find("so the result is 12"), std::string::npos);
  EXPECT_NE(s.find("Answer: The answer is 12."), std::string::npos);
  // Never starts inside a multi-byte character.
  const std::string tiny = summarize_trace("\xC3\xA9\xC3\xA9\xC3\xA9", "", 3);
  EXPECT_NE(tiny.find("...\xC3\xA9\n"), std::string::npos) << tiny;
}

}  // namespace
}  // namespace muse::reason
