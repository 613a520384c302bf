// The TOML configuration of `vane serve` (apps/vane/config_toml.h ApplyConfig): toml++'s parser (header-only, so
// instrumented) and vane's reading of every table ([server], [store], [model], [memory], [training],
// [[variants]], [[keys]]). The first input byte picks which command-line flags count as given (a given flag keeps
// its value over the file's). ApplyConfig asks the command which flags were given by name: the flags it asks
// about are declared below as `vane serve` declares them (apps/vane/serve.cc), so one it starts asking about
// must be added here too (the target then stops with a message naming it).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "config_toml.h"
#include "fuzz_util.h"

// TrainerSpec's default (model/pipeline.cc) lives in the libtorch module, which the fuzz build leaves out: the
// defaults only seed what a [training] table overrides, so the plain SeqModelConfig stands in for them here.
vane::SeqModelConfig vane::BackgroundModelConfig() { return {}; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string path =
      vane::fuzz::WriteScratch("vane.toml", std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  vane::ServiceOptions so;
  vane::HttpOptions ho;
  vane::TrainerSpec spec;
  std::string model, flag_value;
  CLI::App cmd("fuzz");
  static const char* kFlags[] = {"--host", "--port", "--store", "--model", "--threads", "--retrain-every",
                                 "--train-epochs", "--model-cache-users", "--model-cache-vectors", "--max-future",
                                 "--diversity", "--snapshot-every"};
  std::vector<std::string> args;
  for (size_t f = 0; f < std::size(kFlags); ++f) {
    cmd.add_option(kFlags[f], flag_value);
    if (data[0] & (1u << (f % 8))) {
      args.push_back(kFlags[f]);
      args.push_back("1");
    }
  }
  std::reverse(args.begin(), args.end());  // CLI11 parses a vector from its back
  cmd.parse(args);
  try {
    vane::Status s = vane::cli::ApplyConfig(path, &cmd, so, ho, model, spec);
    if (!s.ok()) FUZZ_CHECK(!s.message().empty());
  } catch (const CLI::OptionNotFound& e) {
    std::fprintf(stderr, "config_toml.cc asks about a flag fuzz/config_toml_fuzz.cc does not declare: %s\n", e.what());
    std::abort();
  }
  return 0;
}
