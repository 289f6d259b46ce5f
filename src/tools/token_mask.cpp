#include "tools/token_mask.h"

#include <algorithm>
#include <map>

#include "core/error.h"

namespace muse::tools {

TokenTrie::TokenTrie(std::vector<std::string> pieces, std::vector<int32_t> eog)
    : pieces_(std::move(pieces)), eog_(std::move(eog)) {
  std::sort(eog_.begin(), eog_.end());
  eog_.erase(std::unique(eog_.begin(), eog_.end()), eog_.end());
  // Build with maps, then flatten into arrays (edges of a node contiguous, sorted by byte).
  struct Build {
    std::map<uint8_t, uint32_t> kids;
    std::vector<int32_t> tokens;
  };
  std::vector<Build> b(1);
  for (size_t id = 0; id < pieces_.size(); ++id) {
    const std::string& p = pieces_[id];
    if (p.empty() || is_eog(static_cast<int32_t>(id))) continue;
    uint32_t n = 0;
    for (char ch : p) {
      const uint8_t byte = static_cast<uint8_t>(ch);
      auto it = b[n].kids.find(byte);
      if (it == b[n].kids.end()) {
        b.emplace_back();
        it = b[n].kids.emplace(byte, static_cast<uint32_t>(b.size() - 1)).first;
      }
      n = it->second;
    }
    b[n].tokens.push_back(static_cast<int32_t>(id));
  }
  size_t longest = 0;
  for (const std::string& p : pieces_) longest = std::max(longest, p.size());
  levels_.resize(longest + 2);  // one state per trie depth; never resized during a walk
  nodes_.resize(b.size());
  for (size_t i = 0; i < b.size(); ++i) {
    nodes_[i].first_edge = static_cast<uint32_t>(edges_.size());
    nodes_[i].n_edges = static_cast<uint32_t>(b[i].kids.size());
    for (const auto& [byte, child] : b[i].kids) edges_.push_back({byte, child});
    nodes_[i].first_token = static_cast<uint32_t>(token_ids_.size());
    nodes_[i].n_tokens = static_cast<uint32_t>(b[i].tokens.size());
    token_ids_.insert(token_ids_.end(), b[i].tokens.begin(), b[i].tokens.end());
  }
}

std::unique_ptr<TokenTrie> TokenTrie::from_tokenizer(const text::Tokenizer& tok) {
  std::vector<std::string> pieces(static_cast<size_t>(tok.n_vocab()));
  std::vector<int32_t> eog;
  for (int32_t id = 0; id < tok.n_vocab(); ++id) {
    if (tok.is_eog(id)) {
      eog.push_back(id);
      continue;
    }
    const text::TokenType t = tok.token_type(id);
    // User-defined tokens are text the tokenizer matches whole (Qwen's <tool_call>, <think>): a model
    // writes its call markers with them, so a grammar must be able to choose them.
    if (t == text::TokenType::kNormal || t == text::TokenType::kByte || t == text::TokenType::kUndefined ||
        t == text::TokenType::kUserDefined) {
      pieces[static_cast<size_t>(id)] = tok.token_to_piece(id);
    }
  }
  return std::make_unique<TokenTrie>(std::move(pieces), std::move(eog));
}

bool TokenTrie::is_eog(int32_t id) const { return std::binary_search(eog_.begin(), eog_.end(), id); }

void TokenTrie::walk(GrammarMatcher& m, uint32_t node, size_t depth, std::vector<uint8_t>& allowed) const {
  const Node& n = nodes_[node];
  // The bytes any live stack can take next: edges outside it are skipped without a grammar step.
  ByteClass next;
  for (int32_t id : levels_[depth]) next |= m.top_class(id);
  for (uint32_t e = n.first_edge; e < n.first_edge + n.n_edges; ++e) {
    const Edge& edge = edges_[e];
    if (!next.test(edge.byte)) continue;
    const size_t mark = m.pool_mark();
    std::vector<int32_t>& to = levels_[depth + 1];
    const bool accept = m.step(levels_[depth], edge.byte, to);
    if (!to.empty() || accept) {
      const Node& c = nodes_[edge.child];
      for (uint32_t t = c.first_token; t < c.first_token + c.n_tokens; ++t) {
        allowed[static_cast<size_t>(token_ids_[t])] = 1;
      }
      if (!to.empty() && c.n_edges > 0) walk(m, edge.child, depth + 1, allowed);
    }
    m.truncate(mark);
  }
}

void TokenTrie::mask(GrammarMatcher& m, std::vector<uint8_t>& allowed) const {
  allowed.assign(pieces_.size(), 0);
  levels_[0] = m.state();
  if (!levels_[0].empty()) walk(m, 0, 0, allowed);
  if (m.accepting()) {
    for (int32_t id : eog_) {
      if (id >= 0 && static_cast<size_t>(id) < allowed.size()) allowed[static_cast<size_t>(id)] = 1;
    }
  }
}

GrammarConstraint::GrammarConstraint(const Grammar& grammar, const TokenTrie& trie) : trie_(trie), m_(grammar) {}

std::vector<int32_t> GrammarConstraint::banned() {
  std::vector<int32_t> key = m_.state_key();
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  trie_.mask(m_, allowed_);
  std::vector<int32_t> out;
  for (size_t id = 0; id < allowed_.size(); ++id) {
    if (!allowed_[id]) out.push_back(static_cast<int32_t>(id));
  }
  if (cache_.size() >= 64) cache_.clear();
  cache_.emplace(std::move(key), out);
  return out;
}

bool GrammarConstraint::accept(int32_t token) {
  if (token < 0 || token >= trie_.n_vocab()) return false;
  if (trie_.is_eog(token)) return m_.accepting();
  const std::string& p = trie_.piece(token);
  if (p.empty() || !m_.advance(p)) return false;
  text_ += p;
  return true;
}

void attach_constraint(engine::SeqConfig& config, GrammarConstraint& c,
                       std::function<engine::Directive(const engine::TokenEvent&)> next) {
  config.ban = c.banned();
  config.on_token = [&c, next = std::move(next)](const engine::TokenEvent& ev) {
    engine::Directive d;
    if (next) d = next(ev);
    if (!c.accept(ev.token)) {
      fail(ErrorCode::kInvalidArgument, "constrained decoding: token {} was sampled although the grammar rejects it",
           ev.token);
    }
    for (int32_t f : d.force) {
      if (!c.accept(f)) fail(ErrorCode::kInvalidArgument, "constrained decoding: forced token {} breaks the grammar", f);
    }
    if (c.finished()) {
      d.stop = true;
    } else if (!d.stop) {
      d.ban = c.banned();
    }
    return d;
  };
}

namespace {

class AnswerConstraint : public reason::TokenConstraint {
 public:
  AnswerConstraint(std::shared_ptr<const Grammar> grammar, const TokenTrie& trie)
      : grammar_(std::move(grammar)), c_(*grammar_, trie) {}
  std::vector<int32_t> banned() override { return c_.banned(); }
  bool accept(int32_t token) override { return c_.accept(token); }
  bool finished() const override { return c_.finished(); }

 private:
  std::shared_ptr<const Grammar> grammar_;  // before c_, which borrows it
  GrammarConstraint c_;
};

}  // namespace

std::unique_ptr<reason::TokenConstraint> make_answer_constraint(std::shared_ptr<const Grammar> grammar,
                                                                const TokenTrie& trie) {
  return std::make_unique<AnswerConstraint>(std::move(grammar), trie);
}

}  // namespace muse::tools
