#include "vane/events/jsonl.h"

#include <exception>
#include <functional>

#include <nlohmann/json.hpp>

#include "values.h"
#include "vane/core/strings.h"
#include "vane/events/ids.h"
#include "vane/events/json_records.h"
#include "vane/events/line_reader.h"
#include "vane/text/tokenize.h"

namespace vane {
namespace {

using nlohmann::json;

// Parses a JSONL line into an object; a rejection of the whole record otherwise.
Status ParseJsonLine(std::string_view line, json& j) {
  j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return RecordRejection("record", text::IsValidUtf8(line) ? "not valid JSON" : "invalid UTF-8");
  if (!j.is_object())
    return RecordRejection("record", std::string("wrong type: expected a JSON object, got ") +
                                         (j.is_number() ? "number" : j.type_name()));
  return Status::Ok();
}

// Reads the non-blank lines of a JSONL file: `record` handles one parsed object and returns the record's Status
// (a rejection it has already counted, or OK). Stops at the first rejection under OnError::kFail, located in the
// file, or when `done` says so.
Status ReadJsonl(const std::string& path, const ImportOptions& opt, ImportReport& report,
                 const std::function<Status(const json&, uint64_t line)>& record,
                 const std::function<bool()>& done = nullptr) {
  try {
    LineReader lr;
    VANE_RETURN_IF_ERROR(lr.Open(path));
    if (opt.progress) lr.ShowProgress("import " + events_detail::BaseName(path));
    json j;
    std::string_view line;
    while (lr.Next(line)) {
      if (Trim(line).empty()) continue;
      Status s = ParseJsonLine(line, j);
      s = s.ok() ? record(j, lr.line_no()) : RejectRecord(opt, report, path, lr.line_no(), s.field(), s.message());
      if (!s.ok() && opt.on_error == OnError::kFail) return AtRecord(s, path, lr.line_no());
      if (done && done()) break;
    }
    return lr.error();
  } catch (const std::exception& e) {
    return Status::Internal(path + ": " + e.what());
  }
}

}  // namespace

Status ImportEventsJsonl(const std::string& path, const ImportOptions& opt, Dataset& ds, ImportReport& report) {
  EventCleaner cleaner(ds, opt, report);
  const uint64_t base = report.accepted;
  auto event = [&](const json& j, uint64_t line) {
    Result<RawEvent> raw = RawEventFromJson(j);
    if (!raw.ok()) return RejectRecord(opt, report, path, line, raw.status().field(), raw.status().message());
    return cleaner.Add(*raw, path, line);
  };
  auto done = [&] { return opt.max_events && report.accepted - base >= opt.max_events; };
  return ReadJsonl(path, opt, report, event, done);
}

Status ImportItemsJsonl(const std::string& path, const ImportOptions& opt, Dataset& ds, ImportReport& report) {
  auto item = [&](const json& j, uint64_t line) {
    Result<Item> it = ItemFromJson(j);
    if (!it.ok()) return RejectRecord(opt, report, path, line, it.status().field(), it.status().message());
    if (Status id = CheckId("id", it->id); !id.ok() && opt.check_ids)
      return RejectRecord(opt, report, path, line, id.field(), id.message());
    ++report.records_read;
    ++report.accepted;
    ds.catalog.Upsert(std::move(it).value());
    return Status::Ok();
  };
  return ReadJsonl(path, opt, report, item);
}

}  // namespace vane
