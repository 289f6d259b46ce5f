// `muse chat` and `muse eval` end to end: the built binary on a think-capable random model written to a
// temporary GGUF file, driven through a pipe (stdin is not a terminal, so no colors or live line).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "chat_model.h"

namespace muse::reason {
namespace {

namespace fs = std::filesystem;

struct CmdResult {
  int rc = -1;
  std::string out, err;
};

class Cli : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("muse_reason_cli_" + std::to_string(getpid()));
    fs::create_directories(dir_);
    model_ = (dir_ / "think.gguf").string();
    const std::vector<uint8_t> bytes = test_models::think_model_gguf();
    std::ofstream(model_, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                   static_cast<std::streamsize>(bytes.size()));
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::string slurp(const std::string& path) { return test_models::read_text(path); }
  CmdResult run(const std::string& args, const std::string& stdin_text = "") {
    const std::string in = write("stdin.txt", stdin_text);
    const std::string out = (dir_ / "out.txt").string(), err = (dir_ / "err.txt").string();
    const std::string cmd = std::string(MUSE_BINARY) + " " + args + " < " + in + " > " + out + " 2> " + err;
    CmdResult r;
    const int status = std::system(cmd.c_str());
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  fs::path dir_;
  std::string model_;
};

TEST_F(Cli, ChatThinkingShowsTheThinkingThenTheAnswerAndStats) {
  const CmdResult r = run("chat -m " + model_ + " --mode thinking --think-budget 6 --max-tokens 30 -s 1 -t 1 --stats",
                    "What is 2 + 2?\n/exit\nnot read\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  const size_t open = r.out.find("<think>\n"), close = r.out.find("\n</think>\n");
  ASSERT_NE(open, std::string::npos) << r.out;
  ASSERT_NE(close, std::string::npos) << r.out;
  EXPECT_LT(open, close);
  EXPECT_GT(r.out.size(), close + 11) << "an answer follows the thinking";
  EXPECT_EQ(r.out.find("\x1b["), std::string::npos) << "no colors when stdout is not a terminal";
  EXPECT_NE(r.err.find("[thinking] prompt"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("thinking 6 |"), std::string::npos) << "a random model thinks until the budget: " << r.err;
}

TEST_F(Cli, ChatKeepsHistoryResetsAndEndsAtEndOfInput) {
  const CmdResult r = run("chat -m " + model_ + " --mode instant --max-tokens 8 -s 2 -t 1 --stats",
                    "first\nsecond\n/reset\nthird\n");  // no /exit: end of input ends the chat
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.find("<think>"), std::string::npos) << "instant mode shows no thinking";
  EXPECT_NE(r.out.find("(conversation cleared)"), std::string::npos);
  // Three replies; the second reuses the first turn's prompt, the third (after /reset) starts over.
  std::vector<long> cached;
  for (size_t at = r.err.find("tok ("); at != std::string::npos; at = r.err.find("tok (", at + 1)) {
    cached.push_back(std::strtol(r.err.c_str() + at + 5, nullptr, 10));
  }
  ASSERT_EQ(cached.size(), 3u) << r.err;
  EXPECT_GT(cached[1], 0) << "the second turn extends the first prompt";
  EXPECT_GT(cached[2], 0) << "a new conversation still shares the template's opening tokens";
  EXPECT_LT(cached[2], cached[1]);
}

TEST_F(Cli, ChatContemplatingReportsEveryAgent) {
  const CmdResult r = run("chat -m " + model_ + " --mode contemplating --agents 3 --think-budget 4 --max-tokens 16 -s 3 -t 1 "
                    "--stats", "Pick a number.\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  for (const char* agent : {"agent 0:", "agent 1:", "agent 2:"}) EXPECT_NE(r.err.find(agent), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[contemplating]"), std::string::npos);
  EXPECT_GT(r.out.size(), 1u);
}

TEST_F(Cli, ChatRejectsABadModeBeforeLoading) {
  const CmdResult r = run("chat -m " + model_ + " --mode pondering", "hi\n");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("pondering"), std::string::npos) << r.err;
}

TEST_F(Cli, EvalReportsEveryModeAndWritesTheReport) {
  const std::string suite = write("suite.jsonl",
                                  "{\"question\": \"What is 1 + 1?\", \"answer\": \"2\"}\n"
                                  "\n"
                                  "{\"question\": \"Name a color.\", \"answer\": \"blue\", \"checker\": \"exact\"}\n"
                                  "{\"question\": \"What is 3 + 3?\", \"answer\": \"6\"}\n");
  const std::string report = (dir_ / "report.json").string();
  const CmdResult r = run("eval -m " + model_ + " --suite " + suite + " --mode instant,thinking --think-budget 5 "
                    "--max-tokens 20 -n 2 -s 1 -t 1 --report " + report);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("instant"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("thinking"), std::string::npos) << r.out;
  const nlohmann::json j = nlohmann::json::parse(slurp(report));
  ASSERT_EQ(j["modes"].size(), 2u);
  for (const auto& m : j["modes"]) {
    EXPECT_EQ(m["questions"], 2);
    EXPECT_EQ(m["items"].size(), 2u);
    EXPECT_EQ(m["items"][1]["line"], 3) << "blank lines are skipped but still counted";
    // Accuracy is what the items say.
    int correct = 0;
    for (const auto& it : m["items"]) correct += it["correct"].get<bool>() ? 1 : 0;
    EXPECT_EQ(m["correct"], correct);
    // Each item carries the reasoning text its thinking tokens spelled (for reading failures).
    std::string reasoning;
    for (const auto& it : m["items"]) reasoning += it["reasoning"].get<std::string>();
    if (m["mode"] == "instant") {
      EXPECT_EQ(m["thinking_tokens_total"], 0);
      EXPECT_EQ(reasoning, "");
    } else {
      EXPECT_GT(m["thinking_tokens_total"], 0);
      EXPECT_LE(m["thinking_tokens_mean"], 5.0);
      EXPECT_NE(reasoning, "");
    }
  }
  EXPECT_FALSE(fs::exists(report + ".tmp"));
}

TEST_F(Cli, EvalBreaksAccuracyDownByFamily) {
  const std::string suite = write("fam.jsonl",
                                  "{\"question\": \"What is 1 + 1?\", \"answer\": \"2\", \"family\": \"add\"}\n"
                                  "{\"question\": \"What is 2 + 2?\", \"answer\": \"4\", \"family\": \"add\"}\n"
                                  "{\"question\": \"What is 3 * 3?\", \"answer\": \"9\", \"family\": \"mul\"}\n");
  const std::string report = (dir_ / "fam_report.json").string();
  const CmdResult r = run("eval -m " + model_ + " --suite " + suite + " --mode instant --max-tokens 8 -s 1 -t 1 --report " +
                          report);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("family"), std::string::npos) << r.out;
  const nlohmann::json j = nlohmann::json::parse(slurp(report));
  const auto& m = j["modes"][0];
  ASSERT_EQ(m["families"].size(), 2u) << m["families"].dump();
  EXPECT_EQ(m["families"]["add"]["questions"], 2);
  EXPECT_EQ(m["families"]["mul"]["questions"], 1);
  // The family tallies add up to the mode's, and each agrees with its items.
  int add_correct = 0;
  for (const auto& it : m["items"]) {
    if (it["family"] == "add") add_correct += it["correct"].get<bool>() ? 1 : 0;
  }
  EXPECT_EQ(m["families"]["add"]["correct"], add_correct);
  EXPECT_EQ(m["families"]["add"]["correct"].get<int>() + m["families"]["mul"]["correct"].get<int>(),
            m["correct"].get<int>());
}

TEST_F(Cli, EvalNamesTheMalformedLine) {
  const std::string suite = write("bad.jsonl", "{\"question\": \"ok?\", \"answer\": \"1\"}\n{\"question\": 5}\n");
  const CmdResult r = run("eval -m " + model_ + " --suite " + suite + " --mode instant -t 1");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find(":2"), std::string::npos) << r.err;
}

TEST_F(Cli, EvalRejectsToolsItCannotOffer) {
  const std::string suite = write("one.jsonl", "{\"question\": \"ok?\", \"answer\": \"1\"}\n");
  for (const char* bad : {"read_file", "bogus"}) {
    const CmdResult r = run("eval -m " + model_ + " --suite " + suite + " --mode instant -t 1 --tools calculator," + bad);
    EXPECT_NE(r.rc, 0) << bad;
    EXPECT_NE(r.err.find(std::string("--tools: '") + bad + "'"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace muse::reason
