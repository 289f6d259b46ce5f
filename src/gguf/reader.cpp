// gguf::File: parses and validates a GGUF v2/v3 file held in a Storage (layout in gguf.h).
//
// Every count, length and offset read from the file is checked against the bytes that remain before
// it is used to allocate or index, so a hostile file fails fast with a message naming the field and
// its byte offset instead of allocating terabytes or reading past the end.
#include <bit>
#include <cstring>
#include <limits>
#include <map>
#include <new>

#include "core/error.h"
#include "gguf/gguf.h"
#include "gguf/storage.h"

namespace muse::gguf {

static_assert(std::endian::native == std::endian::little, "GGUF is little-endian; a big-endian host needs byte swaps");

namespace {

constexpr int kMaxArrayDepth = 8;  // spec allows nesting; real files never nest, llama.cpp forbids it
// Bounds the memory of a hostile file: each metadata value costs sizeof(Value) (~48 B) however few
// bytes it took on disk (1 for a u8). Real vocabularies hold under 1M values.
constexpr uint64_t kMaxMetadataValues = uint64_t{1} << 24;
// Smallest encodings, used to reject counts that cannot fit in the remaining bytes.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;               // empty key, type, u8 value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;  // empty name, n_dims, one ne, type, offset
constexpr uint32_t kMaxDims = 4;                           // GGML_MAX_DIMS

std::optional<ValueType> value_type_from_id(uint32_t id) {
  if (id > static_cast<uint32_t>(ValueType::kF64)) return std::nullopt;
  return static_cast<ValueType>(id);
}

// Bytes of one element on disk; for strings and arrays the smallest possible encoding.
uint64_t min_encoded_bytes(ValueType t) {
  switch (t) {
    case ValueType::kU8:
    case ValueType::kI8:
    case ValueType::kBool: return 1;
    case ValueType::kU16:
    case ValueType::kI16: return 2;
    case ValueType::kU32:
    case ValueType::kI32:
    case ValueType::kF32: return 4;
    case ValueType::kU64:
    case ValueType::kI64:
    case ValueType::kF64:
    case ValueType::kString: return 8;
    case ValueType::kArray: return 4 + 8;
  }
  return 1;
}

// Reads little-endian fields from [data, data + size); every read is bounds-checked and a failure
// names the file, the field and the offset it started at.
class Parser {
 public:
  Parser(const uint8_t* data, size_t size, const std::string& name) : data_(data), size_(size), name_(name) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  [[noreturn]] void corrupt(size_t offset, const std::string& field, const std::string& problem) const {
    fail(ErrorCode::kCorruption, "{}: {}: {} (offset {})", name_, field, problem, offset);
  }

  void need(size_t n, const std::string& field) const {
    if (n > remaining()) {
      corrupt(pos_, field,
              fmt::format("truncated: needs {} bytes, only {} remain (file size {})", n, remaining(), size_));
    }
  }

