#include "tools/builtin.h"

#include <gmpxx.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "core/error.h"

namespace muse::tools {
namespace {

constexpr size_t kMaxExpression = 4096;
constexpr int kMaxDepth = 200;
constexpr size_t kMaxBits = 1 << 20;  // results beyond ~315,000 decimal digits are refused

// Recursive descent over:  expr := term (('+'|'-') term)* ; term := power (('*'|'/') power)* ;
// power := unary ('^' power)? ; unary := ('-'|'+') unary | atom ; atom := number | '(' expr ')'.
class Calc {
 public:
  explicit Calc(std::string_view s) : s_(s) {}

  mpq_class run() {
    mpq_class v = expr(0);
    skip();
    if (i_ < s_.size()) err("unexpected '{}'", s_[i_]);
    return v;
  }

 private:
  template <typename... Args>
  [[noreturn]] void err(fmt::format_string<Args...> f, Args&&... args) const {
    fail(ErrorCode::kInvalidArgument, "calculator: {} at column {}", fmt::format(f, std::forward<Args>(args)...), i_ + 1);
  }
  void skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n')) ++i_;
  }
  bool eat(char c) {
    skip();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  static void check_size(const mpq_class& v, size_t at_col) {
    if (mpz_sizeinbase(v.get_num_mpz_t(), 2) + mpz_sizeinbase(v.get_den_mpz_t(), 2) > kMaxBits) {
      fail(ErrorCode::kOutOfRange, "calculator: result too large (over {} bits) at column {}", kMaxBits, at_col);
    }
  }

  mpq_class expr(int depth) {
    if (depth > kMaxDepth) err("nesting deeper than {}", kMaxDepth);
    mpq_class v = term(depth);
    for (;;) {
      if (eat('+')) {
        v += term(depth);
      } else if (eat('-')) {
        v -= term(depth);
      } else {
        return v;
      }
    }
  }
  mpq_class term(int depth) {
    mpq_class v = power(depth);
    for (;;) {
      skip();
      if (eat('*')) {
        v *= power(depth);
        check_size(v, i_);
      } else if (eat('/')) {
        const size_t at = i_;
        mpq_class d = power(depth);
        if (d == 0) {
          i_ = at;
          err("division by zero");
        }
        v /= d;
      } else {
        return v;
      }
    }
  }
  mpq_class power(int depth) {
    mpq_class base = unary(depth);
    if (!eat('^')) {
      skip();
      if (i_ + 1 < s_.size() && s_[i_] == '*' && s_[i_ + 1] == '*') {
        i_ += 2;
      } else {
        return base;
      }
    }
    const size_t at = i_;
    mpq_class e = power(depth + 1);
    if (e.get_den() != 1) {
      i_ = at;
      err("exponent must be an integer");
    }
    if (abs(e.get_num()) > 100000) {
      i_ = at;
      err("exponent beyond 100000");
    }
    const long n = e.get_num().get_si();
    if (base == 0 && n < 0) {
      i_ = at;
      err("division by zero");
    }
    const size_t bits = mpz_sizeinbase(base.get_num_mpz_t(), 2) + mpz_sizeinbase(base.get_den_mpz_t(), 2);
    if (bits * static_cast<size_t>(std::labs(n)) > kMaxBits) fail(ErrorCode::kOutOfRange, "calculator: power too large at column {}", at);
    mpz_class num, den;
    mpz_pow_ui(num.get_mpz_t(), base.get_num_mpz_t(), static_cast<unsigned long>(std::labs(n)));
    mpz_pow_ui(den.get_mpz_t(), base.get_den_mpz_t(), static_cast<unsigned long>(std::labs(n)));
    mpq_class r = n >= 0 ? mpq_class(num, den) : mpq_class(den, num);
    r.canonicalize();
    return r;
  }
  mpq_class unary(int depth) {
    if (eat('-')) return -unary(depth + 1);
    if (eat('+')) return unary(depth + 1);
    return atom(depth);
  }
  mpq_class atom(int depth) {
    skip();
    if (eat('(')) {
      mpq_class v = expr(depth + 1);
      if (!eat(')')) err("expected ')'");
      return v;
    }
    if (i_ >= s_.size()) err("expected a number");
    const size_t start = i_;
    std::string digits;
    int64_t scale = 0;  // value = digits * 10^-scale
    bool point = false, any = false;
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (isdigit(static_cast<unsigned char>(c))) {
        digits += c;
        any = true;
        if (point) ++scale;
      } else if (c == '.' && !point) {
        point = true;
      } else if ((c == ',' || c == '_') && !point && i_ + 1 < s_.size() && isdigit(static_cast<unsigned char>(s_[i_ + 1])) &&
                 any) {
        // digit grouping
      } else {
        break;
      }
      ++i_;
    }
    if (!any) {
      i_ = start;
      err("expected a number");
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      size_t j = i_ + 1;
      bool neg = false;
      if (j < s_.size() && (s_[j] == '+' || s_[j] == '-')) neg = s_[j++] == '-';
      size_t k = j;
      int64_t e = 0;
      while (k < s_.size() && isdigit(static_cast<unsigned char>(s_[k]))) {
        e = e * 10 + (s_[k] - '0');
        if (e > 100000) err("exponent beyond 100000");
        ++k;
      }
      if (k == j) err("expected digits after the exponent");
      scale += neg ? e : -e;
      i_ = k;
    }
    mpz_class num(digits, 10);
    mpz_class ten_pow;
    mpz_ui_pow_ui(ten_pow.get_mpz_t(), 10, static_cast<unsigned long>(scale >= 0 ? scale : -scale));
    mpq_class v = scale >= 0 ? mpq_class(num, ten_pow) : mpq_class(num * ten_pow, 1);
    v.canonicalize();
    return v;
  }

