// vane: the command-line tool. Builds the command line and runs the subcommand it names; each subcommand lives in
// its own file (commands.h) and calls the library.
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "vane/core/heap.h"
#include "vane_version.h"

int main(int argc, char** argv) {
  using namespace vane::cli;
  CLI::App app{"vane: real-time interest capture and recommendation"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("vane ") + VANE_VERSION + " (" + VANE_COMMIT + ")");
  const std::vector<Command> commands = {
      AddGenerateCommand(app),  AddImportCommand(app), AddEvalCommand(app),      AddRecommendCommand(app),
      AddInterestsCommand(app), AddCaptureCommand(app), AddTokenizerCommand(app), AddTrainCommand(app),
      AddServeCommand(app),     AddDemoCommand(app),     AddReplayCommand(app),  AddStoreCommand(app),
      AddDecoderCommand(app),   AddTuneCommand(app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);  // prints help or the parse error
    return rc == 0 ? 0 : kExitUsage;
  }
  // Batch commands keep freed memory for reuse (training and scoring allocate and free large tensors; see
  // vane/core/heap.h); `vane serve` keeps it only while it retrains.
  for (const Command& c : commands) {
    if (!*c.app) continue;
    std::optional<vane::HeapKeeper> keep;
    if (c.app->get_name() != "serve") keep.emplace();
    return c.run();
  }
  return kExitUsage;
}
