// Value factories and the human-readable rendering used by `muse info`.
#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "core/error.h"
#include "gguf/gguf.h"

namespace muse::gguf {

const char* value_type_name(ValueType type) {
  switch (type) {
    case ValueType::kU8: return "u8";
    case ValueType::kI8: return "i8";
    case ValueType::kU16: return "u16";
    case ValueType::kI16: return "i16";
    case ValueType::kU32: return "u32";
    case ValueType::kI32: return "i32";
    case ValueType::kF32: return "f32";
    case ValueType::kBool: return "bool";
    case ValueType::kString: return "string";
    case ValueType::kArray: return "array";
    case ValueType::kU64: return "u64";
    case ValueType::kI64: return "i64";
    case ValueType::kF64: return "f64";
  }
  return "unknown";
}

namespace {

Value make(ValueType type, decltype(Value::data) data) {
  Value v;
  v.type = type;
  v.data = std::move(data);
  return v;
}

// Quotes a string and escapes what would break a one-line listing; keeps at most `max_chars` bytes.
std::string quoted(const std::string& s, size_t max_chars) {
  std::string out = "\"";
  size_t shown = std::min(s.size(), max_chars);
  // Never cut inside a UTF-8 sequence: back off to the start of the character.
  while (shown > 0 && shown < s.size() && (static_cast<unsigned char>(s[shown]) & 0xC0) == 0x80) --shown;
  for (size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += fmt::format("\\x{:02x}", c);
        } else {
          out += static_cast<char>(c);  // UTF-8 bytes pass through
        }
    }
  }
  out += '"';
  if (shown < s.size()) out += fmt::format("... ({} bytes)", s.size());
  return out;
}

std::string render(const Value& v, size_t max_elems, size_t max_chars) {
  switch (v.type) {
    case ValueType::kU8:
    case ValueType::kU16:
    case ValueType::kU32:
    case ValueType::kU64:
      if (const auto* u = std::get_if<uint64_t>(&v.data)) return fmt::format("{}", *u);
      break;
    case ValueType::kI8:
    case ValueType::kI16:
    case ValueType::kI32:
    case ValueType::kI64:
      if (const auto* i = std::get_if<int64_t>(&v.data)) return fmt::format("{}", *i);
      break;
    case ValueType::kF32:
      // Shortest text that round-trips the f32 (1e-05, not 9.999999747378752e-06).
      if (const auto* d = std::get_if<double>(&v.data)) return fmt::format("{}", static_cast<float>(*d));
      break;
    case ValueType::kF64:
      if (const auto* d = std::get_if<double>(&v.data)) return fmt::format("{}", *d);
      break;
    case ValueType::kBool:
      if (const auto* b = std::get_if<bool>(&v.data)) return *b ? "true" : "false";
      break;
    case ValueType::kString:
      if (const auto* s = std::get_if<std::string>(&v.data)) return quoted(*s, max_chars);
      break;
    case ValueType::kArray:
      if (const auto* a = std::get_if<Value::Array>(&v.data)) {
        std::string out = "[";
        const size_t shown = std::min(a->size(), max_elems);
        for (size_t i = 0; i < shown; ++i) {
          if (i > 0) out += ", ";
          out += render((*a)[i], max_elems, max_chars);
        }
        if (shown < a->size()) out += shown > 0 ? ", ...]" : "...]";
        else out += "]";
        if (shown < a->size()) out += fmt::format(" ({} x {})", a->size(), value_type_name(v.elem_type));
        return out;
      }
      break;
  }
  return fmt::format("<invalid {} value>", value_type_name(v.type));
}

}  // namespace

Value Value::u8(uint8_t v) { return make(ValueType::kU8, uint64_t{v}); }
Value Value::i8(int8_t v) { return make(ValueType::kI8, int64_t{v}); }
Value Value::u16(uint16_t v) { return make(ValueType::kU16, uint64_t{v}); }
Value Value::i16(int16_t v) { return make(ValueType::kI16, int64_t{v}); }
Value Value::u32(uint32_t v) { return make(ValueType::kU32, uint64_t{v}); }
Value Value::i32(int32_t v) { return make(ValueType::kI32, int64_t{v}); }
Value Value::u64(uint64_t v) { return make(ValueType::kU64, v); }
Value Value::i64(int64_t v) { return make(ValueType::kI64, v); }
Value Value::f32(float v) { return make(ValueType::kF32, double{v}); }
Value Value::f64(double v) { return make(ValueType::kF64, v); }
Value Value::boolean(bool v) { return make(ValueType::kBool, v); }
Value Value::string(std::string v) { return make(ValueType::kString, std::move(v)); }

Value Value::array(ValueType elem_type, Array elements) {
  for (const auto& e : elements) MUSE_ASSERT(e.type == elem_type);
  Value v = make(ValueType::kArray, std::move(elements));
  v.elem_type = elem_type;
  return v;
}

Value Value::string_array(const std::vector<std::string>& v) {
  Array a;
  a.reserve(v.size());
  for (const auto& s : v) a.push_back(Value::string(s));
  return array(ValueType::kString, std::move(a));
}

Value Value::f32_array(const std::vector<float>& v) {
  Array a;
  a.reserve(v.size());
  for (float x : v) a.push_back(Value::f32(x));
  return array(ValueType::kF32, std::move(a));
}

Value Value::i32_array(const std::vector<int32_t>& v) {
  Array a;
  a.reserve(v.size());
  for (int32_t x : v) a.push_back(Value::i32(x));
  return array(ValueType::kI32, std::move(a));
}

Value Value::u32_array(const std::vector<uint32_t>& v) {
  Array a;
  a.reserve(v.size());
  for (uint32_t x : v) a.push_back(Value::u32(x));
  return array(ValueType::kU32, std::move(a));
}

bool Value::is_integer() const {
  switch (type) {
    case ValueType::kU8:
    case ValueType::kI8:
    case ValueType::kU16:
    case ValueType::kI16:
    case ValueType::kU32:
    case ValueType::kI32:
    case ValueType::kU64:
    case ValueType::kI64:
      return true;
    default:
      return false;
  }
}

bool Value::is_float() const { return type == ValueType::kF32 || type == ValueType::kF64; }

std::string Value::to_display_string(size_t max_elems, size_t max_chars) const {
  return render(*this, max_elems, max_chars);
}

}  // namespace muse::gguf
