// The fast path of POST /v1/events (Debian libsimdjson-dev): a body in the common shape, a JSON array of flat event
// objects, read into event records without building nlohmann's document (which took ~25% of the server's CPU in
// durable ingestion; BENCHMARKS §12). Private to src/serve/http.
//
// Contract: when it returns records, they are exactly what ParseBody + EventRecords (RawEventFromJson) give for the
// same body; it returns nullopt for every body it does not read that way, and the route then takes that path, which
// gives the answers and errors for everything else. Read here: a top-level array whose elements are objects;
// members "user", "item", "session" (a string or an integer), "query", "action" (strings), "ts" (an integer in the
// int64 range), "value" (any number), "context" (a string), null for any of them (absent), any other member
// (ignored, as RawEventFromJson ignores it). Left to the full path: malformed JSON, another top-level value (the
// {"events": [...]} wrapper included), a non-object element, any other type of a known member (a wrong type is
// that path's precise error; a time as a string or a fraction; a context that is an object), a member given
// twice. The caller checks the nesting depth first (kMaxJsonDepth), as ParseBody does. Thread-safe (one parser
// per thread).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "vane/core/status.h"
#include "vane/events/types.h"

namespace vane::http {

std::optional<std::vector<Result<RawEvent>>> FastEventRecords(std::string_view body);

}  // namespace vane::http
