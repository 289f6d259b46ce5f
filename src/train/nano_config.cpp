#include "train/nano_config.h"

#include <fstream>
#include <initializer_list>
#include <limits>
#include <sstream>

#include "core/error.h"

namespace muse::train {

namespace {

using nlohmann::json;

void check_keys(const json& obj, const std::string& where, const std::string& source,
                std::initializer_list<const char*> allowed) {
  for (const auto& [key, value] : obj.items()) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || key == a;
    if (!ok) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      fail(ErrorCode::kInvalidArgument, "{}: {}{}: unknown field (known: {})", source, where.empty() ? "" : where + ".",
           key, list);
    }
  }
}

const json* object_field(const json& parent, const char* key, const std::string& source) {
  if (!parent.contains(key)) return nullptr;
  const json& v = parent[key];
  if (!v.is_object()) fail(ErrorCode::kInvalidArgument, "{}: {}: expected an object", source, key);
  return &v;
}

int64_t get_int(const json& obj, const std::string& where, const char* key, const std::string& source,
                int64_t def, int64_t min) {
  if (!obj.contains(key)) return def;
  const json& v = obj[key];
  if (!v.is_number_integer() || v.get<int64_t>() < min) {
    fail(ErrorCode::kInvalidArgument, "{}: {}{}: expected an integer >= {} (got {})", source,
         where.empty() ? "" : where + ".", key, min, v.dump());
  }
  return v.get<int64_t>();
}

double get_num(const json& obj, const std::string& where, const char* key, const std::string& source, double def) {
  if (!obj.contains(key)) return def;
  const json& v = obj[key];
  if (!v.is_number()) fail(ErrorCode::kInvalidArgument, "{}: {}.{}: expected a number (got {})", source, where, key, v.dump());
  return v.get<double>();
}

// Runs a validate() and prefixes its message with the file (the message already names the field).
template <typename F>
void with_source(const std::string& source, const std::string& where, F&& f) {
  try {
    f();
  } catch (const Error& e) {
    fail(e.code(), "{}: {}: {}", source, where, e.what());
  }
}

}  // namespace

