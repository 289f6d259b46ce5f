// The chain family: an expression of 2-5 operations over + - * with parentheses, evaluated one
// operation at a time in the order taught at school: the innermost parentheses first, inside them (and
// then outside) every * from the left, then + and - from the left. After each step the trace rewrites
// the whole expression ("Now we have 7 + 24 - 5."), so every line can be checked on its own.
#include <fmt/format.h>

#include <algorithm>

#include "train/tasks_gen.h"

namespace muse::train::detail {

namespace {

// Expression tree, built at random and printed with only the parentheses its value needs.
struct Node {
  char op = 0;  // 0 for a number, else '+', '-', '*'
  int64_t value = 0;
  int left = -1, right = -1;
};

int prec(char op) { return op == '*' ? 2 : 1; }

int64_t apply(char op, int64_t x, int64_t y) { return op == '+' ? x + y : op == '-' ? x - y : x * y; }

struct Tree {
  std::vector<Node> nodes;
  int64_t limit = 0;
  bool in_range = true;  // every subtree value in [0, limit], every product has a factor <= 9

  int build(TaskRng& rng, int ops, int operand_digits) {
    Node n;
    if (ops == 0) {
      n.value = random_up_to_digits(rng, operand_digits, 2);
    } else {
      const int left_ops = static_cast<int>(rng.range(0, ops - 1));
      const int64_t r = rng.range(0, 9);
      n.op = r < 4 ? '+' : r < 7 ? '-' : '*';
      n.left = build(rng, left_ops, operand_digits);
      n.right = build(rng, ops - 1 - left_ops, operand_digits);
      // Subtraction keeps the larger side on the left, so subtrees never go negative.
      if (n.op == '-' && nodes[n.left].value < nodes[n.right].value) std::swap(n.left, n.right);
      // Once a subtree left [0, limit] the draw is rejected anyway; skipping the arithmetic keeps a
      // product of two huge values from overflowing. In range, a product is at most limit^2 <= 10^18.
      n.value = in_range ? apply(n.op, nodes[n.left].value, nodes[n.right].value) : 0;
      // A product keeps one single-digit factor: the chain family teaches the order of operations,
      // and long multiplication has its own family.
      if (n.op == '*' && nodes[n.left].value > 9 && nodes[n.right].value > 9) in_range = false;
    }
    if (n.value < 0 || n.value > limit) in_range = false;
    nodes.push_back(n);
    return static_cast<int>(nodes.size()) - 1;
  }

  // Parentheses go where dropping them would change the value: a +/- under a *, or a +/- on the
  // right of a -. (a + (b - c) prints as a + b - c: same value, one pair fewer to read.)
  std::string print(int i) const {
    const Node& n = nodes[i];
    if (!n.op) return std::to_string(n.value);
    const Node& l = nodes[n.left];
    const Node& r = nodes[n.right];
    std::string ls = print(n.left), rs = print(n.right);
    if (l.op && prec(l.op) < prec(n.op)) ls = "(" + ls + ")";
    if (r.op && (prec(r.op) < prec(n.op) || (n.op == '-' && prec(r.op) == 1))) rs = "(" + rs + ")";
    return ls + " " + n.op + " " + rs;
  }
};

// The printed expression as tokens: numbers, operators and parentheses.
struct Tok {
  char kind;  // 'n' number, 'o' operator, '(' or ')'
  char op = 0;
  int64_t value = 0;
};

std::vector<Tok> tokenize(const std::string& s) {
  std::vector<Tok> out;
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == ' ') {
      ++i;
    } else if (c >= '0' && c <= '9') {
      int64_t v = 0;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') v = v * 10 + (s[i++] - '0');
      out.push_back({'n', 0, v});
    } else if (c == '(' || c == ')') {
      out.push_back({c});
      ++i;
    } else {
      out.push_back({'o', c});
      ++i;
    }
  }
  return out;
}

std::string render(const std::vector<Tok>& toks) {
  std::string s;
  for (size_t i = 0; i < toks.size(); ++i) {
    const Tok& t = toks[i];
    if (t.kind == 'n') {
      s += std::to_string(t.value);
    } else if (t.kind == 'o') {
      s += fmt::format(" {} ", t.op);
    } else {
      s += t.kind;
    }
  }
  return s;
}

struct Step {
  std::string text;  // "In the parentheses: 12 - 4 = 8."
  std::string math;  // "12 - 4 = 8"
  std::string after; // the expression after this step
  int64_t result = 0;
};

