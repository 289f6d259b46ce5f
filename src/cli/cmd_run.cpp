// muse run: generate a continuation of a prompt and stream it to stdout (raw completion, no chat
// template). Statistics go to stderr so stdout holds exactly the text.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "engine/generate.h"
#include "model/reference.h"
#include "model/runner.h"
#include "text/tokenizer.h"

namespace muse::cli {
namespace {

struct RunOptions {
  ModelOptions model;
  std::string prompt;
  std::string prompt_file;
  int64_t n_predict = 128;
  int64_t n_batch = 256;
  engine::SamplerParams sampler;
  int64_t seed = -1;
  bool ignore_eos = false;
  bool no_bos = false;
  bool special = false;
  bool ids = false;
  bool reference = false;
  bool quiet = false;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::kNotFound, "cannot read prompt file '{}'", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void run(const RunOptions& o) {
  std::string prompt_text = o.prompt_file.empty() ? o.prompt : read_file(o.prompt_file);
  auto model = o.model.load();
  auto tok = text::Tokenizer::from_gguf(model->file());
  std::vector<int32_t> prompt = tok->encode(prompt_text, !o.no_bos, o.special);
  if (prompt.empty()) fail(ErrorCode::kInvalidArgument, "the prompt produced no tokens; give a non-empty -p");

  engine::GenerateParams params;
  params.n_predict = o.n_predict;
  params.n_batch = o.n_batch;
  params.sampler = o.sampler;
  params.sampler.seed = o.seed >= 0 ? static_cast<uint64_t>(o.seed) : std::random_device{}();
  params.stop_at_eog = !o.ignore_eos;
  params.is_eog = [&](int32_t t) { return tok->is_eog(t); };

  text::StreamDecoder stream(*tok);
  char last_char = prompt_text.empty() ? '\n' : prompt_text.back();
  std::fwrite(prompt_text.data(), 1, prompt_text.size(), stdout);
  std::fflush(stdout);
  auto emit = [&](int32_t t, float) {
    if (o.ids) {
      std::printf(" %d", t);
    } else {
      const std::string piece = stream.push(t);
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      if (!piece.empty()) last_char = piece.back();
    }
    std::fflush(stdout);
    return true;
  };

  engine::GenerateStats stats;
  if (o.reference) {
    // The plain reference forward pass: slow, single-threaded, for checking the fast path.
    const auto t0 = std::chrono::steady_clock::now();
    model::ReferenceRunner ref(*model);
    std::vector<float> logits;
    for (int32_t t : prompt) logits = ref.step(t);
    engine::Sampler sampler(params.sampler);
    std::vector<int32_t> history = prompt;
    for (int64_t i = 0; i < o.n_predict; ++i) {
      const auto s = sampler.sample(logits, history);
      if (params.stop_at_eog && tok->is_eog(s.token)) break;
      history.push_back(s.token);
      emit(s.token, s.logprob);
      ++stats.n_generated;
      if (i + 1 < o.n_predict) logits = ref.step(s.token);
    }
    stats.n_prompt = static_cast<int64_t>(prompt.size());
    stats.decode_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } else {
    core::ThreadPool pool(o.model.resolved_threads());
    model::Runner runner(*model, pool);
    model::KvCache cache(model->hparams(), o.model.resolved_ctx(model->hparams()), 1, o.model.kv());
    stats = engine::generate(runner, cache, prompt, params, emit);
  }
  const std::string rest = stream.flush();
  std::fwrite(rest.data(), 1, rest.size(), stdout);
  if (!rest.empty()) last_char = rest.back();
  if (o.ids || last_char != '\n') std::printf("\n");  // end the line, but never add a blank one
  std::fflush(stdout);
  if (!o.quiet) {
    std::fprintf(stderr, "\nprompt: %lld tokens, %.1f tok/s | generated: %lld tokens, %.1f tok/s | seed %llu\n",
                 static_cast<long long>(stats.n_prompt), stats.prefill_tokens_per_second(),
                 static_cast<long long>(stats.n_generated), stats.decode_tokens_per_second(),
                 static_cast<unsigned long long>(params.sampler.seed));
  }
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto opts = std::make_shared<RunOptions>();
  auto* cmd = app.add_subcommand("run", "Generate a continuation of a prompt (raw completion) and stream it");
  opts->model.add_to(cmd);
  auto* p = cmd->add_option("-p,--prompt", opts->prompt, "Prompt text");
  auto* f = cmd->add_option("-f,--file", opts->prompt_file, "Read the prompt from a file");
  p->excludes(f);
  cmd->add_option("-n,--n-predict", opts->n_predict, "Tokens to generate at most")->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
  cmd->add_option("-b,--batch-size", opts->n_batch, "Prompt tokens per forward pass")->check(CLI::Range(1, 8192));
  cmd->add_option("--temp", opts->sampler.temperature, "Temperature (0 = greedy)")->check(CLI::Range(0.0f, 100.0f));
  cmd->add_option("--top-k", opts->sampler.top_k, "Top-k (0 = off)")->check(CLI::Range(0, 1 << 24));
  cmd->add_option("--top-p", opts->sampler.top_p, "Top-p / nucleus (1 = off)")->check(CLI::Range(0.0f, 1.0f));
  cmd->add_option("--min-p", opts->sampler.min_p, "Min-p relative to the top token (0 = off)")->check(CLI::Range(0.0f, 1.0f));
  cmd->add_option("--repeat-penalty", opts->sampler.repeat_penalty, "Repetition penalty (1 = off)")->check(CLI::Range(0.01f, 100.0f));
  cmd->add_option("--repeat-last-n", opts->sampler.repeat_last_n, "Window of the repetition penalty")->check(CLI::Range(0, 1 << 20));
  cmd->add_option("-s,--seed", opts->seed, "Random seed (-1 = random; printed at the end)");
  cmd->add_flag("--ignore-eos", opts->ignore_eos, "Keep generating after an end-of-generation token");
  cmd->add_flag("--no-bos", opts->no_bos, "Do not add the BOS token the model's metadata asks for");
  cmd->add_flag("--special", opts->special, "Parse special-token text (e.g. <|im_start|>) in the prompt");
  cmd->add_flag("--ids", opts->ids, "Print generated token ids instead of text");
  cmd->add_flag("--reference", opts->reference, "Use the slow scalar reference forward pass (for debugging)");
  cmd->add_flag("-q,--quiet", opts->quiet, "Do not print statistics to stderr");
  cmd->callback([opts] {
    if (opts->prompt.empty() && opts->prompt_file.empty()) {
      fail(ErrorCode::kInvalidArgument, "give a prompt with -p TEXT or -f FILE");
    }
    run(*opts);
  });
}

}  // namespace muse::cli
