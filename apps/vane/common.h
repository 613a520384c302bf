// What the commands of the vane CLI share: the subcommand shape, exit codes, the data flags and loading, replaying
// the data into an engine, and printing recommendations.
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "vane/core/status.h"
#include "vane/events/formats.h"
#include "vane/gen/generator.h"
#include "vane/recommend/engine.h"

namespace vane::cli {

// Exit codes: 0 ok, 1 runtime failure (I/O, data), 2 bad usage.
constexpr int kExitFail = 1;
constexpr int kExitUsage = 2;

// A subcommand: its CLI11 node, and what runs it once the command line is parsed (it returns the exit code). Each
// command file's Add*Command registers the subcommand's options into an argument struct the `run` closure owns.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

struct DataFlags {
  std::string format = "generated";
  std::string input;
  std::string on_error = "skip";
  size_t max_events = 0;
  uint64_t seed = 42;
  int users = 300;
  bool quiet = false;
  // --format csv: the column mapping (events/csv.h) and what else a generic file needs.
  std::string columns, delimiter = ",", time_format = "unix", default_action, items, actions = "ecommerce";
  bool no_header = false;
};

void AddDataFlags(CLI::App* app, DataFlags& f);

// The import settings the flags name (error policy, progress bar, event limit).
LoadOptions ToLoadOptions(const DataFlags& f);

// Loads the dataset named by the flags. Generated data also returns its truth (for capture).
Status Load(const DataFlags& f, Dataset& ds, gen::Generated* gen_out = nullptr);
// A file in the format the flags name (not generated data), with its report; prints nothing.
Status LoadFile(const DataFlags& f, Dataset& ds, ImportReport& report);

// Prints "error: ..." and returns the exit code: 2 for invalid arguments, else 1.
int Fail(const Status& s);

// Ingests every event (time order when timestamped) and reports the rate.
void IngestAll(const Dataset& ds, Engine& engine, bool quiet);

// A minute after the data's last event: "now" for requests against a replayed dataset.
Timestamp DataNow(const Dataset& ds);

// --now: unix seconds or ISO-8601; empty gives `fallback`. Invalid input is an InvalidArgument naming the value.
Result<Timestamp> ParseNow(const std::string& text, Timestamp fallback);

// Writes `text` to `path`, creating its folder; failures carry the operating system's reason.
Status WriteText(const std::string& path, const std::string& text);

void PrintRecs(const RecommendResponse& r, bool zh);

}  // namespace vane::cli
