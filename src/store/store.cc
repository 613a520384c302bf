// What every store shares: the stored JSON forms and the full load.
#include "vane/store/store.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "vane/events/import.h"

namespace vane {

using json = nlohmann::json;

Result<uint64_t> Store::Load(const std::function<void(Item&&)>& on_item,
                             const std::function<void(uint64_t, RawEvent&&)>& on_event) const {
  VANE_RETURN_IF_ERROR(LoadItems(on_item));
  return LoadEvents(0, on_event);
}

std::string EventToJson(const RawEvent& e) {
  json j = {{"user", e.user}};
  if (!e.item.empty()) j["item"] = e.item;
  if (!e.query.empty()) j["query"] = e.query;
  if (!e.action.empty()) j["action"] = e.action;
  if (e.has_ts) j["ts"] = e.ts;
  if (e.has_value) j["value"] = e.value;
  if (!e.session.empty()) j["session"] = e.session;
  if (!e.context.empty()) j["context"] = e.context;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string ItemToJson(const Item& it) {
  json j = {{"id", it.id}, {"type", it.type}};
  if (!it.title.empty()) j["title"] = it.title;
  if (!it.text.empty()) j["text"] = it.text;
  if (!it.categories.empty()) j["categories"] = it.categories;
  if (!it.attributes.empty()) {
    json a = json::object();
    for (const auto& [k, v] : it.attributes) a[k] = v;
    j["attributes"] = a;
  }
  j["available"] = it.available;
  if (it.created) j["created"] = it.created;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<RawEvent> StoredEventFromJson(uint64_t seq, std::string_view value) {
  json j = json::parse(value, nullptr, false);
  if (j.is_discarded()) return Status(StatusCode::kIoError, "store_corrupt", fmt::format("store: event {} is corrupt (not JSON)", seq));
  auto e = RawEventFromJson(j);
  if (!e.ok())
    return Status(StatusCode::kIoError, "store_corrupt",
                  fmt::format("store: event {} is corrupt ({} {})", seq, e.status().field(), e.status().message()));
  return e;
}

Result<Item> StoredItemFromJson(std::string_view key, std::string_view value) {
  json j = json::parse(value, nullptr, false);
  if (j.is_discarded()) return Status(StatusCode::kIoError, "store_corrupt", fmt::format("store: item {} is corrupt (not JSON)", key));
  auto item = ItemFromJson(j);
  if (!item.ok())
    return Status(StatusCode::kIoError, "store_corrupt",
                  fmt::format("store: item {} is corrupt ({} {})", key, item.status().field(), item.status().message()));
  return item;
}

}  // namespace vane