// Reduces the expression one operation at a time (see the file comment for the order). Returns no
// steps when a step would multiply two numbers above 9: the tree keeps a single-digit factor in every
// product it builds, but "3 * 4 * 12" (built as 3 * (4 * 12)) is evaluated from the left as 12 * 12.
std::vector<Step> evaluate_steps(std::vector<Tok> toks) {
  std::vector<Step> steps;
  while (toks.size() > 1) {
    // The innermost group: the first ')' closes it, the last '(' before it opens it.
    size_t lo = 0, hi = toks.size();  // operands and operators in [lo, hi)
    bool in_parens = false;
    for (size_t i = 0; i < toks.size(); ++i) {
      if (toks[i].kind == ')') {
        hi = i;
        lo = i;
        while (toks[lo - 1].kind != '(') --lo;
        in_parens = true;
        break;
      }
    }
    size_t k = 0;
    bool has_mul = false, has_add = false;
    for (size_t i = lo; i < hi; ++i) {
      if (toks[i].kind != 'o') continue;
      (toks[i].op == '*' ? has_mul : has_add) = true;
    }
    for (size_t i = lo; i < hi; ++i) {
      if (toks[i].kind == 'o' && (!has_mul || toks[i].op == '*')) {
        k = i;
        break;
      }
    }
    const char op = toks[k].op;
    const int64_t x = toks[k - 1].value, y = toks[k + 1].value;
    if (op == '*' && x > 9 && y > 9) return {};
    const int64_t z = apply(op, x, y);
    Step st;
    st.math = fmt::format("{} {} {} = {}", x, op, y, z);
    st.result = z;
    toks[k - 1] = {'n', 0, z};
    toks.erase(toks.begin() + static_cast<std::ptrdiff_t>(k), toks.begin() + static_cast<std::ptrdiff_t>(k) + 2);
    if (in_parens && hi - lo == 3) {  // the group is down to one number: drop its parentheses
      toks.erase(toks.begin() + static_cast<std::ptrdiff_t>(lo) + 1);
      toks.erase(toks.begin() + static_cast<std::ptrdiff_t>(lo) - 1);
    }
    const char* label;
    if (toks.size() == 1) {
      label = "Last step";
    } else if (in_parens) {
      label = op == '*' && has_add ? "In the parentheses, multiply first" : "In the parentheses";
    } else if (op == '*') {
      label = has_add ? "Multiply first" : "Multiply from the left";
    } else {
      label = "From the left";
    }
    st.text = fmt::format("{}: {}.", label, worked(x, op, y));
    st.after = render(toks);
    steps.push_back(std::move(st));
  }
  return steps;
}

}  // namespace

Draft generate_chain(TaskRng& rng, const Difficulty& d) {
  // Every value along the way stays in [0, limit]: 10^(2*operand_digits + 1), i.e. 1000 for one-digit
  // operands, so products of small numbers are allowed but the chain never explodes.
  int64_t limit = 10;
  for (int i = 0; i < 2 * d.operand_digits; ++i) limit *= 10;
  for (;;) {
    const int ops = static_cast<int>(rng.range(d.min_steps, d.max_steps));
    Tree tree;
    tree.limit = limit;
    const int root = tree.build(rng, ops, d.operand_digits);
    if (!tree.in_range) continue;
    const std::string expr = tree.print(root);
    const std::vector<Step> steps = evaluate_steps(tokenize(expr));
    bool ok = !steps.empty();
    for (const Step& s : steps) ok = ok && s.result >= 0 && s.result <= limit;
    if (!ok) continue;
    const int64_t value = steps.back().result;
    MUSE_ASSERT(value == tree.nodes[root].value);

    static const char* const kQuestions[] = {"What is {e}?", "Compute {e}.", "Find the value of {e}.",
                                             "Evaluate {e}.", "Work out {e}."};
    Draft out;
    out.question = fmt::format(fmt::runtime(rng.pick(kQuestions)), fmt::arg("e", expr));
    out.answer = std::to_string(value);
    out.key = "chain " + expr;
    std::string& t = out.trace;
    line(t, fmt::format("We need to find the value of {}.", expr));
    line(t, "The rule: parentheses first, then multiplication, then addition and subtraction from the left.");
    std::string recheck;
    for (const Step& s : steps) {
      if (s.after.find(' ') != std::string::npos) {
        line(t, fmt::format("{} Now we have {}.", s.text, s.after));
      } else {
        line(t, s.text);
      }
      recheck += (recheck.empty() ? "" : ", ") + s.math;
    }
    line(t, fmt::format("Let me double-check each step: {}. All correct.", recheck));
    line(t, fmt::format("So the result is {}.", value));
    return out;
  }
}

}  // namespace muse::train::detail
