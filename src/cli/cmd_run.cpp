// muse run: not built yet; registered so that --help lists every planned command honestly.
#include "cli/commands.h"
#include "core/error.h"

namespace muse::cli {

void add_run_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "(not implemented yet)");
  cmd->callback([] { muse::fail(muse::ErrorCode::kUnsupported, "'muse run' is not implemented yet"); });
}

}  // namespace muse::cli
