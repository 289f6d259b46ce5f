// muse eval: runs a task suite (JSONL, one {"question", "answer", "checker"?} per line, as `muse tasks`
// writes) in one or more reasoning modes and reports accuracy, thinking and answer tokens and latency
// per mode; --report writes everything, per question, as JSON (atomically).
//
// With --tools (built-in tools: calculator), each question runs tools::AgentLoop (model -> tool calls ->
// results -> model, at most --max-steps turns), the tools offered as `muse chat --tools` offers them;
// tokens and latency are summed over the turns and the calls are counted per mode.
//
// Answers are checked with train::check_answer (numeric, exact or regex per line), on the final
// content of each reply. Malformed lines are errors naming the file and line (train::read_suite_file).
#include <algorithm>
#include <chrono>
#include <map>
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/reason_options.h"
#include "core/error.h"
#include "core/progress.h"
#include "tools/agent_loop.h"
#include "tools/registry.h"
#include "train/file_io.h"
#include "train/tasks_check.h"
#include "train/tasks_suite.h"

namespace muse::cli {
namespace {

struct EvalOptions {
  ModelOptions model;
  ReasonFlags reason;
  std::string suite;
  int64_t limit = 0;
  std::string report;
  std::string system;
  std::vector<std::string> tools;  // built-in tool names
  int max_steps = 4;
};

std::vector<reason::Mode> parse_modes(const std::string& spec) {
  std::vector<reason::Mode> modes;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const reason::Mode m = reason::parse_mode(item);
    if (std::find(modes.begin(), modes.end(), m) == modes.end()) modes.push_back(m);
  }
  if (modes.empty()) fail(ErrorCode::kInvalidArgument, "--mode: no mode given (instant, thinking, contemplating)");
  return modes;
}

// Per-family tallies within one mode (suites from `muse tasks` carry a family per line).
struct FamilyTally {
  int64_t n = 0, correct = 0, thinking = 0;
};

struct ModeSummary {
  reason::Mode mode = reason::Mode::kInstant;
  int64_t n = 0, correct = 0;
  int64_t thinking = 0, answer = 0, forced = 0, prompt = 0;
  int64_t tool_calls = 0, with_calls = 0;  // calls made; questions that made at least one
  std::map<std::string, FamilyTally> families;  // sorted by name; empty name: lines without a family
  double seconds = 0.0;
  std::vector<double> latencies;
  nlohmann::json items = nlohmann::json::array();
};

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void eval(const EvalOptions& o) {
  const std::vector<reason::Mode> modes = parse_modes(o.reason.mode);
  std::vector<train::SuiteItem> items = train::read_suite_file(o.suite);
  if (o.limit > 0 && static_cast<int64_t>(items.size()) > o.limit) items.resize(static_cast<size_t>(o.limit));
  if (items.empty()) fail(ErrorCode::kInvalidArgument, "--suite '{}' has no questions", o.suite);

  LoadedModel m = load_for_reasoning(o.model);
  const bool contemplating = std::find(modes.begin(), modes.end(), reason::Mode::kContemplating) != modes.end();
  reason::Reasoner reasoner(*m.model, *m.tok, *m.pool,
                            o.reason.reasoner(o.model, m.model->hparams(), contemplating ? o.reason.agents : 1));
  const uint64_t seed = o.reason.resolved_seed();
  tools::ToolRegistry registry;
  tools::add_builtin_tools(registry, o.tools, nullptr);
  std::unique_ptr<tools::AgentLoop> agent;
  if (!registry.empty()) {
    agent = std::make_unique<tools::AgentLoop>(reasoner, registry, agent_loop_options(reasoner, m, o.max_steps));
  }
  std::vector<ModeSummary> summaries;
  for (reason::Mode mode : modes) {
    ModeSummary s;
    s.mode = mode;
    core::ProgressBar bar(std::string("eval ") + reason::mode_name(mode), static_cast<double>(items.size()),
                          "questions");
    for (size_t i = 0; i < items.size(); ++i) {
      const train::SuiteItem& it = items[i];
      reason::Request req = o.reason.request(mode, seed + i);
      if (!o.system.empty()) req.messages.push_back({"system", o.system});
      req.messages.push_back({"user", it.question});
      reason::Result res;
      int calls = 0;
      if (agent) {
        std::vector<reason::ChatMessage> history = req.messages;
        const auto t0 = std::chrono::steady_clock::now();
        const tools::AgentLoopResult ar = agent->run(history, req);
        res.content = ar.content;
        res.reasoning = ar.reasoning;
        res.total = ar.usage;
        res.timing.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        calls = ar.tool_calls;
      } else {
        res = reasoner.run(req);
      }
      s.tool_calls += calls;
      s.with_calls += calls > 0 ? 1 : 0;
      const bool ok = train::check_answer(res.content, it.answer, it.checker);
      ++s.n;
      s.correct += ok ? 1 : 0;
      s.thinking += res.total.thinking_tokens;
      s.answer += res.total.answer_tokens;
      s.forced += res.total.forced_tokens;
      s.prompt += res.total.prompt_tokens;
      s.seconds += res.timing.wall_seconds;
      s.latencies.push_back(res.timing.wall_seconds);
      FamilyTally& ft = s.families[it.family];
      ++ft.n;
      ft.correct += ok ? 1 : 0;
      ft.thinking += res.total.thinking_tokens;
      s.items.push_back({{"line", it.line},
                         {"family", it.family},
                         {"question", it.question},
                         {"reference", it.answer},
                         {"checker", train::checker_name(it.checker)},
                         {"correct", ok},
                         {"content", res.content},
                         {"reasoning", res.reasoning},
                         {"answer", res.answer},
                         {"thinking_tokens", res.total.thinking_tokens},
                         {"answer_tokens", res.total.answer_tokens},
                         {"forced_tokens", res.total.forced_tokens},
                         {"latency_seconds", res.timing.wall_seconds},
                         {"tool_calls", calls},
                         {"agents", res.agents.size()}});
      bar.update(static_cast<double>(i + 1),
                 "acc " + std::to_string(100 * s.correct / s.n) + "%");
    }
    bar.finish();
    summaries.push_back(std::move(s));
  }

  std::printf("%-14s %9s %9s %12s %12s %12s %10s %10s\n", "mode", "questions", "accuracy", "think/q", "think total",
              "answer/q", "latency/q", "p50");
  nlohmann::json modes_j = nlohmann::json::array();
  for (const ModeSummary& s : summaries) {
    const double n = static_cast<double>(s.n);
    nlohmann::json families_j = nlohmann::json::object();
    for (const auto& [name, ft] : s.families) {
      families_j[name.empty() ? "(none)" : name] = {{"questions", ft.n},
                                                    {"correct", ft.correct},
                                                    {"accuracy", static_cast<double>(ft.correct) / ft.n},
                                                    {"thinking_tokens_mean", static_cast<double>(ft.thinking) / ft.n}};
    }
    std::printf("%-14s %9lld %8.1f%% %12.1f %12lld %12.1f %9.2fs %9.2fs\n", reason::mode_name(s.mode),
                static_cast<long long>(s.n), 100.0 * s.correct / n, s.thinking / n, static_cast<long long>(s.thinking),
                s.answer / n, s.seconds / n, median(s.latencies));
    modes_j.push_back({{"mode", reason::mode_name(s.mode)},
                       {"questions", s.n},
                       {"correct", s.correct},
                       {"accuracy", s.correct / n},
                       {"thinking_tokens_total", s.thinking},
                       {"thinking_tokens_mean", s.thinking / n},
                       {"answer_tokens_mean", s.answer / n},
                       {"forced_tokens_total", s.forced},
                       {"prompt_tokens_total", s.prompt},
                       {"latency_seconds_mean", s.seconds / n},
                       {"latency_seconds_p50", median(s.latencies)},
                       {"tool_calls_total", s.tool_calls},
                       {"questions_with_tool_calls", s.with_calls},
                       {"families", std::move(families_j)},
                       {"items", s.items}});
  }
  if (agent) {
    for (const ModeSummary& s : summaries) {
      std::printf("%-14s tools: %lld calls; %lld of %lld questions called a tool\n", reason::mode_name(s.mode),
                  static_cast<long long>(s.tool_calls), static_cast<long long>(s.with_calls), static_cast<long long>(s.n));
    }
  }
  // Per family, when the suite has more than one (or names one): accuracy and thinking per mode.
  const bool by_family = !summaries.empty() && (summaries[0].families.size() > 1 ||
                                                (summaries[0].families.size() == 1 && !summaries[0].families.begin()->first.empty()));
  if (by_family) {
    std::printf("\n%-14s %-10s %9s %9s %12s\n", "mode", "family", "questions", "accuracy", "think/q");
    for (const ModeSummary& s : summaries) {
      for (const auto& [name, ft] : s.families) {
        std::printf("%-14s %-10s %9lld %8.1f%% %12.1f\n", reason::mode_name(s.mode), name.empty() ? "(none)" : name.c_str(),
                    static_cast<long long>(ft.n), 100.0 * static_cast<double>(ft.correct) / static_cast<double>(ft.n),
                    static_cast<double>(ft.thinking) / static_cast<double>(ft.n));
      }
    }
  }
  if (!o.report.empty()) {
    nlohmann::json report = {{"model", o.model.path},
                             {"suite", o.suite},
                             {"seed", seed},
                             {"agents", o.reason.agents},
                             {"think_budget", o.reason.think_budget},
                             {"max_tokens", o.reason.max_tokens},
                             {"aggregate", o.reason.aggregate},
                             {"tools", o.tools},
                             {"modes", std::move(modes_j)}};
    const std::string text = report.dump(2) + "\n";
    train::write_file_atomic(o.report, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
    std::fprintf(stderr, "report written to %s\n", o.report.c_str());
  }
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  auto* cmd = app.add_subcommand(
      "eval", "Run a task suite (JSONL: question, answer, checker) in one or more reasoning modes and report "
              "accuracy, thinking tokens and latency per mode");
  o->model.add_to(cmd);
  o->reason.add_to(cmd, /*modes_flag=*/true);
  cmd->add_option("--suite", o->suite, "JSONL task suite (one {\"question\", \"answer\", \"checker\"?} per line)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-n,--limit", o->limit, "Evaluate only the first N questions (0 = all)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  cmd->add_option("--report", o->report, "Write a JSON report with every answer to this file (atomically)");
  cmd->add_option("--system", o->system, "System message before each question");
  cmd->add_option("--tools", o->tools,
                  "Offer these built-in tools (calculator) and answer each question through the agent loop "
                  "(model, tool calls, results, model)")
      ->delimiter(',');
  cmd->add_option("--max-steps", o->max_steps, "With --tools: model turns per question at most")
      ->check(CLI::Range(1, 64));
  cmd->callback([o] {
    parse_modes(o->reason.mode);  // reject bad modes and tools before loading the model
    for (const std::string& t : o->tools) {
      if (t != "calculator") fail(ErrorCode::kInvalidArgument, "--tools: '{}' is not a tool muse eval offers (calculator)", t);
    }
    eval(*o);
  });
}

}  // namespace muse::cli
