// ISO-8601 times as the importers accept them.
#pragma once

#include <string_view>

#include "vane/core/ids.h"
#include "vane/core/status.h"

namespace vane {

// Parses "2024-05-01T12:00:00Z", "2024-05-01 12:00:00", "2024-05-01" (UTC; "+hh:mm" offsets honoured; fractions of
// a second dropped). InvalidArgument naming the value and what was expected otherwise.
Result<Timestamp> ParseIso8601(std::string_view s);

}  // namespace vane
