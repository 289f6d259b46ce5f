// Built-in tools: exact calculator results (checked against GMP-free reasoning: integer identities and
// decimal facts that binary floating point gets wrong), clear errors, and every sandbox escape refused.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "tools/builtin.h"
#include "tools/registry.h"

namespace muse::tools {
namespace {

namespace fs = std::filesystem;

TEST(Calculator, ExactArithmetic) {
  EXPECT_EQ(calculate("0.1 + 0.2"), "0.3");
  EXPECT_EQ(calculate("1 - 0.9"), "0.1");
  EXPECT_EQ(calculate("2^64"), "18446744073709551616");
  EXPECT_EQ(calculate("2 ** 10"), "1024");
  EXPECT_EQ(calculate("(2^64 - 1) * (2^64 + 1) - 2^128"), "-1");
  EXPECT_EQ(calculate("123456789123456789 * 987654321987654321"), "121932631356500531347203169112635269");
  EXPECT_EQ(calculate("7 / 2"), "3.5");
  EXPECT_EQ(calculate("-(3 - 5) * 4"), "8");
  EXPECT_EQ(calculate("2 + 3 * 4 ^ 2"), "50");
  EXPECT_EQ(calculate("2 ^ 3 ^ 2"), "512");  // right-associative
  EXPECT_EQ(calculate("10 / 4 / 5"), "0.5");  // left-associative
  EXPECT_EQ(calculate("1,000,000 * 3"), "3000000");
  EXPECT_EQ(calculate("1.5e3 + 2E-2"), "1500.02");
  EXPECT_EQ(calculate("2^-2"), "0.25");
  EXPECT_EQ(calculate("1/3"), "1/3 (≈ 0.333333333333333333333333333333)");
  EXPECT_EQ(calculate("-2/3"), "-2/3 (≈ -0.666666666666666666666666666667)");
  EXPECT_EQ(calculate("0.000001 * 0.000001"), "0.000000000001");
}

TEST(Calculator, ErrorsNameTheProblemAndColumn) {
  struct E {
    const char* expr;
    const char* needle;
  };
  for (const E& e : {E{"1 / 0", "division by zero"}, E{"1 / (2 - 2)", "division by zero"}, E{"(1 + 2", "expected ')'"},
                     E{"1 + ", "expected a number"}, E{"2 ^ 0.5", "exponent must be an integer"}, E{"abc", "expected a number"},
                     E{"1 2", "unexpected '2'"}, E{"", "empty expression"}, E{"2^1000000", "exponent beyond"},
                     E{"0^-1", "division by zero"}, E{"1e", "expected digits"}, E{"1 , 2", "unexpected ','"}}) {
    try {
      calculate(e.expr);
      ADD_FAILURE() << "accepted " << e.expr;
    } catch (const Error& err) {
      EXPECT_NE(std::string(err.what()).find(e.needle), std::string::npos) << e.expr << ": " << err.what();
      EXPECT_NE(std::string(err.what()).find("calculator"), std::string::npos);
    }
  }
  EXPECT_THROW(calculate("(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((1"), Error);
  EXPECT_THROW(calculate("9^99999 * 9^99999 * 9^99999 * 9^99999"), Error);
}

class SandboxTest : public testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("muse_sandbox_" + std::to_string(getpid()));
    fs::remove_all(base_);
    fs::create_directories(base_ / "root" / "sub");
    write(base_ / "root" / "a.txt", "hello");
    write(base_ / "root" / "sub" / "b.txt", "inner");
    write(base_ / "secret.txt", "secret");
    fs::create_symlink(base_ / "secret.txt", base_ / "root" / "link.txt");
    fs::create_directory_symlink(base_, base_ / "root" / "uplink");
  }
  void TearDown() override { fs::remove_all(base_); }
  static void write(const fs::path& p, const std::string& s) { std::ofstream(p) << s; }
  fs::path base_;
};

TEST_F(SandboxTest, ReadsAndListsInside) {
  Sandbox sb(base_ / "root");
  EXPECT_EQ(sb.read_file("a.txt"), "hello");
  EXPECT_EQ(sb.read_file("sub/b.txt"), "inner");
  EXPECT_EQ(sb.read_file("sub/../a.txt"), "hello");
  EXPECT_EQ(sb.read_file("./sub/./b.txt"), "inner");
  EXPECT_EQ(sb.list_dir("."), "a.txt\nlink.txt@\nsub/\nuplink@\n");
  EXPECT_EQ(sb.list_dir("sub"), "b.txt\n");
}

TEST_F(SandboxTest, RefusesEveryEscape) {
  Sandbox sb(base_ / "root");
  const std::string abs = (base_ / "secret.txt").string();
  for (const std::string& p : {std::string("../secret.txt"), std::string("sub/../../secret.txt"), abs,
                               std::string("/etc/passwd"), std::string("link.txt"), std::string("uplink/secret.txt"),
                               std::string("..")}) {
    try {
      std::string got = sb.read_file(p);
      ADD_FAILURE() << "read " << p << ": " << got;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("sandbox"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(sb.list_dir(".."), Error);
  EXPECT_THROW(sb.list_dir("uplink"), Error);
  EXPECT_THROW(sb.list_dir("/"), Error);
  EXPECT_THROW(sb.read_file("missing.txt"), Error);
  EXPECT_THROW(sb.read_file("sub"), Error);  // a directory is not a file
  EXPECT_THROW(Sandbox(base_ / "nope"), Error);
}

TEST_F(SandboxTest, LongFilesAreCut) {
  write(base_ / "root" / "big.txt", std::string(1000, 'x'));
  Sandbox sb(base_ / "root", 100);
  std::string got = sb.read_file("big.txt");
  EXPECT_EQ(got.substr(0, 100), std::string(100, 'x'));
  EXPECT_NE(got.find("cut at 100 bytes"), std::string::npos);
}

TEST_F(SandboxTest, RegistryValidatesArgumentsAndReportsErrorsAsResults) {
  Sandbox sb(base_ / "root");
  ToolRegistry reg;
  add_builtin_tools(reg, {"calculator", "read_file", "list_dir"}, &sb);
  ToolCall c;
  c.id = "call_0";
  c.name = "calculator";
  c.arguments = {{"expression", "6 * 7"}};
  ToolResult r = reg.call(c);
  EXPECT_FALSE(r.is_error);
  EXPECT_EQ(r.content, "42");
  c.arguments = {{"expr", "6 * 7"}};
  r = reg.call(c);
  EXPECT_TRUE(r.is_error);
  EXPECT_NE(r.content.find("expression"), std::string::npos) << r.content;
  c.name = "read_file";
  c.arguments = {{"path", "../secret.txt"}};
  r = reg.call(c);
  EXPECT_TRUE(r.is_error);
  EXPECT_EQ(r.content.find("secret"), r.content.find("secret.txt"));  // the content is never shown
  c.name = "shell";
  r = reg.call(c);
  EXPECT_TRUE(r.is_error);
  EXPECT_NE(r.content.find("no tool named 'shell'"), std::string::npos);
  EXPECT_THROW(add_builtin_tools(reg, {"shell"}, &sb), Error);
  ToolRegistry no_sb;
  EXPECT_THROW(add_builtin_tools(no_sb, {"read_file"}, nullptr), Error);
  EXPECT_EQ(reg.openai_tools().size(), 3u);
}

}  // namespace
}  // namespace muse::tools
