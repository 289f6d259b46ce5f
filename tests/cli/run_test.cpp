// `muse run` end to end: the real stories260K model, greedy, must print exactly the recorded reference
// text (tokenizer + forward pass + sampler + streaming decoder together), and bad flags must fail cleanly.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "muse_cli.h"

namespace {

using muse::test::MuseRun;
using muse::test::run_muse;

std::string reference_text() {
  std::ifstream in(std::string(MUSE_SHARED_DATA) + "/reference/stories260K-greedy.md");
  std::string line, text;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.rfind("```", 0) == 0) {
      if (inside) break;
      inside = true;
      continue;
    }
    if (inside) text += line + "\n";
  }
  return text;
}

const std::string kModel = std::string(MUSE_SHARED_DATA) + "/models/stories260K.gguf";

TEST(MuseRun, GreedyStories260KPrintsTheReferenceText) {
  const std::string expected = reference_text();
  ASSERT_FALSE(expected.empty());
  MuseRun r = run_muse({"run", "-m", kModel, "-p", "Once upon a time", "-n", "128", "--temp", "0"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, expected);
}

TEST(MuseRun, MmapLoadingGivesTheSameText) {
  MuseRun a = run_muse({"run", "-m", kModel, "-p", "Once upon a time", "-n", "32", "--temp", "0", "-q"});
  MuseRun b = run_muse({"run", "-m", kModel, "-p", "Once upon a time", "-n", "32", "--temp", "0", "-q", "--mmap", "-t", "1"});
  ASSERT_EQ(a.status, 0) << a.err;
  ASSERT_EQ(b.status, 0) << b.err;
  EXPECT_EQ(a.out, b.out);
}

TEST(MuseRun, SeededSamplingIsReproducible) {
  const std::vector<std::string> args = {"run", "-m", kModel, "-p", "Once upon a time", "-n", "40", "--temp", "1", "--seed", "42", "-q"};
  MuseRun a = run_muse(args), b = run_muse(args);
  ASSERT_EQ(a.status, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
}

TEST(MuseRun, BadFlagsFailWithAMessage) {
  MuseRun r = run_muse({"run", "-m", kModel, "-p", "hi", "--temp", "-3"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("--temp"), std::string::npos) << r.err;

  r = run_muse({"run", "-m", "/nonexistent/model.gguf", "-p", "hi"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("nonexistent"), std::string::npos) << r.err;

  r = run_muse({"run", "-m", kModel});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("prompt"), std::string::npos) << r.err;

  r = run_muse({"run", "-m", kModel, "-p", "hi", "-n", "600", "-c", "512"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("context"), std::string::npos) << r.err;
}

TEST(MuseRun, TruncatedModelIsACleanError) {
  std::ifstream in(kModel, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string path = testing::TempDir() + "truncated.gguf";
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  MuseRun r = run_muse({"run", "-m", path, "-p", "hi"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("truncated.gguf"), std::string::npos) << r.err;
}

}  // namespace
