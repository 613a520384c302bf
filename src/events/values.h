// Field values as the importers read and quote them (private to the events module).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "vane/core/ids.h"

namespace vane::events_detail {

// A value quoted in a message: shortened, with bytes that are not valid UTF-8 shown as \xNN so that the report
// (and its JSON form) stays valid UTF-8 whatever the input held.
std::string Quote(std::string_view s, size_t max = 40);

// Whole-field numbers (surrounding blanks and a leading '+' allowed); false when `s` is anything else.
bool ParseDouble(std::string_view s, double& out);
bool ParseInt64(std::string_view s, int64_t& out);

// Seconds (possibly fractional) to a Timestamp; false when not representable.
bool SecondsToTs(double v, Timestamp& out);

// The last component of a path ("a/b/events.csv" -> "events.csv").
std::string BaseName(const std::string& path);

}  // namespace vane::events_detail
