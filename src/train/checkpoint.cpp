#include "train/checkpoint.h"

#include <bit>
#include <cstring>

#include "core/error.h"
#include "train/file_io.h"

namespace muse::train {
namespace {

static_assert(std::endian::native == std::endian::little, "checkpoint I/O copies little-endian values as-is");

constexpr size_t kHeaderBytes = 112;

uint64_t checksum(std::span<const uint8_t> bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i + 8 <= bytes.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    h = (h ^ word) * 0x100000001b3ULL;
  }
  return h;
}

class ByteWriter {
 public:
  explicit ByteWriter(size_t reserve) { out_.reserve(reserve); }
  template <typename T>
  void put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out_.insert(out_.end(), p, p + sizeof(T));
  }
  void put_floats(const std::vector<float>& v) {
    const auto* p = reinterpret_cast<const uint8_t*>(v.data());
    out_.insert(out_.end(), p, p + v.size() * sizeof(float));
  }
  std::vector<uint8_t>& bytes() { return out_; }

 private:
  std::vector<uint8_t> out_;
};

}  // namespace

std::vector<uint8_t> serialize_checkpoint(const Checkpoint& c) {
  const size_t n = c.params.size();
  MUSE_ASSERT(c.adam_m.size() == n && c.adam_v.size() == n);
  ByteWriter w(kHeaderBytes + 3 * n * sizeof(float) + 8);
  for (char ch : kCheckpointMagic) w.put(static_cast<uint8_t>(ch));
  w.put(kCheckpointVersion);
  w.put(uint32_t{0});
  const ModelConfig& m = c.config;
  for (int64_t v : {m.dim, m.n_layers, m.n_heads, m.n_kv_heads, m.ffn_dim, m.vocab, m.max_seq}) w.put(v);
  w.put(m.rope_theta);
  w.put(m.norm_eps);
  w.put(c.step);
  w.put(c.adam_t);
  w.put(c.rng_state);
  w.put(static_cast<uint64_t>(n));
  MUSE_ASSERT(w.bytes().size() == kHeaderBytes);
  w.put_floats(c.params);
  w.put_floats(c.adam_m);
  w.put_floats(c.adam_v);
  w.put(checksum(w.bytes()));
  return std::move(w.bytes());
}

Checkpoint parse_checkpoint(std::span<const uint8_t> bytes, const std::string& name) {
  if (bytes.size() < kHeaderBytes + 8) {
    fail(ErrorCode::kCorruption, "{}: checkpoint is {} bytes, shorter than its {}-byte header (truncated?)", name,
         bytes.size(), kHeaderBytes + 8);
  }
  if (std::memcmp(bytes.data(), kCheckpointMagic, 8) != 0) {
    fail(ErrorCode::kCorruption, "{}: bad magic at offset 0: not an OpenMuse checkpoint (expected \"MUSECKPT\")", name);
  }
  size_t off = 8;
  auto get = [&]<typename T>(T* out) {
    std::memcpy(out, bytes.data() + off, sizeof(T));
    off += sizeof(T);
  };
  uint32_t version = 0, reserved = 0;
  get(&version);
  if (version != kCheckpointVersion) {
    fail(ErrorCode::kUnsupported, "{}: checkpoint version {} at offset 8; this build reads version {}", name, version,
         kCheckpointVersion);
  }
  get(&reserved);
  Checkpoint c;
  ModelConfig& m = c.config;
  for (int64_t* f : {&m.dim, &m.n_layers, &m.n_heads, &m.n_kv_heads, &m.ffn_dim, &m.vocab, &m.max_seq}) get(f);
  get(&m.rope_theta);
  get(&m.norm_eps);
  get(&c.step);
  get(&c.adam_t);
  get(&c.rng_state);
  uint64_t n = 0;
  get(&n);
  MUSE_ASSERT(off == kHeaderBytes);
  // The checksum covers the header too, but check it only once sizes are known to be sane so that a
  // truncated file reports "truncated", the more useful message.
  try {
    m.validate();
  } catch (const Error& e) {
    fail(ErrorCode::kCorruption, "{}: invalid model config in header (offset 16): {}", name, e.what());
  }
  if (c.step < 0 || c.adam_t < 0) {
    fail(ErrorCode::kCorruption, "{}: negative step {} / adam_t {} at offset 80", name, c.step, c.adam_t);
  }
  const int64_t expect_n = m.n_params();
  if (n != static_cast<uint64_t>(expect_n)) {
    fail(ErrorCode::kCorruption, "{}: n_params {} at offset 104 does not match the {} its config implies", name, n,
         expect_n);
  }
  const size_t expect_size = kHeaderBytes + 3 * n * sizeof(float) + 8;
  if (bytes.size() != expect_size) {
    fail(ErrorCode::kCorruption, "{}: checkpoint is {} bytes but its header implies {} ({})", name, bytes.size(),
         expect_size, bytes.size() < expect_size ? "truncated" : "trailing garbage");
  }
  uint64_t stored = 0;
  std::memcpy(&stored, bytes.data() + expect_size - 8, 8);
  const uint64_t actual = checksum(bytes.subspan(0, expect_size - 8));
  if (stored != actual) {
    fail(ErrorCode::kCorruption, "{}: checksum mismatch at offset {} (stored {:016x}, computed {:016x}): the file is damaged",
         name, expect_size - 8, stored, actual);
  }
  auto floats = [&](std::vector<float>& v) {
    v.resize(n);
    std::memcpy(v.data(), bytes.data() + off, n * sizeof(float));
    off += n * sizeof(float);
  };
  floats(c.params);
  floats(c.adam_m);
  floats(c.adam_v);
  return c;
}

void save_checkpoint(const std::string& path, const Checkpoint& ckpt) {
  write_file_atomic(path, serialize_checkpoint(ckpt));
}

Checkpoint load_checkpoint(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  return parse_checkpoint(bytes, path);
}

}  // namespace muse::train
