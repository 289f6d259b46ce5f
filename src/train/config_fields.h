// Reading the trainer's JSON config files (`muse train sft` and `muse train grpo`) with errors that
// name the file and the field: ConfigFields checks one object's keys against the known ones (a typo is
// an error, never a silent default) and reads typed values with defaults; load_config_json reads and
// parses a file. Errors: muse::Error(kInvalidArgument) as "FILE: where.key: what was wrong";
// kNotFound when the file cannot be opened. Thread-safety: pure.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/tasks.h"

namespace muse::train {

class ConfigFields {
 public:
  // `where` is the object's path ("" for the top level, "data", "phases[1].reward"); `source` names
  // the file and must outlive this object.
  ConfigFields(const nlohmann::json& obj, std::string where, const std::string& source,
               std::initializer_list<const char*> allowed);

  std::string name(const std::string& key) const { return where_.empty() ? key : where_ + "." + key; }
  bool has(const char* key) const { return obj_.contains(key); }
  const nlohmann::json& at(const char* key) const { return obj_[key]; }
  // A sub-object's fields (the key must be present), checked against `allowed`.
  ConfigFields object(const char* key, std::initializer_list<const char*> allowed) const;

  int64_t integer(const char* key, int64_t def, int64_t min) const;
  double real(const char* key, double def) const;
  float number(const char* key, float def) const { return static_cast<float>(real(key, def)); }
  bool boolean(const char* key, bool def) const;
  std::string string(const char* key, const std::string& def) const;
  // "all", "add,mul" or ["add", "mul"] (train::parse_families); `def` when absent.
  std::vector<Family> families(const char* key, std::vector<Family> def) const;
  // A non-empty list of level names, e.g. ["easy", "standard"]; `def` when absent.
  std::vector<Level> levels(const char* key, std::vector<Level> def) const;

  // Fails with "source: where.key: message".
  [[noreturn]] void fail_at(const char* key, const std::string& message) const;

 private:
  const nlohmann::json& obj_;
  std::string where_;
  const std::string& source_;
};

// Reads and parses a JSON file; errors name the path.
nlohmann::json load_config_json(const std::string& path);

}  // namespace muse::train
