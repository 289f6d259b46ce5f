#include "tools/grammar.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"

namespace muse::tools {

ByteClass byte_range(uint8_t lo, uint8_t hi) {
  ByteClass c;
  for (int b = lo; b <= hi; ++b) c.set(static_cast<size_t>(b));
  return c;
}

ByteClass byte_set(std::string_view bytes) {
  ByteClass c;
  for (char ch : bytes) c.set(static_cast<uint8_t>(ch));
  return c;
}

int32_t Grammar::add_rule(std::string name) {
  rule_alts_.emplace_back();
  rule_names_.push_back(std::move(name));
  return static_cast<int32_t>(rule_alts_.size() - 1);
}

int32_t Grammar::intern_class(const ByteClass& c) {
  for (size_t i = 0; i < classes_.size(); ++i) {
    if (classes_[i] == c) return static_cast<int32_t>(i);
  }
  classes_.push_back(c);
  return static_cast<int32_t>(classes_.size() - 1);
}

void Grammar::add_alt(int32_t rule, const std::vector<Sym>& syms) {
  if (rule < 0 || static_cast<size_t>(rule) >= rule_alts_.size()) {
    fail(ErrorCode::kInvalidArgument, "grammar: alternative for unknown rule {}", rule);
  }
  rule_alts_[static_cast<size_t>(rule)].push_back(static_cast<int32_t>(elems_.size()));
  for (const Sym& s : syms) {
    switch (s.kind) {
      case Sym::kBytes:
        elems_.push_back({GrammarElement::kBytes, intern_class(s.bytes)});
        break;
      case Sym::kRule:
        if (s.rule < 0 || static_cast<size_t>(s.rule) >= rule_alts_.size()) {
          fail(ErrorCode::kInvalidArgument, "grammar: rule '{}' refers to unknown rule {}",
               rule_names_[static_cast<size_t>(rule)], s.rule);
        }
        elems_.push_back({GrammarElement::kRule, s.rule});
        break;
      case Sym::kLiteral:
        for (char ch : s.literal) {
          ByteClass c;
          c.set(static_cast<uint8_t>(ch));
          elems_.push_back({GrammarElement::kBytes, intern_class(c)});
        }
        break;
    }
  }
  elems_.push_back({GrammarElement::kEnd, 0});
}

void Grammar::set_root(int32_t rule) {
  if (rule < 0 || static_cast<size_t>(rule) >= rule_alts_.size()) {
    fail(ErrorCode::kInvalidArgument, "grammar: unknown root rule {}", rule);
  }
  root_ = rule;
}

namespace {

std::string class_to_string(const ByteClass& c) {
  auto esc = [](int b) -> std::string {
    if (b == '\\' || b == ']' || b == '-' || b == '^') return std::string("\\") + static_cast<char>(b);
    if (b >= 0x20 && b < 0x7f) return std::string(1, static_cast<char>(b));
    return fmt::format("\\x{:02x}", b);
  };
  if (c.count() == 1) {
    for (int b = 0; b < 256; ++b) {
      if (c.test(static_cast<size_t>(b))) return "'" + esc(b) + "'";
    }
  }
  std::string out = "[";
  for (int b = 0; b < 256;) {
    if (!c.test(static_cast<size_t>(b))) {
      ++b;
      continue;
    }
    int e = b;
    while (e + 1 < 256 && c.test(static_cast<size_t>(e + 1))) ++e;
    out += esc(b);
    if (e > b) out += "-" + esc(e);
    b = e + 1;
  }
  return out + "]";
}

}  // namespace

std::string Grammar::to_string() const {
  std::string out;
  for (size_t r = 0; r < rule_alts_.size(); ++r) {
    out += rule_names_[r] + " ::=";
    const auto& alts = rule_alts_[r];
    for (size_t a = 0; a < alts.size(); ++a) {
      if (a > 0) out += " |";
      size_t pos = static_cast<size_t>(alts[a]);
      if (elems_[pos].kind == GrammarElement::kEnd) out += " \"\"";
      for (; elems_[pos].kind != GrammarElement::kEnd; ++pos) {
        const GrammarElement& e = elems_[pos];
        out += " ";
        out += e.kind == GrammarElement::kRule ? rule_names_[static_cast<size_t>(e.index)]
                                               : class_to_string(classes_[static_cast<size_t>(e.index)]);
      }
    }
    out += "\n";
  }
  return out;
}

GrammarMatcher::GrammarMatcher(const Grammar& g, size_t max_stacks) : g_(g), max_stacks_(max_stacks) {
  MUSE_ASSERT(g.root() >= 0);
  nodes_.reserve(1024);
  bool accept = false;
  for (int32_t alt : g_.alternatives(g_.root())) expand(alt, -1, stacks_, accept, 0);
  dedup(stacks_);
  accepting_ = accept;
}

int32_t GrammarMatcher::push(int32_t pos, int32_t parent) {
  nodes_.push_back({pos, parent});
  return static_cast<int32_t>(nodes_.size() - 1);
}

void GrammarMatcher::expand(int32_t pos, int32_t parent, std::vector<int32_t>& out, bool& accept, int depth) {
  if (depth > 4096) fail(ErrorCode::kOutOfRange, "grammar: nesting deeper than 4096 rules without a byte");
  for (;;) {
    const GrammarElement& e = g_.element(pos);
    if (e.kind == GrammarElement::kBytes) {
      out.push_back(push(pos, parent));
      return;
    }
    if (e.kind == GrammarElement::kEnd) {
      if (parent < 0) {
        accept = true;
        return;
      }
      const Node n = nodes_[static_cast<size_t>(parent)];
      pos = n.pos;
      parent = n.parent;
      continue;
    }
    // A rule reference: its alternatives run with "what follows it" as their continuation. The
    // continuation is only pushed when something follows (tail positions are skipped: flat recursion).
    int32_t cont = parent;
    if (g_.element(pos + 1).kind != GrammarElement::kEnd) cont = push(pos + 1, parent);
    const std::vector<int32_t>& alts = g_.alternatives(e.index);
    for (int32_t alt : alts) expand(alt, cont, out, accept, depth + 1);
    return;
  }
}

void GrammarMatcher::dedup(std::vector<int32_t>& v) const {
  if (v.size() < 2) return;
  auto key = [this](int32_t id) {
    const Node& n = nodes_[static_cast<size_t>(id)];
    return (static_cast<uint64_t>(static_cast<uint32_t>(n.pos)) << 32) | static_cast<uint32_t>(n.parent);
  };
  std::sort(v.begin(), v.end(), [&](int32_t a, int32_t b) { return key(a) < key(b); });
  v.erase(std::unique(v.begin(), v.end(), [&](int32_t a, int32_t b) { return key(a) == key(b); }), v.end());
}

bool GrammarMatcher::step(const std::vector<int32_t>& from, uint8_t byte, std::vector<int32_t>& to) {
  to.clear();
  bool accept = false;
  for (int32_t id : from) {
    const Node n = nodes_[static_cast<size_t>(id)];
    if (!g_.byte_class(g_.element(n.pos).index).test(byte)) continue;
    expand(n.pos + 1, n.parent, to, accept, 0);
  }
  dedup(to);
  if (to.size() > max_stacks_) {
    fail(ErrorCode::kOutOfRange, "grammar: {} live parse stacks (limit {}): the grammar is too ambiguous", to.size(),
         max_stacks_);
  }
  return accept;
}

bool GrammarMatcher::advance(uint8_t byte) {
  bool accept = step(stacks_, byte, scratch_);
  if (scratch_.empty() && !accept) return false;
  stacks_.swap(scratch_);
  accepting_ = accept;
  return true;
}

bool GrammarMatcher::advance(std::string_view bytes) {
  std::vector<int32_t> saved = stacks_;
  const bool saved_accept = accepting_;
  for (char ch : bytes) {
    if (!advance(static_cast<uint8_t>(ch))) {
      stacks_ = std::move(saved);
      accepting_ = saved_accept;
      return false;
    }
  }
  return true;
}

std::vector<int32_t> GrammarMatcher::state_key() const {
  std::vector<std::vector<int32_t>> stacks;
  for (int32_t id : stacks_) {
    std::vector<int32_t> st;
    for (int32_t n = id; n >= 0; n = nodes_[static_cast<size_t>(n)].parent) st.push_back(nodes_[static_cast<size_t>(n)].pos);
    stacks.push_back(std::move(st));
  }
  std::sort(stacks.begin(), stacks.end());
  std::vector<int32_t> key = {accepting_ ? 1 : 0};
  for (const auto& st : stacks) {
    key.insert(key.end(), st.begin(), st.end());
    key.push_back(-1);
  }
  return key;
}

ByteClass GrammarMatcher::next_bytes() const {
  ByteClass c;
  for (int32_t id : stacks_) c |= g_.byte_class(g_.element(nodes_[static_cast<size_t>(id)].pos).index);
  return c;
}

}  // namespace muse::tools
