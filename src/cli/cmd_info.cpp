// muse info: prints what a GGUF file holds (format, metadata, tensors) as text or JSON.
// The file is mapped, not read: validation only touches the header, so a 40 GB model answers at once.
#include <fmt/format.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "gguf/gguf.h"

namespace muse::cli {
namespace {

using Json = nlohmann::ordered_json;  // keeps the file's key order and a readable field order

struct InfoArgs {
  std::string model;
  bool tensors = false;
  bool json = false;
  bool full = false;
};

constexpr size_t kShownElems = 8;      // array elements shown unless --full
constexpr size_t kShownChars = 120;    // string bytes shown in text mode unless --full

std::string human_bytes(uint64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double x = static_cast<double>(n) / 1024.0;
  int u = 0;
  while (x >= 1024.0 && u < 3) {
    x /= 1024.0;
    ++u;
  }
  return fmt::format("{:.2f} {}", x, units[u]);
}

std::string shape_string(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

std::string type_string(const gguf::Value& v) {
  if (v.is_array()) return fmt::format("[{}]", gguf::value_type_name(v.elem_type));
  return gguf::value_type_name(v.type);
}

Json value_json(const gguf::Value& v, size_t max_elems) {
  using gguf::ValueType;
  if (const auto* u = std::get_if<uint64_t>(&v.data)) return *u;
  if (const auto* i = std::get_if<int64_t>(&v.data)) return *i;
  if (const auto* d = std::get_if<double>(&v.data)) {
    // An f32 prints as its shortest decimal (1e-05), which parses back to the same float.
    if (v.type == ValueType::kF32) return std::stod(fmt::format("{}", static_cast<float>(*d)));
    return *d;  // NaN and infinities become null: JSON has no spelling for them
  }
  if (const auto* b = std::get_if<bool>(&v.data)) return *b;
  if (const auto* s = std::get_if<std::string>(&v.data)) return *s;
  Json arr = Json::array();
  const auto& a = std::get<gguf::Value::Array>(v.data);
  for (size_t i = 0; i < a.size() && i < max_elems; ++i) arr.push_back(value_json(a[i], max_elems));
  return arr;
}

// True when value_json(v, max_elems) leaves out elements of v or of an array nested in it.
bool cut_short(const gguf::Value& v, size_t max_elems) {
  const auto* a = std::get_if<gguf::Value::Array>(&v.data);
  if (a == nullptr) return false;
  if (a->size() > max_elems) return true;
  for (const auto& e : *a) {
    if (cut_short(e, max_elems)) return true;
  }
  return false;
}

Json tensor_json(const gguf::TensorInfo& t) {
  return {{"name", t.name},       {"type", std::string(core::dtype_name(t.type))},
          {"shape", t.shape},     {"n_elements", t.n_elements()},
          {"n_bytes", t.n_bytes}, {"offset", t.offset}};
}

void print_json(const gguf::File& f, const InfoArgs& args) {
  const size_t max_elems = args.full ? SIZE_MAX : kShownElems;
  Json out;
  out["path"] = f.path();
  out["version"] = f.version();
  out["alignment"] = f.alignment();
  out["data_offset"] = f.data_offset();
  out["file_size"] = f.file_size();
  Json md = Json::array();
  for (const auto& [key, v] : f.metadata()) {
    Json e = {{"key", key}, {"type", gguf::value_type_name(v.type)}};
    if (v.is_array()) {
      const size_t n = std::get<gguf::Value::Array>(v.data).size();
      e["elem_type"] = gguf::value_type_name(v.elem_type);
      e["count"] = n;
      e["truncated"] = cut_short(v, max_elems);
    }
    e["value"] = value_json(v, max_elems);
    md.push_back(std::move(e));
  }
  out["metadata"] = std::move(md);
  uint64_t total = 0;
  for (const auto& t : f.tensors()) total += t.n_bytes;
  out["tensor_count"] = f.tensors().size();
  out["tensor_bytes"] = total;
  if (args.tensors) {
    Json ts = Json::array();
    for (const auto& t : f.tensors()) ts.push_back(tensor_json(t));
    out["tensors"] = std::move(ts);
  }
  // Token strings need not be valid UTF-8; replace bad bytes rather than fail the whole dump.
  std::puts(out.dump(2, ' ', false, Json::error_handler_t::replace).c_str());
}

void print_text(const gguf::File& f, const InfoArgs& args) {
  const size_t max_elems = args.full ? SIZE_MAX : kShownElems;
  const size_t max_chars = args.full ? SIZE_MAX : kShownChars;
  fmt::print("file:      {}\n", f.path());
  fmt::print("format:    GGUF v{}, alignment {}, data section at offset {}, file size {} ({})\n", f.version(),
             f.alignment(), f.data_offset(), f.file_size(), human_bytes(f.file_size()));
  size_t key_width = 0;
  for (const auto& kv : f.metadata()) key_width = std::max(key_width, kv.first.size());
  fmt::print("metadata:  {} keys\n", f.metadata().size());
  for (const auto& [key, v] : f.metadata()) {
    fmt::print("  {:<{}}  {:<9} {}\n", key, key_width, type_string(v), v.to_display_string(max_elems, max_chars));
  }
  uint64_t total = 0;
  std::map<std::string, size_t> by_type;
  for (const auto& t : f.tensors()) {
    total += t.n_bytes;
    ++by_type[std::string(core::dtype_name(t.type))];
  }
  std::string types;
  for (const auto& [name, n] : by_type) types += fmt::format("{}{} {}", types.empty() ? "" : ", ", n, name);
  fmt::print("tensors:   {} ({}){}\n", f.tensors().size(), human_bytes(total),
             types.empty() ? "" : fmt::format(": {}", types));
  if (!args.tensors) return;
  size_t name_width = 4;
  for (const auto& t : f.tensors()) name_width = std::max(name_width, t.name.size());
  fmt::print("  {:>4}  {:<{}}  {:<5}  {:<22}  {:>12}  {:>12}\n", "#", "name", name_width, "type", "shape", "bytes",
             "offset");
  for (size_t i = 0; i < f.tensors().size(); ++i) {
    const auto& t = f.tensors()[i];
    fmt::print("  {:>4}  {:<{}}  {:<5}  {:<22}  {:>12}  {:>12}\n", i, t.name, name_width, core::dtype_name(t.type),
               shape_string(t.shape), t.n_bytes, t.offset);
  }
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto args = std::make_shared<InfoArgs>();
  auto* cmd = app.add_subcommand("info", "Show a GGUF file's format version, metadata and tensors");
  cmd->add_option("model", args->model, "Path to a .gguf file")->required();
  cmd->add_flag("--tensors", args->tensors, "List every tensor: name, type, shape, bytes, offset in the data section");
  cmd->add_flag("--json", args->json, "Print JSON instead of text (arrays carry their full count)");
  cmd->add_flag("--full", args->full, "Show whole arrays and strings instead of the first 8 elements / 120 bytes");
  cmd->footer(
      "The file is fully validated; a malformed file prints the error (file, field, byte offset) and exits 1.");
  cmd->callback([args] {
    gguf::OpenOptions opts;
    opts.mode = gguf::LoadMode::kMmap;  // only the header is read; no need to load all the weights
    auto file = gguf::File::open(args->model, opts);
    if (args->json) {
      print_json(*file, *args);
    } else {
      print_text(*file, *args);
    }
  });
}

}  // namespace muse::cli
