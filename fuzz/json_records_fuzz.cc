// RawEventFromJson and ItemFromJson (events/json_records.h): one JSON object as an event or an item, the records
// of the JSONL files, the store and the HTTP API; an accepted event then goes through the cleaning rules.
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "vane/events/cleaner.h"
#include "vane/events/dataset.h"
#include "vane/events/json_records.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  auto item = vane::ItemFromJson(j);
  if (item.ok()) {
    FUZZ_CHECK(!item->id.empty());
  } else {
    FUZZ_CHECK(!item.status().field().empty());
  }
  auto raw = vane::RawEventFromJson(j);
  if (!raw.ok()) {
    FUZZ_CHECK(!raw.status().field().empty());
    return 0;
  }
  vane::Dataset ds;
  ds.actions = vane::ActionRegistry::Preset("ecommerce").value();
  vane::ImportOptions io;
  io.progress = false;
  vane::ImportReport report;
  vane::EventCleaner cleaner(ds, io, report);
  vane::Status s = cleaner.Add(*raw, "fuzz", 1);
  FUZZ_CHECK(s.ok() == (report.accepted + report.duplicates == 1));
  if (!s.ok()) FUZZ_CHECK(!s.field().empty());
  return 0;
}
