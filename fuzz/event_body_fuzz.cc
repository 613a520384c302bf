// POST /v1/events's fast path (src/serve/http/event_body.cc, simdjson) against the full path (nlohmann::json and
// EventRecords): whenever the fast path reads a body, the full path must read it too, into the same records, field
// by field and bit by bit (its contract, event_body.h). A differential target: a disagreement is a crash.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "event_body.h"
#include "fuzz_util.h"
#include "vane/events/json_records.h"

namespace {

std::string Describe(const vane::Result<vane::RawEvent>& r) {
  if (!r.ok()) return "error " + r.status().field() + ": " + r.status().message();
  const vane::RawEvent& e = r.value();
  uint64_t bits = 0;
  std::memcpy(&bits, &e.value, 8);
  return fmt::format("user={:?} item={:?} query={:?} action={:?} session={:?} context={:?} ts={}/{} value={:x}/{}",
                     e.user, e.item, e.query, e.action, e.session, e.context, e.ts, e.has_ts, bits, e.has_value);
}

// The full path: src/serve/http/json.cc's EventRecords, mirrored here (that file needs the whole service module,
// which the fuzz build leaves out): a non-object element is a "record" error, an object RawEventFromJson's.
std::vector<vane::Result<vane::RawEvent>> EventRecords(const nlohmann::json& array) {
  std::vector<vane::Result<vane::RawEvent>> out;
  for (const nlohmann::json& j : array) {
    if (!j.is_object())
      out.emplace_back(vane::Status::InvalidArgument("wrong type: expected a JSON object").WithField("record"));
    else out.emplace_back(vane::RawEventFromJson(j));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  auto fast = vane::http::FastEventRecords(body);
  if (!fast) return 0;
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  FUZZ_CHECK(!j.is_discarded() && j.is_array());  // the fast path read a body the full path refuses
  auto full = EventRecords(j);
  FUZZ_CHECK(full.size() == fast->size());
  for (size_t i = 0; i < full.size(); ++i) FUZZ_CHECK(Describe((*fast)[i]) == Describe(full[i]));
  return 0;
}