  std::string_view s_;
  size_t i_ = 0;
};

// |v| as a decimal with `places` digits after the point (the last one rounded half away from zero).
std::string decimal(const mpq_class& v, int places, bool trim) {
  mpz_class scale;
  mpz_ui_pow_ui(scale.get_mpz_t(), 10, static_cast<unsigned long>(places));
  mpz_class n = abs(v.get_num()) * scale * 2 + v.get_den();
  mpz_class q = n / (v.get_den() * 2);  // round(|v| * 10^places)
  std::string s = q.get_str();
  if (places > 0) {
    if (s.size() <= static_cast<size_t>(places)) s.insert(0, static_cast<size_t>(places) + 1 - s.size(), '0');
    s.insert(s.size() - static_cast<size_t>(places), ".");
    if (trim) {
      while (s.back() == '0') s.pop_back();
      if (s.back() == '.') s.pop_back();
    }
  }
  return (v < 0 ? "-" : "") + s;
}

}  // namespace

std::string calculate(std::string_view expression) {
  if (expression.size() > kMaxExpression) {
    fail(ErrorCode::kInvalidArgument, "calculator: expression longer than {} characters", kMaxExpression);
  }
  bool blank = true;
  for (char c : expression) blank = blank && (c == ' ' || c == '\t' || c == '\n');
  if (blank) fail(ErrorCode::kInvalidArgument, "calculator: empty expression");
  mpq_class v = Calc(expression).run();
  if (v.get_den() == 1) return v.get_num().get_str();
  // A finite decimal exactly when the reduced denominator is 2^a * 5^b; it then has max(a, b) places.
  mpz_class d = v.get_den();
  int twos = 0, fives = 0;
  while (mpz_divisible_ui_p(d.get_mpz_t(), 2)) d /= 2, ++twos;
  while (mpz_divisible_ui_p(d.get_mpz_t(), 5)) d /= 5, ++fives;
  if (d == 1) return decimal(v, std::max(twos, fives), false);
  return v.get_str() + " (≈ " + decimal(v, 30, true) + ")";
}

