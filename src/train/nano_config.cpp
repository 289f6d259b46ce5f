#include "train/nano_config.h"

#include <algorithm>

#include "core/error.h"
#include "train/config_fields.h"

namespace muse::train {

namespace {

using nlohmann::json;

// Runs a validate() and prefixes its message with the file (the message already names the field).
template <typename F>
void with_source(const std::string& source, const std::string& where, F&& f) {
  try {
    f();
  } catch (const Error& e) {
    fail(e.code(), "{}: {}: {}", source, where, e.what());
  }
}

// "family_weights": {"word": 3, "chain": 2}: one integer weight per named family (each one of
// `families`), 1 for the families it does not name; returned in `families`' order.
std::vector<int> family_weights(const ConfigFields& d, const std::vector<Family>& families) {
  const json& v = d.at("family_weights");
  if (!v.is_object()) d.fail_at("family_weights", "expected an object like {\"word\": 3, \"chain\": 2}");
  std::vector<int> weights(families.size(), 1);
  for (const auto& [name, w] : v.items()) {
    Family f;
    try {
      f = parse_family(name);
    } catch (const Error& e) {
      d.fail_at("family_weights", e.what());
    }
    const auto it = std::find(families.begin(), families.end(), f);
    if (it == families.end()) d.fail_at("family_weights", "\"" + name + "\" is not one of data.families");
    if (!w.is_number_integer() || w.get<int64_t>() < 1 || w.get<int64_t>() > 100) {
      d.fail_at("family_weights", "\"" + name + "\": expected an integer in [1, 100] (got " + w.dump() + ")");
    }
    weights[static_cast<size_t>(it - families.begin())] = static_cast<int>(w.get<int64_t>());
  }
  return weights;
}

}  // namespace

NanoRunConfig parse_nano_config(const json& j, const std::string& source) {
  const ConfigFields top(j, "", source, {"model", "data", "train", "threads"});
  NanoRunConfig rc;
  SftConfig& s = rc.sft;

  if (top.has("model")) {
    const ConfigFields m = top.object("model", {"dim", "n_layers", "n_heads", "n_kv_heads", "ffn_dim",
                                                "max_seq", "rope_theta", "norm_eps"});
    ModelConfig& mc = s.model;
    mc.dim = m.integer("dim", mc.dim, 1);
    mc.n_layers = m.integer("n_layers", mc.n_layers, 1);
    mc.n_heads = m.integer("n_heads", mc.n_heads, 1);
    mc.n_kv_heads = m.integer("n_kv_heads", mc.n_kv_heads, 1);
    mc.ffn_dim = m.integer("ffn_dim", mc.ffn_dim, 1);
    mc.max_seq = m.integer("max_seq", mc.max_seq, 2);
    mc.rope_theta = m.number("rope_theta", mc.rope_theta);
    mc.norm_eps = m.number("norm_eps", mc.norm_eps);
  }

  if (top.has("data")) {
    const ConfigFields d =
        top.object("data", {"families", "family_weights", "difficulties", "no_thinking_fraction", "examples", "seed",
                                "trace_style", "tool_fraction"});
    NanoDataConfig& dc = rc.data;
    dc.families = d.families("families", dc.families);
    if (d.has("family_weights")) dc.family_weights = family_weights(d, dc.families);
    dc.levels = d.levels("difficulties", dc.levels);
    dc.no_thinking_fraction = d.real("no_thinking_fraction", dc.no_thinking_fraction);
    dc.examples = d.integer("examples", dc.examples, 1);
    dc.tool_fraction = d.real("tool_fraction", dc.tool_fraction);
    dc.seed = static_cast<uint64_t>(d.integer("seed", static_cast<int64_t>(dc.seed), 0));
    if (d.has("trace_style")) {
      const ConfigFields ts = d.object("trace_style", {"drop_lines", "one_shot_steps", "compact_columns", "careful"});
      dc.trace_style.drop_lines = ts.real("drop_lines", dc.trace_style.drop_lines);
      dc.trace_style.one_shot_steps = ts.real("one_shot_steps", dc.trace_style.one_shot_steps);
      dc.trace_style.compact_columns = ts.real("compact_columns", dc.trace_style.compact_columns);
      dc.trace_style.careful = ts.real("careful", dc.trace_style.careful);
    }
  }

  if (top.has("train")) {
    const ConfigFields t = top.object(
        "train", {"steps", "batch_size", "seq_len", "max_lr", "min_lr", "warmup_steps", "weight_decay",
                  "beta1", "beta2", "grad_clip", "seed", "log_every", "checkpoint_every", "group_by_length"});
    s.steps = t.integer("steps", s.steps, 1);
    s.batch_size = t.integer("batch_size", s.batch_size, 1);
    s.seq_len = t.integer("seq_len", s.seq_len, 1);
    s.max_lr = t.number("max_lr", s.max_lr);
    s.min_lr = t.number("min_lr", s.min_lr);
    s.warmup_steps = t.integer("warmup_steps", s.warmup_steps, 0);
    s.adamw.weight_decay = t.number("weight_decay", s.adamw.weight_decay);
    s.adamw.beta1 = t.number("beta1", s.adamw.beta1);
    s.adamw.beta2 = t.number("beta2", s.adamw.beta2);
    s.grad_clip = t.number("grad_clip", s.grad_clip);
    s.seed = static_cast<uint64_t>(t.integer("seed", static_cast<int64_t>(s.seed), 0));
    s.log_every = t.integer("log_every", s.log_every, 1);
    s.checkpoint_every = t.integer("checkpoint_every", s.checkpoint_every, 0);
    s.group_by_length = t.boolean("group_by_length", s.group_by_length);
  }
  rc.threads = static_cast<int>(top.integer("threads", 0, 0));
  if (rc.threads > 1024)
    fail(ErrorCode::kInvalidArgument, "{}: threads: at most 1024 (got {})", source, rc.threads);

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
  return parse_nano_config(load_config_json(path), path);
}

}  // namespace muse::train
