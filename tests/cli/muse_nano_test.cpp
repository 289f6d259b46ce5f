// The shipped default model, models/muse-nano.gguf, through the commands the README's main job and the
// model card use: it is small enough to ship, carries its tokenizer, chat template and think tags, and
// (greedy, one thread, so the result is exact) answers fresh test-split problems in Thinking mode with
// a real reasoning phase while Instant mode writes none. The accuracy floor is well under the model
// card's measured figure for these easy problems, so the test catches a broken model or engine, not
// noise.
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

}  // namespace
