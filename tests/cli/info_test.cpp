// `muse info` end to end: runs the built binary (MUSE_BINARY) on the shared stories260K model and on a
// truncated copy, and checks exit codes, text output and the JSON document.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace {

const std::string kModel = std::string(MUSE_SHARED_DATA) + "/models/stories260K.gguf";

struct Result {
  int rc = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class InfoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (std::filesystem::temp_directory_path() / "muse_info_XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Runs `muse ARGS` (arguments are single-quoted; none of ours contains a quote).
  Result run(const std::string& args) {
    const std::string out = (dir_ / "stdout").string();
    const std::string err = (dir_ / "stderr").string();
    const std::string cmd = std::string("'") + MUSE_BINARY + "' " + args + " >'" + out + "' 2>'" + err + "'";
    const int status = std::system(cmd.c_str());
    Result r;
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  std::filesystem::path dir_;
};

TEST_F(InfoTest, TextSummary) {
  const Result r = run("info '" + kModel + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_NE(r.out.find("GGUF v3, alignment 32"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("metadata:  19 keys"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("llama.block_count"), std::string::npos);
  EXPECT_NE(r.out.find("\"llama\""), std::string::npos);
  // Long arrays are abbreviated with their count.
  EXPECT_NE(r.out.find("...] (512 x string)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tensors:   48"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("token_embd.weight"), std::string::npos) << "no tensor table without --tensors";
}

TEST_F(InfoTest, TensorTable) {
  const Result r = run("info --tensors '" + kModel + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto line_start = r.out.find("token_embd.weight");
  ASSERT_NE(line_start, std::string::npos) << r.out;
  const std::string line = r.out.substr(line_start, r.out.find('\n', line_start) - line_start);
  EXPECT_NE(line.find("f32"), std::string::npos) << line;
  EXPECT_NE(line.find("[64, 512]"), std::string::npos) << line;
  EXPECT_NE(line.find("131072"), std::string::npos) << line;  // 64 * 512 * 4 bytes
  EXPECT_NE(r.out.find("blk.4.ffn_down.weight"), std::string::npos);
}

TEST_F(InfoTest, Json) {
  const Result r = run("info --json --tensors '" + kModel + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["version"], 3);
  EXPECT_EQ(j["alignment"], 32);
  EXPECT_EQ(j["file_size"], std::filesystem::file_size(kModel));
  EXPECT_EQ(j["tensor_count"], 48);
  std::map<std::string, nlohmann::json> md;
  for (const auto& e : j["metadata"]) md[e["key"]] = e;
  ASSERT_EQ(md.size(), 19u);
  EXPECT_EQ(md["llama.block_count"]["type"], "u32");
  EXPECT_EQ(md["llama.block_count"]["value"], 5);
  EXPECT_EQ(md["general.architecture"]["value"], "llama");
  EXPECT_EQ(md["llama.attention.layer_norm_rms_epsilon"]["value"].get<double>(), 1e-5);
  const auto& tokens = md["tokenizer.ggml.tokens"];
  EXPECT_EQ(tokens["count"], 512);
  EXPECT_EQ(tokens["truncated"], true);
  EXPECT_EQ(tokens["value"].size(), 8u);
  ASSERT_EQ(j["tensors"].size(), 48u);
  uint64_t total = 0;
  for (const auto& t : j["tensors"]) {
    total += t["n_bytes"].get<uint64_t>();
    if (t["name"] == "token_embd.weight") {
      EXPECT_EQ(t["type"], "f32");
      EXPECT_EQ(t["shape"], nlohmann::json::array({64, 512}));
    }
  }
  EXPECT_EQ(j["tensor_bytes"], total);

  const Result full = run("info --json --full '" + kModel + "'");
  ASSERT_EQ(full.rc, 0) << full.err;
  const auto jf = nlohmann::json::parse(full.out);
  for (const auto& e : jf["metadata"]) {
    if (e["key"] == "tokenizer.ggml.tokens") {
      EXPECT_EQ(e["value"].size(), 512u);
      EXPECT_EQ(e["truncated"], false);
    }
  }
  EXPECT_FALSE(jf.contains("tensors"));
}

TEST_F(InfoTest, TruncatedFileFailsWithTheReason) {
  const auto size = std::filesystem::file_size(kModel);
  const std::string bytes = slurp(kModel);
  ASSERT_EQ(bytes.size(), size);
  // Cut inside the metadata, and inside the tensor data.
  for (size_t cut : {size_t{5000}, static_cast<size_t>(size - 100)}) {
    SCOPED_TRACE(cut);
    const std::string path = (dir_ / "cut.gguf").string();
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(cut));
    const Result r = run("info '" + path + "'");
    EXPECT_NE(r.rc, 0);
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_NE(r.err.find("muse: error: " + path + ": "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(cut == 5000 ? "truncated" : "extends past end of file"), std::string::npos) << r.err;
  }
}

TEST_F(InfoTest, MissingFileAndMissingArgument) {
  const Result missing = run("info '" + (dir_ / "none.gguf").string() + "'");
  EXPECT_NE(missing.rc, 0);
  EXPECT_NE(missing.err.find("No such file"), std::string::npos) << missing.err;
  const Result no_arg = run("info");
  EXPECT_NE(no_arg.rc, 0);
  EXPECT_NE(no_arg.err.find("model is required"), std::string::npos) << no_arg.err;
}

}  // namespace
