// vane's native JSONL files (events/jsonl.h): the input is an items.jsonl and an events.jsonl (split at a line
// holding only \x1e), read as `vane import` reads them; the first byte picks skip or fail on errors.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "vane/events/dataset.h"
#include "vane/events/jsonl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  auto parts = vane::fuzz::SplitParts(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1), 2);
  const std::string items = vane::fuzz::WriteScratch("items.jsonl", parts[0]);
  const std::string events = vane::fuzz::WriteScratch("events.jsonl", parts.size() > 1 ? parts[1] : "");
  vane::ImportOptions io;
  io.progress = false;
  io.on_error = (data[0] & 1) ? vane::OnError::kFail : vane::OnError::kSkip;
  vane::Dataset ds;
  ds.actions = vane::ActionRegistry::Preset("ecommerce").value();
  vane::ImportReport report;
  vane::Status s = vane::ImportItemsJsonl(items, io, ds, report);
  FUZZ_CHECK(s.code() != vane::StatusCode::kInternal);  // an exception escaped a reader
  const size_t items_after = ds.catalog.size();
  vane::ImportReport er;
  s = vane::ImportEventsJsonl(events, io, ds, er);
  FUZZ_CHECK(s.code() != vane::StatusCode::kInternal);
  FUZZ_CHECK(ds.events.size() == er.accepted);
  FUZZ_CHECK(er.records_read == er.accepted + er.rejected + er.duplicates);
  FUZZ_CHECK(ds.catalog.size() == items_after + er.items_created);
  return 0;
}
