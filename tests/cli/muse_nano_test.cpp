// The shipped default model, models/muse-nano.gguf, through the commands the README's main job and the
// model card use: it is small enough to ship, carries its tokenizer, chat template and think tags, and
// (greedy, one thread, so the result is exact) answers fresh test-split problems in Thinking mode with
// a real reasoning phase while Instant mode writes none. The accuracy floor is well under the model
// card's measured figure for these easy problems, so the test catches a broken model or engine, not
// noise. With the calculator offered (`muse eval --tools calculator`, the agent loop), it calls the tool
// for large multiplications and answers from the result: the tool-call path end to end, with a model
// that writes calls.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "gguf/gguf.h"
#include "muse_cli.h"

namespace {

using muse::test::MuseRun;
using muse::test::run_muse;

const std::string kModel = std::string(MUSE_SOURCE_DIR) + "/models/muse-nano.gguf";

TEST(MuseNano, ShipsAsASmallSelfContainedGguf) {
  ASSERT_TRUE(std::filesystem::exists(kModel)) << kModel;
  EXPECT_LE(std::filesystem::file_size(kModel), 50u << 20);  // issue 5: at most 50 MB
  auto file = muse::gguf::File::open(kModel);
  EXPECT_EQ(file->get_string("general.architecture"), "llama");
  EXPECT_EQ(file->get_string("tokenizer.ggml.model"), "llama");
  const std::string tmpl = file->get_string("tokenizer.chat_template");
  EXPECT_NE(tmpl.find("enable_thinking"), std::string::npos);
  EXPECT_NE(tmpl.find("<think>"), std::string::npos);
}

TEST(MuseNano, ThinksInThinkingModeAndAnswersCorrectly) {
  const std::string dir = testing::TempDir();
  const std::string suite = dir + "muse_nano_suite.jsonl", report = dir + "muse_nano_report.json";
  MuseRun r = run_muse({"tasks", "--split", "test", "--family", "add,sub", "--difficulty", "easy", "--seed",
                        "500", "-n", "20", "-o", suite});
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_muse({"eval", "-m", kModel, "--suite", suite, "--mode", "thinking,instant", "--temp", "0", "-t",
                "1", "--report", report});
  ASSERT_EQ(r.status, 0) << r.err;
  std::ifstream in(report);
  const nlohmann::json j = nlohmann::json::parse(in);
  ASSERT_EQ(j.at("modes").size(), 2u);
  const nlohmann::json& thinking = j["modes"][0];
  const nlohmann::json& instant = j["modes"][1];
  ASSERT_EQ(thinking.at("mode"), "thinking");
  ASSERT_EQ(instant.at("mode"), "instant");
  EXPECT_EQ(thinking.at("questions"), 20);
  EXPECT_GE(thinking.at("accuracy").get<double>(), 0.8) << r.out;
  // A real reasoning phase: the reference traces for these problems are 100+ tokens.
  EXPECT_GT(thinking.at("thinking_tokens_mean").get<double>(), 50.0);
  EXPECT_EQ(instant.at("thinking_tokens_total"), 0);
  EXPECT_GT(thinking.at("accuracy").get<double>(), instant.at("accuracy").get<double>()) << r.out;
}

TEST(MuseNano, CallsTheCalculatorForLargeMultiplicationsAndAnswersFromItsResult) {
  const std::string dir = testing::TempDir();
  const std::string suite = dir + "muse_nano_mul.jsonl", with = dir + "muse_nano_tools.json",
                    without = dir + "muse_nano_no_tools.json";
  MuseRun r = run_muse({"tasks", "--split", "test", "--family", "mul", "--difficulty", "hard", "--seed", "900", "-n",
                        "8", "-o", suite});
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_muse({"eval", "-m", kModel, "--suite", suite, "--mode", "thinking", "--temp", "0", "-t", "1", "--tools",
                "calculator", "--report", with});
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_muse({"eval", "-m", kModel, "--suite", suite, "--mode", "thinking", "--temp", "0", "-t", "1", "--report",
                without});
  ASSERT_EQ(r.status, 0) << r.err;
  std::ifstream in_with(with), in_without(without);
  const nlohmann::json w = nlohmann::json::parse(in_with)["modes"][0];
  const nlohmann::json wo = nlohmann::json::parse(in_without)["modes"][0];
  EXPECT_GE(w.at("questions_with_tool_calls").get<int>(), 7) << w.dump(1).substr(0, 4000);
  EXPECT_GE(w.at("accuracy").get<double>(), 0.6) << w.dump(1).substr(0, 4000);  // 90% on 200 (model card)
  EXPECT_EQ(wo.at("tool_calls_total"), 0);
  EXPECT_GT(w.at("accuracy").get<double>(), wo.at("accuracy").get<double>());
}

TEST(MuseNano, ContemplatingAgentsUseTheCalculatorIndependentlyBeforeTheVote) {
  const std::string dir = testing::TempDir();
  const std::string suite = dir + "muse_nano_mul3.jsonl", report = dir + "muse_nano_contemplating_tools.json";
  MuseRun r = run_muse({"tasks", "--split", "test", "--family", "mul", "--difficulty", "hard", "--seed", "950", "-n",
                        "3", "-o", suite});
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_muse({"eval", "-m", kModel, "--suite", suite, "--mode", "contemplating", "--agents", "3", "--temp", "0.7",
                "-s", "5", "-t", "1", "--tools", "calculator", "--report", report});
  ASSERT_EQ(r.status, 0) << r.err;
  std::ifstream in(report);
  const nlohmann::json m = nlohmann::json::parse(in)["modes"][0];
  // Every agent that calls runs its own call: more calls than questions means several agents per
  // question called (one shared call would be at most one per question).
  EXPECT_GT(m.at("tool_calls_total").get<int>(), 3) << m.dump(1).substr(0, 4000);
  EXPECT_GE(m.at("accuracy").get<double>(), 0.3) << m.dump(1).substr(0, 4000);  // 0% without the tool
}

}  // namespace
