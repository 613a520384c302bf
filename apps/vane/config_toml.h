// The configuration of `vane serve`: a TOML file (docs/http_api.md), then VANE_* environment variables, then
// command-line flags (given flags win), and the API keys (KEY:SCOPE).
#pragma once

#include <string>

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

// Applies the TOML file at `path` (none when empty), then the environment, to the options; a setting whose flag was
// given on `cmd` keeps the flag's value.
Status ApplyConfig(const std::string& path, CLI::App* cmd, ServiceOptions& so, HttpOptions& ho, std::string& model,
                   TrainerSpec& spec);

}  // namespace vane::cli
