// Test-only: the few lines of GGUF parsing the core tests need to find tensors in the shared model
// files (core must not depend on src/gguf). Throws std::runtime_error on anything unexpected.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace muse::core::testing {

struct MiniTensor {
  uint32_t type = 0;
  std::vector<uint64_t> dims;
  uint64_t offset = 0;  // from the start of the file
};

struct MiniGguf {
  std::vector<uint8_t> bytes;
  std::map<std::string, MiniTensor> tensors;

  explicit MiniGguf(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot open " + path);
    bytes.assign(std::istreambuf_iterator<char>(f), {});
    size_t pos = 0;
    auto need = [&](size_t n) {
      if (pos + n > bytes.size()) throw std::runtime_error("truncated " + path);
    };
    auto rd = [&](auto& v) {
      need(sizeof(v));
      std::memcpy(&v, bytes.data() + pos, sizeof(v));
      pos += sizeof(v);
    };
    auto rd_str = [&] {
      uint64_t n;
      rd(n);
      need(n);
      std::string s(reinterpret_cast<const char*>(bytes.data() + pos), n);
      pos += n;
      return s;
    };
    uint32_t magic, version, alignment = 32;
    uint64_t n_tensors, n_kv;
    rd(magic);
    rd(version);
    rd(n_tensors);
    rd(n_kv);
    if (magic != 0x46554747) throw std::runtime_error("bad magic " + path);
    auto skip_value = [&](auto& self, uint32_t type) -> void {
      static const size_t kSize[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
      if (type == 8) {
        rd_str();
      } else if (type == 9) {
        uint32_t et;
        uint64_t count;
        rd(et);
        rd(count);
        for (uint64_t i = 0; i < count; ++i) self(self, et);
      } else if (type < 13) {
        need(kSize[type]);
        pos += kSize[type];
      } else {
        throw std::runtime_error("bad value type");
      }
    };
    for (uint64_t i = 0; i < n_kv; ++i) {
      const std::string key = rd_str();
      uint32_t type;
      rd(type);
      if (key == "general.alignment" && type == 4) {
        rd(alignment);
      } else {
        skip_value(skip_value, type);
      }
    }
    std::vector<std::pair<std::string, MiniTensor>> infos;
    for (uint64_t i = 0; i < n_tensors; ++i) {
      MiniTensor t;
      const std::string name = rd_str();
      uint32_t nd;
      rd(nd);
      t.dims.resize(nd);
      for (auto& d : t.dims) rd(d);
      rd(t.type);
      rd(t.offset);
      infos.emplace_back(name, t);
    }
    const size_t data = (pos + alignment - 1) / alignment * alignment;
    for (auto& [name, t] : infos) {
      t.offset += data;
      tensors[name] = t;
    }
  }
};

}  // namespace muse::core::testing
