// gguf::Writer: lays out and writes GGUF v3 files that this reader and llama.cpp both load.
//
// llama.cpp insists that tensor i starts at sum_{j<i} pad(n_bytes_j, alignment) within the data
// section and that the data section includes the padding after the last tensor, so the layout here is
// exactly that: tensors in insertion order, each padded with zeros to the alignment.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <map>
#include <type_traits>
#include <utility>

#include "core/error.h"
#include "gguf/gguf.h"

namespace muse::gguf {
namespace {

constexpr int kMaxArrayDepth = 8;     // what the reader accepts
constexpr size_t kMaxNameBytes = 63;  // llama.cpp's GGML_MAX_NAME (64) includes the NUL
constexpr size_t kMaxDims = 4;

bool is_power_of_two(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }
uint64_t pad_to(uint64_t n, uint64_t alignment) { return (n + alignment - 1) / alignment * alignment; }

template <typename T>
bool holds_in_range(const Value& v) {
  if constexpr (std::is_signed_v<T>) {
    const auto* i = std::get_if<int64_t>(&v.data);
    return i != nullptr && *i >= std::numeric_limits<T>::min() && *i <= std::numeric_limits<T>::max();
  } else {
    const auto* u = std::get_if<uint64_t>(&v.data);
    return u != nullptr && *u <= std::numeric_limits<T>::max();
  }
}

// A Value built by hand can contradict itself (type u8 holding 300, or a string); writing it would
// produce a file that reads back differently, so refuse it here, naming the key.
void check_value(const Value& v, const std::string& key, int depth) {
  bool ok = false;
  switch (v.type) {
    case ValueType::kU8: ok = holds_in_range<uint8_t>(v); break;
    case ValueType::kI8: ok = holds_in_range<int8_t>(v); break;
    case ValueType::kU16: ok = holds_in_range<uint16_t>(v); break;
    case ValueType::kI16: ok = holds_in_range<int16_t>(v); break;
    case ValueType::kU32: ok = holds_in_range<uint32_t>(v); break;
    case ValueType::kI32: ok = holds_in_range<int32_t>(v); break;
    case ValueType::kU64: ok = holds_in_range<uint64_t>(v); break;
    case ValueType::kI64: ok = holds_in_range<int64_t>(v); break;
    case ValueType::kF32:
    case ValueType::kF64: ok = std::holds_alternative<double>(v.data); break;
    case ValueType::kBool: ok = std::holds_alternative<bool>(v.data); break;
    case ValueType::kString: ok = std::holds_alternative<std::string>(v.data); break;
    case ValueType::kArray: {
      const auto* a = std::get_if<Value::Array>(&v.data);
      if (a == nullptr || static_cast<uint32_t>(v.elem_type) > static_cast<uint32_t>(ValueType::kF64)) break;
      if (v.elem_type == ValueType::kArray && depth + 1 >= kMaxArrayDepth) {
        fail(ErrorCode::kInvalidArgument, "gguf writer: key '{}': arrays nested more than {} deep", key,
             kMaxArrayDepth);
      }
      for (const Value& e : *a) {
        if (e.type != v.elem_type) {
          fail(ErrorCode::kInvalidArgument, "gguf writer: key '{}': array of {} holds a {} element", key,
               value_type_name(v.elem_type), value_type_name(e.type));
        }
        check_value(e, key, depth + 1);
      }
      ok = true;
      break;
    }
  }
  if (!ok) {
    fail(ErrorCode::kInvalidArgument, "gguf writer: key '{}': value does not match its type {}", key,
         value_type_name(v.type));
  }
}

class Bytes {
 public:
  template <typename T>
  void put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out_.insert(out_.end(), p, p + sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    out_.insert(out_.end(), s.begin(), s.end());
  }
  // The payload of a value, without its type tag (arrays carry their element type and count).
  void put_payload(const Value& v) {
    switch (v.type) {
      case ValueType::kU8: put<uint8_t>(static_cast<uint8_t>(std::get<uint64_t>(v.data))); break;
      case ValueType::kI8: put<int8_t>(static_cast<int8_t>(std::get<int64_t>(v.data))); break;
      case ValueType::kU16: put<uint16_t>(static_cast<uint16_t>(std::get<uint64_t>(v.data))); break;
      case ValueType::kI16: put<int16_t>(static_cast<int16_t>(std::get<int64_t>(v.data))); break;
      case ValueType::kU32: put<uint32_t>(static_cast<uint32_t>(std::get<uint64_t>(v.data))); break;
      case ValueType::kI32: put<int32_t>(static_cast<int32_t>(std::get<int64_t>(v.data))); break;
      case ValueType::kU64: put<uint64_t>(std::get<uint64_t>(v.data)); break;
      case ValueType::kI64: put<int64_t>(std::get<int64_t>(v.data)); break;
      case ValueType::kF32: put<float>(static_cast<float>(std::get<double>(v.data))); break;
      case ValueType::kF64: put<double>(std::get<double>(v.data)); break;
      case ValueType::kBool: put<uint8_t>(std::get<bool>(v.data) ? 1 : 0); break;
      case ValueType::kString: put_string(std::get<std::string>(v.data)); break;
      case ValueType::kArray: {
        const auto& a = std::get<Value::Array>(v.data);
        put<uint32_t>(static_cast<uint32_t>(v.elem_type));
        put<uint64_t>(a.size());
        for (const Value& e : a) put_payload(e);
        break;
      }
    }
  }
  void pad(size_t alignment) { out_.resize(pad_to(out_.size(), alignment), 0); }
  std::vector<uint8_t>& get() { return out_; }

