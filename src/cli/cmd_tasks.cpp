// muse tasks: writes a JSONL suite of verifiable problems (train::Tasks) for training or `muse eval`.
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "train/tasks.h"
#include "train/tasks_suite.h"

namespace muse::cli {

namespace {

struct TasksFlags {
  std::string family = "all";
  // Signed so that "-n -3" is caught here: CLI11 would wrap a negative into a huge unsigned.
  int64_t seed = 0;
  int64_t count = 0;
  std::string difficulty = "standard";
  std::string split = "train";
  bool traces = false;
  std::string output;
};

void run_tasks(const TasksFlags& f) {
  train::SuiteSpec spec;
  spec.families = train::parse_families(f.family);
  spec.difficulty = train::difficulty_preset(train::parse_level(f.difficulty));
  spec.split = train::parse_split(f.split);
  if (f.seed < 0) fail(ErrorCode::kInvalidArgument, "--seed must be >= 0 (got {})", f.seed);
  if (f.count < 1) fail(ErrorCode::kInvalidArgument, "-n must be at least 1 (got {})", f.count);
  spec.start = static_cast<uint64_t>(f.seed);
  spec.count = static_cast<uint64_t>(f.count);
  const std::vector<train::Problem> problems = train::generate_suite(spec);
  if (f.output.empty()) {
    train::write_suite(std::cout, problems, f.traces);
    std::cout.flush();
    if (!std::cout) fail(ErrorCode::kIOError, "writing the suite to standard output failed");
  } else {
    train::write_suite_file(f.output, problems, f.traces);
    std::fprintf(stderr, "muse tasks: wrote %zu problems to %s\n", problems.size(), f.output.c_str());
  }
}

}  // namespace

void add_tasks_command(CLI::App& app) {
  auto flags = std::make_shared<TasksFlags>();
  auto* cmd = app.add_subcommand(
      "tasks",
      "Write a JSONL suite of generated problems with exactly checkable answers (families add, sub, mul, "
      "chain, word, list), one object per line: question, answer, family, difficulty, split, seed, checker "
      "(+ trace and short with --traces). See docs/tasks.md.");
  cmd->add_option("--family", flags->family,
                  "Family: add, sub, mul, chain, word, list, a comma list of them, or all (problems cycle "
                  "through the families); the practice families div and sort (for training data) are only "
                  "named, never part of all")
      ->capture_default_str();
  cmd->add_option("--seed", flags->seed,
                  "First seed inside the split's range: problem i has seed split_base + SEED + i; the same "
                  "flags always give the same suite")
      ->capture_default_str();
  cmd->add_option("-n,--count", flags->count, "Number of problems (at least 1)")->required();
  cmd->add_option("--difficulty", flags->difficulty,
                  "easy | standard | hard (hard has more digits, steps and list items than standard)")
      ->capture_default_str();
  cmd->add_option("--split", flags->split,
                  "train | val | test: disjoint seed ranges and disjoint problems (a test problem never "
                  "appears in train or val)")
      ->capture_default_str();
  cmd->add_flag("--traces", flags->traces,
                "Add the reference reasoning (\"trace\") and the one-line answer for no-thinking mode "
                "(\"short\")");
  cmd->add_option("-o,--output", flags->output,
                  "Write to this file (atomically: a temporary file, then a rename) instead of standard output");
  cmd->callback([flags] { run_tasks(*flags); });
}

}  // namespace muse::cli
