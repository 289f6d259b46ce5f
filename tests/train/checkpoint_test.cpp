// Checkpoints: exact round trip, atomic file writes, and rejection of every kind of damage.
#include "train/checkpoint.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

#include "core/error.h"
#include "gradcheck.h"
#include "train/file_io.h"

namespace muse::train {
namespace {

Checkpoint tiny_checkpoint() {
  Checkpoint c;
  c.config.dim = 4;
  c.config.n_layers = 1;
  c.config.n_heads = 2;
  c.config.n_kv_heads = 1;
  c.config.ffn_dim = 6;
  c.config.vocab = 5;
  c.config.max_seq = 4;
  c.step = 42;
  c.adam_t = 41;
  c.rng_state = 0x123456789abcdef0ULL;
  Rng rng(1);
  const size_t n = static_cast<size_t>(c.config.n_params());
  c.params = testing::random_vector(rng, n);
  c.adam_m = testing::random_vector(rng, n);
  c.adam_v = testing::random_vector(rng, n, 0.1, 1.0);
  return c;
}

void expect_same(const Checkpoint& a, const Checkpoint& b) {
  EXPECT_EQ(a.config, b.config);
  EXPECT_EQ(a.step, b.step);
  EXPECT_EQ(a.adam_t, b.adam_t);
  EXPECT_EQ(a.rng_state, b.rng_state);
  EXPECT_EQ(a.params, b.params);
  EXPECT_EQ(a.adam_m, b.adam_m);
  EXPECT_EQ(a.adam_v, b.adam_v);
}

ErrorCode parse_error(const std::vector<uint8_t>& bytes, std::string* message = nullptr) {
  try {
    parse_checkpoint(bytes, "test.ckpt");
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  ADD_FAILURE() << "damaged checkpoint of " << bytes.size() << " bytes was accepted";
  return ErrorCode::kUnavailable;
}

TEST(CheckpointTest, RoundTripsExactly) {
  const Checkpoint c = tiny_checkpoint();
  const std::vector<uint8_t> bytes = serialize_checkpoint(c);
  EXPECT_EQ(bytes.size(), 112 + 12 * c.params.size() + 8);
  expect_same(parse_checkpoint(bytes), c);
}

TEST(CheckpointTest, EveryTruncationIsCorruption) {
  const std::vector<uint8_t> bytes = serialize_checkpoint(tiny_checkpoint());
  for (size_t len = 0; len < bytes.size(); len++) {
    std::string msg;
    ASSERT_EQ(parse_error(std::vector<uint8_t>(bytes.begin(), bytes.begin() + len), &msg), ErrorCode::kCorruption)
        << len;
    EXPECT_NE(msg.find("test.ckpt"), std::string::npos) << msg;
  }
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  EXPECT_EQ(parse_error(longer), ErrorCode::kCorruption);
}

TEST(CheckpointTest, EveryFlippedByteIsDetected) {
  const std::vector<uint8_t> bytes = serialize_checkpoint(tiny_checkpoint());
  for (size_t i = 0; i < bytes.size(); i++) {
    std::vector<uint8_t> bad = bytes;
    bad[i] ^= 0x10;
    const ErrorCode code = parse_error(bad);
    // The version field says "unsupported"; anything else is corruption.
    EXPECT_EQ(code, i >= 8 && i < 12 ? ErrorCode::kUnsupported : ErrorCode::kCorruption) << "byte " << i;
  }
}

TEST(CheckpointTest, MessagesNameTheProblem) {
  std::vector<uint8_t> bytes = serialize_checkpoint(tiny_checkpoint());
  std::string msg;
  std::vector<uint8_t> bad = bytes;
  bad[0] = 'X';
  parse_error(bad, &msg);
  EXPECT_NE(msg.find("magic"), std::string::npos) << msg;
  bad = bytes;
  bad[200] ^= 1;
  parse_error(bad, &msg);
  EXPECT_NE(msg.find("checksum"), std::string::npos) << msg;
  bad.assign(bytes.begin(), bytes.end() - 100);
  parse_error(bad, &msg);
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

class CheckpointFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() / ("muse_ckpt_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
};

TEST_F(CheckpointFileTest, SaveLoadIsAtomicAndExact) {
  const std::string path = (dir / "a.ckpt").string();
  Checkpoint c = tiny_checkpoint();
  save_checkpoint(path, c);
  expect_same(load_checkpoint(path), c);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  c.step = 43;  // overwrite in place
  save_checkpoint(path, c);
  EXPECT_EQ(load_checkpoint(path).step, 43);
}

TEST_F(CheckpointFileTest, FailedWriteLeavesTheOldFile) {
  const std::string path = (dir / "a.ckpt").string();
  save_checkpoint(path, tiny_checkpoint());
  // PATH.tmp being a directory makes the write fail before the rename.
  std::filesystem::create_directories(path + ".tmp");
  try {
    save_checkpoint(path, tiny_checkpoint());
    FAIL() << "write through a directory succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIOError);
  }
  EXPECT_EQ(load_checkpoint(path).step, 42);
}

TEST_F(CheckpointFileTest, MissingFileIsNotFound) {
  try {
    load_checkpoint((dir / "nope.ckpt").string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("nope.ckpt"), std::string::npos);
  }
}

}  // namespace
}  // namespace muse::train
