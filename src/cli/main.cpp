// muse: the OpenMuse command-line program. Subcommands are registered from cmd_*.cpp (commands.h).
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"OpenMuse: an open, self-hosted reasoning engine for GGUF models", "muse"};
  app.set_version_flag("--version", "muse 0.1.0");
  app.require_subcommand(1);
  app.fallthrough(false);

  muse::cli::add_info_command(app);
  muse::cli::add_run_command(app);
  muse::cli::add_bench_command(app);
  muse::cli::add_quantize_command(app);
  muse::cli::add_tokenize_command(app);
  muse::cli::add_template_command(app);
  muse::cli::add_tasks_command(app);
  muse::cli::add_chat_command(app);
  muse::cli::add_eval_command(app);
  muse::cli::add_train_command(app);
  muse::cli::add_serve_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);  // prints help/version (exit 0) or the flag error (exit 2)
  } catch (const muse::Error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "muse: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "muse: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
