// muse info: not built yet; registered so that --help lists every planned command honestly.
#include "cli/commands.h"
#include "core/error.h"

namespace muse::cli {

void add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "(not implemented yet)");
  cmd->callback([] { muse::fail(muse::ErrorCode::kUnsupported, "'muse info' is not implemented yet"); });
}

}  // namespace muse::cli
