// Delimited files (events/csv.h): SplitCsv's RFC 4180 records and ImportEventsCsv with a mapping picked by the
// first input byte (delimiter, header or not, time format, default action, skip or fail on errors).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "vane/events/csv.h"
#include "vane/events/dataset.h"

namespace {

void CheckSplit(std::string_view rec, char delim) {
  std::vector<std::string> fields = {"stale", "values"};
  bool complete = vane::SplitCsv(rec, delim, fields);
  if (rec.find('"') == std::string_view::npos) {
    // Without quotes a record is its fields joined by the delimiter.
    FUZZ_CHECK(complete);
    std::string joined;
    for (size_t k = 0; k < fields.size(); ++k) joined += (k ? std::string(1, delim) : "") + fields[k];
    FUZZ_CHECK(joined == rec);
  }
  if (complete) FUZZ_CHECK(!fields.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t opt = data[0];
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  static constexpr char kDelims[] = {',', ';', '\t', '|'};
  vane::CsvMapping m;
  m.delimiter = kDelims[opt & 3];
  m.has_header = !(opt & 4);
  m.time_format = static_cast<vane::CsvMapping::TimeFormat>((opt >> 3) % 3);
  if (opt & 32) m.default_action = "view";
  if (!m.has_header) {
    m.user = "0";
    m.item = "1";
    m.action = (opt & 64) ? "2" : "action";
    m.ts = "3";
  }
  CheckSplit(body.substr(0, body.find('\n')), m.delimiter);

  const std::string path = vane::fuzz::WriteScratch("events.csv", body);
  vane::ImportOptions io;
  io.progress = false;
  io.on_error = (opt & 128) ? vane::OnError::kFail : vane::OnError::kSkip;
  vane::Dataset ds;
  ds.actions = vane::ActionRegistry::Preset("ecommerce").value();
  vane::ImportReport report;
  vane::Status s = vane::ImportEventsCsv(path, m, io, ds, report);
  FUZZ_CHECK(s.code() != vane::StatusCode::kInternal);  // an exception escaped a reader
  FUZZ_CHECK(ds.events.size() == report.accepted);
  // Every record read is accepted, a duplicate or rejected (cleaner.h).
  FUZZ_CHECK(report.records_read == report.accepted + report.rejected + report.duplicates);
  return 0;
}