NanoRunConfig parse_nano_config(const json& j, const std::string& source) {
  if (!j.is_object()) fail(ErrorCode::kInvalidArgument, "{}: expected a JSON object", source);
  check_keys(j, "", source, {"model", "data", "train", "threads"});
  NanoRunConfig rc;
  SftConfig& s = rc.sft;

  if (const json* m = object_field(j, "model", source)) {
    check_keys(*m, "model", source,
               {"dim", "n_layers", "n_heads", "n_kv_heads", "ffn_dim", "max_seq", "rope_theta", "norm_eps"});
    ModelConfig& mc = s.model;
    mc.dim = get_int(*m, "model", "dim", source, mc.dim, 1);
    mc.n_layers = get_int(*m, "model", "n_layers", source, mc.n_layers, 1);
    mc.n_heads = get_int(*m, "model", "n_heads", source, mc.n_heads, 1);
    mc.n_kv_heads = get_int(*m, "model", "n_kv_heads", source, mc.n_kv_heads, 1);
    mc.ffn_dim = get_int(*m, "model", "ffn_dim", source, mc.ffn_dim, 1);
    mc.max_seq = get_int(*m, "model", "max_seq", source, mc.max_seq, 2);
    mc.rope_theta = static_cast<float>(get_num(*m, "model", "rope_theta", source, mc.rope_theta));
    mc.norm_eps = static_cast<float>(get_num(*m, "model", "norm_eps", source, mc.norm_eps));
  }

  if (const json* d = object_field(j, "data", source)) {
    check_keys(*d, "data", source, {"families", "difficulties", "no_thinking_fraction", "examples", "seed"});
    NanoDataConfig& dc = rc.data;
    if (d->contains("families")) {
      const json& f = (*d)["families"];
      with_source(source, "data.families", [&] {
        if (f.is_string()) {
          dc.families = parse_families(f.get<std::string>());
        } else if (f.is_array()) {
          std::string spec;
          for (const json& e : f) {
            if (!e.is_string()) fail(ErrorCode::kInvalidArgument, "expected family names as strings");
            spec += (spec.empty() ? "" : ",") + e.get<std::string>();
          }
          dc.families = parse_families(spec);
        } else {
          fail(ErrorCode::kInvalidArgument, "expected \"all\", \"add,mul\" or a list of names");
        }
      });
    }
    if (d->contains("difficulties")) {
      const json& l = (*d)["difficulties"];
      with_source(source, "data.difficulties", [&] {
        if (!l.is_array() || l.empty()) fail(ErrorCode::kInvalidArgument, "expected a non-empty list like [\"easy\", \"standard\"]");
        dc.levels.clear();
        for (const json& e : l) {
          if (!e.is_string()) fail(ErrorCode::kInvalidArgument, "expected level names as strings");
          dc.levels.push_back(parse_level(e.get<std::string>()));
        }
      });
    }
    dc.no_thinking_fraction = get_num(*d, "data", "no_thinking_fraction", source, dc.no_thinking_fraction);
    dc.examples = get_int(*d, "data", "examples", source, dc.examples, 1);
    dc.seed = static_cast<uint64_t>(get_int(*d, "data", "seed", source, static_cast<int64_t>(dc.seed), 0));
  }

  if (const json* t = object_field(j, "train", source)) {
    check_keys(*t, "train", source,
               {"steps", "batch_size", "seq_len", "max_lr", "min_lr", "warmup_steps", "weight_decay", "beta1",
                "beta2", "grad_clip", "seed", "log_every", "checkpoint_every", "group_by_length"});
    s.steps = get_int(*t, "train", "steps", source, s.steps, 1);
    s.batch_size = get_int(*t, "train", "batch_size", source, s.batch_size, 1);
    s.seq_len = get_int(*t, "train", "seq_len", source, s.seq_len, 1);
    s.max_lr = static_cast<float>(get_num(*t, "train", "max_lr", source, s.max_lr));
    s.min_lr = static_cast<float>(get_num(*t, "train", "min_lr", source, s.min_lr));
    s.warmup_steps = get_int(*t, "train", "warmup_steps", source, s.warmup_steps, 0);
    s.adamw.weight_decay = static_cast<float>(get_num(*t, "train", "weight_decay", source, s.adamw.weight_decay));
    s.adamw.beta1 = static_cast<float>(get_num(*t, "train", "beta1", source, s.adamw.beta1));
    s.adamw.beta2 = static_cast<float>(get_num(*t, "train", "beta2", source, s.adamw.beta2));
    s.grad_clip = static_cast<float>(get_num(*t, "train", "grad_clip", source, s.grad_clip));
    s.seed = static_cast<uint64_t>(get_int(*t, "train", "seed", source, static_cast<int64_t>(s.seed), 0));
    s.log_every = get_int(*t, "train", "log_every", source, s.log_every, 1);
    s.checkpoint_every = get_int(*t, "train", "checkpoint_every", source, s.checkpoint_every, 0);
    if (t->contains("group_by_length")) {
      const json& g = (*t)["group_by_length"];
      if (!g.is_boolean()) fail(ErrorCode::kInvalidArgument, "{}: train.group_by_length: expected true or false", source);
      s.group_by_length = g.get<bool>();
    }
  }
  rc.threads = static_cast<int>(get_int(j, "", "threads", source, 0, 0));
  if (rc.threads > 1024) fail(ErrorCode::kInvalidArgument, "{}: threads: at most 1024 (got {})", source, rc.threads);

  rc.data.max_tokens = s.seq_len + 1;
  with_source(source, "data", [&] { rc.data.validate(); });
  // The model's vocab is the tokenizer's; validate the rest with a placeholder that passes.
  with_source(source, "model/train", [&] {
    SftConfig probe = s;
    probe.model.vocab = 1024;
    probe.validate();
  });
  return rc;
}

NanoRunConfig load_nano_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(ErrorCode::kNotFound, "{}: cannot open the config file", path);
  std::stringstream ss;
  ss << in.rdbuf();
  json j;
  try {
    j = json::parse(ss.str());
  } catch (const json::parse_error& e) {
    fail(ErrorCode::kInvalidArgument, "{}: not valid JSON: {}", path, e.what());
  }
  return parse_nano_config(j, path);
}

}  // namespace muse::train
