// The `muse` subcommands. Each lives in its own cmd_<name>.cpp and only parses flags and calls the
// modules; add_<name>_command registers it on the app. Errors are thrown as muse::Error and reported
// by main() as "muse: error: ..." with a non-zero exit status.
#pragma once

#include <CLI/CLI.hpp>

namespace muse::cli {

void add_info_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_quantize_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_template_command(CLI::App& app);
void add_tasks_command(CLI::App& app);
void add_chat_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_serve_command(CLI::App& app);

}  // namespace muse::cli