 private:
  std::vector<uint8_t> out_;
};

struct PendingTensor {
  std::string name;
  core::DType type;
  std::vector<int64_t> shape;
  std::vector<uint8_t> owned;       // empty when borrowed
  std::span<const uint8_t> data;    // points into `owned` or the caller's memory
};

// Closes on scope exit; release() hands the fd back for an explicit, checked close.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

void write_all(int fd, const uint8_t* p, size_t n, const std::string& tmp) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail(ErrorCode::kIOError, "{}: write failed: {}", tmp, std::strerror(errno));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

struct Writer::Impl {
  size_t alignment = kDefaultAlignment;
  std::vector<std::pair<std::string, Value>> kv;
  std::map<std::string, size_t, std::less<>> kv_index;
  std::vector<PendingTensor> tensors;
  std::map<std::string, size_t, std::less<>> tensor_index;

  void add(std::string name, core::DType type, std::vector<int64_t> shape, std::span<const uint8_t> data,
           bool copy);
  // Metadata and tensor infos, padded to the alignment; offsets[i] is tensor i's data offset.
  std::vector<uint8_t> header(std::vector<uint64_t>& offsets) const;
};

void Writer::Impl::add(std::string name, core::DType type, std::vector<int64_t> shape,
                       std::span<const uint8_t> data, bool copy) {
  if (name.empty() || name.size() > kMaxNameBytes) {
    fail(ErrorCode::kInvalidArgument, "gguf writer: tensor name '{}' must be 1..{} bytes (llama.cpp's limit)", name,
         kMaxNameBytes);
  }
  if (tensor_index.count(name) != 0) fail(ErrorCode::kInvalidArgument, "gguf writer: tensor '{}' added twice", name);
  if (!core::dtype_from_id(static_cast<uint32_t>(type))) {
    fail(ErrorCode::kInvalidArgument, "gguf writer: tensor '{}': unknown dtype id {}", name,
         static_cast<uint32_t>(type));
  }
  if (shape.empty() || shape.size() > kMaxDims) {
    fail(ErrorCode::kInvalidArgument, "gguf writer: tensor '{}': {} dims (expected 1..{})", name, shape.size(),
         kMaxDims);
  }
  int64_t rows = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] <= 0) fail(ErrorCode::kInvalidArgument, "gguf writer: tensor '{}': ne[{}] = {}", name, d, shape[d]);
    if (d > 0 && __builtin_mul_overflow(rows, shape[d], &rows)) {
      fail(ErrorCode::kInvalidArgument, "gguf writer: tensor '{}': shape product overflows", name);
    }
  }
  const auto& info = core::dtype_info(type);
  if (shape[0] % info.block_size != 0) {
    fail(ErrorCode::kInvalidArgument, "gguf writer: tensor '{}': ne[0] = {} is not a multiple of the {} block size {}",
         name, shape[0], info.name, info.block_size);
  }
  uint64_t expected = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(core::row_bytes(type, shape[0])), static_cast<uint64_t>(rows),
                             &expected)) {
    fail(ErrorCode::kInvalidArgument, "gguf writer: tensor '{}': byte size overflows", name);
  }
  if (data.size() != expected) {
    fail(ErrorCode::kInvalidArgument, "gguf writer: tensor '{}': {} bytes given, {} {} x {} needs {}", name,
         data.size(), info.name, shape[0], rows, expected);
  }
  PendingTensor t{std::move(name), type, std::move(shape), {}, data};
  if (copy) {
    t.owned.assign(data.begin(), data.end());
    t.data = t.owned;
  }
  tensor_index.emplace(t.name, tensors.size());
  tensors.push_back(std::move(t));
}

