// muse tokenize: not built yet; registered so that --help lists every planned command honestly.
#include "cli/commands.h"
#include "core/error.h"

namespace muse::cli {

void add_tokenize_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenize", "(not implemented yet)");
  cmd->callback([] { muse::fail(muse::ErrorCode::kUnsupported, "'muse tokenize' is not implemented yet"); });
}

}  // namespace muse::cli
