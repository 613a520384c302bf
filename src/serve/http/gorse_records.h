// The Gorse request bodies as vane records: what the Gorse routes (gorse_routes.cc) read from a client, as plain
// functions of JSON (no service), so that they can be tested and fuzzed alone. Private to src/serve/http.
//
// Gorse (v0.4 records, v0.5 additions) decodes a request with Go's encoding/json before storing anything: a value of
// the wrong type for a field refuses the request, null is the same as absent, unknown fields are ignored. These
// functions take and refuse the same; a refusal is an InvalidArgument naming the field (field() and the message),
// with reason "bad_id" when an id breaks the id rule (events/ids.h).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "vane/core/status.h"

namespace vane::http::gorse {

// Labels of another shape than an array of strings without commas (v0.5 takes any JSON) are kept verbatim in this
// item attribute; an array of plain strings is the item's text, comma-separated.
inline constexpr const char* kLabelsAttribute = "gorse_labels";

// A Gorse Item (ItemId, IsHidden, Categories, Labels: any JSON, Comment, Timestamp: a time string) as a vane item
// record (ItemFromJson's); a refusal is "<field>: <why>" (reason bad_item or bad_id).
Result<nlohmann::json> FromGorseItem(const nlohmann::json& g);
// A Gorse User (UserId, Labels: any JSON, Subscribe: strings, Comment): OK, or "<field>: <why>" (bad_user, bad_id).
Status CheckGorseUser(const nlohmann::json& u);
// A JSON array of Gorse Feedback objects (FeedbackType, UserId, ItemId, Timestamp: a time string, Value: a number,
// Comment) as event records (RawEventFromJson's), the FeedbackType as the action's name, as sent (the service's
// action registry knows Gorse's configured types: ServiceOptions::positive_feedback_types); the first refused one refuses them all, named
// "feedback <k>: <field>: <why>" (reason bad_feedback or bad_id).
Result<nlohmann::json> FeedbackEvents(const nlohmann::json& body);

}  // namespace vane::http::gorse
