// Delimited behaviour files (CSV, TSV, ...): the column mapping, the RFC 4180 record splitter and the importer.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vane/core/status.h"
#include "vane/events/cleaner.h"

namespace vane {

// Column mapping for delimited files. Column names refer to the header; with has_header=false use "0", "1", ...
struct CsvMapping {
  char delimiter = ',';
  bool has_header = true;
  std::string user = "user", item = "item", query = "query", action = "action", ts = "ts", value = "value",
              session = "session", context = "context";
  std::string default_action;        // used when the action column is absent or empty ("" = reject such rows)
  enum class TimeFormat { kUnixSeconds, kUnixMillis, kIso8601 } time_format = TimeFormat::kUnixSeconds;
};

// Reads events from a delimited file through an EventCleaner (cleaner.h for the counting and error rules).
Status ImportEventsCsv(const std::string& path, const CsvMapping& mapping, const ImportOptions& opt, Dataset& ds,
                       ImportReport& report);

// Splits one delimited record (RFC 4180: quoted fields may hold the delimiter, doubled quotes and line breaks).
// Returns false when a quoted field is still open at the end of `record` (the caller appends the next line).
bool SplitCsv(std::string_view record, char delimiter, std::vector<std::string>& fields);

}  // namespace vane
