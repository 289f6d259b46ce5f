// muse quantize: not built yet; registered so that --help lists every planned command honestly.
#include "cli/commands.h"
#include "core/error.h"

namespace muse::cli {

void add_quantize_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("quantize", "(not implemented yet)");
  cmd->callback([] { muse::fail(muse::ErrorCode::kUnsupported, "'muse quantize' is not implemented yet"); });
}

}  // namespace muse::cli
