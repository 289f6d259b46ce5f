#include "cli/bench_agents.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/bench_profile.h"
#include "core/matmul.h"
#include "engine/scheduler.h"
#include "model/runner.h"

namespace muse::cli {
namespace {

struct Sample {
  double step_seconds = 0.0;  // median over the decode steps of one run
  int64_t prompt_pages = 0;   // after the prefill
  int64_t peak_pages = 0;     // with every agent at full length
  int32_t prompt_page_refs = 0;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

Sample run_once(model::Runner& runner, const AgentsBenchOptions& o, int k) {
  const int64_t V = runner.model().hparams().n_vocab;
  engine::SchedulerOptions so;
  so.n_ctx = o.n_prompt + o.n_decode + 2;
  so.max_seqs = k + 1;
  so.max_batch = 512;
  so.kv.type = o.kv;
  engine::Scheduler sched(runner, so);
  engine::SeqConfig pc;
  for (int64_t i = 0; i < o.n_prompt; ++i) pc.prompt.push_back(static_cast<int32_t>((i * 7919 + 13) % V));
  pc.max_new_tokens = 0;
  pc.park = true;
  const engine::SeqId p = sched.add(std::move(pc));
  while (sched.has_work()) sched.step();
  Sample s;
  s.prompt_pages = sched.cache().pages_in_use();
  for (int a = 0; a < k; ++a) {
    engine::SeqConfig c;
    c.sampler.seed = 1000 + static_cast<uint64_t>(a);  // default sampling, a distinct stream per agent
    c.max_new_tokens = o.n_decode;
    c.park = true;  // keep the pages to count them at the end
    sched.fork(p, -1, std::move(c));
  }
  std::vector<double> steps;
  while (sched.has_work()) {
    const auto t0 = std::chrono::steady_clock::now();
    sched.step();
    steps.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  // The first step also copies each agent's shared partial page: not a steady-state step.
  if (steps.size() > 1) steps.erase(steps.begin());
  s.step_seconds = median(steps);
  s.peak_pages = sched.cache().pages_in_use();
  s.prompt_page_refs = sched.cache().page_refs(sched.cache().page_of(0, 0));
  return s;
}

}  // namespace

void bench_agents(const model::Model& model, const std::string& name, core::ThreadPool& pool,
                  const AgentsBenchOptions& o) {
  model::Runner runner(model, pool);
  model::PhaseProfile profile;
  profile.batch_size = o.max_agents;  // the steps of the most agents (prefills are longer batches)
  if (o.profile) runner.set_profile(&profile);
  std::vector<int> ks;
  for (int k = 1; k < o.max_agents; k *= 2) ks.push_back(k);
  ks.push_back(o.max_agents);
  std::vector<std::vector<Sample>> runs(ks.size());
  for (int rep = 0; rep < o.reps; ++rep) {
    for (size_t i = 0; i < ks.size(); ++i) {
      runs[i].push_back(run_once(runner, o, ks[i]));
      std::fprintf(stderr, "rep %d: %d agent(s): %.1f ms/step\n", rep + 1, ks[i], runs[i].back().step_seconds * 1e3);
    }
  }
  size_t page_bytes;
  {
    model::KvCache probe(model.hparams(), 16, 1, o.kv);
    page_bytes = probe.page_bytes();
  }
  const double base = [&] {
    std::vector<double> v;
    for (const Sample& s : runs[0]) v.push_back(s.step_seconds);
    return median(v);
  }();

  nlohmann::json rows = nlohmann::json::array();
  if (!o.json) {
    std::printf("model              %s\n", name.c_str());
    std::printf("threads            %d (kernels: %s)\n", pool.size(), core::best_kernel_path_name());
    std::printf("prompt             %lld tokens, prefilled once and shared; %lld decode steps per agent\n",
                static_cast<long long>(o.n_prompt), static_cast<long long>(o.n_decode));
    std::printf("KV page            16 tokens, %.2f MiB\n\n", page_bytes / 1048576.0);
    std::printf("%7s %12s %14s %14s %13s %13s %12s\n", "agents", "ms/step", "step vs 1", "tok/s total",
                "prompt pages", "total pages", "KV MiB");
  }
  for (size_t i = 0; i < ks.size(); ++i) {
    std::vector<double> v;
    for (const Sample& s : runs[i]) v.push_back(s.step_seconds);
    const double step = median(v);
    const Sample& s = runs[i].front();
    const double mib = static_cast<double>(s.peak_pages) * static_cast<double>(page_bytes) / 1048576.0;
    if (o.json) {
      rows.push_back({{"agents", ks[i]},
                      {"step_seconds", step},
                      {"step_ratio_vs_1", step / base},
                      {"tokens_per_second", ks[i] / step},
                      {"prompt_pages", s.prompt_pages},
                      {"prompt_page_refs", s.prompt_page_refs},
                      {"total_pages", s.peak_pages},
                      {"kv_bytes", static_cast<double>(s.peak_pages) * static_cast<double>(page_bytes)}});
    } else {
      std::printf("%7d %12.1f %13.2fx %14.1f %13lld %13lld %12.1f\n", ks[i], step * 1e3, step / base, ks[i] / step,
                  static_cast<long long>(s.prompt_pages), static_cast<long long>(s.peak_pages), mib);
    }
  }
  if (o.json) {
    nlohmann::json j = {{"model", name},
                        {"threads", pool.size()},
                        {"kernel", core::best_kernel_path_name()},
                        {"prompt_tokens", o.n_prompt},
                        {"decode_steps", o.n_decode},
                        {"page_bytes", page_bytes},
                        {"rows", std::move(rows)}};
    if (o.profile) j["profile"] = profile_json(profile, model);
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("\nprompt pages: the prompt's KV, stored once whatever the number of agents (every agent maps the "
                "same pages);\ntotal pages: prompt + each agent's own pages (its copy of the partly filled last "
                "prompt page and its generated tokens).\n");
    if (o.profile) print_profile(profile, model, (std::to_string(o.max_agents) + "-agent step").c_str());
  }
}

}  // namespace muse::cli
