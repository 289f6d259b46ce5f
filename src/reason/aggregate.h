// Aggregation of the parallel agents' answers into one, and the prompts of the passes that read them
// (synthesis, refinement). All of it works on strings, so it is tested without a model.
//
//   vote      majority of the normalized answers; a tie goes to the answer whose voters have the higher
//             summed confidence, then to the one an earlier agent gave;
//   weighted  the answer with the highest summed confidence (weights are token confidences, >= 0);
//   synthesize  the model reads the question and the candidates (answer, votes, a short summary of
//             each distinct answer's best trace) and writes the final answer; the vote is the fallback
//             when the synthesizer writes no answer.
// Agents without an extractable answer (none given, stopped early) do not vote. The winner agent is
// the most confident one among those that gave the winning answer.
//
// Pure functions; never throw.
#pragma once

#include <regex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace muse::reason {

struct Candidate {
  int agent = 0;
  std::string answer;      // normalized; empty: no answer (does not vote)
  double confidence = 0.0;
  std::string summary;     // short text shown to the synthesizer
};

struct Aggregation {
  std::string answer;  // empty when no candidate had one
  int winner = -1;     // agent index, -1 when none
  // Distinct answers with their votes and summed confidence, best first (the order of the method).
  struct Tally {
    std::string answer;
    int votes = 0;
    double confidence = 0.0;
  };
  std::vector<Tally> tally;
};

Aggregation vote(std::span<const Candidate> candidates);
Aggregation weighted_vote(std::span<const Candidate> candidates);

// The outcome of `synthesize`: when the synthesizer wrote something, its text is the final answer
// (winner -1; answer extracted from it with reason/answer.h, or the vote's when it has none); when it
// wrote nothing, the vote stands.
Aggregation settle_synthesis(std::string_view synthesizer_content, const std::regex* pattern,
                             const Aggregation& vote_result);

// A short summary of a trace for the synthesizer: the answer text (at most max_chars/2 bytes, cut at a
// UTF-8 boundary) and the end of the reasoning (the rest of the budget), where the conclusion usually is.
std::string summarize_trace(std::string_view reasoning, std::string_view content, size_t max_chars = 600);

// The user message of the synthesis pass: the question, then one block per distinct answer (most
// votes first) with its votes and the summary of its most confident trace.
std::string synthesis_message(std::string_view question, std::span<const Candidate> candidates,
                              const Aggregation& tally);

// The user message of a refinement turn for agent `self`: the other agents' answers, and the request
// to check its own solution against them and give its final answer in the same form.
std::string refinement_message(std::span<const Candidate> candidates, int self);

}  // namespace muse::reason
