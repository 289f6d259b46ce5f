#include "train/sft.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "train/file_io.h"

namespace muse::train {

void SftConfig::validate() const {
  model.validate();
  if (batch_size < 1 || batch_size > (1 << 16)) {
    fail(ErrorCode::kInvalidArgument, "sft: batch_size = {} must be in [1, 65536]", batch_size);
  }
  if (seq_len < 1 || seq_len > model.max_seq) {
    fail(ErrorCode::kInvalidArgument, "sft: seq_len = {} must be in [1, model max_seq = {}]", seq_len, model.max_seq);
  }
  if (steps < 1) fail(ErrorCode::kInvalidArgument, "sft: steps = {} must be >= 1", steps);
  LrSchedule{max_lr, min_lr, warmup_steps, steps}.validate();
  adamw.validate();
  if (!std::isfinite(grad_clip)) fail(ErrorCode::kInvalidArgument, "sft: grad_clip = {} must be finite", grad_clip);
  if (log_every < 1) fail(ErrorCode::kInvalidArgument, "sft: log_every = {} must be >= 1", log_every);
  if (checkpoint_every < 0) {
    fail(ErrorCode::kInvalidArgument, "sft: checkpoint_every = {} must be >= 0", checkpoint_every);
  }
}

// ----------------------------------------------------------------------------------------------------
// Trainer

// `(config.validate(), config.model)`: validate before Model's constructor sees the config.
Trainer::Trainer(const SftConfig& config, std::span<const Example> data)
    : config_(config),
      data_(data),
      model_((config.validate(), config.model)),
      adamw_(config.adamw, model_.n_params()),
      schedule_{config.max_lr, config.min_lr, config.warmup_steps, config.steps},
      rng_(config.seed) {
  validate_data();
  model_.init_weights(rng_.next_u64());
  if (config_.warm_start) config_.warm_start(model_);
  ws_ = std::make_unique<Workspace>(config_.model, config_.batch_size, config_.seq_len);
}

Trainer::Trainer(const SftConfig& config, std::span<const Example> data, const Checkpoint& from)
    : config_(config),
      data_(data),
      model_((config.validate(), config.model)),
      adamw_(config.adamw, model_.n_params()),
      schedule_{config.max_lr, config.min_lr, config.warmup_steps, config.steps},
      rng_(from.rng_state) {
  if (!(from.config == config.model)) {
    const ModelConfig& c = from.config;
    fail(ErrorCode::kInvalidArgument,
         "sft: the checkpoint's model (dim {}, layers {}, heads {}/{}, ffn {}, vocab {}, max_seq {}) differs from "
         "the configured one: resume with the checkpoint's shape",
         c.dim, c.n_layers, c.n_heads, c.n_kv_heads, c.ffn_dim, c.vocab, c.max_seq);
  }
  validate_data();
  MUSE_ASSERT(from.params.size() == model_.params().size());
  std::copy(from.params.begin(), from.params.end(), model_.params().begin());
  adamw_.restore(from.adam_t, from.adam_m, from.adam_v);
  step_ = from.step;
  ws_ = std::make_unique<Workspace>(config_.model, config_.batch_size, config_.seq_len);
}

void Trainer::validate_data() {
  if (data_.empty()) fail(ErrorCode::kInvalidArgument, "sft: the training set is empty");
  bool any_target = false;
  for (size_t i = 0; i < data_.size(); i++) {
    const Example& ex = data_[i];
    if (ex.tokens.size() < 2) {
      fail(ErrorCode::kInvalidArgument, "sft: example {} has {} tokens; at least 2 are needed", i, ex.tokens.size());
    }
    if (ex.loss_mask.size() != ex.tokens.size()) {
      fail(ErrorCode::kInvalidArgument, "sft: example {} has {} tokens but a loss mask of {}", i, ex.tokens.size(),
           ex.loss_mask.size());
    }
    if (static_cast<int64_t>(ex.tokens.size()) > config_.seq_len + 1) {
      fail(ErrorCode::kInvalidArgument, "sft: example {} has {} tokens, more than seq_len + 1 = {}: raise seq_len", i,
           ex.tokens.size(), config_.seq_len + 1);
    }
    for (size_t t = 0; t < ex.tokens.size(); t++) {
      if (ex.tokens[t] < 0 || ex.tokens[t] >= config_.model.vocab) {
        fail(ErrorCode::kInvalidArgument, "sft: example {} token {} = {} is outside the vocabulary [0, {})", i, t,
             ex.tokens[t], config_.model.vocab);
      }
      any_target |= t > 0 && ex.loss_mask[t] != 0;
    }
  }
  if (!any_target) fail(ErrorCode::kInvalidArgument, "sft: no example has a loss-masked (assistant) token to learn");
  if (config_.group_by_length) {
    by_length_.resize(data_.size());
    for (size_t i = 0; i < data_.size(); i++) by_length_[i] = static_cast<uint32_t>(i);
    std::stable_sort(by_length_.begin(), by_length_.end(),
                     [&](uint32_t a, uint32_t b) { return data_[a].tokens.size() < data_[b].tokens.size(); });
  }
}

void Trainer::sample_batch() {
  const int64_t B = config_.batch_size;
  std::vector<const Example*> rows(static_cast<size_t>(B));
  int64_t T = 1;
  const uint64_t start = config_.group_by_length ? rng_.below(data_.size()) : 0;
  for (int64_t b = 0; b < B; b++) {
    rows[b] = config_.group_by_length ? &data_[by_length_[(start + static_cast<uint64_t>(b)) % data_.size()]]
                                      : &data_[rng_.below(data_.size())];
    T = std::max<int64_t>(T, static_cast<int64_t>(rows[b]->tokens.size()) - 1);
  }
  batch_.B = B;
  batch_.T = T;
  batch_.inputs.assign(static_cast<size_t>(B * T), 0);
  batch_.targets.assign(static_cast<size_t>(B * T), 0);
  batch_.mask.assign(static_cast<size_t>(B * T), 0);
  for (int64_t b = 0; b < B; b++) {
    const Example& ex = *rows[b];
    const int64_t n = static_cast<int64_t>(ex.tokens.size()) - 1;  // positions with a next token
    for (int64_t t = 0; t < n; t++) {
      batch_.inputs[b * T + t] = ex.tokens[t];
      batch_.targets[b * T + t] = ex.tokens[t + 1];
      batch_.mask[b * T + t] = ex.loss_mask[t + 1] != 0;
    }
    tokens_seen_ += n;
  }
}

LossPoint Trainer::step(core::ThreadPool& pool) {
  sample_batch();
  const float loss = forward(pool, model_, *ws_, batch_);
  model_.zero_grad();
  backward(pool, model_, *ws_);
  const float norm = clip_grad_norm(model_.grads(), config_.grad_clip);
  if (!std::isfinite(loss) || !std::isfinite(norm)) {
    fail(ErrorCode::kInvalidArgument, "sft: training diverged at step {}: loss {} gradient norm {} (lower max_lr)",
         step_ + 1, loss, norm);
  }
  const float lr = schedule_.at(step_);
  adamw_.step(pool, model_, lr);
  step_++;
  LossPoint p;
  p.step = step_;
  p.loss = loss;
  p.lr = lr;
  p.grad_norm = norm;
  return p;
}

Checkpoint Trainer::checkpoint() const {
  Checkpoint c;
  c.config = model_.config();
  c.step = step_;
  c.adam_t = adamw_.t();
  c.rng_state = rng_.state();
  c.params.assign(model_.params().begin(), model_.params().end());
  c.adam_m.assign(adamw_.m().begin(), adamw_.m().end());
  c.adam_v.assign(adamw_.v().begin(), adamw_.v().end());
  return c;
}

// ----------------------------------------------------------------------------------------------------
// run_sft

namespace {

float window_mean(const std::vector<LossPoint>& h, int64_t window) {
  const size_t n = std::min(h.size(), static_cast<size_t>(window));
  if (n == 0) return 0.0f;
  double s = 0.0;
  for (size_t i = h.size() - n; i < h.size(); i++) s += h[i].loss;
  return static_cast<float>(s / static_cast<double>(n));
}

void write_logs(const SftConfig& cfg, const std::vector<LossPoint>& history) {
  const std::filesystem::path dir(cfg.out_dir);
  const std::string csv = format_loss_csv(history);
  write_file_atomic((dir / "loss.csv").string(), std::span(reinterpret_cast<const uint8_t*>(csv.data()), csv.size()));
  const std::string title = fmt::format("SFT loss (dim {}, {} layers, batch {})", cfg.model.dim, cfg.model.n_layers,
                                        cfg.batch_size);
  write_file_atomic((dir / "loss.png").string(), render_loss_plot_png(history, title));
}

}  // namespace

SftResult run_sft(const SftConfig& config, std::span<const Example> data, core::ThreadPool& pool,
                  std::stop_token stop) {
  config.validate();
  const std::filesystem::path dir(config.out_dir);
  if (!config.out_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) fail(ErrorCode::kIOError, "{}: cannot create the output directory: {}", config.out_dir, ec.message());
  }
  std::unique_ptr<Trainer> trainer;
  SftResult result;
  if (!config.resume_from.empty()) {
    trainer = std::make_unique<Trainer>(config, data, load_checkpoint(config.resume_from));
    // Keep the earlier part of the loss log (up to the checkpoint's step) so the curve is whole.
    const std::filesystem::path csv = dir / "loss.csv";
    if (!config.out_dir.empty() && std::filesystem::exists(csv)) {
      const std::vector<uint8_t> bytes = read_file(csv.string());
      for (const LossPoint& p :
           parse_loss_csv(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), csv.string())) {
        if (p.step <= trainer->steps_done()) result.history.push_back(p);
      }
    }
  } else {
    trainer = std::make_unique<Trainer>(config, data);
  }

  const auto save = [&] {
    if (config.out_dir.empty()) return;
    save_checkpoint((dir / "checkpoint.bin").string(), trainer->checkpoint());
    write_logs(config, result.history);
  };
  const int64_t first_step = trainer->steps_done();
  const auto start = std::chrono::steady_clock::now();
  bool drew_progress = false;
  while (trainer->steps_done() < config.steps) {
    if (stop.stop_requested()) {
      result.stopped = true;
      break;
    }
    LossPoint p = trainer->step(pool);
    p.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    p.tokens_per_s = p.elapsed_s > 0 ? static_cast<double>(trainer->tokens_seen()) / p.elapsed_s : 0.0;
    result.history.push_back(p);
    const int64_t done = trainer->steps_done();
    const bool last = done == config.steps;
    if (done % config.log_every == 0 || last) {
      if (config.progress) {
        const double per_step = p.elapsed_s / static_cast<double>(done - first_step);
        std::fprintf(config.progress, "\rstep %lld/%lld  loss %.4f  lr %.2e  %.0f tok/s  ETA %s   ",
                     static_cast<long long>(done), static_cast<long long>(config.steps),
                     window_mean(result.history, config.log_every), p.lr, p.tokens_per_s,
                     format_duration(per_step * static_cast<double>(config.steps - done)).c_str());
        std::fflush(config.progress);
        drew_progress = true;
      }
      if (!config.out_dir.empty()) write_logs(config, result.history);
    }
    if (config.checkpoint_every > 0 && done % config.checkpoint_every == 0 && !last) save();
  }
  if (drew_progress) std::fputc('\n', config.progress);
  save();

  result.steps = trainer->steps_done();
  result.final_loss = window_mean(result.history, config.log_every);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.tokens_per_s = elapsed > 0 ? static_cast<double>(trainer->tokens_seen()) / elapsed : 0.0;
  result.model = std::make_unique<Model>(trainer->model());
  return result;
}

}  // namespace muse::train
