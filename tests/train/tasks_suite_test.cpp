// Task suites and `muse tasks`: seed layout, the JSONL format, the atomic write, the reader's errors,
// and the CLI end to end (runs the built muse binary).
#include "train/tasks_suite.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.h"
#include "train/tasks_check.h"

namespace muse::train {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "muse_tasks_XXXXXX").string();
    if (!::mkdtemp(t.data())) throw std::runtime_error("mkdtemp failed");
    path_ = t;
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string l; std::getline(ss, l);) out.push_back(l);
  return out;
}

SuiteSpec spec_of(std::vector<Family> families, Split split, uint64_t start, uint64_t count) {
  SuiteSpec s;
  s.families = std::move(families);
  s.difficulty = difficulty_preset(Level::kStandard);
  s.split = split;
  s.start = start;
  s.count = count;
  return s;
}

TEST(TasksSuite, SeedsAndFamiliesFollowTheLayout) {
  const auto ps = generate_suite(spec_of({Family::kAdd, Family::kList}, Split::kVal, 10, 5));
  ASSERT_EQ(ps.size(), 5u);
  for (size_t i = 0; i < ps.size(); ++i) {
    EXPECT_EQ(ps[i].seed, kSplitSeedSpan + 10 + i);
    EXPECT_EQ(ps[i].family, i % 2 ? Family::kList : Family::kAdd);
    EXPECT_EQ(split_of_seed(ps[i].seed), Split::kVal);
  }
}

TEST(TasksSuite, BadSpecsAreRejected) {
  EXPECT_THROW(generate_suite(spec_of({}, Split::kTrain, 0, 5)), Error);
  EXPECT_THROW(generate_suite(spec_of({Family::kAdd}, Split::kTrain, 0, 0)), Error);
  EXPECT_THROW(generate_suite(spec_of({Family::kAdd}, Split::kTest, kSplitSeedSpan - 2, 3)), Error);
  EXPECT_NO_THROW(generate_suite(spec_of({Family::kAdd}, Split::kTest, kSplitSeedSpan - 3, 3)));
}

TEST(TasksSuite, JsonlLinesCarryEveryField) {
  const auto ps = generate_suite(spec_of({kAllFamilies.begin(), kAllFamilies.end()}, Split::kTest, 0, 12));
  std::stringstream out;
  write_suite(out, ps, true);
  const auto lines = split_lines(out.str());
  ASSERT_EQ(lines.size(), ps.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto j = nlohmann::json::parse(lines[i]);
    EXPECT_EQ(j.at("question"), ps[i].question);
    EXPECT_EQ(j.at("answer"), ps[i].answer);
    EXPECT_EQ(j.at("family"), family_name(ps[i].family));
    EXPECT_EQ(j.at("difficulty"), "standard");
    EXPECT_EQ(j.at("split"), "test");
    EXPECT_EQ(j.at("seed").get<uint64_t>(), ps[i].seed);
    EXPECT_EQ(j.at("checker"), "numeric");
    EXPECT_EQ(j.at("trace"), ps[i].trace);
    EXPECT_EQ(j.at("short"), ps[i].short_answer);
    // The line's seed regenerates the problem.
    EXPECT_EQ(generate(ps[i].family, difficulty_preset(Level::kStandard), j.at("seed").get<uint64_t>()).question,
              ps[i].question);
  }
  std::stringstream bare;
  write_suite(bare, ps, false);
  const auto j = nlohmann::json::parse(split_lines(bare.str()).at(0));
  EXPECT_FALSE(j.contains("trace"));
  EXPECT_FALSE(j.contains("short"));
}

TEST(TasksSuite, FileWriteIsAtomicAndReadsBack) {
  TempDir dir;
  const std::string path = dir.file("suite.jsonl");
  {
    std::ofstream old(path);
    old << "old contents\n";
  }
  const auto ps = generate_suite(spec_of({Family::kWord, Family::kMul}, Split::kTrain, 3, 9));
  write_suite_file(path, ps, false);
  // Only the file itself is left: no temporary beside it.
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    ++entries;
    EXPECT_EQ(e.path().filename(), "suite.jsonl");
  }
  EXPECT_EQ(entries, 1);
  const auto items = read_suite_file(path);
  ASSERT_EQ(items.size(), ps.size());
  for (size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(items[i].question, ps[i].question);
    EXPECT_EQ(items[i].answer, ps[i].answer);
    EXPECT_EQ(items[i].checker, Checker::kNumeric);
    EXPECT_EQ(items[i].family, family_name(ps[i].family));
    EXPECT_EQ(items[i].line, i + 1);
  }
}