  template <typename T>
  T read(const std::string& field) {
    need(sizeof(T), field);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string read_string(const std::string& field) {
    const size_t at = pos_;
    const auto len = read<uint64_t>(field + " length");
    if (len > remaining()) {
      corrupt(at, field, fmt::format("string length {} exceeds the {} bytes left in the file", len, remaining()));
    }
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return s;
  }

  Value read_value(ValueType type, const std::string& field, int depth) {
    const size_t at = pos_;
    switch (type) {
      case ValueType::kU8: return Value::u8(read<uint8_t>(field));
      case ValueType::kI8: return Value::i8(read<int8_t>(field));
      case ValueType::kU16: return Value::u16(read<uint16_t>(field));
      case ValueType::kI16: return Value::i16(read<int16_t>(field));
      case ValueType::kU32: return Value::u32(read<uint32_t>(field));
      case ValueType::kI32: return Value::i32(read<int32_t>(field));
      case ValueType::kU64: return Value::u64(read<uint64_t>(field));
      case ValueType::kI64: return Value::i64(read<int64_t>(field));
      case ValueType::kF32: return Value::f32(read<float>(field));
      case ValueType::kF64: return Value::f64(read<double>(field));
      case ValueType::kBool: {
        const auto b = read<uint8_t>(field);
        if (b > 1) corrupt(at, field, fmt::format("bool byte is {} (expected 0 or 1)", b));
        return Value::boolean(b != 0);
      }
      case ValueType::kString: return Value::string(read_string(field));
      case ValueType::kArray: return read_array(field, depth);
    }
    corrupt(at, field, "unknown value type");  // unreachable: types are checked before the call
  }

  Value read_array(const std::string& field, int depth) {
    const size_t at = pos_;
    if (depth >= kMaxArrayDepth) {
      fail(ErrorCode::kUnsupported, "{}: {}: arrays nested more than {} deep (offset {})", name_, field,
           kMaxArrayDepth, at);
    }
    const auto type_id = read<uint32_t>(field + " element type");
    const auto elem_type = value_type_from_id(type_id);
    if (!elem_type) corrupt(at, field, fmt::format("unknown array element type {}", type_id));
    const auto count = read<uint64_t>(field + " element count");
    if (count > remaining() / min_encoded_bytes(*elem_type)) {
      corrupt(at, field,
              fmt::format("array of {} {} elements cannot fit in the {} bytes left", count,
                          value_type_name(*elem_type), remaining()));
    }
    n_values_ += count;
    if (n_values_ > kMaxMetadataValues) {
      fail(ErrorCode::kUnsupported, "{}: {}: metadata holds more than {} values (offset {})", name_, field,
           kMaxMetadataValues, at);
    }
    Value::Array elems;
    elems.reserve(static_cast<size_t>(count));
    for (uint64_t i = 0; i < count; ++i) elems.push_back(read_value(*elem_type, field, depth + 1));
    Value v;
    v.type = ValueType::kArray;
    v.elem_type = *elem_type;
    v.data = std::move(elems);
    return v;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  const std::string& name_;
  size_t pos_ = 0;
  uint64_t n_values_ = 0;
};

bool is_power_of_two(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }

// Converts any integer Value to T, or nullopt when it does not fit (or is not an integer).
template <typename T>
std::optional<T> integer_as(const Value& v) {
  if (!v.is_integer()) return std::nullopt;
  if (const auto* u = std::get_if<uint64_t>(&v.data)) {
    if (*u > static_cast<uint64_t>(std::numeric_limits<T>::max())) return std::nullopt;
    return static_cast<T>(*u);
  }
  if (const auto* i = std::get_if<int64_t>(&v.data)) {
    if (*i < 0 && !std::numeric_limits<T>::is_signed) return std::nullopt;
    if (*i >= 0 && static_cast<uint64_t>(*i) > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
      return std::nullopt;
    }
    if (*i < 0 && *i < static_cast<int64_t>(std::numeric_limits<T>::min())) return std::nullopt;
    return static_cast<T>(*i);
  }
  return std::nullopt;
}

std::optional<float> number_as_f32(const Value& v) {
  if (v.is_float()) {
    if (const auto* d = std::get_if<double>(&v.data)) return static_cast<float>(*d);
    return std::nullopt;
  }
  if (const auto* u = std::get_if<uint64_t>(&v.data); u && v.is_integer()) return static_cast<float>(*u);
  if (const auto* i = std::get_if<int64_t>(&v.data); i && v.is_integer()) return static_cast<float>(*i);
  return std::nullopt;
}

}  // namespace

int64_t TensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int64_t TensorInfo::rows() const {
  int64_t n = 1;
  for (size_t i = 1; i < shape.size(); ++i) n *= shape[i];
  return n;
}

struct File::Impl {
  std::string path;
  detail::Storage storage;
  uint32_t version = 0;
  size_t alignment = kDefaultAlignment;
  size_t data_offset = 0;
  std::vector<std::pair<std::string, Value>> metadata;
  std::map<std::string, size_t, std::less<>> key_index;
  std::vector<TensorInfo> tensors;
  std::map<std::string, size_t, std::less<>> tensor_index;