std::vector<uint8_t> Writer::Impl::header(std::vector<uint64_t>& offsets) const {
  Bytes b;
  b.put<uint32_t>(kMagic);
  b.put<uint32_t>(3);
  b.put<uint64_t>(tensors.size());
  b.put<uint64_t>(kv.size());
  for (const auto& [key, value] : kv) {
    b.put_string(key);
    b.put<uint32_t>(static_cast<uint32_t>(value.type));
    b.put_payload(value);
  }
  uint64_t offset = 0;
  offsets.clear();
  for (const auto& t : tensors) {
    b.put_string(t.name);
    b.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (int64_t ne : t.shape) b.put<uint64_t>(static_cast<uint64_t>(ne));
    b.put<uint32_t>(static_cast<uint32_t>(t.type));
    b.put<uint64_t>(offset);
    offsets.push_back(offset);
    offset += pad_to(t.data.size(), alignment);
  }
  b.pad(alignment);
  return std::move(b.get());
}

Writer::Writer() : impl_(std::make_unique<Impl>()) {}
Writer::~Writer() = default;
Writer::Writer(Writer&&) noexcept = default;
Writer& Writer::operator=(Writer&&) noexcept = default;

void Writer::set_alignment(size_t alignment) {
  if (!is_power_of_two(alignment) || alignment > std::numeric_limits<uint32_t>::max()) {
    fail(ErrorCode::kInvalidArgument, "gguf writer: alignment {} is not a power of two u32", alignment);
  }
  // The default needs no key, but a key set earlier must follow the change.
  if (alignment != kDefaultAlignment || impl_->kv_index.count("general.alignment") != 0) {
    set("general.alignment", Value::u32(static_cast<uint32_t>(alignment)));
  }
  impl_->alignment = alignment;
}

void Writer::set(std::string key, Value value) {
  check_value(value, key, 0);
  if (key == "general.alignment") {
    const auto* a = std::get_if<uint64_t>(&value.data);
    if (value.type != ValueType::kU32 || a == nullptr || !is_power_of_two(*a)) {
      fail(ErrorCode::kInvalidArgument, "gguf writer: general.alignment must be a power of two u32, got {} {}",
           value_type_name(value.type), value.to_display_string());
    }
    impl_->alignment = static_cast<size_t>(*a);
  }
  auto it = impl_->kv_index.find(key);
  if (it != impl_->kv_index.end()) {
    impl_->kv[it->second].second = std::move(value);
    return;
  }
  impl_->kv_index.emplace(key, impl_->kv.size());
  impl_->kv.emplace_back(std::move(key), std::move(value));
}

void Writer::add_tensor(std::string name, core::DType type, std::vector<int64_t> shape,
                        std::span<const uint8_t> data) {
  impl_->add(std::move(name), type, std::move(shape), data, /*copy=*/true);
}

void Writer::add_tensor_borrowed(std::string name, core::DType type, std::vector<int64_t> shape,
                                 std::span<const uint8_t> data) {
  impl_->add(std::move(name), type, std::move(shape), data, /*copy=*/false);
}

std::vector<uint8_t> Writer::to_bytes() const {
  std::vector<uint64_t> offsets;
  std::vector<uint8_t> out = impl_->header(offsets);
  const size_t data_start = out.size();
  for (size_t i = 0; i < impl_->tensors.size(); ++i) {
    const auto& t = impl_->tensors[i];
    out.resize(data_start + offsets[i], 0);
    out.insert(out.end(), t.data.begin(), t.data.end());
  }
  out.resize(pad_to(out.size(), impl_->alignment), 0);
  return out;
}

void Writer::write(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  std::vector<uint64_t> offsets;
  const std::vector<uint8_t> head = impl_->header(offsets);

  FdGuard fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) fail(ErrorCode::kIOError, "{}: cannot create: {}", tmp, std::strerror(errno));
  try {
    write_all(fd.get(), head.data(), head.size(), tmp);
    static const std::vector<uint8_t> zeros(4096, 0);
    for (const auto& t : impl_->tensors) {
      write_all(fd.get(), t.data.data(), t.data.size(), tmp);
      for (uint64_t pad = pad_to(t.data.size(), impl_->alignment) - t.data.size(); pad > 0;) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(pad, zeros.size()));
        write_all(fd.get(), zeros.data(), n, tmp);
        pad -= n;
      }
    }
    if (::fsync(fd.get()) != 0) fail(ErrorCode::kIOError, "{}: fsync failed: {}", tmp, std::strerror(errno));
    if (::close(fd.release()) != 0) fail(ErrorCode::kIOError, "{}: close failed: {}", tmp, std::strerror(errno));
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      fail(ErrorCode::kIOError, "{}: cannot rename {} over it: {}", path, tmp, std::strerror(errno));
    }
  } catch (...) {
    ::unlink(tmp.c_str());  // best effort: PATH itself was never touched
    throw;
  }
  // Make the rename itself durable: a crash now leaves either the old or the new file at PATH.
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  FdGuard dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0 || ::fsync(dfd.get()) != 0) {
    fail(ErrorCode::kIOError, "{}: written, but syncing directory {} failed: {}", path, dir, std::strerror(errno));
  }
}

}  // namespace muse::gguf
