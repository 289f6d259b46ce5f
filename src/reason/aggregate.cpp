#include "reason/aggregate.h"

#include <algorithm>

#include <fmt/format.h>

#include "reason/answer.h"

namespace muse::reason {
namespace {

struct Group {
  Aggregation::Tally tally;
  int first_agent = 0;
  int best_agent = -1;
  double best_confidence = -1.0;
};

std::vector<Group> group(std::span<const Candidate> candidates) {
  std::vector<Group> groups;
  for (const Candidate& c : candidates) {
    if (c.answer.empty()) continue;
    auto it = std::find_if(groups.begin(), groups.end(), [&](const Group& g) { return g.tally.answer == c.answer; });
    if (it == groups.end()) {
      groups.push_back({{c.answer, 0, 0.0}, c.agent, -1, -1.0});
      it = groups.end() - 1;
    }
    ++it->tally.votes;
    it->tally.confidence += std::max(0.0, c.confidence);
    it->first_agent = std::min(it->first_agent, c.agent);
    if (c.confidence > it->best_confidence) {
      it->best_confidence = c.confidence;
      it->best_agent = c.agent;
    }
  }
  return groups;
}

Aggregation finish(std::vector<Group> groups) {
  Aggregation out;
  if (groups.empty()) return out;
  out.answer = groups.front().tally.answer;
  out.winner = groups.front().best_agent;
  for (auto& g : groups) out.tally.push_back(std::move(g.tally));
  return out;
}

// Cuts s to at most n bytes without splitting a UTF-8 sequence; from the end when `tail`.
std::string_view cut_utf8(std::string_view s, size_t n, bool tail) {
  if (s.size() <= n) return s;
  auto continuation = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; };
  if (tail) {
    size_t b = s.size() - n;
    while (b < s.size() && continuation(s[b])) ++b;
    return s.substr(b);
  }
  size_t e = n;
  while (e > 0 && continuation(s[e])) --e;
  return s.substr(0, e);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Aggregation vote(std::span<const Candidate> candidates) {
  std::vector<Group> groups = group(candidates);
  std::stable_sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) {
    if (a.tally.votes != b.tally.votes) return a.tally.votes > b.tally.votes;
    if (a.tally.confidence != b.tally.confidence) return a.tally.confidence > b.tally.confidence;
    return a.first_agent < b.first_agent;
  });
  return finish(std::move(groups));
}

Aggregation weighted_vote(std::span<const Candidate> candidates) {
  std::vector<Group> groups = group(candidates);
  std::stable_sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) {
    if (a.tally.confidence != b.tally.confidence) return a.tally.confidence > b.tally.confidence;
    if (a.tally.votes != b.tally.votes) return a.tally.votes > b.tally.votes;
    return a.first_agent < b.first_agent;
  });
  return finish(std::move(groups));
}

Aggregation settle_synthesis(std::string_view synthesizer_content, const std::regex* pattern,
                             const Aggregation& vote_result) {
  if (trim(synthesizer_content).empty()) return vote_result;
  Aggregation out = vote_result;
  out.winner = -1;
  if (auto a = extract_answer(synthesizer_content, pattern)) out.answer = a->normalized;
  return out;
}

std::string summarize_trace(std::string_view reasoning, std::string_view content, size_t max_chars) {
  content = trim(content);
  reasoning = trim(reasoning);
  const std::string_view answer = cut_utf8(content, max_chars / 2, false);
  std::string out;
  if (!reasoning.empty()) {
    const size_t budget = max_chars - answer.size();
    const std::string_view end = cut_utf8(reasoning, budget, true);
    out += "Reasoning (end): ";
    if (end.size() < reasoning.size()) out += "...";
    out += end;
    out += "\n";
  }
  out += "Answer: ";
  out += answer;
  if (answer.size() < content.size()) out += "...";
  return out;
}

std::string synthesis_message(std::string_view question, std::span<const Candidate> candidates,
                              const Aggregation& tally) {
  int total = 0;
  for (const Candidate& c : candidates) total += c.answer.empty() ? 0 : 1;
  std::string out = fmt::format("{}\n\n{} independent attempts at this question reached these answers:\n", question,
                                total);
  int k = 0;
  for (const auto& t : tally.tally) {
    const Candidate* best = nullptr;
    for (const Candidate& c : candidates) {
      if (c.answer == t.answer && (best == nullptr || c.confidence > best->confidence)) best = &c;
    }
    out += fmt::format("\nCandidate {}: {} ({} of {} attempts)\n", ++k, t.answer, t.votes, total);
    if (best != nullptr && !best->summary.empty()) out += best->summary + "\n";
  }
  if (tally.tally.empty()) out += "\n(none of the attempts gave a clear answer)\n";
  out += "\nCheck the candidates' reasoning, decide which answer is correct (or work it out if none is), and "
         "write the final answer. End with the line \"The answer is X.\"";
  return out;
}

std::string refinement_message(std::span<const Candidate> candidates, int self) {
  std::string others;
  int n = 0;
  for (const Candidate& c : candidates) {
    if (c.agent == self || c.answer.empty()) continue;
    others += fmt::format("- {}\n", c.answer);
    ++n;
  }
  if (n == 0) others = "- (no other answers)\n";
  return fmt::format("Other solvers answered this question as follows:\n{}\nCompare their answers with your "
                     "solution, check your work for mistakes, and give your final answer. End with the line "
                     "\"The answer is X.\"", others);
}

}  // namespace muse::reason
