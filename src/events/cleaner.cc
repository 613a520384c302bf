#include "vane/events/cleaner.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <ostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "values.h"
#include "vane/core/binary_io.h"
#include "vane/events/ids.h"
#include "vane/text/tokenize.h"

namespace vane {
namespace {

using events_detail::Quote;
using nlohmann::json;

constexpr Timestamp kNoTs = std::numeric_limits<Timestamp>::min();

// Rejection counts are keyed by field and the fixed part of the reason (before any ':' detail), so that
// "unknown action: 'clik'" and "unknown action: 'buyy'" add up under one key.
std::string ReasonKey(std::string_view field, std::string_view reason) {
  size_t colon = reason.find(':');
  return std::string(field) + ": " + std::string(reason.substr(0, colon));
}

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

bool HasQuery(const RawEvent& raw) { return raw.query.find_first_not_of(" \t\r\n") != std::string::npos; }

// Every text field of a raw event must be valid UTF-8.
Status CheckUtf8(const RawEvent& raw) {
  const std::pair<const char*, const std::string*> fields[] = {{"user", &raw.user},       {"item", &raw.item},
                                                               {"query", &raw.query},     {"action", &raw.action},
                                                               {"session", &raw.session}, {"context", &raw.context}};
  for (const auto& [name, value] : fields)
    if (!text::IsValidUtf8(*value)) return RecordRejection(name, "invalid UTF-8: " + Quote(*value));
  return Status::Ok();
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

// Rejections -----------------------------------------------------------------------------------------------------

Status RecordRejection(std::string field, std::string reason) {
  return Status::InvalidArgument(std::move(reason)).WithField(std::move(field));
}

Status AtRecord(const Status& rejected, std::string_view file, uint64_t line) {
  return Status(rejected.code(), fmt::format("{}:{}: {}: {}", file, line, rejected.field(), rejected.message()))
      .WithField(rejected.field());
}

Status RejectRecord(const ImportOptions& opt, ImportReport& report, std::string_view file, uint64_t line,
                    std::string field, std::string reason) {
  ++report.records_read;
  Status rejection = RecordRejection(field, reason);
  if (opt.on_error == OnError::kFail) {
    // Counted (so the totals still add up) but not listed: the caller stops and the Status carries the details.
    ++report.rejected;
    ++report.rejected_by_reason[ReasonKey(field, reason)];
  } else {
    report.Reject(ImportIssue{std::string(file), line, std::move(field), std::move(reason)});
  }
  return rejection;
}

// EventCleaner ---------------------------------------------------------------------------------------------------

EventCleaner::EventCleaner(Dataset& ds, const ImportOptions& opt, ImportReport& report)
    : ds_(ds), opt_(opt), report_(report) {}

void EventCleaner::ForgetDropped() {
  seen_.EraseBelow(ds_.events_base);
}

Status EventCleaner::Add(const RawEvent& raw, std::string_view file, uint64_t line) {
  auto reject = [&](const Status& s) { return RejectRecord(opt_, report_, file, line, s.field(), s.message()); };
  Result<ActionId> action = CheckFields(raw);
  if (!action.ok()) return reject(action.status());
  const ActionSpec& spec = ds_.actions.spec(*action);
  bool filled = false, clipped = false;
  Result<Timestamp> ts = EventTime(raw, filled);
  if (!ts.ok()) return reject(ts.status());
  Result<double> value = EventValue(raw, spec, clipped);
  if (!value.ok()) return reject(value.status());

  ++report_.records_read;
  // Valid: only now intern, so that rejected records leave no users, items or queries behind.
  Event e = Intern(raw, *ts, *value, *action);
  if (opt_.dedup && IsDuplicate(e)) {
    ++report_.duplicates;
    return Status::Ok();
  }
  ds_.events.push_back(e);
  if (last_ts_.size() <= e.user.v) last_ts_.resize(e.user.v + 1, kNoTs);
  last_ts_[e.user.v] = e.ts;
  ++report_.accepted;
  if (filled) ++report_.filled;
  if (clipped) ++report_.clipped;
  return Status::Ok();
}

Status EventCleaner::Check(const RawEvent& raw) const {
  VANE_ASSIGN_OR_RETURN(ActionId action, CheckFields(raw));
  bool filled = false, clipped = false;
  VANE_RETURN_IF_ERROR(EventTime(raw, filled).status());
  return EventValue(raw, ds_.actions.spec(action), clipped).status();
}

Result<ActionId> EventCleaner::CheckFields(const RawEvent& raw) const {
  if (raw.user.empty()) return RecordRejection("user", "missing");
  VANE_RETURN_IF_ERROR(CheckUtf8(raw));
  if (opt_.check_ids) {
    VANE_RETURN_IF_ERROR(CheckId("user", raw.user));
    if (!raw.item.empty()) VANE_RETURN_IF_ERROR(CheckId("item", raw.item));
    if (!raw.session.empty()) VANE_RETURN_IF_ERROR(CheckId("session", raw.session));
  }
  if (raw.action.empty()) return RecordRejection("action", "missing");
  std::optional<ActionId> action = ds_.actions.Find(raw.action);
  if (!action) return RecordRejection("action", "unknown action: " + Quote(raw.action));
  if (ds_.actions.spec(*action).is_search) {
    if (!HasQuery(raw) || text::Normalize(raw.query).empty())
      return RecordRejection("query", "missing: a search needs a query");
  } else if (raw.item.empty()) {
    return RecordRejection("item", "missing");
  }
  return *action;
}

Result<Timestamp> EventCleaner::EventTime(const RawEvent& raw, bool& filled) const {
  Timestamp ts = raw.ts;
  if (!raw.has_ts) {
    // A missing time keeps the user's order: one second after the user's previous event.
    ts = opt_.min_ts;
    if (auto u = ds_.users.Find(raw.user); u && *u < last_ts_.size() && last_ts_[*u] != kNoTs) ts = last_ts_[*u] + 1;
    filled = true;
  }
  if (ts < opt_.min_ts || ts > opt_.max_ts)
    return RecordRejection("ts", fmt::format("out of range: {} not in [{}, {}]", ts, opt_.min_ts, opt_.max_ts));
  return ts;
}

Result<double> EventCleaner::EventValue(const RawEvent& raw, const ActionSpec& spec, bool& clipped) const {
  if (!raw.has_value) return 0.0;
  double value = raw.value;
  if (!std::isfinite(value)) return RecordRejection("value", "not a finite number");
  switch (spec.value_kind) {
    case ValueKind::kDwell:
      if (value < 0) return RecordRejection("value", fmt::format("negative dwell: {}", value));
      if (value > opt_.max_dwell_seconds) {
        value = opt_.max_dwell_seconds;
        clipped = true;
      }
      break;
    case ValueKind::kRating:
      // Twice the nominal scale is tolerated (10-point files under a 5-point spec); beyond that it is garbage.
      if (value < 0 || value > 2.0 * spec.value_max)
        return RecordRejection("value", fmt::format("rating out of range: {} not in [0, {}]", value, 2.0 * spec.value_max));
      break;
    case ValueKind::kQuantity:
      if (value < 0) return RecordRejection("value", fmt::format("negative quantity: {}", value));
      break;
    case ValueKind::kNone:
      break;
  }
  if (std::fabs(value) > std::numeric_limits<float>::max())
    return RecordRejection("value", fmt::format("out of range: {} does not fit a float", value));
  return value;
}

Event EventCleaner::Intern(const RawEvent& raw, Timestamp ts, double value, ActionId action) {
  Event e;
  e.ts = ts;
  e.user = ds_.InternUser(raw.user);
  if (!raw.item.empty()) {
    size_t before = ds_.catalog.size();
    e.item = ds_.catalog.FindOrAdd(raw.item);
    if (ds_.catalog.size() > before) ++report_.items_created;
  }
  if (HasQuery(raw)) e.query = ds_.InternQuery(raw.query);
  if (!raw.session.empty()) e.session = ds_.sessions.Intern(raw.session);
  e.value = static_cast<float>(value);
  e.action = action;
  e.has_value = raw.has_value;
  return e;
}

bool EventCleaner::IsDuplicate(const Event& e) {
  const uint64_t index = ds_.events_base + ds_.events.size();
  bool inserted = false;
  uint64_t* slot = seen_.TryEmplace(HashEvent(e), index, inserted);
  if (inserted) return false;
  if (*slot >= ds_.events_base && *slot < index && SameEvent(ds_.events[*slot - ds_.events_base], e)) return true;
  // The earlier event left memory: this one takes its slot. (A true hash collision keeps the first slot.)
  if (*slot < ds_.events_base) *slot = index;
  return false;
}

// Snapshots ---------------------------------------------------------------------------------------------------------

void ImportReport::Save(BinaryWriter& w) const {
  w.Tag("report");
  for (uint64_t v : {records_read, accepted, rejected, duplicates, filled, clipped, items_created}) w.U64(v);
  w.U64(rejected_by_reason.size());
  for (const auto& [reason, n] : rejected_by_reason) {
    w.Str(reason);
    w.U64(n);
  }
}

Status ImportReport::Load(BinaryReader& r) {
  r.Expect("report");
  for (uint64_t* v : {&records_read, &accepted, &rejected, &duplicates, &filled, &clipped, &items_created}) *v = r.U64();
  uint64_t n = r.Count(16, "rejection reasons");
  rejected_by_reason.clear();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    std::string reason = r.Str();
    rejected_by_reason[std::move(reason)] = r.U64();
  }
  issues.clear();
  return r.status();
}

// HashIndex -------------------------------------------------------------------------------------------------------

uint64_t* HashIndex::TryEmplace(uint64_t hash, uint64_t value, bool& inserted) {
  if ((size_ + 1) * 4 > keys_.size() * 3) Rehash(keys_.empty() ? 1024 : keys_.size() * 2);
  const uint64_t key = hash == 0 ? 1 : hash;
  const size_t mask = keys_.size() - 1;
  size_t p = key & mask;  // the key is a well-mixed hash already
  while (keys_[p] != 0 && keys_[p] != key) p = (p + 1) & mask;
  inserted = keys_[p] == 0;
  if (inserted) {
    keys_[p] = key;
    values_[p] = value;
    ++size_;
  }
  return &values_[p];
}

void HashIndex::Rehash(size_t capacity) {
  std::vector<uint64_t> keys(capacity, 0), values(capacity, 0);
  const size_t mask = capacity - 1;
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == 0) continue;
    size_t p = keys_[i] & mask;
    while (keys[p] != 0) p = (p + 1) & mask;
    keys[p] = keys_[i];
    values[p] = values_[i];
  }
  keys_.swap(keys);
  values_.swap(values);
}