  void parse();
  const Value& need(std::string_view key) const;
  [[noreturn]] void wrong_type(std::string_view key, const Value& v, const char* wanted) const {
    fail(ErrorCode::kCorruption, "{}: metadata key '{}': expected {}, found {}", path, key, wanted,
         v.is_array() ? fmt::format("array of {}", value_type_name(v.elem_type)) : value_type_name(v.type));
  }
};

void File::Impl::parse() {
  Parser p(storage.data(), storage.size(), path);

  const auto magic = p.read<uint32_t>("magic");
  if (magic != kMagic) {
    p.corrupt(0, "magic", fmt::format("not a GGUF file: first bytes are 0x{:08x}, expected 0x{:08x} (\"GGUF\")",
                                      magic, kMagic));
  }
  version = p.read<uint32_t>("version");
  if (version == 1) {
    fail(ErrorCode::kUnsupported, "{}: version: GGUF v1 (32-bit counts) is not supported; convert the model "
         "again with a current llama.cpp (offset 4)", path);
  }
  if (version != 2 && version != 3) {
    const uint32_t swapped = __builtin_bswap32(version);
    if (swapped >= 1 && swapped <= 3) {
      fail(ErrorCode::kUnsupported, "{}: version: the file is big-endian (version {} byte-swapped); only "
           "little-endian GGUF is supported (offset 4)", path, swapped);
    }
    fail(ErrorCode::kUnsupported, "{}: version: GGUF version {} is not supported (only 2 and 3) (offset 4)",
         path, version);
  }
  const size_t counts_at = p.pos();
  const auto n_tensors = p.read<uint64_t>("n_tensors");
  const auto n_kv = p.read<uint64_t>("n_kv");
  // Validate the counts against the remaining bytes before anything is sized from them.
  if (n_kv > p.remaining() / kMinKvBytes) {
    p.corrupt(counts_at + 8, "n_kv",
              fmt::format("{} key-value pairs cannot fit in the {} bytes left", n_kv, p.remaining()));
  }
  if (n_tensors > p.remaining() / kMinTensorInfoBytes ||
      n_kv * kMinKvBytes + n_tensors * kMinTensorInfoBytes > p.remaining()) {
    p.corrupt(counts_at, "n_tensors",
              fmt::format("{} tensor infos (with {} key-value pairs) cannot fit in the {} bytes left", n_tensors,
                          n_kv, p.remaining()));
  }

  metadata.reserve(static_cast<size_t>(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    const size_t key_at = p.pos();
    std::string key = p.read_string(fmt::format("metadata key #{}", i));
    if (key_index.count(key) != 0) p.corrupt(key_at, fmt::format("metadata key '{}'", key), "duplicate key");
    const std::string field = fmt::format("metadata key '{}'", key);
    const size_t type_at = p.pos();
    const auto type_id = p.read<uint32_t>(field + " type");
    const auto type = value_type_from_id(type_id);
    if (!type) p.corrupt(type_at, field, fmt::format("unknown value type {}", type_id));
    const size_t value_at = p.pos();
    Value value = p.read_value(*type, field, 0);
    if (key == "general.alignment") {
      const auto a = integer_as<uint32_t>(value);
      if (!a || !is_power_of_two(*a)) {
        p.corrupt(value_at, field, fmt::format("alignment must be a power of two u32, found {} {}",
                                               value_type_name(value.type), value.to_display_string()));
      }
      alignment = *a;
    }
    key_index.emplace(key, metadata.size());
    metadata.emplace_back(std::move(key), std::move(value));
  }

  // Tensor infos: shapes and types are validated here, data ranges once the data section is known.
  std::vector<size_t> info_offsets;
  tensors.reserve(static_cast<size_t>(n_tensors));
  info_offsets.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    const size_t info_at = p.pos();
    TensorInfo t;
    t.name = p.read_string(fmt::format("tensor #{} name", i));
    const std::string field = fmt::format("tensor '{}'", t.name);
    if (tensor_index.count(t.name) != 0) p.corrupt(info_at, field, "duplicate tensor name");
    const size_t dims_at = p.pos();
    const auto n_dims = p.read<uint32_t>(field + " n_dims");
    if (n_dims < 1 || n_dims > kMaxDims) {
      p.corrupt(dims_at, field, fmt::format("n_dims is {} (expected 1..{})", n_dims, kMaxDims));
    }
    int64_t n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const size_t ne_at = p.pos();
      const auto ne = p.read<uint64_t>(fmt::format("{} ne[{}]", field, d));
      if (ne == 0 || ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        p.corrupt(ne_at, field, fmt::format("ne[{}] is {} (expected 1..2^63-1)", d, ne));
      }
      if (__builtin_mul_overflow(n_elements, static_cast<int64_t>(ne), &n_elements)) {
        p.corrupt(ne_at, field, fmt::format("shape product overflows 64 bits at ne[{}] = {}", d, ne));
      }
      t.shape.push_back(static_cast<int64_t>(ne));
    }
    const size_t type_at = p.pos();
    const auto type_id = p.read<uint32_t>(field + " type");
    const auto dtype = core::dtype_from_id(type_id);
    if (!dtype) {
      fail(ErrorCode::kUnsupported, "{}: {}: ggml type id {} is unknown or not supported (offset {})", path,
           field, type_id, type_at);
    }
    t.type = *dtype;
    const auto& info = core::dtype_info(t.type);
    if (t.shape[0] % info.block_size != 0) {
      p.corrupt(dims_at, field, fmt::format("ne[0] = {} is not a multiple of the {} block size {}", t.shape[0],
                                            info.name, info.block_size));
    }
    // n_bytes = (ne[0] / block_size) * type_size * rows
    uint64_t row = 0;
    uint64_t n_bytes = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(t.shape[0] / info.block_size),
                               static_cast<uint64_t>(info.type_size), &row) ||
        __builtin_mul_overflow(row, static_cast<uint64_t>(t.rows()), &n_bytes) ||
        n_bytes > std::numeric_limits<size_t>::max()) {
      p.corrupt(dims_at, field, "byte size overflows 64 bits");
    }
    t.n_bytes = static_cast<size_t>(n_bytes);
    t.offset = p.read<uint64_t>(field + " offset");
    tensor_index.emplace(t.name, tensors.size());
    tensors.push_back(std::move(t));
    info_offsets.push_back(type_at + 4);
  }

