#include "core/dtype.h"

#include <array>
#include <cctype>
#include <string>

#include "core/error.h"

namespace muse::core {
namespace {

constexpr std::array<DTypeInfo, 20> kTable = {{
    {DType::kF32, "f32", 1, 4, true},
    {DType::kF16, "f16", 1, 2, true},
    {DType::kQ4_0, "q4_0", 32, 18, true},
    {DType::kQ4_1, "q4_1", 32, 20, false},
    {DType::kQ5_0, "q5_0", 32, 22, false},
    {DType::kQ5_1, "q5_1", 32, 24, false},
    {DType::kQ8_0, "q8_0", 32, 34, true},
    {DType::kQ8_1, "q8_1", 32, 36, false},
    {DType::kQ2_K, "q2_K", 256, 84, false},
    {DType::kQ3_K, "q3_K", 256, 110, false},
    {DType::kQ4_K, "q4_K", 256, 144, true},
    {DType::kQ5_K, "q5_K", 256, 176, true},
    {DType::kQ6_K, "q6_K", 256, 210, true},
    {DType::kQ8_K, "q8_K", 256, 292, false},
    {DType::kI8, "i8", 1, 1, false},
    {DType::kI16, "i16", 1, 2, false},
    {DType::kI32, "i32", 1, 4, false},
    {DType::kI64, "i64", 1, 8, false},
    {DType::kF64, "f64", 1, 8, false},
    {DType::kBF16, "bf16", 1, 2, true},
}};

}  // namespace

const DTypeInfo& dtype_info(DType type) {
  for (const auto& info : kTable) {
    if (info.type == type) return info;
  }
  MUSE_ASSERT(false && "dtype_info: unknown dtype");
  return kTable[0];
}

std::optional<DType> dtype_from_id(uint32_t id) {
  for (const auto& info : kTable) {
    if (static_cast<uint32_t>(info.type) == id) return info.type;
  }
  return std::nullopt;
}

std::optional<DType> dtype_from_name(std::string_view name) {
  std::string lower(name);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& info : kTable) {
    std::string candidate(info.name);
    for (auto& c : candidate) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (candidate == lower) return info.type;
  }
  return std::nullopt;
}

size_t row_bytes(DType type, int64_t n) {
  const auto& info = dtype_info(type);
  MUSE_ASSERT(n >= 0 && n % info.block_size == 0);
  return static_cast<size_t>(n / info.block_size) * static_cast<size_t>(info.type_size);
}

}  // namespace muse::core
