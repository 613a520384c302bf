#include "vane/events/import.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <ostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "vane/core/progress.h"
#include "vane/text/tokenize.h"

namespace vane {
namespace {

using nlohmann::json;

constexpr Timestamp kNoTs = std::numeric_limits<Timestamp>::min();
// Below this size a progress bar would flash for a fraction of a second: not worth the noise.
constexpr uint64_t kProgressMinBytes = 8ull << 20;

std::string_view Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return s.substr(b, e - b);
}

// A value quoted in a message: shortened, with bytes that are not valid UTF-8 shown as \xNN so that the report
// (and its JSON form) stays valid UTF-8 whatever the input held.
std::string Quote(std::string_view s, size_t max = 40) {
  std::string out = "'";
  size_t i = 0, shown = 0;
  while (i < s.size() && shown < max) {
    size_t start = i;
    char32_t c = text::DecodeUtf8(s, i);
    if (c == 0xFFFD && i - start == 1) {  // an invalid byte (a real U+FFFD takes three)
      out += fmt::format("\\x{:02X}", static_cast<unsigned char>(s[start]));
    } else {
      out.append(s.substr(start, i - start));
    }
    ++shown;
  }
  if (i < s.size()) out += "...";
  out += "'";
  return out;
}

// Rejection counts are keyed by field and the fixed part of the reason (before any ':' detail), so that
// "unknown action: 'clik'" and "unknown action: 'buyy'" add up under one key.
std::string ReasonKey(std::string_view field, std::string_view reason) {
  size_t colon = reason.find(':');
  return std::string(field) + ": " + std::string(reason.substr(0, colon));
}

std::string JsonTypeName(const json& v) {
  if (v.is_number()) return "number";
  return v.type_name();
}

bool ParseDouble(std::string_view s, double& out) {
  s = Trim(s);
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool ParseInt64(std::string_view s, int64_t& out) {
  s = Trim(s);
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Seconds (possibly fractional) to a Timestamp; false when not representable.
bool SecondsToTs(double v, Timestamp& out) {
  if (!std::isfinite(v) || v < -9.0e18 || v > 9.0e18) return false;
  out = static_cast<Timestamp>(std::floor(v));
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

bool ReadDigits(std::string_view s, size_t& i, size_t n, int& out) {
  if (i + n > s.size()) return false;
  int v = 0;
  for (size_t k = 0; k < n; ++k) {
    char c = s[i + k];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  i += n;
  return true;
}

// A JSON id (string, or an integer written as a number) into `out`. Absent or null leaves it empty.
bool JsonId(const json& obj, const char* key, std::string& out, std::string& err) {
  out.clear();
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return true;
  if (it->is_string()) {
    out = it->get_ref<const std::string&>();
    return true;
  }
  if (it->is_number_integer()) {
    out = it->dump();
    return true;
  }
  err = "wrong type: expected a string, got " + JsonTypeName(*it);
  return false;
}

bool JsonString(const json& obj, const char* key, std::string& out, std::string& err) {
  out.clear();
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return true;
  if (!it->is_string()) {
    err = "wrong type: expected a string, got " + JsonTypeName(*it);
    return false;
  }
  out = it->get_ref<const std::string&>();
  return true;
}

// "ts"/"created": unix seconds as a number, or a string holding unix seconds or an ISO-8601 time.
bool JsonTime(const json& obj, const char* key, Timestamp& out, bool& has, std::string& err) {
  has = false;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return true;
  if (it->is_number_integer()) {
    if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      err = "out of range: " + it->dump();
      return false;
    }
    out = it->get<int64_t>();
  } else if (it->is_number_float()) {
    if (!SecondsToTs(it->get<double>(), out)) {
      err = "out of range: " + it->dump();
      return false;
    }
  } else if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    double d;
    if (ParseDouble(s, d)) {
      if (!SecondsToTs(d, out)) {
        err = "out of range: " + Quote(s);
        return false;
      }
    } else {
      auto r = ParseIso8601(s);
      if (!r.ok()) {
        err = "not a time: " + Quote(s) + " (expected unix seconds or ISO-8601)";
        return false;
      }
      out = r.value();
    }
  } else {
    err = "wrong type: expected a number or an ISO-8601 string, got " + JsonTypeName(*it);
    return false;
  }
  has = true;
  return true;
}

// Reads the next non-blank record, joining physical lines while a quoted field is open. Returns false at end of
// file; `open_quote` reports a record that ended inside quotes.
bool NextCsvRecord(LineReader& lr, char delim, std::string& rec, std::vector<std::string>& fields,
                   uint64_t& line, bool& open_quote) {
  std::string_view l;
  open_quote = false;
  while (lr.Next(l)) {
    if (Trim(l).empty()) continue;
    line = lr.line_no();
    if (SplitCsv(l, delim, fields)) return true;
    rec.assign(l);
    while (true) {
      if (!lr.Next(l)) {
        open_quote = true;
        return true;
      }
      rec += '\n';
      rec.append(l);
      if (SplitCsv(rec, delim, fields)) return true;
    }
  }
  return false;
}

std::string BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

// ImportReport ---------------------------------------------------------------------------------------------------

void ImportReport::Reject(ImportIssue issue) {
  ++rejected;
  ++rejected_by_reason[ReasonKey(issue.field, issue.reason)];
  if (issues.size() < max_issues) issues.push_back(std::move(issue));
}

void ImportReport::Print(std::ostream& os, size_t show_issues) const {
  auto row = [&](std::string_view name, uint64_t v, std::string note = "") {
    os << fmt::format("  {:<16}{:>12}{}\n", name, v, note);
  };
  auto pct = [&](uint64_t v) {
    return records_read ? fmt::format("  ({:.2f}%)", 100.0 * static_cast<double>(v) / records_read) : std::string();
  };
  os << "import report\n";
  row("records read", records_read);
  row("accepted", accepted, pct(accepted));
  row("  filled", filled);
  row("  clipped", clipped);
  row("duplicates", duplicates, pct(duplicates));
  row("rejected", rejected, pct(rejected));
  row("items created", items_created);
  if (!rejected_by_reason.empty()) {
    std::vector<std::pair<std::string, uint64_t>> reasons(rejected_by_reason.begin(), rejected_by_reason.end());
    std::stable_sort(reasons.begin(), reasons.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    os << "rejections by reason\n";
    for (const auto& [reason, n] : reasons) os << fmt::format("  {:<40}{:>12}\n", reason, n);
  }
  if (!issues.empty() && show_issues > 0) {
    size_t n = std::min(show_issues, issues.size());
    os << fmt::format("first {} of {} rejected records\n", n, rejected);
    for (size_t i = 0; i < n; ++i) {
      const ImportIssue& is = issues[i];
      os << fmt::format("  {}:{}  {}  {}\n", is.file, is.line, is.field, is.reason);
    }
  }
}

std::string ImportReport::ToJson() const {
  json j;
  j["records_read"] = records_read;
  j["accepted"] = accepted;
  j["filled"] = filled;
  j["clipped"] = clipped;
  j["duplicates"] = duplicates;
  j["rejected"] = rejected;
  j["items_created"] = items_created;
  j["rejected_by_reason"] = json::object();
  for (const auto& [reason, n] : rejected_by_reason) j["rejected_by_reason"][reason] = n;
  j["issues"] = json::array();
  for (const ImportIssue& is : issues)
    j["issues"].push_back({{"file", is.file}, {"line", is.line}, {"field", is.field}, {"reason", is.reason}});
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Status RejectRecord(const ImportOptions& opt, ImportReport& report, std::string_view file, uint64_t line,
                    std::string field, std::string reason) {
  ++report.records_read;
  std::string msg = fmt::format("{}:{}: {}: {}", file, line, field, reason);
  if (opt.on_error == OnError::kFail) {
    // Counted (so the totals still add up) but not listed: the caller stops and the Status carries the details.
    ++report.rejected;
    ++report.rejected_by_reason[ReasonKey(field, reason)];
  } else {
    report.Reject(ImportIssue{std::string(file), line, std::move(field), std::move(reason)});
  }
  return Status::InvalidArgument(std::move(msg));
}

// EventCleaner ---------------------------------------------------------------------------------------------------

EventCleaner::EventCleaner(Dataset& ds, const ImportOptions& opt, ImportReport& report)
    : ds_(ds), opt_(opt), report_(report) {}

namespace {

uint64_t Mix(uint64_t h, uint64_t v) {
  // splitmix64 finaliser over a running combination: cheap and well spread for dense ids.
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  h ^= h >> 30;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 27;
  h *= 0x94D049BB133111EBull;
  h ^= h >> 31;
  return h;
}

uint64_t HashEvent(const Event& e) {
  uint32_t vbits;
  std::memcpy(&vbits, &e.value, sizeof vbits);
  uint64_t h = Mix(0, static_cast<uint64_t>(e.ts));
  h = Mix(h, (static_cast<uint64_t>(e.user.v) << 32) | e.item.v);
  h = Mix(h, (static_cast<uint64_t>(e.query) << 32) | vbits);
  return Mix(h, (static_cast<uint64_t>(e.action) << 1) | (e.has_value ? 1u : 0u));
}

bool SameEvent(const Event& a, const Event& b) {
  return a.ts == b.ts && a.user == b.user && a.item == b.item && a.query == b.query && a.action == b.action &&
         a.has_value == b.has_value && a.value == b.value;
}

}  // namespace

void EventCleaner::ForgetDropped() {
  std::erase_if(seen_, [&](const auto& kv) { return kv.second < ds_.events_base; });
}

Status EventCleaner::Add(const RawEvent& raw, std::string_view file, uint64_t line) {
  ++report_.records_read;
  auto reject = [&](const char* field, std::string reason) {
    --report_.records_read;  // RejectRecord counts it again
    return RejectRecord(opt_, report_, file, line, field, std::move(reason));
  };

  if (raw.user.empty()) return reject("user", "missing");
  if (!text::IsValidUtf8(raw.user)) return reject("user", "invalid UTF-8: " + Quote(raw.user));
  if (!text::IsValidUtf8(raw.item)) return reject("item", "invalid UTF-8: " + Quote(raw.item));
  if (!text::IsValidUtf8(raw.query)) return reject("query", "invalid UTF-8: " + Quote(raw.query));
  if (!text::IsValidUtf8(raw.action)) return reject("action", "invalid UTF-8: " + Quote(raw.action));
  if (!text::IsValidUtf8(raw.session)) return reject("session", "invalid UTF-8: " + Quote(raw.session));
  if (!text::IsValidUtf8(raw.context)) return reject("context", "invalid UTF-8: " + Quote(raw.context));

  if (raw.action.empty()) return reject("action", "missing");
  std::optional<ActionId> action = ds_.actions.Find(raw.action);
  if (!action) return reject("action", "unknown action: " + Quote(raw.action));
  const ActionSpec& spec = ds_.actions.spec(*action);
  bool has_query = raw.query.find_first_not_of(" \t\r\n") != std::string::npos;
  if (spec.is_search) {
    if (!has_query || text::Normalize(raw.query).empty()) return reject("query", "missing: a search needs a query");
  } else if (raw.item.empty()) {
    return reject("item", "missing");
  }

  bool filled = false, clipped = false;
  Timestamp ts = raw.ts;
  if (!raw.has_ts) {
    // A missing time keeps the user's order: one second after the user's previous event.
    ts = opt_.min_ts;
    if (auto u = ds_.users.Find(raw.user); u && *u < last_ts_.size() && last_ts_[*u] != kNoTs) ts = last_ts_[*u] + 1;
    filled = true;
  }
  if (ts < opt_.min_ts || ts > opt_.max_ts)
    return reject("ts", fmt::format("out of range: {} not in [{}, {}]", ts, opt_.min_ts, opt_.max_ts));

  double value = 0;
  if (raw.has_value) {
    value = raw.value;
    if (!std::isfinite(value)) return reject("value", "not a finite number");
    switch (spec.value_kind) {
      case ValueKind::kDwell:
        if (value < 0) return reject("value", fmt::format("negative dwell: {}", value));
        if (value > opt_.max_dwell_seconds) {
          value = opt_.max_dwell_seconds;
          clipped = true;
        }
        break;
      case ValueKind::kRating:
        // Twice the nominal scale is tolerated (10-point files under a 5-point spec); beyond that it is garbage.
        if (value < 0 || value > 2.0 * spec.value_max)
          return reject("value", fmt::format("rating out of range: {} not in [0, {}]", value, 2.0 * spec.value_max));
        break;
      case ValueKind::kQuantity:
        if (value < 0) return reject("value", fmt::format("negative quantity: {}", value));
        break;
      case ValueKind::kNone:
        break;
    }
    if (std::fabs(value) > std::numeric_limits<float>::max())
      return reject("value", fmt::format("out of range: {} does not fit a float", value));
  }

  // Valid: only now intern, so that rejected records leave no users, items or queries behind.
  Event e;
  e.ts = ts;
  e.user = ds_.InternUser(raw.user);
  if (!raw.item.empty()) {
    size_t before = ds_.catalog.size();
    e.item = ds_.catalog.FindOrAdd(raw.item);
    if (ds_.catalog.size() > before) ++report_.items_created;
  }
  if (has_query) e.query = ds_.InternQuery(raw.query);
  if (!raw.session.empty()) e.session = ds_.sessions.Intern(raw.session);
  e.value = static_cast<float>(value);
  e.action = *action;
  e.has_value = raw.has_value;

  if (opt_.dedup) {
    const uint64_t index = ds_.events_base + ds_.events.size();
    auto [it, inserted] = seen_.try_emplace(HashEvent(e), index);
    if (!inserted) {
      if (it->second >= ds_.events_base && it->second < index && SameEvent(ds_.events[it->second - ds_.events_base], e)) {
        ++report_.duplicates;
        return Status::Ok();
      }
      // The earlier event left memory: this one takes its slot. (A true hash collision keeps the first slot.)
      if (it->second < ds_.events_base) it->second = index;
    }
  }
  ds_.events.push_back(e);
  if (last_ts_.size() <= e.user.v) last_ts_.resize(e.user.v + 1, kNoTs);
  last_ts_[e.user.v] = ts;
  ++report_.accepted;
  if (filled) ++report_.filled;
  if (clipped) ++report_.clipped;
  return Status::Ok();
}

// Time -----------------------------------------------------------------------------------------------------------

Result<Timestamp> ParseIso8601(std::string_view s) {
  std::string_view t = Trim(s);
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("not an ISO-8601 time: " + Quote(t) + " (" + std::string(why) + ")");
  };
  size_t i = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!ReadDigits(t, i, 4, y)) return bad("expected YYYY-MM-DD");
  if (i >= t.size() || t[i++] != '-' || !ReadDigits(t, i, 2, mo)) return bad("expected YYYY-MM-DD");
  if (i >= t.size() || t[i++] != '-' || !ReadDigits(t, i, 2, d)) return bad("expected YYYY-MM-DD");
  if (mo < 1 || mo > 12) return bad("month out of range");
  if (d < 1 || static_cast<unsigned>(d) > DaysInMonth(y, static_cast<unsigned>(mo))) return bad("day out of range");
  int64_t offset = 0;
  if (i < t.size()) {
    char sep = t[i++];
    if (sep != 'T' && sep != 't' && sep != ' ') return bad("expected 'T' or ' ' after the date");
    if (!ReadDigits(t, i, 2, h)) return bad("expected hh:mm");
    if (i >= t.size() || t[i++] != ':' || !ReadDigits(t, i, 2, mi)) return bad("expected hh:mm");
    if (i < t.size() && t[i] == ':') {
      ++i;
      if (!ReadDigits(t, i, 2, sec)) return bad("expected ss");
      if (i < t.size() && (t[i] == '.' || t[i] == ',')) {
        // Fractions of a second are dropped: Timestamp has one-second resolution.
        ++i;
        size_t start = i;
        while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
        if (i == start) return bad("expected digits after the decimal point");
      }
    }
    if (h > 23 || mi > 59 || sec > 60) return bad("time of day out of range");
    if (i < t.size()) {
      char z = t[i];
      if ((z == 'Z' || z == 'z') && i + 1 == t.size()) {
        ++i;
      } else if (z == '+' || z == '-') {
        ++i;
        int oh = 0, om = 0;
        if (!ReadDigits(t, i, 2, oh)) return bad("expected an offset +hh:mm");
        if (i < t.size() && t[i] == ':') ++i;
        if (i < t.size() && !ReadDigits(t, i, 2, om)) return bad("expected an offset +hh:mm");
        if (oh > 23 || om > 59) return bad("offset out of range");
        offset = (z == '+' ? 1 : -1) * (oh * 3600 + om * 60);
      }
    }
    if (i != t.size()) return bad("unexpected trailing text");
  }
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  // Local time = UTC + offset, so UTC = local - offset.
  return days * 86400 + h * 3600 + mi * 60 + sec - offset;
}

// LineReader / CSV -----------------------------------------------------------------------------------------------

LineReader::~LineReader() {
  if (progress_) progress_->Finish();
  if (f_) std::fclose(f_);
}

Status LineReader::Open(const std::string& path) {
  if (f_) std::fclose(f_);
  f_ = std::fopen(path.c_str(), "rb");
  if (!f_) return Status::NotFound("cannot open '" + path + "': " + std::strerror(errno));
  struct stat st;
  if (fstat(fileno(f_), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      std::fclose(f_);
      f_ = nullptr;
      return Status::InvalidArgument("'" + path + "' is a directory, expected a file");
    }
    size_ = static_cast<uint64_t>(st.st_size);
  }
  buf_.resize(size_t{4} << 20);
  begin_ = end_ = 0;
  eof_ = false;
  line_no_ = consumed_ = 0;
  error_ = Status::Ok();
  return Status::Ok();
}

bool LineReader::Next(std::string_view& line) {
  if (!f_) return false;
  while (true) {
    const char* base = buf_.data() + begin_;
    const void* nl = end_ > begin_ ? std::memchr(base, '\n', end_ - begin_) : nullptr;
    size_t len = 0, step = 0;
    if (nl) {
      len = static_cast<size_t>(static_cast<const char*>(nl) - base);
      step = len + 1;
    } else if (eof_) {
      if (begin_ == end_) {
        if (progress_) {
          progress_->Update(progress_total_);
          progress_->Finish();
        }
        return false;
      }
      len = step = end_ - begin_;  // last line without a final newline
    } else {
      if (begin_ > 0) {
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      }
      if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);  // one line longer than the buffer
      size_t n = std::fread(buf_.data() + end_, 1, buf_.size() - end_, f_);
      end_ += n;
      if (n == 0) {
        if (std::ferror(f_)) error_ = Status::IoError(std::string("read error: ") + std::strerror(errno));
        eof_ = true;
      }
      continue;
    }
    line = std::string_view(base, len);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_no_ == 0 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    begin_ += step;
    consumed_ += step;
    ++line_no_;
    if (!progress_label_.empty()) TickProgress();
    return true;
  }
}

void LineReader::TickProgress() {
  if (!progress_) {
    if (size_ < kProgressMinBytes || line_no_ < 4096) return;
    // The total is the file size over the mean line length, sampled at three places: the head alone misleads
    // (ids grow longer further down a file).
    uint64_t lines = line_no_, bytes = consumed_;
    std::vector<char> sample(64 << 10);
    for (int q = 1; q <= 3; ++q) {
      ssize_t n = pread(fileno(f_), sample.data(), sample.size(), static_cast<off_t>(size_ * q / 4));
      if (n <= 0) continue;
      lines += static_cast<uint64_t>(std::count(sample.data(), sample.data() + n, '\n'));
      bytes += static_cast<uint64_t>(n);
    }
    progress_total_ = std::max<uint64_t>(1, static_cast<uint64_t>(static_cast<double>(size_) * lines / bytes));
    progress_ = std::make_unique<Progress>(progress_label_, progress_total_, "events");
  }
  double frac = static_cast<double>(consumed_) / static_cast<double>(std::max<uint64_t>(size_, 1));
  progress_->Update(std::min(progress_total_, static_cast<uint64_t>(frac * static_cast<double>(progress_total_))));
}

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

// Importers ------------------------------------------------------------------------------------------------------

Status ImportEventsCsv(const std::string& path, const CsvMapping& mapping, const ImportOptions& opt, Dataset& ds,
                       ImportReport& report) {
  try {
    LineReader lr;
    VANE_RETURN_IF_ERROR(lr.Open(path));
    if (opt.progress) lr.ShowProgress("import " + BaseName(path));
    std::string rec;
    std::vector<std::string> fields, header;
    uint64_t line = 0;
    bool open_quote = false;
    bool pending = false;  // without a header the first record is data, already read
    if (!NextCsvRecord(lr, mapping.delimiter, rec, fields, line, open_quote)) {
      VANE_RETURN_IF_ERROR(lr.error());
      if (mapping.has_header) return Status::InvalidArgument(path + ": empty file, expected a header line");
      return Status::Ok();
    }
    if (mapping.has_header) {
      if (open_quote) return Status::InvalidArgument(path + ":1: header: unterminated quote");
      for (const auto& f : fields) header.emplace_back(Trim(f));
    } else {
      for (size_t c = 0; c < fields.size(); ++c) header.push_back(std::to_string(c));
      pending = true;
    }
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
    // Optional columns under their default names may be absent; a name the caller chose must exist.
    auto optional_col = [&](const std::string& name, const std::string& def, std::string_view role, int& out) {
      out = find_col(name);
      if (out < 0 && !name.empty() && name != def) return missing(name, role);
      return Status::Ok();
    };
    int cu = find_col(mapping.user), ci, cq, ca, ct, cv, cs, cx;
    if (cu < 0) return missing(mapping.user, "user");
    VANE_RETURN_IF_ERROR(optional_col(mapping.item, defaults.item, "item", ci));
    VANE_RETURN_IF_ERROR(optional_col(mapping.query, defaults.query, "query", cq));
    if (ci < 0 && cq < 0) return missing(mapping.item, "item");
    VANE_RETURN_IF_ERROR(optional_col(mapping.action, defaults.action, "action", ca));
    if (ca < 0 && mapping.default_action.empty())
      return Status::InvalidArgument(fmt::format("{}: action column '{}' not found and no default action set (columns: {})",
                                                 path, mapping.action, known));
    VANE_RETURN_IF_ERROR(optional_col(mapping.ts, defaults.ts, "ts", ct));
    VANE_RETURN_IF_ERROR(optional_col(mapping.value, defaults.value, "value", cv));
    VANE_RETURN_IF_ERROR(optional_col(mapping.session, defaults.session, "session", cs));
    VANE_RETURN_IF_ERROR(optional_col(mapping.context, defaults.context, "context", cx));

    EventCleaner cleaner(ds, opt, report);
    const uint64_t base = report.accepted;
    RawEvent raw;
    auto get = [&](int c) -> std::string_view { return c < 0 ? std::string_view() : Trim(fields[c]); };
    while (pending || NextCsvRecord(lr, mapping.delimiter, rec, fields, line, open_quote)) {
      pending = false;
      Status s;
      if (open_quote) {
        s = RejectRecord(opt, report, path, line, "record", "unterminated quote");
      } else if (fields.size() != ncols) {
        s = RejectRecord(opt, report, path, line, "record",
                         fmt::format("wrong field count: expected {} fields, got {}", ncols, fields.size()));
      } else {
        raw.user.assign(get(cu));
        raw.item.assign(get(ci));
        raw.query.assign(get(cq));
        raw.action.assign(get(ca));
        if (raw.action.empty()) raw.action = mapping.default_action;
        raw.session.assign(get(cs));
        raw.context.assign(get(cx));
        raw.has_ts = false;
        raw.has_value = false;
        std::string_view tsv = get(ct), vv = get(cv);
        if (!tsv.empty()) {
          raw.has_ts = true;
          bool ok = false;
          double d;
          switch (mapping.time_format) {
            case CsvMapping::TimeFormat::kUnixSeconds:
              ok = ParseDouble(tsv, d) && SecondsToTs(d, raw.ts);
              break;
            case CsvMapping::TimeFormat::kUnixMillis:
              ok = ParseDouble(tsv, d) && SecondsToTs(d / 1000.0, raw.ts);
              break;
            case CsvMapping::TimeFormat::kIso8601: {
              auto r = ParseIso8601(tsv);
              ok = r.ok();
              if (ok) raw.ts = r.value();
              break;
            }
          }
          if (!ok) {
            const char* want = mapping.time_format == CsvMapping::TimeFormat::kIso8601 ? "ISO-8601 time"
                               : mapping.time_format == CsvMapping::TimeFormat::kUnixMillis ? "unix time in ms"
                                                                                             : "unix time in s";
            s = RejectRecord(opt, report, path, line, "ts", fmt::format("not a time: {} (expected {})", Quote(tsv), want));
          }
        }
        if (s.ok() && !vv.empty()) {
          if (!ParseDouble(vv, raw.value)) {
            s = RejectRecord(opt, report, path, line, "value", "not a number: " + Quote(vv));
          } else {
            raw.has_value = true;
          }
        }
        if (s.ok()) s = cleaner.Add(raw, path, line);
      }
      if (!s.ok() && opt.on_error == OnError::kFail) return s;
      if (opt.max_events && report.accepted - base >= opt.max_events) break;
    }
    return lr.error();
  } catch (const std::exception& e) {
    return Status::Internal(path + ": " + e.what());
  }
}

bool RawEventFromJson(const json& j, RawEvent& raw, std::string& field, std::string& err) {
  raw = RawEvent();
  field = "user";
  if (!JsonId(j, "user", raw.user, err)) return false;
  field = "item";
  if (!JsonId(j, "item", raw.item, err)) return false;
  field = "query";
  if (!JsonString(j, "query", raw.query, err)) return false;
  field = "action";
  if (!JsonString(j, "action", raw.action, err)) return false;
  field = "session";
  if (!JsonId(j, "session", raw.session, err)) return false;
  field = "ts";
  if (!JsonTime(j, "ts", raw.ts, raw.has_ts, err)) return false;
  field = "value";
  if (auto it = j.find("value"); it != j.end() && !it->is_null()) {
    if (!it->is_number()) {
      err = "wrong type: expected a number, got " + JsonTypeName(*it);
      return false;
    }
    raw.value = it->get<double>();
    raw.has_value = true;
  }
  // Context is free: a label or any JSON value, kept as text.
  if (auto it = j.find("context"); it != j.end() && !it->is_null())
    raw.context = it->is_string() ? it->get<std::string>() : it->dump(-1, ' ', false, json::error_handler_t::replace);
  return true;
}

bool ItemFromJson(const json& j, Item& item, std::string& field, std::string& err) {
  item = Item();
  auto fail = [&](const char* f, std::string reason) {
    field = f;
    err = std::move(reason);
    return false;
  };
  if (!JsonId(j, "id", item.id, err)) return fail("id", err);
  if (item.id.empty()) return fail("id", "missing");
  std::string type;
  if (!JsonString(j, "type", type, err)) return fail("type", err);
  if (!type.empty()) item.type = std::move(type);
  if (!JsonString(j, "title", item.title, err)) return fail("title", err);
  if (!JsonString(j, "text", item.text, err)) return fail("text", err);
  if (auto it = j.find("categories"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return fail("categories", "wrong type: expected an array of strings, got " + JsonTypeName(*it));
    for (size_t k = 0; k < it->size(); ++k) {
      const json& c = (*it)[k];
      if (!c.is_string())
        return fail("categories",
                    fmt::format("wrong type: expected an array of strings, element {} is {}", k, JsonTypeName(c)));
      item.categories.push_back(c.get<std::string>());
    }
  }
  if (auto it = j.find("attributes"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return fail("attributes", "wrong type: expected an object, got " + JsonTypeName(*it));
    for (const auto& [k, v] : it->items()) {
      if (v.is_string()) {
        item.attributes.emplace_back(k, v.get<std::string>());
      } else if (v.is_number()) {
        item.attributes.emplace_back(k, v.dump());
      } else {
        return fail("attributes",
                    fmt::format("wrong type: value of {} must be a string or number, got {}", Quote(k), JsonTypeName(v)));
      }
    }
  }
  if (auto it = j.find("available"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) return fail("available", "wrong type: expected a boolean, got " + JsonTypeName(*it));
    item.available = it->get<bool>();
  }
  bool has_created = false;
  if (!JsonTime(j, "created", item.created, has_created, err)) return fail("created", err);
  return true;
}

namespace {

// Parses a JSONL line into an object, or says why not.
bool ParseJsonLine(std::string_view line, json& j, std::string& err) {
  j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    err = text::IsValidUtf8(line) ? "not valid JSON" : "invalid UTF-8";
    return false;
  }
  if (!j.is_object()) {
    err = "wrong type: expected a JSON object, got " + JsonTypeName(j);
    return false;
  }
  return true;
}

}  // namespace

Status ImportEventsJsonl(const std::string& path, const ImportOptions& opt, Dataset& ds, ImportReport& report) {
  try {
    LineReader lr;
    VANE_RETURN_IF_ERROR(lr.Open(path));
    if (opt.progress) lr.ShowProgress("import " + BaseName(path));
    EventCleaner cleaner(ds, opt, report);
    const uint64_t base = report.accepted;
    RawEvent raw;
    json j;
    std::string field, err;
    std::string_view line;
    while (lr.Next(line)) {
      if (Trim(line).empty()) continue;
      Status s;
      if (!ParseJsonLine(line, j, err)) {
        s = RejectRecord(opt, report, path, lr.line_no(), "record", err);
      } else if (!RawEventFromJson(j, raw, field, err)) {
        s = RejectRecord(opt, report, path, lr.line_no(), field, err);
      } else {
        s = cleaner.Add(raw, path, lr.line_no());
      }
      if (!s.ok() && opt.on_error == OnError::kFail) return s;
      if (opt.max_events && report.accepted - base >= opt.max_events) break;
    }
    return lr.error();
  } catch (const std::exception& e) {
    return Status::Internal(path + ": " + e.what());
  }
}

Status ImportItemsJsonl(const std::string& path, const ImportOptions& opt, Dataset& ds, ImportReport& report) {
  try {
    LineReader lr;
    VANE_RETURN_IF_ERROR(lr.Open(path));
    if (opt.progress) lr.ShowProgress("import " + BaseName(path));
    json j;
    std::string err;
    std::string_view line;
    while (lr.Next(line)) {
      if (Trim(line).empty()) continue;
      uint64_t ln = lr.line_no();
      auto reject = [&](const char* field, std::string reason) {
        return RejectRecord(opt, report, path, ln, field, std::move(reason));
      };
      Status s = [&]() -> Status {
        if (!ParseJsonLine(line, j, err)) return reject("record", err);
        Item item;
        std::string field;
        if (!ItemFromJson(j, item, field, err)) return RejectRecord(opt, report, path, ln, field, err);
        ++report.records_read;
        ++report.accepted;
        ds.catalog.Upsert(std::move(item));
        return Status::Ok();
      }();
      if (!s.ok() && opt.on_error == OnError::kFail) return s;
    }
    return lr.error();
  } catch (const std::exception& e) {
    return Status::Internal(path + ": " + e.what());
  }
}

}  // namespace vane
