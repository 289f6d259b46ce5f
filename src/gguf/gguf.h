// GGUF v2/v3 reading and writing (the file format of llama.cpp models).
//
// Layout (all little-endian):
//   magic "GGUF" (u32 0x46554747) | version u32 (2 or 3) | n_tensors u64 | n_kv u64
//   n_kv x { key: string | value_type u32 | value }
//       string = u64 length + bytes (no NUL); array = elem_type u32 + count u64 + elements
//       (arrays may nest: an element type of ARRAY holds further arrays)
//   n_tensors x { name: string | n_dims u32 | ne[n_dims] u64 | ggml_type u32 | offset u64 }
//       ne[0] is the contiguous dimension (a row); offset is relative to the data section
//   padding to `general.alignment` (u32, default 32) | data section (each tensor aligned)
//
// Usage:
//   auto file = gguf::File::open("model.gguf");                 // validates everything, or throws
//   uint32_t n_layer = file->get_u32("llama.block_count");
//   const gguf::TensorInfo& t = file->tensor("token_embd.weight");  // t.data points into the file
//
// Ownership: File owns the bytes (a heap buffer or an mmap); TensorInfo::data and every view into the
// file live as long as the File. A File is immutable after open: safe to share across threads.
// The bytes start on a page boundary (2 MiB for kRead), so tensor data is aligned to the file's
// alignment (up to 4096). Nested arrays are read and written, but llama.cpp itself rejects them.
// Validation limits beyond the spec: tensors have 1..4 dims, each > 0; arrays nest at most 8 deep.
// Errors: any malformed or inconsistent input throws muse::Error (kCorruption, kUnsupported, kNotFound,
// kIOError; kOutOfRange when memory runs out) whose message names the file, the field and the byte
// offset. The Writer throws kInvalidArgument for tensors or values that would not read back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/dtype.h"

namespace muse::gguf {

inline constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
inline constexpr size_t kDefaultAlignment = 32;

enum class ValueType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};
const char* value_type_name(ValueType type);

// One metadata value. Integers are held widened (u64 for unsigned, i64 for signed), floats as double,
// but `type` remembers the on-disk type so a writer reproduces it exactly.
struct Value {
  using Array = std::vector<Value>;
  ValueType type = ValueType::kU32;
  ValueType elem_type = ValueType::kU32;  // for arrays: the element type
  std::variant<uint64_t, int64_t, double, bool, std::string, Array> data;

  static Value u8(uint8_t v);
  static Value i8(int8_t v);
  static Value u16(uint16_t v);
  static Value i16(int16_t v);
  static Value u32(uint32_t v);
  static Value i32(int32_t v);
  static Value u64(uint64_t v);
  static Value i64(int64_t v);
  static Value f32(float v);
  static Value f64(double v);
  static Value boolean(bool v);
  static Value string(std::string v);
  // REQUIRES: every element has type `elem_type`.
  static Value array(ValueType elem_type, Array elements);
  static Value string_array(const std::vector<std::string>& v);
  static Value f32_array(const std::vector<float>& v);
  static Value i32_array(const std::vector<int32_t>& v);
  static Value u32_array(const std::vector<uint32_t>& v);

  bool is_integer() const;
  bool is_float() const;
  bool is_array() const { return type == ValueType::kArray; }
  // Human-readable rendering for `muse info`: arrays show at most `max_elems` elements (then "..." and
  // the count), strings are quoted, escaped and cut after `max_chars` bytes (then the full length).
  std::string to_display_string(size_t max_elems = 8, size_t max_chars = 120) const;
};

struct TensorInfo {
  std::string name;
  core::DType type = core::DType::kF32;
  std::vector<int64_t> shape;  // ggml order: shape[0] is the row length (contiguous)
  uint64_t offset = 0;         // relative to the data section, as stored
  size_t n_bytes = 0;          // bytes of data, from shape and type
  const uint8_t* data = nullptr;  // points into the File's bytes

