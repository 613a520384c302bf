// One event or item from a parsed JSON object: the JSONL readers (jsonl.h), the store and the HTTP API share them.
//
// Events: {"user","item","query","action","ts","value","session","context"}; ids may be strings or integers, "ts"
// a number (unix seconds) or a string (unix seconds or ISO-8601), "context" any JSON value (kept as text).
// Items: {"id","type","title","text","categories":[..],"attributes":{..},"available","created"}.
// On a wrong type or a missing id the Status is InvalidArgument with the field in field() and the reason as
// message().
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "vane/core/status.h"
#include "vane/events/types.h"

namespace vane {

Result<RawEvent> RawEventFromJson(const nlohmann::json& j);
Result<Item> ItemFromJson(const nlohmann::json& j);

}  // namespace vane
