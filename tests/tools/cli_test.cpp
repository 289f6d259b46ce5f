// muse chat --tools / --sandbox / --mcp: the tools are registered and announced, the chat runs through
// the agent loop, and bad tool flags fail before any model work with a clear message.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

struct CmdResult {
  int rc = -1;
  std::string out, err;
};

class ToolsCli : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("muse_tools_cli_" + std::to_string(getpid()));
    fs::create_directories(dir_ / "box");
    std::ofstream(dir_ / "box" / "note.txt") << "hello";
  }
  void TearDown() override { fs::remove_all(dir_); }
  static std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  CmdResult run(const std::string& args, const std::string& stdin_text) {
    std::ofstream(dir_ / "in.txt") << stdin_text;
    const std::string cmd = std::string(MUSE_BINARY) + " " + args + " < " + (dir_ / "in.txt").string() + " > " +
                            (dir_ / "out.txt").string() + " 2> " + (dir_ / "err.txt").string();
    const int status = std::system(cmd.c_str());
    CmdResult r;
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(dir_ / "out.txt");
    r.err = slurp(dir_ / "err.txt");
    return r;
  }
  fs::path dir_;
};

const std::string kModel = std::string(MUSE_SHARED_DATA) + "/models/stories260K.gguf";

TEST_F(ToolsCli, ChatWithToolsAnnouncesThemAndAnswers) {
  const std::string mcp = (fs::path(__FILE__).parent_path() / "mcp_server.py").string();
  const CmdResult r = run("chat -m " + kModel + " --mode instant --max-tokens 12 -s 1 -t 1 -c 2048 --stats --tools calculator,read_file,list_dir --sandbox " +
                              (dir_ / "box").string() + " --mcp \"exec python3 '" + mcp + "'\"",
                          "What is in note.txt?\n/exit\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("tools (hermes format): calculator read_file list_dir add fail slow"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[tools] 1 model turn(s), 0 tool call(s)"), std::string::npos) << r.err;
  EXPECT_FALSE(r.out.empty());
}

TEST_F(ToolsCli, BadToolFlagsFailClearly) {
  CmdResult r = run("chat -m " + kModel + " --tools shell", "hi\n");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("unknown built-in tool 'shell'"), std::string::npos) << r.err;
  r = run("chat -m " + kModel + " --tools read_file", "hi\n");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("needs a sandbox"), std::string::npos) << r.err;
  r = run("chat -m " + kModel + " --tools calculator --sandbox " + (dir_ / "missing").string(), "hi\n");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("is not an existing directory"), std::string::npos) << r.err;
}

}  // namespace
