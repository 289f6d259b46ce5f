// muse template: not built yet; registered so that --help lists every planned command honestly.
#include "cli/commands.h"
#include "core/error.h"

namespace muse::cli {

void add_template_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("template", "(not implemented yet)");
  cmd->callback([] { muse::fail(muse::ErrorCode::kUnsupported, "'muse template' is not implemented yet"); });
}

}  // namespace muse::cli
