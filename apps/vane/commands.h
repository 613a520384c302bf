// The subcommands of the vane CLI, one file each (recommend and interests share theirs). Each registers its
// options on `app` and returns the command with what runs it (common.h).
#pragma once

#include <CLI/CLI.hpp>

#include "common.h"

namespace vane::cli {

Command AddGenerateCommand(CLI::App& app);
Command AddImportCommand(CLI::App& app);
Command AddEvalCommand(CLI::App& app);
Command AddRecommendCommand(CLI::App& app);
Command AddInterestsCommand(CLI::App& app);
Command AddCaptureCommand(CLI::App& app);
Command AddTokenizerCommand(CLI::App& app);
Command AddTrainCommand(CLI::App& app);
Command AddDecoderCommand(CLI::App& app);
Command AddTuneCommand(CLI::App& app);
Command AddServeCommand(CLI::App& app);
Command AddDemoCommand(CLI::App& app);
Command AddReplayCommand(CLI::App& app);
Command AddStoreCommand(CLI::App& app);

}  // namespace vane::cli
