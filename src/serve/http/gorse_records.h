// The Gorse request bodies as vane records: what the Gorse routes (gorse_routes.cc) read from a client, as plain
// functions of JSON (no service), so that they can be tested and fuzzed alone. Private to src/serve/http.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "vane/core/status.h"

namespace vane::http::gorse {

// Gorse feedback types map to vane actions ("star" -> "like", "read"/"watch" -> "view"); others keep their name.
std::string GorseAction(const std::string& t);
// A Gorse Item (ItemId, IsHidden, Categories, Labels, Comment, Timestamp) as a vane item record (ItemFromJson's).
Result<nlohmann::json> FromGorseItem(const nlohmann::json& g);
// A JSON array of Gorse Feedback objects as event records (RawEventFromJson's); the first malformed one refuses
// the request (bad_feedback), naming it.
Result<nlohmann::json> FeedbackEvents(const nlohmann::json& body);

}  // namespace vane::http::gorse