  // The data section starts at the next multiple of the alignment; vocab-only files may end before it.
  const uint64_t header_end = p.pos();
  data_offset = static_cast<size_t>((header_end + alignment - 1) / alignment * alignment);
  const uint64_t size = storage.size();
  for (size_t i = 0; i < tensors.size(); ++i) {
    TensorInfo& t = tensors[i];
    const std::string field = fmt::format("tensor '{}'", t.name);
    if (t.offset % alignment != 0) {
      p.corrupt(info_offsets[i], field, fmt::format("data offset {} is not a multiple of the alignment {}",
                                                    t.offset, alignment));
    }
    uint64_t begin = 0;
    uint64_t end = 0;
    if (__builtin_add_overflow(data_offset, t.offset, &begin) || __builtin_add_overflow(begin, t.n_bytes, &end)) {
      p.corrupt(info_offsets[i], field, fmt::format("data offset {} + size {} overflows 64 bits", t.offset, t.n_bytes));
    }
    if (end > size) {
      fail(ErrorCode::kCorruption, "{}: {}: data [{}, {}) extends past end of file (size {})", path, field, begin, end,
           size);
    }
    t.data = storage.data() + begin;
  }
}

const Value& File::Impl::need(std::string_view key) const {
  auto it = key_index.find(key);
  if (it == key_index.end()) fail(ErrorCode::kNotFound, "{}: metadata key '{}' not found", path, key);
  return metadata[it->second].second;
}

