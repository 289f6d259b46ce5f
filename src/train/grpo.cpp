#include "train/grpo.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>

#include "core/error.h"
#include "train/checkpoint.h"
#include "train/loss_log.h"
#include "train/file_io.h"
#include "train/rollout.h"

namespace muse::train {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

// ----------------------------------------------------------------------------------------------------
// config

int64_t GrpoConfig::total_steps() const {
  int64_t n = 0;
  for (const GrpoPhase& p : phases) n += p.steps;
  return n;
}

const GrpoPhase& GrpoConfig::phase_at(int64_t step, int64_t* index) const {
  MUSE_ASSERT(!phases.empty());
  int64_t end = 0;
  for (size_t i = 0; i < phases.size(); i++) {
    end += phases[i].steps;
    if (step < end || i + 1 == phases.size()) {
      if (index) *index = static_cast<int64_t>(i);
      return phases[i];
    }
  }
  return phases.back();
}

void GrpoConfig::validate() const {
  auto bad = [](const std::string& field, const std::string& why) {
    fail(ErrorCode::kInvalidArgument, "grpo: {}: {}", field, why);
  };
  if (phases.empty()) bad("phases", "at least one phase is needed");
  for (size_t i = 0; i < phases.size(); i++) {
    const GrpoPhase& p = phases[i];
    const std::string at = fmt::format("phases[{}].", i);
    if (p.steps < 1) bad(at + "steps", fmt::format("{} must be >= 1", p.steps));
    if (p.max_new_tokens < 1) bad(at + "max_new_tokens", fmt::format("{} must be >= 1", p.max_new_tokens));
    if (!(std::isfinite(p.lr_scale) && p.lr_scale >= 0)) bad(at + "lr_scale", "must be a finite number >= 0");
    const RewardConfig& r = p.reward;
    if (!(std::isfinite(r.alpha) && r.alpha >= 0)) bad(at + "reward.alpha", "must be a finite number >= 0");
    if (r.kind == RewardKind::kLengthPenalty && r.alpha > 1) bad(at + "reward.alpha", "must be in [0, 1] for length_penalty");
    if (!std::isfinite(r.weight)) bad(at + "reward.weight", "must be finite");
    if (r.kind == RewardKind::kTargetLength && (r.target_min < 0 || r.target_max < r.target_min || r.target_max < 1)) {
      bad(at + "reward.target_min/target_max", fmt::format("need 0 <= target_min <= target_max, target_max >= 1 (got {}, {})",
                                                           r.target_min, r.target_max));
    }
  }
  if (prompts_per_step < 1 || prompts_per_step > 4096) bad("prompts_per_step", "must be in [1, 4096]");
  if (group_size < 2 || group_size > 1024) bad("group_size", "must be in [2, 1024] (advantages compare a group)");
  if (updates_per_batch < 1 || updates_per_batch > prompts_per_step) {
    bad("updates_per_batch", "must be in [1, prompts_per_step] (mini-batches are whole groups)");
  }
  if (micro_batch < 1 || micro_batch > 4096) bad("micro_batch", "must be in [1, 4096]");
  if (!(std::isfinite(lr) && lr > 0)) bad("lr", "must be a finite number > 0");
  if (warmup_steps < 0) bad("warmup_steps", "must be >= 0");
  adamw.validate();
  if (!std::isfinite(grad_clip)) bad("grad_clip", "must be finite");
  if (!(std::isfinite(clip_eps) && clip_eps > 0 && clip_eps < 1)) bad("clip_eps", "must be in (0, 1)");
  if (!(std::isfinite(kl_beta) && kl_beta >= 0)) bad("kl_beta", "must be a finite number >= 0");
  if (!(std::isfinite(temperature) && temperature > 0)) bad("temperature", "must be a finite number > 0");
  if (val_every < 0) bad("val_every", "must be >= 0");
  if (val_max_new_tokens < 1) bad("val_max_new_tokens", "must be >= 1");
  if (checkpoint_every < 0) bad("checkpoint_every", "must be >= 0");
}

// ----------------------------------------------------------------------------------------------------
// trainer

struct GrpoTrainer::Row {
  std::vector<int32_t> tokens;  // prompt + completion
  int64_t prompt_len = 0;
  float advantage = 0.0f;
  std::vector<float> logp_old;  // (completion length); empty: the update's own forward is the old policy
  std::vector<float> logp_ref;  // (completion length); only with a KL penalty
  int64_t n_completion() const { return static_cast<int64_t>(tokens.size()) - prompt_len; }
};

GrpoTrainer::GrpoTrainer(const GrpoConfig& config, const Model& init, const GrpoTasks& tasks, core::ThreadPool& pool)
    : config_((config.validate(), config)),
      tasks_(tasks),
      pool_(pool),
      policy_(std::make_unique<Model>(init)),
      adamw_(config.adamw, init.n_params()),
      engine_(std::make_unique<RolloutEngine>(pool)) {
  if (!tasks.train) fail(ErrorCode::kInvalidArgument, "grpo: the task source has no training prompts");
  if (tasks.eog.empty()) fail(ErrorCode::kInvalidArgument, "grpo: no end-of-generation token given");
  if (config_.kl_beta > 0) reference_ = std::make_unique<Model>(init);
}

GrpoTrainer::~GrpoTrainer() = default;

void GrpoTrainer::restore(int64_t step, int64_t adam_t, std::span<const float> params, std::span<const float> adam_m,
                          std::span<const float> adam_v) {
  if (params.size() != policy_->params().size()) {
    fail(ErrorCode::kInvalidArgument, "grpo: the checkpoint has {} parameters, the model {}", params.size(),
         policy_->params().size());
  }
  std::copy(params.begin(), params.end(), policy_->params().begin());
  adamw_.restore(adam_t, adam_m, adam_v);
  step_ = step;
}

int64_t GrpoTrainer::think_tokens(std::span<const int32_t> c) const {
  if (tasks_.think_end >= 0) {
    const auto it = std::find(c.begin(), c.end(), tasks_.think_end);
    if (it != c.end()) return it - c.begin();
  }
  int64_t n = static_cast<int64_t>(c.size());
  if (n > 0 && std::find(tasks_.eog.begin(), tasks_.eog.end(), c.back()) != tasks_.eog.end()) n--;
  return n;
}

void GrpoTrainer::forward_rows(const Model& m, std::span<Row* const> rows) {
  int64_t T = 1;
  for (const Row* r : rows) T = std::max<int64_t>(T, static_cast<int64_t>(r->tokens.size()) - 1);
  const int64_t B = static_cast<int64_t>(rows.size());
  if (!ws_ || ws_->max_seq() < T || ws_->max_batch() < B) {
    const int64_t seq = std::min<int64_t>(m.config().max_seq, std::max<int64_t>(T, ws_ ? ws_->max_seq() : 0));
    ws_.reset();
    ws_ = std::make_unique<Workspace>(m.config(), config_.micro_batch, seq);
  }
  Batch b;
  b.B = B;
  b.T = T;
  b.inputs.assign(static_cast<size_t>(B * T), 0);
  b.targets.assign(b.inputs.size(), 0);
  b.mask.assign(b.inputs.size(), 0);
  for (int64_t i = 0; i < B; i++) {
    const Row& r = *rows[i];
    const int64_t n = static_cast<int64_t>(r.tokens.size()) - 1;
    for (int64_t t = 0; t < n; t++) {
      b.inputs[i * T + t] = r.tokens[t];
      b.targets[i * T + t] = r.tokens[t + 1];
      b.mask[i * T + t] = t + 1 >= r.prompt_len;  // position t predicts token t+1
    }
  }
  forward(pool_, m, *ws_, b);
}

void GrpoTrainer::fill_logprobs(const Model& m, std::span<Row* const> rows, bool old) {
  for (size_t begin = 0; begin < rows.size(); begin += static_cast<size_t>(config_.micro_batch)) {
    const size_t end = std::min(rows.size(), begin + static_cast<size_t>(config_.micro_batch));
    const std::span<Row* const> mb = rows.subspan(begin, end - begin);
    forward_rows(m, mb);
    const int64_t T = ws_->losses().size() / mb.size();
    for (size_t i = 0; i < mb.size(); i++) {
      Row& r = *mb[i];
      std::vector<float>& out = old ? r.logp_old : r.logp_ref;
      out.resize(static_cast<size_t>(r.n_completion()));
      for (int64_t j = 0; j < r.n_completion(); j++) {
        out[static_cast<size_t>(j)] = -ws_->losses()[static_cast<int64_t>(i) * T + r.prompt_len - 1 + j];
      }
    }
  }
}

void GrpoTrainer::update(std::span<Row* const> rows, int64_t n_tokens, float lr, PolicyStats& stats, float* grad_norm) {
  policy_->zero_grad();
  const float inv_n = 1.0f / static_cast<float>(std::max<int64_t>(1, n_tokens));
  const bool with_ref = reference_ != nullptr;
  std::vector<float> dloss;
  for (size_t begin = 0; begin < rows.size(); begin += static_cast<size_t>(config_.micro_batch)) {
    const size_t end = std::min(rows.size(), begin + static_cast<size_t>(config_.micro_batch));
    const std::span<Row* const> mb = rows.subspan(begin, end - begin);
    forward_rows(*policy_, mb);
    const std::span<const float> losses = ws_->losses();
    const int64_t T = static_cast<int64_t>(losses.size() / mb.size());
    dloss.assign(losses.size(), 0.0f);
    for (size_t i = 0; i < mb.size(); i++) {
      const Row& r = *mb[i];
      for (int64_t j = 0; j < r.n_completion(); j++) {
        const int64_t pos = static_cast<int64_t>(i) * T + r.prompt_len - 1 + j;
        const float logp = -losses[pos];
        const float old = r.logp_old.empty() ? logp : r.logp_old[static_cast<size_t>(j)];
        const float ref = with_ref ? r.logp_ref[static_cast<size_t>(j)] : 0.0f;
        dloss[pos] = policy_token_weight(logp, old, ref, with_ref, r.advantage, config_.clip_eps, config_.kl_beta, inv_n,
                                         stats);
      }
    }
    backward(pool_, *policy_, *ws_, dloss);
  }
  const float norm = clip_grad_norm(policy_->grads(), config_.grad_clip);
  *grad_norm = norm;
  if (!std::isfinite(norm) || !std::isfinite(stats.objective)) {
    fail(ErrorCode::kInvalidArgument, "grpo: training diverged at step {}: objective {} gradient norm {} (lower lr)",
         step_ + 1, stats.objective, norm);
  }
  adamw_.step(pool_, *policy_, lr);
}

GrpoPoint GrpoTrainer::step() {
  int64_t phase_index = 0;
  const GrpoPhase& phase = config_.phase_at(step_, &phase_index);
  const int64_t P = config_.prompts_per_step, G = config_.group_size;
  const auto t0 = std::chrono::steady_clock::now();

  // Prompts: a pure function of (step, p).
  std::vector<GrpoPrompt> prompts;
  std::vector<std::vector<int32_t>> prompt_tokens;
  std::vector<int64_t> targets;
  for (int64_t p = 0; p < P; p++) {
    const uint64_t index = static_cast<uint64_t>(step_ * P + p);
    int64_t target = 0;
    if (phase.reward.kind == RewardKind::kTargetLength) {
      const uint64_t span = static_cast<uint64_t>(phase.reward.target_max - phase.reward.target_min + 1);
      target = phase.reward.target_min + static_cast<int64_t>(mix(index ^ mix(config_.seed)) % span);
    }
    prompts.push_back(tasks_.train(index, phase.reward.budget_in_prompt ? target : 0));
    if (!prompts.back().check) fail(ErrorCode::kInvalidArgument, "grpo: training prompt {} has no checker", index);
    prompt_tokens.push_back(prompts.back().tokens);
    targets.push_back(target);
  }

  engine_->load(*policy_);
  RolloutOptions ro;
  ro.group_size = G;
  ro.max_new_tokens = phase.max_new_tokens;
  ro.temperature = config_.temperature;
  ro.seed = mix(config_.seed) ^ mix(static_cast<uint64_t>(step_) + 1);
  ro.eog = tasks_.eog;
  const auto groups = engine_->sample(prompt_tokens, ro);
  const double rollout_s = seconds_since(t0);
  const int64_t generated = engine_->stats().generated_tokens;

  // Rewards and advantages per group.
  GrpoPoint pt;
  pt.step = step_ + 1;
  pt.phase = phase_index;
  std::vector<Row> rows;
  std::vector<int64_t> thinks;
  std::vector<int64_t> group_of;  // row -> prompt
  double reward_sum = 0, correct_sum = 0, completion_sum = 0;
  for (int64_t p = 0; p < P; p++) {
    std::vector<uint8_t> correct(static_cast<size_t>(G));
    std::vector<int64_t> think(static_cast<size_t>(G));
    const std::vector<int64_t> tg(static_cast<size_t>(G), targets[static_cast<size_t>(p)]);
    for (int64_t g = 0; g < G; g++) {
      const Completion& c = groups[static_cast<size_t>(p)][static_cast<size_t>(g)];
      correct[static_cast<size_t>(g)] = prompts[static_cast<size_t>(p)].check(c.tokens) ? 1 : 0;
      think[static_cast<size_t>(g)] = think_tokens(c.tokens);
    }
    const std::vector<float> rewards = group_rewards(phase.reward, correct, think, tg);
    const std::vector<float> adv = group_advantages(rewards, config_.scale_by_std);
    for (int64_t g = 0; g < G; g++) {
      const Completion& c = groups[static_cast<size_t>(p)][static_cast<size_t>(g)];
      Row r;
      r.tokens = prompt_tokens[static_cast<size_t>(p)];
      r.prompt_len = static_cast<int64_t>(r.tokens.size());
      r.tokens.insert(r.tokens.end(), c.tokens.begin(), c.tokens.end());
      r.advantage = adv[static_cast<size_t>(g)];
      rows.push_back(std::move(r));
      group_of.push_back(p);
      thinks.push_back(think[static_cast<size_t>(g)]);
      reward_sum += rewards[static_cast<size_t>(g)];
      correct_sum += correct[static_cast<size_t>(g)];
      completion_sum += static_cast<double>(c.tokens.size());
    }
  }
  const double n_rows = static_cast<double>(rows.size());
  pt.reward = reward_sum / n_rows;
  pt.accuracy = correct_sum / n_rows;
  double think_sum = 0;
  for (int64_t t : thinks) think_sum += static_cast<double>(t);
  pt.think_mean = think_sum / n_rows;
  pt.think_p90 = percentile(thinks, 90);
  pt.completion_mean = completion_sum / n_rows;

  // Updates: mini-batches of whole groups; rows with zero advantage carry no policy gradient and are
  // skipped unless a KL penalty needs them. The loss of a mini-batch is normalized by all its
  // completion tokens (skipped rows included), so skipping changes nothing but the cost.
  const auto t1 = std::chrono::steady_clock::now();
  const bool with_ref = reference_ != nullptr;
  const int64_t U = config_.updates_per_batch;
  std::vector<std::vector<Row*>> mini(static_cast<size_t>(U));
  std::vector<int64_t> mini_tokens(static_cast<size_t>(U), 0);
  for (size_t i = 0; i < rows.size(); i++) {
    const size_t u = static_cast<size_t>(group_of[i] * U / P);
    mini_tokens[u] += rows[i].n_completion();
    if (rows[i].advantage != 0.0f || with_ref) mini[u].push_back(&rows[i]);
  }
  // Similar lengths in one micro-batch: less padding.
  for (auto& m : mini) {
    std::stable_sort(m.begin(), m.end(), [](const Row* a, const Row* b) { return a->tokens.size() < b->tokens.size(); });
  }
  std::vector<Row*> active;
  for (auto& m : mini) active.insert(active.end(), m.begin(), m.end());
  if (U > 1) fill_logprobs(*policy_, active, /*old=*/true);
  if (with_ref) fill_logprobs(*reference_, active, /*old=*/false);

  PolicyStats stats;
  float grad_norm = 0.0f;
  float lr = config_.lr * phase.lr_scale;
  for (int64_t u = 0; u < U; u++) {
    if (mini[static_cast<size_t>(u)].empty()) continue;
    const int64_t t = adamw_.t();
    const float warm = config_.warmup_steps > 0 ? std::min(1.0f, static_cast<float>(t + 1) / static_cast<float>(config_.warmup_steps)) : 1.0f;
    lr = config_.lr * phase.lr_scale * warm;
    update(mini[static_cast<size_t>(u)], mini_tokens[static_cast<size_t>(u)], lr, stats, &grad_norm);
  }
  pt.lr = lr;
  pt.grad_norm = grad_norm;
  pt.clip_frac = stats.tokens > 0 ? static_cast<double>(stats.clipped) / static_cast<double>(stats.tokens) : 0.0;
  pt.kl = with_ref ? (stats.tokens > 0 ? stats.kl / static_cast<double>(stats.tokens) : 0.0) : kNaN;
  pt.rollout_s = rollout_s;
  pt.update_s = seconds_since(t1);
  pt.rollout_tok_s = rollout_s > 0 ? static_cast<double>(generated) / rollout_s : 0.0;
  pt.val_accuracy = kNaN;
  pt.val_think_mean = kNaN;
  step_++;
  return pt;
}

GrpoEval GrpoTrainer::evaluate() {
  GrpoEval e;
  if (tasks_.validation.empty()) return e;
  engine_->load(*policy_);
  std::vector<std::vector<int32_t>> prompts;
  for (const GrpoPrompt& p : tasks_.validation) prompts.push_back(p.tokens);
  RolloutOptions ro;
  ro.group_size = 1;
  ro.max_new_tokens = config_.val_max_new_tokens;
  ro.temperature = 0.0f;  // greedy: the validation numbers move only when the model does
  ro.eog = tasks_.eog;
  const auto groups = engine_->sample(prompts, ro);
  std::vector<int64_t> thinks;
  double correct = 0;
  for (size_t i = 0; i < groups.size(); i++) {
    const Completion& c = groups[i][0];
    correct += tasks_.validation[i].check && tasks_.validation[i].check(c.tokens) ? 1 : 0;
    thinks.push_back(think_tokens(c.tokens));
  }
  double s = 0;
  for (int64_t t : thinks) s += static_cast<double>(t);
  e.accuracy = correct / static_cast<double>(groups.size());
  e.think_mean = s / static_cast<double>(groups.size());
  e.think_p90 = percentile(thinks, 90);
  return e;
}

// ----------------------------------------------------------------------------------------------------
// run_grpo

namespace {

void write_logs(const GrpoConfig& cfg, const Model& m, const std::vector<GrpoPoint>& history) {
  const std::filesystem::path dir(cfg.out_dir);
  const std::string csv = format_grpo_csv(history);
  write_file_atomic((dir / "grpo.csv").string(), std::span(reinterpret_cast<const uint8_t*>(csv.data()), csv.size()));
  const std::string title = fmt::format("GRPO (dim {}, {} layers; {} prompts x {} samples per step)", m.config().dim,
                                        m.config().n_layers, cfg.prompts_per_step, cfg.group_size);
  write_file_atomic((dir / "grpo.png").string(), render_grpo_plot_png(history, title));
}

}  // namespace

GrpoResult run_grpo(const GrpoConfig& config, const Model& init, const GrpoTasks& tasks, core::ThreadPool& pool,
                    std::stop_token stop) {
  config.validate();
  const std::filesystem::path dir(config.out_dir);
  if (!config.out_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) fail(ErrorCode::kIOError, "{}: cannot create the output directory: {}", config.out_dir, ec.message());
  }
  GrpoTrainer trainer(config, init, tasks, pool);
  GrpoResult result;
  if (!config.resume_from.empty()) {
    const Checkpoint c = load_checkpoint(config.resume_from);
    if (!(c.config == init.config())) {
      fail(ErrorCode::kInvalidArgument, "grpo: {}: the checkpoint's model shape differs from the initial model's",
           config.resume_from);
    }
    trainer.restore(c.step, c.adam_t, c.params, c.adam_m, c.adam_v);
    const std::filesystem::path csv = dir / "grpo.csv";
    if (!config.out_dir.empty() && std::filesystem::exists(csv)) {
      const std::vector<uint8_t> bytes = read_file(csv.string());
      for (const GrpoPoint& p :
           parse_grpo_csv(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), csv.string())) {
        if (p.step <= trainer.steps_done()) result.history.push_back(p);
      }
    }
  }
  const auto save = [&] {
    if (config.out_dir.empty()) return;
    Checkpoint c;
    c.config = trainer.model().config();
    c.step = trainer.steps_done();
    c.adam_t = trainer.optimizer().t();
    c.rng_state = config.seed;  // prompts and seeds derive from (seed, step): nothing else to keep
    c.params.assign(trainer.model().params().begin(), trainer.model().params().end());
    c.adam_m.assign(trainer.optimizer().m().begin(), trainer.optimizer().m().end());
    c.adam_v.assign(trainer.optimizer().v().begin(), trainer.optimizer().v().end());
    save_checkpoint((dir / "checkpoint.bin").string(), c);
    write_logs(config, trainer.model(), result.history);
  };

  const auto start = std::chrono::steady_clock::now();
  const int64_t total = config.total_steps();
  if (trainer.steps_done() == 0 && config.val_every > 0) {
    // Step 0: the initial model's validation numbers, the baseline of the curve.
    GrpoPoint p0;
    p0.reward = p0.accuracy = p0.think_mean = p0.think_p90 = p0.completion_mean = p0.kl = p0.clip_frac = p0.grad_norm =
        kNaN;
    p0.rollout_s = p0.update_s = p0.rollout_tok_s = kNaN;
    const GrpoEval e = trainer.evaluate();
    p0.val_accuracy = e.accuracy;
    p0.val_think_mean = e.think_mean;
    result.history.push_back(p0);
    if (config.progress) {
      std::fprintf(config.progress, "grpo: step 0 validation: accuracy %.3f, %.1f thinking tokens (p90 %.0f)\n",
                   e.accuracy, e.think_mean, e.think_p90);
    }
  }
  const int64_t first = trainer.steps_done();
  double rollout_s = 0;
  int64_t generated = 0;
  while (trainer.steps_done() < total) {
    if (stop.stop_requested()) {
      result.stopped = true;
      break;
    }
    GrpoPoint p = trainer.step();
    rollout_s += p.rollout_s;
    generated += static_cast<int64_t>(p.rollout_tok_s * p.rollout_s + 0.5);
    const int64_t done = trainer.steps_done();
    const bool last = done == total;
    if (config.val_every > 0 && (done % config.val_every == 0 || last)) {
      const GrpoEval e = trainer.evaluate();
      p.val_accuracy = e.accuracy;
      p.val_think_mean = e.think_mean;
      if (last) result.final_eval = e;
    }
    p.elapsed_s = seconds_since(start);
    result.history.push_back(p);
    if (config.progress) {
      const double per_step = p.elapsed_s / static_cast<double>(done - first);
      std::fprintf(config.progress,
                   "step %lld/%lld ph %lld  reward %.3f  acc %.2f  think %.1f (p90 %.0f)  clip %.3f  kl %.4f  val %s  "
                   "%.0f tok/s  %.1fs/step  ETA %s\n",
                   static_cast<long long>(done), static_cast<long long>(total), static_cast<long long>(p.phase),
                   p.reward, p.accuracy, p.think_mean, p.think_p90, p.clip_frac, p.kl,
                   std::isfinite(p.val_accuracy) ? fmt::format("{:.3f}/{:.1f}", p.val_accuracy, p.val_think_mean).c_str()
                                                 : "-",
                   p.rollout_tok_s, p.rollout_s + p.update_s,
                   format_duration(per_step * static_cast<double>(total - done)).c_str());
      std::fflush(config.progress);
    }
    if (!config.out_dir.empty()) write_logs(config, trainer.model(), result.history);
    if (config.checkpoint_every > 0 && done % config.checkpoint_every == 0 && !last) save();
  }
  save();
  result.steps = trainer.steps_done();
  const double elapsed = seconds_since(start);
  result.seconds_per_step = trainer.steps_done() > first ? elapsed / static_cast<double>(trainer.steps_done() - first) : 0;
  result.rollout_tokens_per_s = rollout_s > 0 ? static_cast<double>(generated) / rollout_s : 0;
  result.model = std::make_unique<Model>(trainer.model());
  return result;
}

}  // namespace muse::train
