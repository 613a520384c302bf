// The cleaning step every reader shares: validation, filling and de-duplication of raw events, and the report of
// what an import accepted and rejected.
//
// Every reader validates each record, fills missing values by the documented rules (docs/data_formats.md),
// de-duplicates exact repeats and reports every rejected record with file, line, field and reason. With
// OnError::kSkip bad records are skipped and reported; with OnError::kFail the first bad record stops the import
// with an InvalidArgument Status naming it. Valid records are never dropped silently: every record read is counted
// as accepted, filled, clipped, duplicate or rejected. Functions append to a Dataset; they are not thread-safe with
// respect to that Dataset.
//
// A rejected record is an InvalidArgument Status whose field() names the field ("user", "ts", ..., or "record" for
// the whole line) and whose message() is the reason; a reader stopping under OnError::kFail returns it located in
// its file (AtRecord: "file:line: field: reason").
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

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
  // Snapshot (core/binary_io.h): the counts and rejections by reason; the listed issues are not kept.
  void Save(BinaryWriter& w) const;
  Status Load(BinaryReader& r);
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
  // User, item and session ids must follow the id rule (events/ids.h). Off only to replay what a store accepted
  // before the rule existed.
  bool check_ids = true;
};

// The de-duplication index: an event's 64-bit hash -> the absolute index of the event stored under it. Open
// addressing with linear probing over two flat arrays (power-of-two capacity, at most 3/4 full): no allocation per
// entry, and a snapshot saves and loads it as two blocks. A hash of 0 (the empty mark) is kept as 1; like any
// collision, that only means the stored event is compared with the new one.
class HashIndex {
 public:
  // The value under `hash`, inserting `value` when absent (then `inserted`). The pointer is valid until the next
  // insertion.
  uint64_t* TryEmplace(uint64_t hash, uint64_t value, bool& inserted);
  // Drops every entry whose value is below `min_value` (the table is rebuilt from what stays).
  void EraseBelow(uint64_t min_value);
  size_t size() const { return size_; }
  void Save(BinaryWriter& w) const;
  Status Load(BinaryReader& r);

 private:
  void Rehash(size_t capacity);
  std::vector<uint64_t> keys_, values_;
  size_t size_ = 0;
};

// Validates one raw event and appends it (shared by every reader and the HTTP API).
class EventCleaner {
 public:
  EventCleaner(Dataset& ds, const ImportOptions& opt, ImportReport& report);
  // OK when stored or skipped as a duplicate. Otherwise the record is counted as rejected (and listed in the
  // report unless on_error is kFail) and the InvalidArgument returned carries the field (field()) and the reason
  // (message()).
  Status Add(const RawEvent& raw, std::string_view file, uint64_t line);
  // The rejection Add would give `raw` (same field() and message()), without storing or counting anything: OK
  // when Add would store it or skip it as a duplicate. For all-or-nothing batches.
  Status Check(const RawEvent& raw) const;
  // After Dataset::DropOldEvents: forgets the de-duplication entries of dropped events (duplicates are then
  // recognised within the in-memory window only), so this index stays bounded too.
  void ForgetDropped();

  // Snapshot (core/binary_io.h): the de-duplication index and the per-user last times. Load expects the
  // dataset this cleaner appends to to be loaded already (from the same snapshot).
  void Save(BinaryWriter& w) const;
  Status Load(BinaryReader& r);

 private:
  // The record's action, or the rejection of a missing or invalid field (user, UTF-8, action, item or query).
  Result<ActionId> CheckFields(const RawEvent& raw) const;
  // The event's time, filled when missing (`filled` set), or a rejection.
  Result<Timestamp> EventTime(const RawEvent& raw, bool& filled) const;
  // The event's value, clipped to the action's valid range (`clipped` set), or a rejection.
  Result<double> EventValue(const RawEvent& raw, const ActionSpec& spec, bool& clipped) const;
  // Interns the valid event's user, item, query and session.
  Event Intern(const RawEvent& raw, Timestamp ts, double value, ActionId action);
  // True when `e` repeats an event still in memory (else `e` is remembered for later records).
  bool IsDuplicate(const Event& e);

  Dataset& ds_;
  const ImportOptions& opt_;
  ImportReport& report_;
  std::vector<Timestamp> last_ts_;   // per user, for the missing-timestamp fill rule
  HashIndex seen_;  // hash of a stored event -> its absolute index (events_base + k)
};

// The Status of a rejected record: InvalidArgument with `reason` as message and `field` as field().
Status RecordRejection(std::string field, std::string reason);

// `rejected` (a record's rejection) located in its file: "file:line: field: reason", code and field kept.
Status AtRecord(const Status& rejected, std::string_view file, uint64_t line);

// Counts one record read and rejects it as a whole (a line that cannot even be turned into a RawEvent or Item):
// the same kSkip/kFail handling as EventCleaner::Add. Returns RecordRejection(field, reason).
Status RejectRecord(const ImportOptions& opt, ImportReport& report, std::string_view file, uint64_t line,
                    std::string field, std::string reason);

}  // namespace vane
