// Token-level constrained decoding: which tokens of a vocabulary may come next under a grammar.
//
// TokenTrie holds every token's bytes (Tokenizer::token_to_piece) in a trie, built once per tokenizer.
// A token may span several grammar symbols, be a lone byte of a UTF-8 sequence, or mix both: the mask
// walks the trie byte by byte from the matcher's live stacks, so a subtree is dropped as soon as its
// common prefix is rejected (one grammar step per trie edge visited, not per token byte).
// Control/unknown/unused tokens and tokens with no bytes never appear in the trie (user-defined ones such
// as Qwen's <tool_call> do: they are text the tokenizer matches whole): a constraint never
// allows them, except the end-of-generation tokens, which are allowed exactly when the grammar accepts.
//
// GrammarConstraint is the per-sequence object the sampler loop uses:
//   c.banned()       the tokens to ban before the next sample (everything the grammar rejects);
//                    cached per parse-state structure (up to 64 states), so repeated states are free
//   c.accept(token)  advance by a sampled token (false when the grammar rejects it: nothing changes)
//   c.finished()     the document is complete and nothing may follow: stop the sequence
// engine_hooks() wires it to an engine::SeqConfig (initial ban + on_token directive).
//
// TokenTrie is immutable after construction except for the scratch space mask() walks with: share one
// between the sequences of one thread (the scheduler's), not across threads. A GrammarConstraint
// belongs to one sequence. Borrowed: the grammar and the trie must outlive the
// constraint. Errors: only those of GrammarMatcher (kOutOfRange for a runaway-ambiguous grammar).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/sequence.h"
#include "reason/agent.h"
#include "text/tokenizer.h"
#include "tools/grammar.h"

namespace muse::tools {

class TokenTrie {
 public:
  // pieces[id] = the token's bytes; an empty piece leaves the token out. eog: tokens that end a
  // generation (allowed only when the grammar accepts).
  TokenTrie(std::vector<std::string> pieces, std::vector<int32_t> eog);
  // From a tokenizer: normal, byte and user-defined tokens by their pieces; control/unknown/unused ones
  // left out.
  static std::unique_ptr<TokenTrie> from_tokenizer(const text::Tokenizer& tok);

  int32_t n_vocab() const { return static_cast<int32_t>(pieces_.size()); }
  const std::string& piece(int32_t id) const { return pieces_[static_cast<size_t>(id)]; }
  const std::vector<int32_t>& eog() const { return eog_; }
  bool is_eog(int32_t id) const;
  size_t n_nodes() const { return nodes_.size(); }

  // allowed[id] = 1 when token id may come next in matcher's current state (0 otherwise); resized to
  // n_vocab(). Leaves the matcher's state unchanged (its scratch nodes are truncated).
  void mask(GrammarMatcher& m, std::vector<uint8_t>& allowed) const;

 private:
  struct Node {
    uint32_t first_edge = 0, n_edges = 0;
    uint32_t first_token = 0, n_tokens = 0;
  };
  struct Edge {
    uint8_t byte;
    uint32_t child;
  };
  void walk(GrammarMatcher& m, uint32_t node, size_t depth, std::vector<uint8_t>& allowed) const;

  std::vector<std::string> pieces_;
  std::vector<int32_t> eog_;
  std::vector<Node> nodes_;
  std::vector<Edge> edges_;
  std::vector<int32_t> token_ids_;  // tokens ending at each node, grouped by node
  mutable std::vector<std::vector<int32_t>> levels_;  // per-depth states during a walk (not thread-safe)
};

class GrammarConstraint {
 public:
  // REQUIRES: grammar and trie outlive the constraint.
  GrammarConstraint(const Grammar& grammar, const TokenTrie& trie);

  std::vector<int32_t> banned();
  bool accept(int32_t token);
  bool accepting() const { return m_.accepting(); }
  bool finished() const { return m_.finished(); }
  const std::string& text() const { return text_; }  // bytes accepted so far
  GrammarMatcher& matcher() { return m_; }

 private:
  const TokenTrie& trie_;
  GrammarMatcher m_;
  std::vector<uint8_t> allowed_;
  std::string text_;
  // Banned lists of recently seen matcher states (by GrammarMatcher::state_key): inside a JSON string
  // the state repeats at every character, so most steps cost a lookup instead of a trie walk.
  std::map<std::vector<int32_t>, std::vector<int32_t>> cache_;
};

// Sets config.ban to the constraint's first mask and config.on_token to a hook that advances the
// constraint, bans what it rejects next and stops once the document is finished. `next` (may be empty)
// runs after it for every token and its directive's stop/force are honoured (its ban is overridden).
// The constraint must outlive the sequence.
void attach_constraint(engine::SeqConfig& config, GrammarConstraint& constraint,
                       std::function<engine::Directive(const engine::TokenEvent&)> next = {});

// A reason::TokenConstraint over a grammar, for reason::Request::answer_constraint: the agent's answer
// (after its thinking) must be a document of the grammar. Shares the grammar; borrows the trie, which
// must outlive it and, like every use of a trie, stay on one thread at a time.
std::unique_ptr<reason::TokenConstraint> make_answer_constraint(std::shared_ptr<const Grammar> grammar,
                                                                const TokenTrie& trie);

}  // namespace muse::tools
