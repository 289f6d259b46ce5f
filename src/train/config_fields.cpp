#include "train/config_fields.h"

#include <fstream>
#include <sstream>

#include "core/error.h"

namespace muse::train {

using nlohmann::json;

ConfigFields::ConfigFields(const json& obj, std::string where, const std::string& source,
                           std::initializer_list<const char*> allowed)
    : obj_(obj), where_(std::move(where)), source_(source) {
  if (!obj.is_object()) {
    fail(ErrorCode::kInvalidArgument, "{}: {}: expected an object", source_,
         where_.empty() ? "the file" : where_);
  }
  for (const auto& [key, value] : obj.items()) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || key == a;
    if (!ok) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      fail(ErrorCode::kInvalidArgument, "{}: {}: unknown field (known: {})", source_, name(key), list);
    }
  }
}

ConfigFields ConfigFields::object(const char* key, std::initializer_list<const char*> allowed) const {
  return ConfigFields(obj_[key], name(key), source_, allowed);
}

void ConfigFields::fail_at(const char* key, const std::string& message) const {
  fail(ErrorCode::kInvalidArgument, "{}: {}: {}", source_, name(key), message);
}

int64_t ConfigFields::integer(const char* key, int64_t def, int64_t min) const {
  if (!has(key)) return def;
  const json& v = obj_[key];
  if (!v.is_number_integer() || v.get<int64_t>() < min) {
    fail_at(key, fmt::format("expected an integer >= {} (got {})", min, v.dump()));
  }
  return v.get<int64_t>();
}

double ConfigFields::real(const char* key, double def) const {
  if (!has(key)) return def;
  const json& v = obj_[key];
  if (!v.is_number()) fail_at(key, fmt::format("expected a number (got {})", v.dump()));
  return v.get<double>();
}

bool ConfigFields::boolean(const char* key, bool def) const {
  if (!has(key)) return def;
  const json& v = obj_[key];
  if (!v.is_boolean()) fail_at(key, fmt::format("expected true or false (got {})", v.dump()));
  return v.get<bool>();
}

std::string ConfigFields::string(const char* key, const std::string& def) const {
  if (!has(key)) return def;
  const json& v = obj_[key];
  if (!v.is_string()) fail_at(key, fmt::format("expected a string (got {})", v.dump()));
  return v.get<std::string>();
}

std::vector<Family> ConfigFields::families(const char* key, std::vector<Family> def) const {
  if (!has(key)) return def;
  const json& v = obj_[key];
  std::string spec;
  if (v.is_string()) {
    spec = v.get<std::string>();
  } else if (v.is_array()) {
    for (const json& e : v) {
      if (!e.is_string()) fail_at(key, "expected family names as strings");
      spec += (spec.empty() ? "" : ",") + e.get<std::string>();
    }
  } else {
    fail_at(key, "expected \"all\", \"add,mul\" or a list of names");
  }
  try {
    return parse_families(spec);
  } catch (const Error& e) {
    fail_at(key, e.what());
  }
}

std::vector<Level> ConfigFields::levels(const char* key, std::vector<Level> def) const {
  if (!has(key)) return def;
  const json& v = obj_[key];
  if (!v.is_array() || v.empty()) fail_at(key, "expected a non-empty list like [\"easy\", \"standard\"]");
  std::vector<Level> out;
  for (const json& e : v) {
    if (!e.is_string()) fail_at(key, "expected level names as strings");
    try {
      out.push_back(parse_level(e.get<std::string>()));
    } catch (const Error& err) {
      fail_at(key, err.what());
    }
  }
  return out;
}

json load_config_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(ErrorCode::kNotFound, "{}: cannot open the config file", path);
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return json::parse(ss.str());
  } catch (const json::parse_error& e) {
    fail(ErrorCode::kInvalidArgument, "{}: not valid JSON: {}", path, e.what());
  }
}

}  // namespace muse::train
