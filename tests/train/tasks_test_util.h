// Test helpers for train::Tasks: an independent arithmetic evaluator and trace scanners.
//
// Independent on purpose: nothing here calls the generators' code, so a bug in a generator's
// arithmetic cannot hide behind the same bug in the check. Header-only, used by tasks_*_test.cpp.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "train/tasks.h"

namespace muse::train::testing {

// Evaluates + - * / and parentheses over non-negative integer literals with the usual precedence, *
// and / left to right. Division must be exact. nullopt on a syntax error, inexact division or a
// value beyond +-2^62.
class Evaluator {
 public:
  static std::optional<int64_t> eval(std::string_view s) {
    Evaluator e{s};
    auto v = e.expr();
    e.skip();
    if (!v || e.pos_ != s.size()) return std::nullopt;
    return v;
  }

 private:
  explicit Evaluator(std::string_view s) : s_(s) {}
  static constexpr int64_t kLimit = int64_t{1} << 62;

  void skip() {
    while (pos_ < s_.size() && s_[pos_] == ' ') ++pos_;
  }
  std::optional<int64_t> expr() {
    auto v = term();
    while (v) {
      skip();
      if (pos_ >= s_.size() || (s_[pos_] != '+' && s_[pos_] != '-')) break;
      const char op = s_[pos_++];
      auto r = term();
      if (!r) return std::nullopt;
      v = op == '+' ? *v + *r : *v - *r;
      if (*v > kLimit || *v < -kLimit) return std::nullopt;
    }
    return v;
  }
  std::optional<int64_t> term() {
    auto v = factor();
    while (v) {
      skip();
      if (pos_ >= s_.size() || (s_[pos_] != '*' && s_[pos_] != '/')) break;
      const char op = s_[pos_++];
      auto r = factor();
      if (!r) return std::nullopt;
      if (op == '*') {
        const __int128 p = static_cast<__int128>(*v) * *r;
        if (p > kLimit || p < -kLimit) return std::nullopt;
        v = static_cast<int64_t>(p);
      } else {
        if (*r == 0 || *v % *r != 0) return std::nullopt;
        v = *v / *r;
      }
    }
    return v;
  }
  std::optional<int64_t> factor() {
    skip();
    if (pos_ >= s_.size()) return std::nullopt;
    if (s_[pos_] == '(') {
      ++pos_;
      auto v = expr();
      skip();
      if (!v || pos_ >= s_.size() || s_[pos_] != ')') return std::nullopt;
      ++pos_;
      return v;
    }
    if (s_[pos_] < '0' || s_[pos_] > '9') return std::nullopt;
    int64_t v = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      v = v * 10 + (s_[pos_++] - '0');
      if (v > kLimit) return std::nullopt;
    }
    return v;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

// The non-negative integers in `s`, in order (digit runs; no signs, no separators).
inline std::vector<int64_t> integers_in(std::string_view s) {
  std::vector<int64_t> out;
  for (size_t i = 0; i < s.size();) {
    if (s[i] >= '0' && s[i] <= '9') {
      int64_t v = 0;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') v = v * 10 + (s[i++] - '0');
      out.push_back(v);
    } else {
      ++i;
    }
  }
  return out;
}

inline std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    out.emplace_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

// Checks every equation in a trace: each maximal run of the characters "0-9 +-*/()=" that holds an
// '=' is split at '=' and every side must evaluate (Evaluator) to the same value. Returns the number
// of equations checked; reports each wrong or unparsable one as a test failure.
inline int check_equations(std::string_view trace, std::string_view context) {
  auto is_expr_char = [](char c) {
    return (c >= '0' && c <= '9') || c == ' ' || c == '+' || c == '-' || c == '*' || c == '/' || c == '(' ||
           c == ')' || c == '=';
  };
  int checked = 0;
  for (size_t i = 0; i < trace.size();) {
    if (!is_expr_char(trace[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < trace.size() && is_expr_char(trace[j])) ++j;
    const std::string_view run = trace.substr(i, j - i);
    i = j;
    if (run.find('=') == std::string_view::npos) continue;
    // A short-division step with a remainder, "15/4=3 r3": 15 = 4 * 3 + 3 with 0 <= 3 < 4.
    if (j + 1 < trace.size() && trace[j] == 'r' && trace[j + 1] >= '0' && trace[j + 1] <= '9') {
      int64_t a = 0, b = 0, q = 0, r = 0;
      char slash = 0, eq = 0;
      std::istringstream in{std::string(run)};
      std::istringstream rin{std::string(trace.substr(j + 1))};
      if (!(in >> a >> slash >> b >> eq >> q) || slash != '/' || eq != '=' || !(rin >> r)) {
        ADD_FAILURE() << "unparsable division '" << run << "r...' in " << context;
      } else if (!(b > 0 && a == b * q + r && r >= 0 && r < b)) {
        ADD_FAILURE() << "wrong division '" << run << "r" << r << "' in " << context;
      }
      ++checked;
      continue;
    }
    std::optional<int64_t> first;
    size_t start = 0;
    for (;;) {
      const size_t eq = run.find('=', start);
      const std::string_view side = run.substr(start, eq == std::string_view::npos ? std::string_view::npos : eq - start);
      const auto v = Evaluator::eval(side);
      if (!v) {
        ADD_FAILURE() << "unparsable side '" << side << "' of '" << run << "' in " << context;
        break;
      }
      if (!first) {
        first = v;
      } else if (*v != *first) {
        ADD_FAILURE() << "wrong equation '" << run << "' in " << context;
        break;
      }
      if (eq == std::string_view::npos) break;
      start = eq + 1;
    }
    ++checked;
  }
  return checked;
}

inline std::string describe(const Problem& p) {
  return std::string(family_name(p.family)) + " seed " + std::to_string(p.seed) + "\nQ: " + p.question + "\n" + p.trace;
}

// Checks shared by every family: the trace ends with "So the result is <answer>.", every equation in
// it holds, it mentions the answer, and the short answer is the fixed form.
inline void check_common(const Problem& p) {
  const std::string ctx = describe(p);
  ASSERT_FALSE(p.question.empty()) << ctx;
  ASSERT_FALSE(p.answer.empty()) << ctx;
  ASSERT_FALSE(p.trace.empty()) << ctx;
  EXPECT_EQ(p.trace.back(), '\n') << ctx;
  const std::vector<std::string> ls = lines_of(p.trace);
  ASSERT_FALSE(ls.empty());
  EXPECT_EQ(ls.back(), "So the result is " + p.answer + ".") << ctx;
  EXPECT_EQ(p.short_answer, "The answer is " + p.answer + ".") << ctx;
  EXPECT_NE(p.trace.find("Let me double-check"), std::string::npos) << ctx;
  for (const std::string& l : ls) EXPECT_FALSE(l.empty()) << "empty line in " << ctx;
  check_equations(p.trace, ctx);
}

}  // namespace muse::train::testing
