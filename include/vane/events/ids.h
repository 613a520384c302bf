// The one rule for external ids (users, items, sessions), applied wherever an id enters: the cleaner (every event
// reader and the HTTP API), item records (json_records.h), the service's user records and the HTTP path parameters.
//
// An id is 1..kMaxIdBytes bytes of valid UTF-8 holding no control character (U+0000..U+001F, U+007F) and no '/'.
// So every accepted id can be addressed percent-encoded in a URL path ('/' would end the path parameter), and
// none can hold the separators of the store's keys (NUL: the per-user event index is user + '\0' + position;
// U+001F: the online counters' names).
#pragma once

#include <cstddef>
#include <string_view>

#include "vane/core/status.h"

namespace vane {

constexpr size_t kMaxIdBytes = 256;

// OK when `id` follows the rule. Otherwise InvalidArgument with reason "bad_id", field() `field` and a message that
// says why ("bad id: '/' at byte 3; ids are 1..256 bytes of UTF-8 without control characters or '/'").
Status CheckId(std::string_view field, std::string_view id);

}  // namespace vane
