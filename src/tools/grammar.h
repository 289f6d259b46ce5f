// Grammar + GrammarMatcher: a byte-level context-free grammar and the incremental recognizer that
// constrained decoding runs on (JSON Schema compiles to one, see json_schema.h).
//
// A Grammar is a list of rules; a rule is a list of alternatives; an alternative is a sequence of
// elements, each a byte class (a set of the 256 byte values) or a reference to a rule. Everything works
// on bytes, so multi-byte UTF-8 is spelled out as byte sequences by the grammar's author and a token
// piece of any length (or a lone byte of a UTF-8 sequence) advances the matcher byte by byte.
// REQUIRES of a grammar: no left recursion and no cycle of nullable references (the builder's users,
// json_schema.cpp, only write right recursion).
//
// The matcher keeps the set of parse stacks that are alive after the bytes seen so far (a pushdown
// recognizer in the style of llama.cpp's GBNF sampler, written anew here). A stack is a linked list of
// nodes in a pool: the top node is the byte class to match next, each node below it is where to resume
// once the rule above returns. Tail positions are never pushed, so right recursion (repetition) keeps
// the stacks flat. Stacks are values: advancing creates new nodes and never changes old ones, which is
// what lets token_mask.h try a token and throw the attempt away by truncating the pool.
//
// Grammar is immutable after build and may be shared across threads; a GrammarMatcher belongs to one
// sequence (not thread-safe). Errors: building throws muse::Error(kInvalidArgument) for a bad rule id;
// a matcher whose live-stack count passes a limit (an ambiguous grammar) throws kOutOfRange.
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace muse::tools {

using ByteClass = std::bitset<256>;

// One element of an alternative.
struct GrammarElement {
  enum Kind : uint8_t { kBytes, kRule, kEnd };
  Kind kind = kEnd;
  int32_t index = 0;  // kBytes: class id; kRule: rule id
};

// A symbol while building: a byte class, a rule reference, or a literal (one class per byte).
struct Sym {
  enum Kind : uint8_t { kBytes, kRule, kLiteral };
  Kind kind;
  ByteClass bytes;
  int32_t rule = -1;
  std::string literal;

  static Sym lit(std::string_view s) { return Sym{kLiteral, {}, -1, std::string(s)}; }
  static Sym cls(const ByteClass& c) { return Sym{kBytes, c, -1, {}}; }
  static Sym ref(int32_t r) { return Sym{kRule, {}, r, {}}; }
};

// Byte class helpers: "[lo-hi]" ranges and single bytes.
ByteClass byte_range(uint8_t lo, uint8_t hi);
ByteClass byte_set(std::string_view bytes);

class Grammar {
 public:
  // Building: rules are created first (so they can refer to each other), then given alternatives.
  int32_t add_rule(std::string name);
  void add_alt(int32_t rule, const std::vector<Sym>& syms);  // empty syms: the empty alternative
  void set_root(int32_t rule);

  int32_t root() const { return root_; }
  size_t n_rules() const { return rule_alts_.size(); }
  const std::string& rule_name(int32_t r) const { return rule_names_[static_cast<size_t>(r)]; }
  const GrammarElement& element(int32_t pos) const { return elems_[static_cast<size_t>(pos)]; }
  const std::vector<int32_t>& alternatives(int32_t rule) const { return rule_alts_[static_cast<size_t>(rule)]; }
  const ByteClass& byte_class(int32_t id) const { return classes_[static_cast<size_t>(id)]; }
  // The grammar in a GBNF-like text form, for docs and debugging.
  std::string to_string() const;

 private:
  int32_t intern_class(const ByteClass& c);

  std::vector<GrammarElement> elems_;              // every alternative, each ending with kEnd
  std::vector<std::vector<int32_t>> rule_alts_;    // rule -> start positions of its alternatives
  std::vector<std::string> rule_names_;
  std::vector<ByteClass> classes_;
  int32_t root_ = -1;
};

class GrammarMatcher {
 public:
  // REQUIRES: the grammar has a root and outlives the matcher.
  explicit GrammarMatcher(const Grammar& g, size_t max_stacks = 4096);

  // Consumes one byte; false (and no change) when no live stack accepts it.
  bool advance(uint8_t byte);
  // Consumes all bytes or none: false (and no change) when some byte is rejected.
  bool advance(std::string_view bytes);
  bool accepting() const { return accepting_; }  // the bytes so far form a complete document
  bool dead() const { return stacks_.empty() && !accepting_; }
  // No byte can follow (complete and nothing may be appended).
  bool finished() const { return stacks_.empty(); }
  // The union of the byte classes the next byte may come from.
  ByteClass next_bytes() const;

  // Low-level interface for token_mask.h: a state is a list of stack-top node ids; step() writes the
  // successor state of `from` under `byte` into `to` (cleared first) and returns whether it accepts.
  // Nodes created by step() may be thrown away with truncate(mark) once no state refers to them.
  const std::vector<int32_t>& state() const { return stacks_; }
  bool step(const std::vector<int32_t>& from, uint8_t byte, std::vector<int32_t>& to);
  // A key that is equal for two states exactly when their stacks hold the same positions (node ids
  // differ from step to step; the structure is what decides which bytes may follow).
  std::vector<int32_t> state_key() const;
  size_t pool_mark() const { return nodes_.size(); }
  void truncate(size_t mark) { nodes_.resize(mark); }
  // The byte class a stack top matches.
  const ByteClass& top_class(int32_t node) const {
    return g_.byte_class(g_.element(nodes_[static_cast<size_t>(node)].pos).index);
  }

  const Grammar& grammar() const { return g_; }

 private:
  struct Node {
    int32_t pos;     // element position: the class to match (top) or where to resume (below)
    int32_t parent;  // next node down, -1 at the bottom
  };
  // Resolves position `pos` with continuation `parent` into stack tops (byte-class positions), appending
  // them to `out`; sets accept when the whole stack can end here.
  void expand(int32_t pos, int32_t parent, std::vector<int32_t>& out, bool& accept, int depth);
  void dedup(std::vector<int32_t>& v) const;
  int32_t push(int32_t pos, int32_t parent);

  const Grammar& g_;
  size_t max_stacks_;
  std::vector<Node> nodes_;
  std::vector<int32_t> stacks_;
  bool accepting_ = false;
  std::vector<int32_t> scratch_;
};

}  // namespace muse::tools
