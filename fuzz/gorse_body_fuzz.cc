// The Gorse API's request bodies (src/serve/http/gorse_records.h) on their way to vane's records: Feedback arrays
// (POST/PUT /api/feedback) through FeedbackEvents and RawEventFromJson, Item objects and arrays (POST /api/item,
// /api/items) through FromGorseItem and ItemFromJson, as the routes chain them.
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "gorse_records.h"
#include "vane/events/json_records.h"

namespace {

using nlohmann::json;

void Item(const json& g) {
  auto rec = vane::http::gorse::FromGorseItem(g);
  if (!rec.ok()) return;
  auto item = vane::ItemFromJson(rec.value());
  if (item.ok()) FUZZ_CHECK(item->id == g["ItemId"].get<std::string>());
  else FUZZ_CHECK(!item.status().field().empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  json body = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return 0;
  if (!body.is_array()) {
    Item(body);
    return 0;
  }
  for (const json& g : body) Item(g);
  auto events = vane::http::gorse::FeedbackEvents(body);
  if (!events.ok()) {
    FUZZ_CHECK(events.status().reason() == "bad_feedback" || events.status().reason() == "bad_id");
    return 0;
  }
  FUZZ_CHECK(events->size() == body.size());
  for (const json& e : *events) {
    auto raw = vane::RawEventFromJson(e);
    if (raw.ok()) FUZZ_CHECK(!raw->user.empty() || e["user"].get<std::string>().empty());
    else FUZZ_CHECK(!raw.status().field().empty());
  }
  return 0;
}
