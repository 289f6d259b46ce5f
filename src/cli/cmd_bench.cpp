// muse bench: prompt-processing and decode speed of a model (a file, or a synthetic model of a known
// shape built in memory), with decode speed as a share of the memory-bandwidth roofline:
//   roofline tok/s = measured read bandwidth / bytes read per decoded token
// where bytes per token = every weight matrix once + one embedding row + the KV cache rows attended.
// The bandwidth is measured two ways (core/bandwidth.h): the peak (best 64 MiB stretch, before the
// runs) and sustained (a whole pass over a buffer as large as the weights, before each repetition, so
// the tokens and their roofline are timed the same way under the same load).
#include <algorithm>
#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/bench_agents.h"
#include "cli/commands.h"
#include "cli/model_options.h"
#include "core/bandwidth.h"
#include "core/error.h"
#include "core/matmul.h"
#include "core/thread_pool.h"
#include "cli/bench_profile.h"
#include "engine/generate.h"
#include "model/runner.h"
#include "model/synthetic.h"

namespace muse::cli {
namespace {

struct BenchOptions {
  ModelOptions model;
  std::string synthetic;
  std::string type = "q8_0";
  int64_t n_prompt = 128;
  int64_t n_decode = 32;
  int reps = 3;
  bool json = false;
  bool profile = false;  // time the forward pass's phases (decode tokens; agent steps with --agents)
  int agents = 0;  // > 0: compare decode steps of 1..agents parallel agents (bench_agents.h)
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

void bench(const BenchOptions& o) {
  std::unique_ptr<model::Model> model;
  std::string name;
  if (!o.synthetic.empty()) {
    if (o.synthetic != "tinyllama") {
      fail(ErrorCode::kInvalidArgument, "unknown synthetic shape '{}' (available: tinyllama)", o.synthetic);
    }
    const auto type = core::dtype_from_name(o.type);
    if (!type || !core::dtype_info(*type).weight_supported) {
      fail(ErrorCode::kInvalidArgument, "unknown or unsupported weight type '{}'", o.type);
    }
    std::fprintf(stderr, "building synthetic TinyLlama-shaped model (%s)...\n", o.type.c_str());
    model = model::Model::from_file(
        gguf::File::from_bytes(model::build_synthetic_gguf(model::SyntheticSpec::tinyllama(*type)), "synthetic"));
    name = "synthetic-tinyllama-" + o.type;
  } else {
    if (o.model.path.empty()) fail(ErrorCode::kInvalidArgument, "give a model with -m FILE or --synthetic tinyllama");
    model = o.model.load();
    name = o.model.path;
  }
  const model::HParams& hp = model->hparams();
  const int threads = o.model.resolved_threads();
  core::ThreadPool pool(threads);
  if (o.agents > 0) {
    bench_agents(*model, name, pool, {o.agents, o.n_prompt, o.n_decode, o.reps, o.model.kv(), o.json, o.profile});
    return;
  }
  const int64_t n_ctx = o.n_prompt + o.n_decode + 1;
  if (n_ctx > hp.n_ctx_train * 4) {
    fail(ErrorCode::kOutOfRange, "-p + -n = {} is far beyond the model's context {}", n_ctx, hp.n_ctx_train);
  }

  std::fprintf(stderr, "measuring memory read bandwidth with %d threads...\n", threads);
  // As large as the weights a token reads (within 256 MiB-1 GiB), so a whole pass is timed like a token.
  const size_t probe_bytes = std::clamp<size_t>(model->decode_weight_bytes(), size_t{256} << 20, size_t{1} << 30);
  core::ReadProbe probe(pool, probe_bytes);
  const double bandwidth = probe.best_stretch(3);

  model::Runner runner(*model, pool);
  model::PhaseProfile profile;  // decode tokens only (batches of one)
  if (o.profile) runner.set_profile(&profile);
  std::vector<int32_t> prompt(o.n_prompt);
  for (int64_t i = 0; i < o.n_prompt; ++i) prompt[i] = static_cast<int32_t>((i * 7919 + 13) % hp.n_vocab);
  std::vector<double> pp, tg, sustained;
  for (int rep = 0; rep < o.reps; ++rep) {
    sustained.push_back(probe.pass());  // the bandwidth this repetition's tokens could have had
    model::KvCache cache(hp, n_ctx, 1, o.model.kv());
    engine::GenerateParams params;
    params.n_predict = o.n_decode;
    params.sampler = engine::SamplerParams::greedy();
    params.stop_at_eog = false;
    auto stats = engine::generate(runner, cache, prompt, params, [](int32_t, float) { return true; });
    pp.push_back(stats.prefill_tokens_per_second());
    tg.push_back(stats.decode_tokens_per_second());
    std::fprintf(stderr, "rep %d: prompt %.1f tok/s, decode %.2f tok/s\n", rep + 1, pp.back(), tg.back());
  }
  // KV rows read per decoded token, at the average position of the decode phase.
  const double avg_pos = o.n_prompt + o.n_decode / 2.0;
  const double kv_bytes = 2.0 * hp.n_layer * avg_pos * hp.kv_dim() * (o.model.kv() == model::KvType::kF16 ? 2 : 4);
  const double bytes_per_token = static_cast<double>(model->decode_weight_bytes()) + kv_bytes;
  const double roofline = bandwidth / bytes_per_token;
  const double bandwidth_sustained = median(sustained);
  const double roofline_sustained = bandwidth_sustained / bytes_per_token;
  const double decode = median(tg);
  const double prompt_speed = median(pp);

  if (o.json) {
    nlohmann::json j = {{"model", name},
                        {"threads", threads},
                        {"kernel", core::best_kernel_path_name()},
                        {"prompt_tokens", o.n_prompt},
                        {"decode_tokens", o.n_decode},
                        {"prompt_tokens_per_second", prompt_speed},
                        {"decode_tokens_per_second", decode},
                        {"bytes_per_token", bytes_per_token},
                        {"bandwidth_bytes_per_second", bandwidth},
                        {"roofline_tokens_per_second", roofline},
                        {"roofline_fraction", decode / roofline},
                        {"bandwidth_sustained_bytes_per_second", bandwidth_sustained},
                        {"roofline_sustained_tokens_per_second", roofline_sustained},
                        {"roofline_sustained_fraction", decode / roofline_sustained}};
    if (o.profile) j["profile"] = profile_json(profile, *model);
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("model              %s\n", name.c_str());
  std::printf("threads            %d (kernels: %s)\n", threads, core::best_kernel_path_name());
  std::printf("prompt processing  %.1f tok/s (%lld tokens, median of %d)\n", prompt_speed,
              static_cast<long long>(o.n_prompt), o.reps);
  std::printf("decode             %.2f tok/s (%lld tokens, median of %d)\n", decode, static_cast<long long>(o.n_decode),
              o.reps);
  std::printf("bytes per token    %.1f MiB (weights %.1f MiB + KV %.2f MiB)\n", bytes_per_token / 1048576.0,
              model->decode_weight_bytes() / 1048576.0, kv_bytes / 1048576.0);
  std::printf("read bandwidth     %.2f GB/s peak (best 64 MiB stretch), %.2f GB/s sustained (median of %d passes "
              "over %.0f MiB, one before each repetition), %d threads\n",
              bandwidth / 1e9, bandwidth_sustained / 1e9, o.reps, probe.bytes() / 1048576.0, threads);
  std::printf("roofline           %.2f tok/s at peak bandwidth, %.2f tok/s sustained\n", roofline, roofline_sustained);
  std::printf("decode / roofline  %.1f%% of peak, %.1f%% of sustained\n", 100.0 * decode / roofline,
              100.0 * decode / roofline_sustained);
  if (o.profile) print_profile(profile, *model, "decoded token");
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  auto* cmd = app.add_subcommand("bench", "Measure prompt and decode speed against the memory-bandwidth roofline");
  o->model.add_to(cmd, /*required=*/false);
  cmd->add_option("--synthetic", o->synthetic, "Benchmark a random model of a known shape instead of a file: tinyllama");
  cmd->add_option("--type", o->type, "Weight type of the synthetic model (q8_0, q4_0, q4_K, q6_K, f16, ...)");
  cmd->add_option("-p,--n-prompt", o->n_prompt, "Prompt tokens to process")->check(CLI::Range(int64_t{1}, int64_t{1} << 16));
  cmd->add_option("-n,--n-decode", o->n_decode, "Tokens to decode")->check(CLI::Range(int64_t{2}, int64_t{1} << 16));
  cmd->add_option("-r,--reps", o->reps, "Repetitions (the median is reported)")->check(CLI::Range(1, 100));
  cmd->add_flag("--json", o->json, "Print the results as JSON");
  cmd->add_flag("--profile", o->profile,
                "Also time each phase of the forward pass (matmuls, attention, norms, ...) over the decoded "
                "tokens, or over the steps of the most agents with --agents, with the read speed of each matmul");
  cmd->add_option("--agents", o->agents,
                  "Instead: time one decode step of 1, 2, 4, ... N parallel agents forked from one shared prompt "
                  "(contemplating mode) and count the KV pages")
      ->check(CLI::Range(1, 256));
  cmd->callback([o] { bench(*o); });
}

}  // namespace muse::cli