TEST(TasksSuite, FailedWriteLeavesNothingBehind) {
  TempDir dir;
  const std::string path = dir.file("missing_dir/suite.jsonl");
  const auto ps = generate_suite(spec_of({Family::kAdd}, Split::kTrain, 0, 2));
  try {
    write_suite_file(path, ps, false);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_TRUE(e.code() == ErrorCode::kNotFound || e.code() == ErrorCode::kIOError) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(TasksSuite, ReaderNamesTheBadLineAndField) {
  TempDir dir;
  auto expect_error = [&](const std::string& content, ErrorCode code, const std::string& needle) {
    const std::string path = dir.file("bad.jsonl");
    std::ofstream(path) << content;
    try {
      read_suite_file(path);
      ADD_FAILURE() << "no error for: " << content;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), code) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  const std::string good = R"({"question": "What is 1 + 1?", "answer": "2"})";
  expect_error(good + "\n{not json\n", ErrorCode::kCorruption, "bad.jsonl:2");
  expect_error(good + "\n\n[1, 2]\n", ErrorCode::kCorruption, "bad.jsonl:3");
  expect_error(R"({"question": "q"})", ErrorCode::kCorruption, "\"answer\"");
  expect_error(R"({"question": 5, "answer": "2"})", ErrorCode::kCorruption, "\"question\"");
  expect_error(R"({"question": "q", "answer": "2", "checker": "fuzzy"})", ErrorCode::kCorruption, "checker");
  try {
    read_suite_file(dir.file("nope.jsonl"));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
  // Blank lines and a hand-written regex item are fine.
  const std::string path = dir.file("ok.jsonl");
  std::ofstream(path) << good << "\n\n" << R"({"question": "q", "answer": "4[0-9]", "checker": "regex"})" << "\n";
  const auto items = read_suite_file(path);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[1].checker, Checker::kRegex);
  EXPECT_EQ(items[1].line, 3u);
}

// Runs `muse <args>` with stdout and stderr captured into files; returns the exit status.
struct RunResult {
  int status;
  std::string out, err;
};

RunResult run_muse(const TempDir& dir, const std::string& args) {
  const std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
  const std::string cmd = std::string("'") + MUSE_BINARY + "' " + args + " >'" + out + "' 2>'" + err + "'";
  const int raw = std::system(cmd.c_str());
  RunResult r{WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, slurp(out), slurp(err)};
  return r;
}

TEST(TasksCli, WritesOneJsonObjectPerLine) {
  TempDir dir;
  const std::string path = dir.file("test.jsonl");
  const RunResult r = run_muse(dir, "tasks --family all --seed 5 -n 18 --split test --traces -o '" + path + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string text = slurp(path);
  const auto lines = split_lines(text);
  ASSERT_EQ(lines.size(), 18u);
  EXPECT_EQ(text.back(), '\n');
  std::set<std::string> families;
  for (size_t i = 0; i < lines.size(); ++i) {
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(lines[i])) << lines[i];
    ASSERT_TRUE(j.is_object());
    for (const char* k : {"question", "answer", "family", "difficulty", "split", "checker", "trace", "short"}) {
      ASSERT_TRUE(j.contains(k) && j[k].is_string()) << k << " in " << lines[i];
    }
    ASSERT_TRUE(j["seed"].is_number_unsigned());
    EXPECT_EQ(j["seed"].get<uint64_t>(), 2 * kSplitSeedSpan + 5 + i);
    EXPECT_EQ(j["split"], "test");
    EXPECT_EQ(j["difficulty"], "standard");
    families.insert(j["family"].get<std::string>());
    const std::string answer = j["answer"];
    EXPECT_TRUE(check_answer(j["trace"].get<std::string>() + j["short"].get<std::string>(), answer,
                             parse_checker(j["checker"].get<std::string>())));
  }
  EXPECT_EQ(families.size(), 6u);
  // Same flags, same bytes: to stdout this time.
  const RunResult again = run_muse(dir, "tasks --family all --seed 5 -n 18 --split test --traces");
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(again.out, text);
}

TEST(TasksCli, DefaultsAndFamilySelection) {
  TempDir dir;
  const RunResult r = run_muse(dir, "tasks --family chain,list -n 4 --difficulty hard");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto lines = split_lines(r.out);
  ASSERT_EQ(lines.size(), 4u);
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto j = nlohmann::json::parse(lines[i]);
    EXPECT_EQ(j["family"], i % 2 ? "list" : "chain");
    EXPECT_EQ(j["split"], "train");
    EXPECT_EQ(j["difficulty"], "hard");
    EXPECT_EQ(j["seed"].get<uint64_t>(), i);
    EXPECT_FALSE(j.contains("trace"));
  }
}

TEST(TasksCli, BadFlagsGiveClearErrors) {
  TempDir dir;
  RunResult r = run_muse(dir, "tasks --family division -n 3");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("unknown task family 'division'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("add, sub, mul, chain, word, list"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());

  r = run_muse(dir, "tasks --family add -n 3 --difficulty medium");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("easy, standard, hard"), std::string::npos) << r.err;

  r = run_muse(dir, "tasks --family add -n 3 --split dev");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("train, val, test"), std::string::npos) << r.err;

  r = run_muse(dir, "tasks --family add -n 0");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("at least 1"), std::string::npos) << r.err;

  r = run_muse(dir, "tasks --family add -n 5 --seed 1099511627775");  // 2^40 - 1: the last seed only
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("split"), std::string::npos) << r.err;

  r = run_muse(dir, "tasks --family add");  // -n is required
  EXPECT_NE(r.status, 0);

  r = run_muse(dir, "tasks --family add -n 2 -o '" + dir.file("no/such/dir/x.jsonl") + "'");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("no/such/dir/x.jsonl"), std::string::npos) << r.err;
}

TEST(TasksCli, HelpNamesTheFlags) {
  TempDir dir;
  const RunResult r = run_muse(dir, "tasks --help");
  EXPECT_EQ(r.status, 0);
  for (const char* flag : {"--family", "--seed", "-n", "--difficulty", "--split", "--traces", "-o"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace muse::train
