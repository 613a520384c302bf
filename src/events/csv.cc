#include "vane/events/csv.h"

#include <exception>

#include <fmt/format.h>

#include "values.h"
#include "vane/core/strings.h"
#include "vane/events/iso8601.h"
#include "vane/events/line_reader.h"

namespace vane {
namespace {

using events_detail::ParseDouble;
using events_detail::ParseInt64;
using events_detail::Quote;
using events_detail::SecondsToTs;

// Records of a delimited file: the next non-blank record, joining physical lines while a quoted field is open.
class CsvRecords {
 public:
  CsvRecords(LineReader& lr, char delimiter) : lr_(lr), delim_(delimiter) {}

  // False at end of file; open_quote() then tells a record that ended inside quotes.
  bool Next() {
    std::string_view l;
    open_quote_ = false;
    while (lr_.Next(l)) {
      if (Trim(l).empty()) continue;
      line_ = lr_.line_no();
      if (SplitCsv(l, delim_, fields_)) return true;
      rec_.assign(l);
      while (true) {
        if (!lr_.Next(l)) {
          open_quote_ = true;
          return true;
        }
        rec_ += '\n';
        rec_.append(l);
        if (SplitCsv(rec_, delim_, fields_)) return true;
      }
    }
    return false;
  }
  const std::vector<std::string>& fields() const { return fields_; }
  uint64_t line() const { return line_; }  // first physical line of the record
  bool open_quote() const { return open_quote_; }