  int64_t n_elements() const;
  int64_t rows() const;  // product of shape[1..], 1 for a vector
};

enum class LoadMode {
  kRead,  // read the whole file into (huge-page) heap memory: fast decode, no page-cache surprises
  kMmap,  // map the file: starts instantly, but pages may be dropped and re-read under memory pressure
};

struct OpenOptions {
  LoadMode mode = LoadMode::kRead;
  // Called from the opening thread as bytes arrive (kRead) with (bytes_done, bytes_total); may be empty.
  // The last call has bytes_done == bytes_total.
  std::function<void(size_t, size_t)> progress;
  // kRead reads this many bytes per pread (and progress call). REQUIRES: > 0.
  size_t read_chunk_bytes = size_t{64} << 20;
};

class File {
 public:
  // Opens and fully validates a GGUF file. Throws muse::Error naming the path, field and offset.
  static std::unique_ptr<File> open(const std::string& path, const OpenOptions& options = {});
  // Parses bytes already in memory (tests, fuzzing). `name` is used in error messages.
  static std::unique_ptr<File> from_bytes(std::vector<uint8_t> bytes, std::string name = "<memory>");

  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  const std::string& path() const;
  uint32_t version() const;
  size_t alignment() const;
  size_t data_offset() const;  // byte offset of the data section in the file
  size_t file_size() const;

  // Metadata in file order.
  const std::vector<std::pair<std::string, Value>>& metadata() const;
  const Value* find(std::string_view key) const;  // nullptr when absent
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Typed getters. A missing key throws kNotFound; a value of the wrong type or out of range for the
  // requested type throws kCorruption naming the key. Integer getters accept any integer type that
  // fits; float getters accept f32/f64 and integers.
  std::string get_string(std::string_view key) const;
  uint32_t get_u32(std::string_view key) const;
  int64_t get_i64(std::string_view key) const;
  float get_f32(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  std::vector<std::string> get_string_array(std::string_view key) const;
  std::vector<float> get_f32_array(std::string_view key) const;
  std::vector<int32_t> get_i32_array(std::string_view key) const;
  // The same, with a default for a missing key (a present key of the wrong type still throws).
  std::string get_string_or(std::string_view key, std::string def) const;
  uint32_t get_u32_or(std::string_view key, uint32_t def) const;
  float get_f32_or(std::string_view key, float def) const;
  bool get_bool_or(std::string_view key, bool def) const;

  const std::vector<TensorInfo>& tensors() const;
  const TensorInfo* find_tensor(std::string_view name) const;  // nullptr when absent
  const TensorInfo& tensor(std::string_view name) const;       // throws kNotFound

 private:
  struct Impl;
  explicit File(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Builds a GGUF v3 file. Keys and tensors are written in the order they were added; standard
// llama.cpp key and tensor names are the caller's business (see model/ and train/ for those).
class Writer {
 public:
  Writer();
  ~Writer();
  Writer(Writer&&) noexcept;
  Writer& operator=(Writer&&) noexcept;

  void set_alignment(size_t alignment);  // REQUIRES: a power of two; also written as general.alignment
  // Sets (or replaces, keeping its position) a metadata key.
  void set(std::string key, Value value);
  // Adds a tensor; `data` must hold exactly core::row_bytes(type, shape[0]) * rows bytes (throws
  // kInvalidArgument otherwise, or if the name is taken). The first form copies; the second borrows
  // `data`, which must outlive write()/to_bytes().
  void add_tensor(std::string name, core::DType type, std::vector<int64_t> shape, std::span<const uint8_t> data);
  void add_tensor_borrowed(std::string name, core::DType type, std::vector<int64_t> shape,
                           std::span<const uint8_t> data);

  std::vector<uint8_t> to_bytes() const;
  // Atomic: writes PATH.tmp, fsyncs, renames over PATH. Throws kIOError on failure (PATH untouched).
  void write(const std::string& path) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace muse::gguf