void HashIndex::EraseBelow(uint64_t min_value) {
  size_t kept = 0;
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] != 0 && values_[i] < min_value) keys_[i] = 0;
    kept += keys_[i] != 0;
  }
  size_ = kept;
  // Linear probing needs its chains whole: re-place what stays, in the smallest table that holds it.
  size_t capacity = 1024;
  while (capacity * 3 <= size_ * 4) capacity *= 2;
  Rehash(capacity);
}

void HashIndex::Save(BinaryWriter& w) const {
  w.PodVec(keys_);
  w.PodVec(values_);
}

Status HashIndex::Load(BinaryReader& r) {
  r.PodVec(keys_);
  r.PodVec(values_);
  const size_t cap = keys_.size();
  if (r.ok() && (cap != values_.size() || (cap & (cap - 1)) != 0)) r.Fail("duplicate index tables malformed");
  size_ = 0;
  for (uint64_t k : keys_) size_ += k != 0;
  if (r.ok() && cap > 0 && size_ * 4 > cap * 3) r.Fail("duplicate index over-full");
  return r.status();
}

void EventCleaner::Save(BinaryWriter& w) const {
  w.Tag("cleaner");
  w.PodVec(last_ts_);
  seen_.Save(w);  // the table as it is: loading it is a copy, not millions of insertions
}

Status EventCleaner::Load(BinaryReader& r) {
  r.Expect("cleaner");
  r.PodVec(last_ts_);
  VANE_RETURN_IF_ERROR(seen_.Load(r));
  if (last_ts_.size() > ds_.users.size()) r.Fail("per-user times for more users than the dataset has");
  return r.status();
}

}  // namespace vane