 private:
  LineReader& lr_;
  char delim_;
  std::string rec_;
  std::vector<std::string> fields_;
  uint64_t line_ = 0;
  bool open_quote_ = false;
};

// Column index of each event field (-1: absent).
struct CsvColumns {
  int user = -1, item = -1, query = -1, action = -1, ts = -1, value = -1, session = -1, context = -1;
};

// Resolves the mapping's column names (or indexes) against the header. Optional columns under their default names
// may be absent; a name the caller chose must exist.
Result<CsvColumns> FindColumns(const std::string& path, const std::vector<std::string>& header,
                               const CsvMapping& mapping) {
  const size_t ncols = header.size();
  auto find_col = [&](const std::string& name) -> int {
    if (name.empty()) return -1;
    for (size_t c = 0; c < ncols; ++c)
      if (header[c] == name) return static_cast<int>(c);
    int64_t idx;
    if (ParseInt64(name, idx) && idx >= 0 && static_cast<size_t>(idx) < ncols) return static_cast<int>(idx);
    return -1;
  };
  std::string known;
  for (size_t c = 0; c < ncols; ++c) known += (c ? ", " : "") + Quote(header[c]);
  auto missing = [&](const std::string& name, std::string_view role) {
    return Status::InvalidArgument(fmt::format("{}: {} column '{}' not found (columns: {})", path, role, name, known));
  };
  const CsvMapping defaults;
  auto optional_col = [&](const std::string& name, const std::string& def, std::string_view role, int& out) {
    out = find_col(name);
    if (out < 0 && !name.empty() && name != def) return missing(name, role);
    return Status::Ok();
  };
  CsvColumns c;
  c.user = find_col(mapping.user);
  if (c.user < 0) return missing(mapping.user, "user");
  VANE_RETURN_IF_ERROR(optional_col(mapping.item, defaults.item, "item", c.item));
  VANE_RETURN_IF_ERROR(optional_col(mapping.query, defaults.query, "query", c.query));
  if (c.item < 0 && c.query < 0) return missing(mapping.item, "item");
  VANE_RETURN_IF_ERROR(optional_col(mapping.action, defaults.action, "action", c.action));
  if (c.action < 0 && mapping.default_action.empty())
    return Status::InvalidArgument(fmt::format("{}: action column '{}' not found and no default action set (columns: {})",
                                               path, mapping.action, known));
  VANE_RETURN_IF_ERROR(optional_col(mapping.ts, defaults.ts, "ts", c.ts));
  VANE_RETURN_IF_ERROR(optional_col(mapping.value, defaults.value, "value", c.value));
  VANE_RETURN_IF_ERROR(optional_col(mapping.session, defaults.session, "session", c.session));
  VANE_RETURN_IF_ERROR(optional_col(mapping.context, defaults.context, "context", c.context));
  return c;
}

// A time field in the mapping's format; a rejection of field "ts" when it is not one.
Status ParseCsvTime(std::string_view tsv, CsvMapping::TimeFormat format, Timestamp& out) {
  bool ok = false;
  double d;
  switch (format) {
    case CsvMapping::TimeFormat::kUnixSeconds:
      ok = ParseDouble(tsv, d) && SecondsToTs(d, out);
      break;
    case CsvMapping::TimeFormat::kUnixMillis:
      ok = ParseDouble(tsv, d) && SecondsToTs(d / 1000.0, out);
      break;
    case CsvMapping::TimeFormat::kIso8601: {
      auto r = ParseIso8601(tsv);
      ok = r.ok();
      if (ok) out = r.value();
      break;
    }
  }
  if (ok) return Status::Ok();
  const char* want = format == CsvMapping::TimeFormat::kIso8601    ? "ISO-8601 time"
                     : format == CsvMapping::TimeFormat::kUnixMillis ? "unix time in ms"
                                                                     : "unix time in s";
  return RecordRejection("ts", fmt::format("not a time: {} (expected {})", Quote(tsv), want));
}

// Fills `raw` from one record with the right number of fields; a rejection for an unreadable time or value.
Status RowToRawEvent(const std::vector<std::string>& fields, const CsvColumns& c, const CsvMapping& mapping,
                     RawEvent& raw) {
  auto get = [&](int col) -> std::string_view { return col < 0 ? std::string_view() : Trim(fields[col]); };
  raw.user.assign(get(c.user));
  raw.item.assign(get(c.item));
  raw.query.assign(get(c.query));
  raw.action.assign(get(c.action));
  if (raw.action.empty()) raw.action = mapping.default_action;
  raw.session.assign(get(c.session));
  raw.context.assign(get(c.context));
  raw.has_ts = false;
  raw.has_value = false;
  std::string_view tsv = get(c.ts), vv = get(c.value);
  if (!tsv.empty()) {
    raw.has_ts = true;
    VANE_RETURN_IF_ERROR(ParseCsvTime(tsv, mapping.time_format, raw.ts));
  }
  if (!vv.empty()) {
    if (!ParseDouble(vv, raw.value)) return RecordRejection("value", "not a number: " + Quote(vv));
    raw.has_value = true;
  }
  return Status::Ok();
}

// Reads the header (or, without one, numbers the columns of the first record, which stays pending as data).
// `found` is false for a file without records.
Status ReadHeader(CsvRecords& records, const std::string& path, const CsvMapping& mapping,
                  std::vector<std::string>& header, bool& pending, bool& found) {
  found = records.Next();
  if (!found) return mapping.has_header ? Status::InvalidArgument(path + ": empty file, expected a header line")
                                        : Status::Ok();
  if (mapping.has_header) {
    if (records.open_quote()) return Status::InvalidArgument(path + ":1: header: unterminated quote");
    for (const auto& f : records.fields()) header.emplace_back(Trim(f));
  } else {
    for (size_t c = 0; c < records.fields().size(); ++c) header.push_back(std::to_string(c));
    pending = true;
  }
  return Status::Ok();
}

}  // namespace

bool SplitCsv(std::string_view rec, char delim, std::vector<std::string>& fields) {
  size_t count = 0;
  auto next = [&]() -> std::string& {
    if (count == fields.size()) fields.emplace_back();
    std::string& f = fields[count++];
    f.clear();
    return f;
  };
  size_t i = 0, n = rec.size();
  while (true) {
    std::string& cur = next();
    if (i < n && rec[i] == '"') {
      ++i;
      while (true) {
        if (i >= n) {
          fields.resize(count);
          return false;
        }
        char c = rec[i];
        if (c == '"') {
          if (i + 1 < n && rec[i + 1] == '"') {
            cur += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        size_t q = rec.find('"', i);
        if (q == std::string_view::npos) q = n;
        cur.append(rec.substr(i, q - i));
        i = q;
      }
      // Text after the closing quote is kept as is (lenient, like most spreadsheet exports).
      while (i < n && rec[i] != delim) cur += rec[i++];
    } else {
      size_t j = rec.find(delim, i);
      if (j == std::string_view::npos) j = n;
      cur.assign(rec.substr(i, j - i));
      i = j;
    }
    if (i >= n) break;
    ++i;  // the delimiter; a trailing one yields an empty last field
  }
  fields.resize(count);
  return true;
}

Status ImportEventsCsv(const std::string& path, const CsvMapping& mapping, const ImportOptions& opt, Dataset& ds,
                       ImportReport& report) {
  try {
    LineReader lr;
    VANE_RETURN_IF_ERROR(lr.Open(path));
    if (opt.progress) lr.ShowProgress("import " + events_detail::BaseName(path));
    CsvRecords records(lr, mapping.delimiter);
    std::vector<std::string> header;
    bool pending = false, found = false;  // pending: without a header the first record is data, already read
    Status header_status = ReadHeader(records, path, mapping, header, pending, found);
    if (!found) {
      VANE_RETURN_IF_ERROR(lr.error());
      return header_status;
    }
    VANE_RETURN_IF_ERROR(header_status);
    VANE_ASSIGN_OR_RETURN(const CsvColumns cols, FindColumns(path, header, mapping));

    EventCleaner cleaner(ds, opt, report);
    const uint64_t base = report.accepted;
    RawEvent raw;
    while (pending || records.Next()) {
      pending = false;
      const uint64_t line = records.line();
      Status s;
      if (records.open_quote()) {
        s = RejectRecord(opt, report, path, line, "record", "unterminated quote");
      } else if (records.fields().size() != header.size()) {
        s = RejectRecord(opt, report, path, line, "record",
                         fmt::format("wrong field count: expected {} fields, got {}", header.size(),
                                     records.fields().size()));
      } else if (Status row = RowToRawEvent(records.fields(), cols, mapping, raw); !row.ok()) {
        s = RejectRecord(opt, report, path, line, row.field(), row.message());
      } else {
        s = cleaner.Add(raw, path, line);
      }
      if (!s.ok() && opt.on_error == OnError::kFail) return AtRecord(s, path, line);
      if (opt.max_events && report.accepted - base >= opt.max_events) break;
    }
    return lr.error();
  } catch (const std::exception& e) {
    return Status::Internal(path + ": " + e.what());
  }
}

}  // namespace vane
