// The store's records (store/store.h): StoredEventFromJson and StoredItemFromJson read every value of the event
// log and the catalogue back at start-up (a damaged store must give a Status, not a crash); what they accept must
// survive EventToJson / ItemToJson and back unchanged. Format 2's event blocks (store/event_block.h) likewise:
// ForEachStoredEvent on the same bytes (with the block tag put in front) gives events in increasing positions or
// a store_corrupt Status; the events it gives, written again as a block, read back the same.
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>
#include <string_view>

#include "fuzz_util.h"
#include "vane/store/event_block.h"
#include "vane/store/store.h"

namespace {

bool Same(const vane::RawEvent& a, const vane::RawEvent& b) {
  return a.user == b.user && a.item == b.item && a.query == b.query && a.action == b.action && a.has_ts == b.has_ts &&
         (!a.has_ts || a.ts == b.ts) && a.has_value == b.has_value && (!a.has_value || a.value == b.value) &&
         a.session == b.session && a.context == b.context;
}

bool Same(const vane::Item& a, const vane::Item& b) {
  return a.id == b.id && a.type == b.type && a.title == b.title && a.text == b.text && a.categories == b.categories &&
         a.attributes == b.attributes && a.available == b.available && a.created == b.created;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view value(reinterpret_cast<const char*>(data), size);
  auto e = vane::StoredEventFromJson(7, value);
  if (e.ok()) {
    FUZZ_CHECK(!e->has_value || std::isfinite(e->value));  // the log holds cleaned events: finite values only
    auto again = vane::StoredEventFromJson(7, vane::EventToJson(*e));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(Same(*e, *again));
  } else {
    FUZZ_CHECK(e.status().code() == vane::StatusCode::kIoError);
  }
  auto item = vane::StoredItemFromJson("key", value);
  if (item.ok()) {
    auto again = vane::StoredItemFromJson("key", vane::ItemToJson(*item));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(Same(*item, *again));
  } else {
    FUZZ_CHECK(item.status().code() == vane::StatusCode::kIoError);
  }
  std::string block(1, vane::kEventBlockTag);
  block.append(value);
  std::vector<std::pair<uint64_t, vane::RawEvent>> got;
  vane::Status bs = vane::ForEachStoredEvent(1000, block, [&](uint64_t seq, vane::RawEvent&& e) { got.emplace_back(seq, std::move(e)); });
  if (bs.ok()) {
    for (size_t i = 0; i < got.size(); ++i) FUZZ_CHECK(got[i].first >= 1000 && (i == 0 || got[i].first > got[i - 1].first));
    for (const auto& [seq, e] : got) FUZZ_CHECK(!e.has_value || std::isfinite(e.value));  // damage, refused
    if (!got.empty()) {
      vane::EventBlockWriter w(static_cast<uint32_t>(got.back().first - 1000 + 1));
      for (const auto& [seq, e] : got) w.Add(static_cast<uint32_t>(seq - 1000), e);
      std::vector<std::pair<uint64_t, vane::RawEvent>> again;
      FUZZ_CHECK(vane::ForEachStoredEvent(1000, w.Finish(), [&](uint64_t seq, vane::RawEvent&& e) {
                   again.emplace_back(seq, std::move(e));
                 }).ok());
      FUZZ_CHECK(again.size() == got.size());
      for (size_t i = 0; i < got.size(); ++i) FUZZ_CHECK(again[i].first == got[i].first && Same(again[i].second, got[i].second));
    }
  } else {
    FUZZ_CHECK(bs.code() != vane::StatusCode::kInternal);
  }
  return 0;
}
