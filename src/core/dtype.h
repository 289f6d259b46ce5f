// Element types of tensors, with the ggml type ids that GGUF files store.
//
// Quantized types store blocks of `block_size` elements in `type_size` bytes; the byte layouts are
// documented in core/quant.h and are bit-exact with ggml's. Pure table lookups: thread-safe, no errors
// except dtype_from_id's "not known" miss.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace muse::core {

// Values are ggml's `enum ggml_type`, because GGUF tensor infos store them.
enum class DType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kBF16 = 30,
};

struct DTypeInfo {
  DType type;
  std::string_view name;  // as llama.cpp prints it: "f32", "q4_K", ...
  int64_t block_size;     // elements per block (1 for plain types)
  int64_t type_size;      // bytes per block
  bool weight_supported;  // OpenMuse can compute with a weight of this type
};

// REQUIRES: the id is known (use dtype_from_id for untrusted ids).
const DTypeInfo& dtype_info(DType type);

// The miss outcome: nullopt for ids ggml never defined (or removed, like 4 and 5).
std::optional<DType> dtype_from_id(uint32_t id);

// Parses "q8_0", "Q4_K", "f16", ...; nullopt if unknown.
std::optional<DType> dtype_from_name(std::string_view name);

inline std::string_view dtype_name(DType type) { return dtype_info(type).name; }

// Bytes for a row of n elements. REQUIRES: n % block_size == 0.
size_t row_bytes(DType type, int64_t n);

}  // namespace muse::core
