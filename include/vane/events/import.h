// Cleaning import of behaviour and catalogue files.
//
// Every reader validates each record, fills missing values by the documented rules (docs/data_formats.md),
// de-duplicates exact repeats and reports every rejected record with file, line, field and reason. With
// OnError::kSkip bad records are skipped and reported; with OnError::kFail the first bad record stops the import
// with an InvalidArgument Status naming it. Valid records are never dropped silently: every record read is counted
// as accepted, filled, clipped, duplicate or rejected. Functions append to a Dataset; they are not thread-safe with
// respect to that Dataset.
#pragma once

#include <cstdint>
#include <cstdio>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "vane/core/progress.h"
#include "vane/core/status.h"
#include "vane/events/dataset.h"

namespace vane {

enum class OnError { kSkip, kFail };

struct ImportIssue {
  std::string file;
  uint64_t line = 0;      // 1-based physical line (record index for in-memory sources)
  std::string field;      // "user", "ts", "value", "action", ... or "record" for the whole line
  std::string reason;
};

struct ImportReport {
  uint64_t records_read = 0;
  uint64_t accepted = 0;       // stored (including filled and clipped ones)
  uint64_t rejected = 0;       // reported in issues (up to max_issues kept, all counted)
  uint64_t duplicates = 0;     // exact repeats skipped (counted, not errors)
  uint64_t filled = 0;         // accepted with at least one value filled by rule
  uint64_t clipped = 0;        // accepted with a value clipped to its valid range
  uint64_t items_created = 0;  // catalogue entries created for unknown item ids
  std::map<std::string, uint64_t> rejected_by_reason;
  std::vector<ImportIssue> issues;
  size_t max_issues = 1000;

  void Reject(ImportIssue issue);
  // Prints the summary table (counts, top reasons, first issues).
  void Print(std::ostream& os, size_t show_issues = 10) const;
  std::string ToJson() const;
};

struct ImportOptions {
  OnError on_error = OnError::kSkip;
  bool progress = true;             // progress bar with rate and ETA on stderr
  bool dedup = true;                // drop exact duplicate events (same user, item, query, action, ts, value)
  Timestamp min_ts = 0;             // 1970-01-01; earlier timestamps are rejected
  Timestamp max_ts = 4102444800;    // 2100-01-01; later timestamps are rejected
  double max_dwell_seconds = 4 * 3600;  // longer dwell is clipped (a tab left open)
  size_t max_events = 0;            // event readers stop after this many accepted events (0 = all)
};

// Column mapping for delimited files. Column names refer to the header; with has_header=false use "0", "1", ...
struct CsvMapping {
  char delimiter = ',';
  bool has_header = true;
  std::string user = "user", item = "item", query = "query", action = "action", ts = "ts", value = "value",
              session = "session", context = "context";
  std::string default_action;        // used when the action column is absent or empty ("" = reject such rows)
  enum class TimeFormat { kUnixSeconds, kUnixMillis, kIso8601 } time_format = TimeFormat::kUnixSeconds;
};

// Events ------------------------------------------------------------------------------------------------------
// Validates one raw event and appends it (shared by every reader and, later, the HTTP API).
// Returns OK when stored or skipped as duplicate; InvalidArgument naming the field otherwise (also recorded in
// report unless on_error is kFail).
class EventCleaner {
 public:
  EventCleaner(Dataset& ds, const ImportOptions& opt, ImportReport& report);
  Status Add(const RawEvent& raw, std::string_view file, uint64_t line);
  // After Dataset::DropOldEvents: forgets the de-duplication entries of dropped events (duplicates are then
  // recognised within the in-memory window only), so this index stays bounded too.
  void ForgetDropped();

 private:
  Dataset& ds_;
  const ImportOptions& opt_;
  ImportReport& report_;
  std::vector<Timestamp> last_ts_;   // per user, for the missing-timestamp fill rule
  std::unordered_map<uint64_t, uint64_t> seen_;  // hash of a stored event -> its absolute index (events_base + k)
};

// Counts one record read and rejects it as a whole (a line that cannot even be turned into a RawEvent or Item):
// the same kSkip/kFail handling as EventCleaner::Add. Returns the InvalidArgument "file:line: field: reason".
Status RejectRecord(const ImportOptions& opt, ImportReport& report, std::string_view file, uint64_t line,
                    std::string field, std::string reason);

Status ImportEventsCsv(const std::string& path, const CsvMapping& mapping, const ImportOptions& opt, Dataset& ds,
                       ImportReport& report);
// One JSON object per line: {"user","item","query","action","ts","value","session","context"}; "ts" may be a
// number (unix seconds) or an ISO-8601 string.
Status ImportEventsJsonl(const std::string& path, const ImportOptions& opt, Dataset& ds, ImportReport& report);

// One event or item from a parsed JSON object (the JSONL readers and the HTTP API share them). On a wrong type or
// a missing id returns false with the field and the reason.
bool RawEventFromJson(const nlohmann::json& j, RawEvent& raw, std::string& field, std::string& err);
bool ItemFromJson(const nlohmann::json& j, Item& item, std::string& field, std::string& err);

// Catalogue ---------------------------------------------------------------------------------------------------
// One JSON object per line: {"id","type","title","text","categories":[..],"attributes":{..},"available","created"}.
Status ImportItemsJsonl(const std::string& path, const ImportOptions& opt, Dataset& ds, ImportReport& report);

// Parses "2024-05-01T12:00:00Z", "2024-05-01 12:00:00", "2024-05-01" (UTC; "+hh:mm" offsets honoured).
Result<Timestamp> ParseIso8601(std::string_view s);

// Reading helpers shared by the importers and the converters (formats.h) ------------------------------------
// Reads a text file line by line through a large block buffer: no per-line allocation, any file size. Lines are
// returned without "\n" or "\r\n"; a UTF-8 byte-order mark at the start is dropped. Not copyable.
class LineReader {
 public:
  LineReader() = default;
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // NotFound when the file cannot be opened.
  Status Open(const std::string& path);
  // Next line (valid until the following call); false at end of file or on a read error (see error()).
  bool Next(std::string_view& line);
  uint64_t line_no() const { return line_no_; }       // 1-based number of the line last returned
  uint64_t bytes_read() const { return consumed_; }   // bytes up to and including the last returned line
  uint64_t file_size() const { return size_; }
  const Status& error() const { return error_; }
  // Shows a progress bar (unit "events", total estimated from the file size and the mean line length) once the
  // file turns out to be large enough (8 MiB) to be worth one.
  void ShowProgress(std::string label) { progress_label_ = std::move(label); }

 private:
  void TickProgress();
  std::FILE* f_ = nullptr;
  std::vector<char> buf_;
  size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
  uint64_t line_no_ = 0, consumed_ = 0, size_ = 0;
  Status error_;
  std::string progress_label_;
  std::unique_ptr<Progress> progress_;
  uint64_t progress_total_ = 0;
};

// Splits one delimited record (RFC 4180: quoted fields may hold the delimiter, doubled quotes and line breaks).
// Returns false when a quoted field is still open at the end of `record` (the caller appends the next line).
bool SplitCsv(std::string_view record, char delimiter, std::vector<std::string>& fields);

}  // namespace vane