Sandbox::Sandbox(const std::filesystem::path& root, int64_t max_read_bytes) : max_read_bytes_(max_read_bytes) {
  std::error_code ec;
  root_ = std::filesystem::canonical(root, ec);
  if (ec || !std::filesystem::is_directory(root_)) {
    fail(ErrorCode::kNotFound, "sandbox: '{}' is not an existing directory", root.string());
  }
}

std::filesystem::path Sandbox::resolve(std::string_view relative, bool must_be_dir) const {
  const std::string rel(relative);
  if (rel.find('\0') != std::string::npos) fail(ErrorCode::kInvalidArgument, "sandbox: path contains a NUL byte");
  std::filesystem::path p(rel);
  if (p.is_absolute() || p.has_root_name() || p.has_root_directory()) {
    fail(ErrorCode::kInvalidArgument, "sandbox: '{}' is absolute; paths are relative to the sandbox root", rel);
  }
  // Walk component by component with lstat: no component may be a symlink or leave the root.
  std::filesystem::path cur = root_;
  int depth = 0;
  for (const auto& part : p.lexically_normal()) {
    const std::string s = part.string();
    if (s.empty() || s == ".") continue;
    if (s == "..") {
      if (depth == 0) fail(ErrorCode::kInvalidArgument, "sandbox: '{}' leaves the sandbox", rel);
      cur = cur.parent_path();
      --depth;
      continue;
    }
    cur /= part;
    ++depth;
    struct stat st {};
    if (lstat(cur.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) fail(ErrorCode::kNotFound, "sandbox: '{}' does not exist", rel);
      fail(ErrorCode::kIOError, "sandbox: '{}': {}", rel, std::strerror(errno));
    }
    if (S_ISLNK(st.st_mode)) fail(ErrorCode::kInvalidArgument, "sandbox: '{}' goes through a symbolic link", rel);
  }
  struct stat st {};
  if (lstat(cur.c_str(), &st) != 0) fail(ErrorCode::kNotFound, "sandbox: '{}' does not exist", rel);
  if (must_be_dir && !S_ISDIR(st.st_mode)) fail(ErrorCode::kInvalidArgument, "sandbox: '{}' is not a directory", rel);
  if (!must_be_dir && !S_ISREG(st.st_mode)) fail(ErrorCode::kInvalidArgument, "sandbox: '{}' is not a regular file", rel);
  return cur;
}

std::string Sandbox::read_file(std::string_view relative) const {
  const std::filesystem::path p = resolve(relative, false);
  std::ifstream in(p, std::ios::binary);
  if (!in) fail(ErrorCode::kIOError, "sandbox: cannot open '{}'", std::string(relative));
  std::string out(static_cast<size_t>(max_read_bytes_), '\0');
  in.read(out.data(), max_read_bytes_);
  out.resize(static_cast<size_t>(in.gcount()));
  if (in.peek() != std::char_traits<char>::eof()) {
    out += fmt::format("\n[... cut at {} bytes]", max_read_bytes_);
  }
  return out;
}

std::string Sandbox::list_dir(std::string_view relative) const {
  const std::filesystem::path p = resolve(relative.empty() ? std::string_view(".") : relative, true);
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(p, ec)) {
    std::string n = e.path().filename().string();
    std::error_code ec2;
    if (e.is_symlink(ec2)) {
      n += "@";
    } else if (e.is_directory(ec2)) {
      n += "/";
    }
    names.push_back(std::move(n));
    if (names.size() > 10000) break;
  }
  if (ec) fail(ErrorCode::kIOError, "sandbox: cannot list '{}': {}", std::string(relative), ec.message());
  std::sort(names.begin(), names.end());
  std::string out;
  for (const std::string& n : names) out += n + "\n";
  return out;
}

}  // namespace muse::tools
