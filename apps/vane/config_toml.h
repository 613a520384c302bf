// The configuration of `vane serve`: a TOML file (docs/http_api.md), then VANE_* environment variables, then
// command-line flags (given flags win), and the API keys (KEY:SCOPE).
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "vane/core/status.h"
#include "vane/model/pipeline.h"
#include "vane/serve/http.h"
#include "vane/serve/service.h"

namespace vane::cli {

// "read", "write" or "admin".
Result<Scope> ParseScope(const std::string& s);

// Adds an API key given as KEY:SCOPE.
Status AddKey(const std::string& spec, HttpOptions& ho);

// Adds the keys of a key file: one KEY:SCOPE per line; blank lines and lines starting with '#' are skipped. An
// unreadable file or a bad line is an InvalidArgument naming the file and line; a file every user may read is
// warned about on stderr.
Status AddKeyFile(const std::string& path, HttpOptions& ho);

// One key, one scope: the same key given twice with different scopes (from any source) is an InvalidArgument.
Status CheckKeys(const HttpOptions& ho);

// One setting as the configuration table (config_toml.cc) declares it, with its value in the given options as text
// (numbers as they print, lists comma-separated, durations in seconds): for the documentation and the tests.
struct SettingInfo {
  std::string section, key;  // empty for the settings that are flags only
  std::string env;           // VANE_<SECTION>_<KEY> (empty for flags only)
  std::string alias_env;     // a shorter variable the setting also takes ("" when none)
  std::string kind;          // "integer", "number", "string", "list", "duration"
  double lo = 0, hi = 0;
  std::string value;
};
std::vector<SettingInfo> DescribeSettings(ServiceOptions& so, HttpOptions& ho, std::string& model, TrainerSpec& spec);

// Applies the TOML file at `path` (none when empty), then the environment, to the options; a setting whose flag was
// given on `cmd` keeps the flag's value. Every setting is checked once, whatever its source (one table in
// config_toml.cc: type and range): an unknown section or key, a value of the wrong type or out of range, a
// [[keys]] entry without a scope are InvalidArgument naming the file, line and key (or the variable or flag).
Status ApplyConfig(const std::string& path, CLI::App* cmd, ServiceOptions& so, HttpOptions& ho, std::string& model,
                   TrainerSpec& spec);

}  // namespace vane::cli
