#include "train/grpo_config.h"

#include "core/error.h"
#include "train/config_fields.h"

namespace muse::train {

using nlohmann::json;

GrpoRunConfig parse_grpo_config(const json& j, const std::string& source) {
  GrpoRunConfig rc;
  const ConfigFields top(j, "", source, {"grpo", "phases", "data", "threads"});
  GrpoConfig& g = rc.grpo;

  if (top.has("grpo")) {
    const ConfigFields f = top.object(
        "grpo", {"prompts_per_step", "group_size", "updates_per_batch", "micro_batch", "lr", "warmup_steps",
                 "weight_decay", "beta1", "beta2", "grad_clip", "clip_eps", "kl_beta", "scale_by_std",
                 "temperature", "val_every", "val_max_new_tokens", "checkpoint_every", "seed"});
    g.prompts_per_step = f.integer("prompts_per_step", g.prompts_per_step, 1);
    g.group_size = f.integer("group_size", g.group_size, 2);
    g.updates_per_batch = f.integer("updates_per_batch", g.updates_per_batch, 1);
    g.micro_batch = f.integer("micro_batch", g.micro_batch, 1);
    g.lr = f.number("lr", g.lr);
    g.warmup_steps = f.integer("warmup_steps", g.warmup_steps, 0);
    g.adamw.weight_decay = f.number("weight_decay", g.adamw.weight_decay);
    g.adamw.beta1 = f.number("beta1", g.adamw.beta1);
    g.adamw.beta2 = f.number("beta2", g.adamw.beta2);
    g.grad_clip = f.number("grad_clip", g.grad_clip);
    g.clip_eps = f.number("clip_eps", g.clip_eps);
    g.kl_beta = f.number("kl_beta", g.kl_beta);
    g.scale_by_std = f.boolean("scale_by_std", g.scale_by_std);
    g.temperature = f.number("temperature", g.temperature);
    g.val_every = f.integer("val_every", g.val_every, 0);
    g.val_max_new_tokens = f.integer("val_max_new_tokens", g.val_max_new_tokens, 1);
    g.checkpoint_every = f.integer("checkpoint_every", g.checkpoint_every, 0);
    g.seed = static_cast<uint64_t>(f.integer("seed", static_cast<int64_t>(g.seed), 0));
  }

  if (top.has("phases")) {
    const json& ph = top.at("phases");
    if (!ph.is_array() || ph.empty()) {
      fail(ErrorCode::kInvalidArgument, "{}: phases: expected a non-empty list of phase objects", source);
    }
    g.phases.clear();
    for (size_t i = 0; i < ph.size(); i++) {
      const std::string where = fmt::format("phases[{}]", i);
      const ConfigFields f(ph[i], where, source, {"steps", "max_new_tokens", "lr_scale", "reward"});
      GrpoPhase p;
      p.steps = f.integer("steps", p.steps, 1);
      p.max_new_tokens = f.integer("max_new_tokens", p.max_new_tokens, 1);
      p.lr_scale = f.number("lr_scale", p.lr_scale);
      if (f.has("reward")) {
        const ConfigFields r =
            f.object("reward", {"kind", "alpha", "weight", "target_min", "target_max", "budget_in_prompt"});
        const std::string kind = r.string("kind", reward_kind_name(p.reward.kind));
        if (!parse_reward_kind(kind, &p.reward.kind)) {
          fail(ErrorCode::kInvalidArgument,
               "{}: {}.reward.kind: \"{}\" is not one of correctness, length_penalty, group_minmax, "
               "target_length",
               source, where, kind);
        }
        p.reward.alpha = r.number("alpha", p.reward.alpha);
        p.reward.weight = r.number("weight", p.reward.weight);
        p.reward.target_min = r.integer("target_min", p.reward.target_min, 0);
        p.reward.target_max = r.integer("target_max", p.reward.target_max, 0);
        p.reward.budget_in_prompt = r.boolean("budget_in_prompt", p.reward.budget_in_prompt);
      }
      g.phases.push_back(p);
    }
  }

  if (top.has("data")) {
    const ConfigFields f = top.object("data", {"families", "difficulties", "seed", "validation"});
    GrpoDataConfig& d = rc.data;
    d.families = f.families("families", d.families);
    d.levels = f.levels("difficulties", d.levels);
    d.seed = static_cast<uint64_t>(f.integer("seed", static_cast<int64_t>(d.seed), 0));
    d.validation = f.integer("validation", d.validation, 0);
  }
  rc.threads = static_cast<int>(top.integer("threads", 0, 0));
  if (rc.threads > 1024)
    fail(ErrorCode::kInvalidArgument, "{}: threads: at most 1024 (got {})", source, rc.threads);
  try {
    g.validate();
  } catch (const Error& e) {
    fail(e.code(), "{}: {}", source, e.what());
  }
  return rc;
}

GrpoRunConfig load_grpo_config(const std::string& path) {
  return parse_grpo_config(load_config_json(path), path);
}

}  // namespace muse::train