File::File(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
File::~File() = default;

std::unique_ptr<File> File::open(const std::string& path, const OpenOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  try {
    impl->storage = options.mode == LoadMode::kMmap
                        ? detail::Storage::map_file(path)
                        : detail::Storage::read_file(path, options.read_chunk_bytes, options.progress);
    impl->parse();
  } catch (const std::bad_alloc&) {
    fail(ErrorCode::kOutOfRange, "{}: out of memory while loading", path);
  }
  return std::unique_ptr<File>(new File(std::move(impl)));
}

std::unique_ptr<File> File::from_bytes(std::vector<uint8_t> bytes, std::string name) {
  auto impl = std::make_unique<Impl>();
  impl->path = std::move(name);
  try {
    impl->storage = detail::Storage::copy_of(bytes);
    bytes = {};
    impl->parse();
  } catch (const std::bad_alloc&) {
    fail(ErrorCode::kOutOfRange, "{}: out of memory while loading", impl->path);
  }
  return std::unique_ptr<File>(new File(std::move(impl)));
}

const std::string& File::path() const { return impl_->path; }
uint32_t File::version() const { return impl_->version; }
size_t File::alignment() const { return impl_->alignment; }
size_t File::data_offset() const { return impl_->data_offset; }
size_t File::file_size() const { return impl_->storage.size(); }
const std::vector<std::pair<std::string, Value>>& File::metadata() const { return impl_->metadata; }
const std::vector<TensorInfo>& File::tensors() const { return impl_->tensors; }

const Value* File::find(std::string_view key) const {
  auto it = impl_->key_index.find(key);
  return it == impl_->key_index.end() ? nullptr : &impl_->metadata[it->second].second;
}

const TensorInfo* File::find_tensor(std::string_view name) const {
  auto it = impl_->tensor_index.find(name);
  return it == impl_->tensor_index.end() ? nullptr : &impl_->tensors[it->second];
}

const TensorInfo& File::tensor(std::string_view name) const {
  const TensorInfo* t = find_tensor(name);
  if (t == nullptr) fail(ErrorCode::kNotFound, "{}: tensor '{}' not found", impl_->path, name);
  return *t;
}

std::string File::get_string(std::string_view key) const {
  const Value& v = impl_->need(key);
  const auto* s = std::get_if<std::string>(&v.data);
  if (v.type != ValueType::kString || s == nullptr) impl_->wrong_type(key, v, "string");
  return *s;
}

uint32_t File::get_u32(std::string_view key) const {
  const Value& v = impl_->need(key);
  const auto x = integer_as<uint32_t>(v);
  if (!x) impl_->wrong_type(key, v, v.is_integer() ? "an integer in u32 range" : "an integer");
  return *x;
}

int64_t File::get_i64(std::string_view key) const {
  const Value& v = impl_->need(key);
  const auto x = integer_as<int64_t>(v);
  if (!x) impl_->wrong_type(key, v, v.is_integer() ? "an integer in i64 range" : "an integer");
  return *x;
}

float File::get_f32(std::string_view key) const {
  const Value& v = impl_->need(key);
  const auto x = number_as_f32(v);
  if (!x) impl_->wrong_type(key, v, "a number");
  return *x;
}

bool File::get_bool(std::string_view key) const {
  const Value& v = impl_->need(key);
  const auto* b = std::get_if<bool>(&v.data);
  if (v.type != ValueType::kBool || b == nullptr) impl_->wrong_type(key, v, "bool");
  return *b;
}

std::vector<std::string> File::get_string_array(std::string_view key) const {
  const Value& v = impl_->need(key);
  const auto* a = std::get_if<Value::Array>(&v.data);
  if (!v.is_array() || v.elem_type != ValueType::kString || a == nullptr) impl_->wrong_type(key, v, "array of string");
  std::vector<std::string> out;
  out.reserve(a->size());
  for (const Value& e : *a) {
    const auto* s = std::get_if<std::string>(&e.data);
    if (s == nullptr) impl_->wrong_type(key, v, "array of string");
    out.push_back(*s);
  }
  return out;
}

std::vector<float> File::get_f32_array(std::string_view key) const {
  const Value& v = impl_->need(key);
  const auto* a = std::get_if<Value::Array>(&v.data);
  if (!v.is_array() || a == nullptr) impl_->wrong_type(key, v, "array of numbers");
  std::vector<float> out;
  out.reserve(a->size());
  for (const Value& e : *a) {
    const auto x = number_as_f32(e);
    if (!x) impl_->wrong_type(key, v, "array of numbers");
    out.push_back(*x);
  }
  return out;
}

std::vector<int32_t> File::get_i32_array(std::string_view key) const {
  const Value& v = impl_->need(key);
  const auto* a = std::get_if<Value::Array>(&v.data);
  if (!v.is_array() || a == nullptr) impl_->wrong_type(key, v, "array of integers");
  std::vector<int32_t> out;
  out.reserve(a->size());
  for (size_t i = 0; i < a->size(); ++i) {
    const auto x = integer_as<int32_t>((*a)[i]);
    if (!x) {
      fail(ErrorCode::kCorruption, "{}: metadata key '{}': element {} is not an integer in i32 range", impl_->path,
           key, i);
    }
    out.push_back(*x);
  }
  return out;
}

std::string File::get_string_or(std::string_view key, std::string def) const {
  return has(key) ? get_string(key) : def;
}
uint32_t File::get_u32_or(std::string_view key, uint32_t def) const { return has(key) ? get_u32(key) : def; }
float File::get_f32_or(std::string_view key, float def) const { return has(key) ? get_f32(key) : def; }
bool File::get_bool_or(std::string_view key, bool def) const { return has(key) ? get_bool(key) : def; }

}  // namespace muse::gguf
