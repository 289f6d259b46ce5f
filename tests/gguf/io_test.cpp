// Loading from disk in both modes, and the atomic Writer::write.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>

#include "gguf/gguf.h"
#include "gguf/gguf_test_util.h"

namespace muse::gguf {
namespace {

using testing::expect_error;
using testing::kStories;
using testing::read_bytes;
using testing::TempDir;

TEST(GgufLoad, ReadAndMmapGiveTheSameBytes) {
  const auto disk = read_bytes(kStories);
  OpenOptions read_opts;
  read_opts.mode = LoadMode::kRead;
  OpenOptions map_opts;
  map_opts.mode = LoadMode::kMmap;
  auto r = File::open(kStories, read_opts);
  auto m = File::open(kStories, map_opts);
  EXPECT_EQ(r->file_size(), disk.size());
  EXPECT_EQ(m->file_size(), disk.size());
  EXPECT_EQ(r->data_offset(), m->data_offset());
  ASSERT_EQ(r->metadata().size(), m->metadata().size());
  for (size_t i = 0; i < r->metadata().size(); ++i) {
    EXPECT_EQ(r->metadata()[i].first, m->metadata()[i].first);
    EXPECT_EQ(r->metadata()[i].second.to_display_string(1000, 1000), m->metadata()[i].second.to_display_string(1000, 1000));
  }
  ASSERT_EQ(r->tensors().size(), m->tensors().size());
  for (size_t i = 0; i < r->tensors().size(); ++i) {
    const TensorInfo& a = r->tensors()[i];
    const TensorInfo& b = m->tensors()[i];
    ASSERT_EQ(a.n_bytes, b.n_bytes);
    EXPECT_NE(a.data, b.data);
    EXPECT_EQ(std::memcmp(a.data, b.data, a.n_bytes), 0) << a.name;
    EXPECT_EQ(std::memcmp(a.data, disk.data() + r->data_offset() + a.offset, a.n_bytes), 0) << a.name;
    // kRead's buffer is 2 MiB aligned and mmap is page aligned, so data keeps the file's alignment.
    EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data) % r->alignment(), 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data) % m->alignment(), 0u);
  }
}

TEST(GgufLoad, ProgressIsMonotonicAndReachesTotal) {
  const size_t size = std::filesystem::file_size(kStories);
  std::vector<std::pair<size_t, size_t>> calls;
  OpenOptions opts;
  opts.read_chunk_bytes = 100000;
  opts.progress = [&](size_t done, size_t total) { calls.emplace_back(done, total); };
  auto f = File::open(kStories, opts);
  ASSERT_EQ(calls.size(), (size + 99999) / 100000);
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].second, size);
    if (i > 0) {
      EXPECT_GT(calls[i].first, calls[i - 1].first);
    }
  }
  EXPECT_EQ(calls.back().first, size);

  calls.clear();
  opts.read_chunk_bytes = size_t{64} << 20;  // the default: one chunk for a small file
  f = File::open(kStories, opts);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0], std::make_pair(size, size));
}

TEST(GgufLoad, OsErrorsAreIOErrorsNamingThePath) {
  TempDir dir;
  for (LoadMode mode : {LoadMode::kRead, LoadMode::kMmap}) {
    OpenOptions opts;
    opts.mode = mode;
    expect_error([&] { File::open(dir.file("missing.gguf"), opts); }, ErrorCode::kIOError,
                 {dir.file("missing.gguf"), "No such file"});
    expect_error([&] { File::open(dir.path().string(), opts); }, ErrorCode::kIOError, {"not a regular file"});
    testing::write_bytes(dir.file("empty.gguf"), {});
    expect_error([&] { File::open(dir.file("empty.gguf"), opts); }, ErrorCode::kCorruption,
                 {dir.file("empty.gguf"), "magic"});
  }
}

Writer small_writer(size_t tensor_bytes) {
  Writer w;
  w.set("general.architecture", Value::string("llama"));
  std::vector<uint8_t> data(tensor_bytes);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
  w.add_tensor("w", core::DType::kF32, {static_cast<int64_t>(tensor_bytes / 4)}, data);
  return w;
}

TEST(GgufWrite, WritesAtomicallyAndLeavesNoTemp) {
  TempDir dir;
  const std::string path = dir.file("m.gguf");
  testing::write_bytes(path, {1, 2, 3});  // an old file is replaced whole
  const Writer w = small_writer(4000);
  w.write(path);
  EXPECT_EQ(read_bytes(path), w.to_bytes());
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  auto f = File::open(path);
  EXPECT_EQ(f->tensor("w").n_bytes, 4000u);
  // A bare file name writes into the working directory (and syncs ".").
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  small_writer(16).write("bare.gguf");
  std::filesystem::current_path(cwd);
  EXPECT_TRUE(std::filesystem::exists(dir.file("bare.gguf")));
}

TEST(GgufWrite, UnwritableDirectoryIsAnIOError) {
  TempDir dir;
  const std::string missing = dir.file("no/such/dir/m.gguf");
  expect_error([&] { small_writer(16).write(missing); }, ErrorCode::kIOError, {missing, "No such file"});
  if (::geteuid() != 0) {  // root ignores permission bits, so only a normal user can test them
    const std::string ro = dir.file("ro");
    std::filesystem::create_directory(ro);
    ::chmod(ro.c_str(), 0555);
    expect_error([&] { small_writer(16).write(ro + "/m.gguf"); }, ErrorCode::kIOError, {"Permission denied"});
    ::chmod(ro.c_str(), 0755);
  }
}

TEST(GgufWrite, FailedWriteLeavesTheOldFileIntact) {
  TempDir dir;
  const std::string path = dir.file("good.gguf");
  const Writer good = small_writer(64);
  good.write(path);
  const auto before = read_bytes(path);

  // Make the write itself fail midway: cap the file size (RLIMIT_FSIZE) so write() returns EFBIG.
  struct rlimit old_limit {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = 8192;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  bool threw = false;
  try {
    small_writer(1 << 20).write(path);
  } catch (const Error& e) {
    threw = true;
    EXPECT_EQ(e.code(), ErrorCode::kIOError);
    EXPECT_NE(std::string(e.what()).find("good.gguf.tmp"), std::string::npos) << e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_TRUE(threw);
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  // Failing at the rename (the target is a directory) also cleans up and touches nothing.
  const std::string dir_target = dir.file("is_a_dir");
  std::filesystem::create_directory(dir_target);
  expect_error([&] { good.write(dir_target); }, ErrorCode::kIOError, {"is_a_dir", "rename"});
  EXPECT_TRUE(std::filesystem::is_directory(dir_target));
  EXPECT_FALSE(std::filesystem::exists(dir_target + ".tmp"));
  EXPECT_EQ(File::open(path)->tensor("w").n_bytes, 64u);
}

}  // namespace
}  // namespace muse::gguf
