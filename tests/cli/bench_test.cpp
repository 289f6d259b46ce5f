// `muse bench` end to end on the real stories260K model: the JSON report carries the speeds and both
// rooflines (peak and sustained bandwidth), consistent with each other; bad input fails cleanly.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "muse_cli.h"

namespace {

using muse::test::MuseRun;
using muse::test::run_muse;

const std::string kModel = std::string(MUSE_SHARED_DATA) + "/models/stories260K.gguf";

TEST(MuseBench, JsonReportsSpeedsAndBothRooflines) {
  MuseRun r = run_muse({"bench", "-m", kModel, "-p", "8", "-n", "8", "-r", "2", "-t", "1", "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["prompt_tokens"], 8);
  EXPECT_EQ(j["decode_tokens"], 8);
  EXPECT_GT(j["decode_tokens_per_second"].get<double>(), 0.0);
  EXPECT_GT(j["prompt_tokens_per_second"].get<double>(), 0.0);
  const double bytes = j["bytes_per_token"].get<double>();
  EXPECT_GT(bytes, 1e5) << "stories260K reads about 1 MiB of weights per token";
  for (const char* kind : {"", "_sustained"}) {
    SCOPED_TRACE(kind);
    const double bw = j[std::string("bandwidth") + kind + "_bytes_per_second"].get<double>();
    const double roof = j[std::string("roofline") + kind + "_tokens_per_second"].get<double>();
    const double frac = j[std::string("roofline") + kind + "_fraction"].get<double>();
    EXPECT_GT(bw, 1e8);
    EXPECT_NEAR(roof, bw / bytes, 1e-6 * roof);
    EXPECT_NEAR(frac, j["decode_tokens_per_second"].get<double>() / roof, 1e-9 * frac + 1e-12);
  }
}

// --profile adds the time of each forward-pass phase per decoded token, with the matmul phases' weights;
// the phases add up to no more than a token takes.
TEST(MuseBench, ProfileReportsEveryPhase) {
  MuseRun r = run_muse({"bench", "-m", kModel, "-p", "8", "-n", "8", "-r", "1", "-t", "1", "--json", "--profile"});
  ASSERT_EQ(r.status, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  const nlohmann::json& p = j["profile"];
  EXPECT_EQ(p["batch_size"], 1);
  EXPECT_EQ(p["calls"], 7) << "8 decoded tokens: the first comes from the prompt's logits";
  double total = 0, weights = 0;
  for (const auto& phase : p["phases"]) {
    total += phase["seconds_per_call"].get<double>();
    weights += phase["weight_bytes"].get<double>();
  }
  EXPECT_EQ(p["phases"].size(), 9u);
  EXPECT_GT(total, 0.0);
  EXPECT_LT(total, 1.0 / j["decode_tokens_per_second"].get<double>() * 1.5);
  EXPECT_GT(weights, 0.8 * j["bytes_per_token"].get<double>()) << "the matmul phases read the weights";
  r = run_muse({"bench", "-m", kModel, "-p", "8", "-n", "4", "-r", "1", "-t", "1", "--profile"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("FFN gate+up"), std::string::npos) << r.out;
}

TEST(MuseBench, BadInputFailsWithAMessage) {
  MuseRun r = run_muse({"bench", "--synthetic", "gpt5"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("gpt5"), std::string::npos) << r.err;
  r = run_muse({"bench", "-m", kModel, "-r", "0"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("--reps"), std::string::npos) << r.err;
  r = run_muse({"bench"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("-m"), std::string::npos) << r.err;
}

}  // namespace
