// The event log as Redis Streams (cluster_store/stream_log.h): partitions, idempotent appends, the common order.
#include "vane/cluster_store/stream_log.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

#include "parse_decimal.h"
#include "vane/cluster_store/cluster_state.h"
#include "vane/cluster/key_slot.h"
#include "vane/events/json_records.h"
#include "vane/store/store.h"

namespace vane::cluster {
namespace {

using Args = std::vector<std::string>;

// KEYS: the stream, the batch-id hash, the batch-id times. ARGV: batch id, events or items (JSON array), their
// count, the seconds a batch id is remembered, the field ("e": events, "i": items). Returns {entry id, 1 if the batch id was known (nothing written) else 0}.
constexpr const char* kAppend = R"lua(
local now = tonumber(redis.call('TIME')[1])
local old = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[4]), 'LIMIT', 0, 100)
for _, b in ipairs(old) do
  redis.call('HDEL', KEYS[2], b)
  redis.call('ZREM', KEYS[3], b)
end
local seen = redis.call('HGET', KEYS[2], ARGV[1])
if seen then return {seen, 1} end
local id = redis.call('XADD', KEYS[1], '*', 'b', ARGV[1], ARGV[5], ARGV[2], 'n', ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], id)
redis.call('ZADD', KEYS[3], now, ARGV[1])
return {id, 0}
)lua";

// KEYS: the stream, its trim mark (cluster_state.h). ARGV: the exclusive start ("(ms-seq", or "-"), the count.
// Returns {seconds, microseconds, the entries, the trim mark or ""}: the master's clock read in the same atomic
// step as the entries.
constexpr const char* kTail = R"lua(
local t = redis.call('TIME')
local mark = redis.call('GET', KEYS[2]) or ''
return {t[1], t[2], redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', ARGV[2]), mark}
)lua";

bool ValidPrefix(std::string_view p) {
  return !p.empty() && p.size() <= 100 && p.find_first_of("{}") == std::string_view::npos;
}

std::string EventsJson(std::span<const RawEvent* const> events) {
  std::string out = "[";
  for (size_t i = 0; i < events.size(); ++i) {
    if (i) out += ',';
    out += EventToJson(*events[i]);
  }
  out += ']';
  return out;
}

std::string ItemsJson(std::span<const Item> items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += ItemToJson(items[i]);
  }
  out += ']';
  return out;
}

// Parses the JSON array of field `name` ("e" or "i") into the entry's events or items.
void ReadArray(const std::string& name, const std::string& text, LogEntry& e) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) {
    e.error = "field " + name + ": not a JSON array";
    return;
  }
  for (size_t i = 0; i < j.size(); ++i) {
    Status s;
    if (name == "e") {
      auto ev = RawEventFromJson(j[i]);
      if (ev.ok()) e.events.push_back(std::move(*ev));
      s = ev.status();
    } else {
      auto it = ItemFromJson(j[i]);
      if (it.ok()) e.items.push_back(std::move(*it));
      s = it.status();
    }
    if (!s.ok()) {
      e.events.clear();
      e.items.clear();
      e.error = fmt::format("field {}: {} {}: {} {}", name, name == "e" ? "event" : "item", i, s.field(), s.message());
      return;
    }
  }
}

// Reads a record entry's field "r": {"k": kind, "u": user, "v": body}, three non-empty strings.
void ReadRecord(const std::string& text, LogEntry& e) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    e.error = "field r: not a JSON object";
    return;
  }
  for (const char* k : {"k", "u", "v"}) {
    auto it = j.find(k);
    if (it == j.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
      e.error = fmt::format("field r: \"{}\" must be a non-empty string", k);
      return;
    }
  }
  e.record_kind = j["k"].get<std::string>();
  e.record_user = j["u"].get<std::string>();
  e.record_body = j["v"].get<std::string>();
}

// Reads an entry's field/value array into a LogEntry (its events, or the reason it is malformed).
void ReadFields(const Reply& fields, LogEntry& e) {
  if (fields.type != Reply::Type::kArray || fields.elements.size() % 2 != 0) {
    e.error = "fields: not a field/value list";
    return;
  }
  const std::string* events = nullptr;
  const std::string* items = nullptr;
  const std::string* count = nullptr;
  const std::string* deleted = nullptr;
  const std::string* record = nullptr;
  for (size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
    const std::string& k = fields.elements[i].str;
    if (k == "b") e.batch = fields.elements[i + 1].str;
    if (k == "e") events = &fields.elements[i + 1].str;
    if (k == "i") items = &fields.elements[i + 1].str;
    if (k == "n") count = &fields.elements[i + 1].str;
    if (k == "d") deleted = &fields.elements[i + 1].str;
    if (k == "r") record = &fields.elements[i + 1].str;
  }
  if (record != nullptr) {
    if (events != nullptr || items != nullptr || deleted != nullptr) {
      e.error = "field r: an entry holding a record holds nothing else";
      return;
    }
    ReadRecord(*record, e);
    return;
  }
  if (deleted != nullptr) {
    if (events != nullptr || items != nullptr || deleted->empty()) {
      e.error = deleted->empty() ? "field d: empty user id" : "field d: an entry deleting a user holds nothing else";
      return;
    }
    e.delete_user = *deleted;
    return;
  }
  if (events == nullptr && items == nullptr) {
    e.error = "field e: missing";
    return;
  }
  if (events != nullptr && items != nullptr) {
    e.error = "fields e and i: an entry holds events or items, not both";
    return;
  }
  ReadArray(events ? "e" : "i", events ? *events : *items, e);
  if (!e.error.empty()) return;
  auto n = count ? ParseDecimal(*count) : std::nullopt;
  if (!n || *n != e.events.size() + e.items.size()) {
    e.events.clear();
    e.items.clear();
    e.error = count ? "field n: does not match the " + std::string(events ? "events" : "items") : "field n: missing";
  }
}

std::string StreamKey(const std::string& prefix, int partition) {
  return "{" + prefix + ":p" + std::to_string(partition) + "}:log";
}

Status CheckLogOptions(const StreamLogOptions& o) {
  if (!ValidPrefix(o.prefix))
    return Status::InvalidArgument("stream log: the prefix must be 1 to 100 bytes without '{' or '}'");
  if (o.partitions < 1 || o.partitions > 1024)
    return Status::InvalidArgument(fmt::format("stream log: partitions must be in [1, 1024], not {}", o.partitions));
  if (o.wait_replicas < 0) return Status::InvalidArgument("stream log: wait_replicas must not be negative");
  return Status::Ok();
}

}  // namespace

std::string AppendReceipt::Token() const {
  std::string out;
  for (const PartitionEntry& e : entries) {
    if (!out.empty()) out += ',';
    out += std::to_string(e.partition) + ":" + e.id.ToString();
  }
  return out;
}

bool AppendReceipt::duplicate() const {
  return !entries.empty() && std::all_of(entries.begin(), entries.end(), [](const auto& e) { return e.duplicate; });
}

// ---- StreamLog ----

StreamLog::StreamLog(std::unique_ptr<RedisCluster> client, StreamLogOptions options)
    : client_(std::move(client)), options_(std::move(options)) {}
StreamLog::~StreamLog() = default;

Result<std::unique_ptr<StreamLog>> StreamLog::Open(RedisClusterOptions cluster, StreamLogOptions options) {
  VANE_RETURN_IF_ERROR(CheckLogOptions(options));
  VANE_ASSIGN_OR_RETURN(auto client, RedisCluster::Connect(std::move(cluster)));
  return std::unique_ptr<StreamLog>(new StreamLog(std::move(client), std::move(options)));
}

int StreamLog::Partition(std::string_view user) const { return KeySlot(user) % options_.partitions; }

std::string StreamLog::StreamKey(int partition) const { return cluster::StreamKey(options_.prefix, partition); }

Result<AppendReceipt> StreamLog::Append(std::string_view batch_id, std::span<const RawEvent> events) {
  std::map<int, std::vector<const RawEvent*>> by_partition;
  for (const RawEvent& e : events) by_partition[Partition(e.user)].push_back(&e);
  std::vector<PartPayload> parts;
  for (const auto& [p, evs] : by_partition) parts.push_back({p, "e", EventsJson(evs), evs.size()});
  return AppendParts(batch_id, parts);
}

Result<AppendReceipt> StreamLog::AppendItems(std::string_view batch_id, std::span<const Item> items) {
  if (items.empty()) return AppendParts(batch_id, {});
  return AppendParts(batch_id, {{KeySlot(batch_id) % options_.partitions, "i", ItemsJson(items), items.size()}});
}

Result<AppendReceipt> StreamLog::AppendDeletion(std::string_view batch_id, const std::string& user) {
  if (user.empty() || user.size() > 1024)
    return Status::InvalidArgument("bad_user", "stream log: a deleted user's id must be 1 to 1024 bytes");
  return AppendParts(batch_id, {{Partition(user), "d", user, 1}});
}

Result<AppendReceipt> StreamLog::AppendRecord(std::string_view batch_id, const std::string& kind,
                                              const std::string& user, const std::string& body) {
  if (kind.empty() || kind.size() > 64) return Status::InvalidArgument("bad_record", "stream log: a record's kind must be 1 to 64 bytes");
  if (user.empty() || user.size() > 1024)
    return Status::InvalidArgument("bad_user", "stream log: a record's user id must be 1 to 1024 bytes");
  if (body.empty()) return Status::InvalidArgument("bad_record", "stream log: a record's body must not be empty");
  const std::string r = nlohmann::json{{"k", kind}, {"u", user}, {"v", body}}.dump(-1, ' ', false,
                                                                                 nlohmann::json::error_handler_t::replace);
  return AppendParts(batch_id, {{Partition(user), "r", r, 1}});
}

Result<AppendReceipt> StreamLog::AppendParts(std::string_view batch_id, const std::vector<PartPayload>& parts) {
  if (batch_id.empty() || batch_id.size() > 200)
    return Status::InvalidArgument("bad_batch_id", "stream log: a batch id must be 1 to 200 bytes");
  std::vector<Args> scripts;
  std::vector<std::string> keys;
  for (const PartPayload& part : parts) {
    std::string tag = "{" + options_.prefix + ":p" + std::to_string(part.partition) + "}";
    scripts.push_back({"EVAL", kAppend, "3", tag + ":log", tag + ":batches", tag + ":bt", std::string(batch_id),
                       part.json, std::to_string(part.count), std::to_string(options_.dedup_ttl.count()),
                       part.field});
    keys.push_back(tag + ":log");
  }
  AppendReceipt receipt;
  if (scripts.empty()) return receipt;
  VANE_ASSIGN_OR_RETURN(std::vector<Reply> replies, client_->Pipeline(keys, scripts));
  std::vector<int> touched;
  for (size_t i = 0; i < replies.size(); ++i) {
    const Reply& r = replies[i];
    VANE_RETURN_IF_ERROR(r.ToStatus());
    std::optional<StreamId> id;
    if (r.type == Reply::Type::kArray && r.elements.size() == 2) id = StreamId::Parse(r.elements[0].str);
    if (!id) return Status::Internal("stream log: unexpected append reply " + r.DebugString());
    receipt.entries.push_back({parts[i].partition, *id, parts[i].count, r.elements[1].integer == 1});
    touched.push_back(parts[i].partition);
  }
  if (options_.wait_replicas > 0) VANE_RETURN_IF_ERROR(WaitReplicas(touched));
  return receipt;
}

Status StreamLog::WaitReplicas(const std::vector<int>& partitions) {
  std::set<std::string> masters;
  for (int p : partitions) masters.insert(client_->MasterForKey(StreamKey(p)));
  for (const std::string& m : masters) {
    auto r = client_->CommandOnNode(
        m, {"WAIT", std::to_string(options_.wait_replicas), std::to_string(options_.wait_timeout.count())});
    if (!r.ok()) return r.status();
    VANE_RETURN_IF_ERROR(r->ToStatus());
    if (r->integer < options_.wait_replicas) {
      return Status::Unavailable(
          "replicas_missing", fmt::format("stream log: {} of {} replicas of {} confirmed the batch within {} ms; it is "
                                          "in the master, not acknowledged (retry with the same batch id)",
                                          r->integer, options_.wait_replicas, m, options_.wait_timeout.count()));
    }
  }
  return Status::Ok();
}

Result<uint64_t> StreamLog::Trim(int partition, StreamId min_id) {
  VANE_ASSIGN_OR_RETURN(Reply r, client_->Command({"XTRIM", StreamKey(partition), "MINID", min_id.ToString()}));
  VANE_RETURN_IF_ERROR(r.ToStatus());
  return static_cast<uint64_t>(r.integer);
}

Result<std::vector<uint64_t>> StreamLog::Lengths() {
  std::vector<Args> cmds;
  for (int p = 0; p < options_.partitions; ++p) cmds.push_back({"XLEN", StreamKey(p)});
  VANE_ASSIGN_OR_RETURN(std::vector<Reply> replies, client_->Pipeline(cmds));
  std::vector<uint64_t> out;
  for (const Reply& r : replies) {
    VANE_RETURN_IF_ERROR(r.ToStatus());
    out.push_back(static_cast<uint64_t>(r.integer));
  }
  return out;
}

// ---- StreamTailer ----

StreamTailer::StreamTailer(std::unique_ptr<RedisCluster> client, StreamLogOptions log_options, Options options,
                           std::vector<StreamId> from)
    : client_(std::move(client)), log_(std::move(log_options)), options_(options), read_(std::move(from)) {
  read_.resize(static_cast<size_t>(log_.partitions));
  released_ = read_;
  buffer_.resize(read_.size());
}
StreamTailer::~StreamTailer() = default;

Result<std::unique_ptr<StreamTailer>> StreamTailer::Open(RedisClusterOptions cluster, StreamLogOptions log_options,
                                                         Options options, std::vector<StreamId> from) {
  VANE_RETURN_IF_ERROR(CheckLogOptions(log_options));
  if (!from.empty() && from.size() != static_cast<size_t>(log_options.partitions))
    return Status::InvalidArgument(fmt::format("stream tailer: {} start positions for {} partitions", from.size(),
                                               log_options.partitions));
  if (options.read_count == 0) return Status::InvalidArgument("stream tailer: read_count must be positive");
  VANE_ASSIGN_OR_RETURN(auto client, RedisCluster::Connect(std::move(cluster)));
  return std::unique_ptr<StreamTailer>(
      new StreamTailer(std::move(client), std::move(log_options), options, std::move(from)));
}

// Reads every partition after its last read id; `bounds` receives, per partition, the milliseconds below which
// every entry of it has now been read.
Status StreamTailer::ReadAll(std::vector<uint64_t>& bounds) {
  std::vector<Args> cmds;
  std::vector<std::string> keys;
  for (size_t p = 0; p < read_.size(); ++p) {
    std::string start = read_[p] == StreamId{} ? "-" : "(" + read_[p].ToString();
    keys.push_back(StreamKey(log_.prefix, static_cast<int>(p)));
    cmds.push_back({"EVAL", kTail, "2", keys.back(), TrimmedKey(log_.prefix, static_cast<int>(p)), start,
                    std::to_string(options_.read_count)});
  }
  VANE_ASSIGN_OR_RETURN(std::vector<Reply> replies, client_->Pipeline(keys, cmds));
  bounds.assign(read_.size(), 0);
  for (size_t p = 0; p < replies.size(); ++p) {
    const Reply& r = replies[p];
    VANE_RETURN_IF_ERROR(r.ToStatus());
    auto sec = r.elements.size() == 4 ? ParseDecimal(r.elements[0].str) : std::nullopt;
    auto usec = r.elements.size() == 4 ? ParseDecimal(r.elements[1].str) : std::nullopt;
    if (!sec || !usec || r.elements[2].type != Reply::Type::kArray)
      return Status::Internal("stream tailer: unexpected read reply " + r.DebugString());
    // A trim removed an entry this tailer has not read: reading on would skip it without a word.
    if (auto mark = StreamId::Parse(r.elements[3].str); mark && read_[p] < *mark)
      return Status(StatusCode::kFailedPrecondition,
          "log_trimmed", fmt::format("stream tailer: partition {} was trimmed up to {} (behind a snapshot) but this "
                                     "reader is at {}: the entries between are gone; load the latest snapshot",
                                     p, mark->ToString(), read_[p].ToString()));
    const auto& entries = r.elements[2].elements;
    for (const Reply& entry : entries) {
      LogEntry e;
      e.partition = static_cast<int>(p);
      auto id = entry.elements.size() == 2 ? StreamId::Parse(entry.elements[0].str) : std::nullopt;
      if (!id) return Status::Internal("stream tailer: unexpected entry " + entry.DebugString());
      e.id = *id;
      ReadFields(entry.elements[1], e);
      read_[p] = e.id;
      buffer_[p].push_back(std::move(e));
    }
    const uint64_t clock_ms = *sec * 1000 + *usec / 1000;
    const uint64_t margin = static_cast<uint64_t>(options_.order_margin.count());
    // A full read may have left entries behind: only what lies below the last entry read is complete.
    bounds[p] = entries.size() >= options_.read_count ? read_[p].ms : (clock_ms > margin ? clock_ms - margin : 0);
  }
  return Status::Ok();
}

Result<std::vector<LogEntry>> StreamTailer::Poll() {
  std::vector<uint64_t> bounds;
  VANE_RETURN_IF_ERROR(ReadAll(bounds));
  ++stats_.polls;
  const uint64_t w = std::max(watermark_, *std::min_element(bounds.begin(), bounds.end()));
  std::vector<LogEntry> out;
  for (size_t p = 0; p < buffer_.size(); ++p) {
    auto& buf = buffer_[p];
    size_t n = 0;
    while (n < buf.size() && buf[n].id.ms < w) ++n;
    for (size_t i = 0; i < n; ++i) {
      // Below the watermark already passed: it arrived after entries that follow it in the common order.
      buf[i].late = buf[i].id.ms < watermark_;
      out.push_back(std::move(buf[i]));
    }
    buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  }
  // Late entries lie below the old watermark, so they come first, as they would have in the common order.
  std::sort(out.begin(), out.end(), [](const LogEntry& a, const LogEntry& b) {
    return a.id != b.id ? a.id < b.id : a.partition < b.partition;
  });
  watermark_ = w;
  stats_.watermark_ms = w;
  stats_.buffered = 0;
  for (const auto& buf : buffer_) stats_.buffered += buf.size();
  for (const LogEntry& e : out) {
    released_[static_cast<size_t>(e.partition)] = std::max(released_[static_cast<size_t>(e.partition)], e.id);
    ++stats_.entries;
    stats_.events += e.events.size();
    stats_.rejected += e.error.empty() ? 0 : 1;
    stats_.late_entries += e.late ? 1 : 0;
  }
  return out;
}

Status StreamTailer::Seek(std::vector<StreamId> from) {
  if (from.size() != read_.size())
    return Status::InvalidArgument(fmt::format("stream tailer: {} positions for {} partitions", from.size(), read_.size()));
  read_ = std::move(from);
  released_ = read_;
  for (auto& b : buffer_) b.clear();
  watermark_ = 0;
  return Status::Ok();
}

bool StreamTailer::Covers(const std::vector<std::pair<int, StreamId>>& token) const {
  for (const auto& [p, id] : token) {
    if (p < 0 || static_cast<size_t>(p) >= released_.size() || released_[static_cast<size_t>(p)] < id) return false;
  }
  return true;
}

namespace {

class StreamSharedLog : public SharedLog {
 public:
  StreamSharedLog(std::unique_ptr<StreamLog> log, std::unique_ptr<StreamTailer> tailer,
                  std::unique_ptr<ClusterState> state)
      : log_(std::move(log)), tailer_(std::move(tailer)), state_(std::move(state)), positions_(tailer_->positions()) {}

  Status Seek(const std::string& position) override {
    VANE_ASSIGN_OR_RETURN(auto parts, ParseToken(position, log_->options().partitions));
    std::vector<StreamId> from(static_cast<size_t>(log_->options().partitions));
    for (const auto& [p, id] : parts) from[static_cast<size_t>(p)] = id;
    VANE_RETURN_IF_ERROR(tailer_->Seek(from));
    std::lock_guard l(mu_);
    positions_ = tailer_->positions();
    return Status::Ok();
  }
  Result<SharedSnapshot> PutSnapshot(SharedSnapshot meta, std::string_view image, uint64_t lease,
                                     size_t keep) override {
    return state_->PutSnapshot(std::move(meta), image, lease, keep, snap_kind_);
  }
  Result<std::optional<SharedSnapshot>> LatestSnapshot() override {
    VANE_ASSIGN_OR_RETURN(auto all, state_->ListSnapshots(snap_kind_));
    if (all.empty()) return std::optional<SharedSnapshot>();
    return std::optional<SharedSnapshot>(all.front());
  }
  Result<std::string> ReadSnapshot(const SharedSnapshot& meta) override { return state_->ReadSnapshot(meta, snap_kind_); }
  Result<uint64_t> TrimBehindSnapshots() override { return state_->TrimBehindSnapshots(group_kinds_); }
  int Partitions() const override { return log_->options().partitions; }
  int PartitionOf(const std::string& user) const override { return log_->Partition(user); }
  Status SetGroup(int group, int groups) override {
    if (groups < 1 || groups > log_->options().partitions || group < 0 || group >= groups)
      return Status::InvalidArgument(fmt::format("node groups: group {} of {} (groups must be 1 to the {} partitions, "
                                                 "the group below them)", group, groups, log_->options().partitions));
    snap_kind_ = groups == 1 ? "snap" : fmt::format("snap-g{}", group);
    group_kinds_.clear();
    for (int g = 0; g < groups; ++g) group_kinds_.push_back(groups == 1 ? "snap" : fmt::format("snap-g{}", g));
    return Status::Ok();
  }
  std::string SnapshotKind() const override { return snap_kind_; }
  Status Heartbeat(const std::string& node, const std::string& info) override { return state_->Heartbeat(node, info); }
  Status Leave(const std::string& node) override { return state_->Leave(node); }
  Result<std::map<std::string, std::string>> Members() override { return state_->Members(); }
  Result<int> RewriteFiles() override { return state_->RewriteFiles(); }
  Result<SharedSnapshot> PutModel(SharedSnapshot meta, std::string_view files, uint64_t lease, size_t keep) override {
    return state_->PutSnapshot(std::move(meta), files, lease, keep, "models");
  }
  Result<std::optional<SharedSnapshot>> LatestModel() override {
    VANE_ASSIGN_OR_RETURN(auto all, state_->ListSnapshots("models"));
    if (all.empty()) return std::optional<SharedSnapshot>();
    // Newest by time: versions are ordered by when they were published, not by the log position they cover.
    auto it = std::max_element(all.begin(), all.end(), [](const SharedSnapshot& a, const SharedSnapshot& b) {
      return a.written_ms < b.written_ms;
    });
    return std::optional<SharedSnapshot>(*it);
  }
  Result<std::string> ReadModel(const SharedSnapshot& meta) override { return state_->ReadSnapshot(meta, "models"); }
  Result<std::optional<std::string>> GetConfig(const std::string& name) override { return state_->GetConfig(name); }
  Result<std::string> PutConfigIfAbsent(const std::string& name, const std::string& value) override {
    return state_->PutConfigIfAbsent(name, value);
  }
  Status PutConfig(const std::string& name, const std::string& value) override { return state_->PutConfig(name, value); }
  Result<uint64_t> TryLease(const std::string& name, const std::string& holder,
                            std::chrono::milliseconds ttl) override {
    return state_->TryLease(name, holder, ttl);
  }
  Status ReleaseLease(const std::string& name, const std::string& holder, uint64_t token) override {
    return state_->ReleaseLease(name, holder, token);
  }

  Result<std::string> Append(const std::string& batch_id, std::span<const RawEvent> events) override {
    VANE_ASSIGN_OR_RETURN(AppendReceipt r, log_->Append(batch_id, events));
    return r.Token();
  }
  Result<std::string> AppendItems(const std::string& batch_id, std::span<const Item> items) override {
    VANE_ASSIGN_OR_RETURN(AppendReceipt r, log_->AppendItems(batch_id, items));
    return r.Token();
  }
  Result<std::string> AppendDeletion(const std::string& batch_id, const std::string& user) override {
    VANE_ASSIGN_OR_RETURN(AppendReceipt r, log_->AppendDeletion(batch_id, user));
    return r.Token();
  }
  Result<std::string> AppendRecord(const std::string& batch_id, const std::string& kind, const std::string& user,
                                   const std::string& body) override {
    VANE_ASSIGN_OR_RETURN(AppendReceipt r, log_->AppendRecord(batch_id, kind, user, body));
    return r.Token();
  }
  Result<std::vector<SharedLogEntry>> Poll() override {
    VANE_ASSIGN_OR_RETURN(std::vector<LogEntry> got, tailer_->Poll());
    std::vector<SharedLogEntry> out;
    out.reserve(got.size());
    for (LogEntry& e : got) {
      std::string error;
      if (!e.error.empty()) error = fmt::format("partition {} entry {}: {}", e.partition, e.id.ToString(), e.error);
      out.push_back({std::move(e.batch), std::move(e.events), std::move(e.items), std::move(e.delete_user),
                     std::move(e.record_kind), std::move(e.record_user), std::move(e.record_body), std::move(error)});
    }
    std::lock_guard l(mu_);
    positions_ = tailer_->positions();
    watermark_ = tailer_->stats().watermark_ms;
    return out;
  }
  Result<bool> Covers(const std::string& token) const override {
    VANE_ASSIGN_OR_RETURN(auto entries, ParseToken(token, log_->options().partitions));
    std::lock_guard l(mu_);
    for (const auto& [p, id] : entries)
      if (positions_[static_cast<size_t>(p)] < id) return false;
    return true;
  }
  uint64_t WatermarkMs() const override {
    std::lock_guard l(mu_);
    return watermark_;
  }
  std::string Position() const override {
    std::lock_guard l(mu_);
    std::string out;
    for (size_t p = 0; p < positions_.size(); ++p) {
      if (p) out += ',';
      out += std::to_string(p) + ":" + positions_[p].ToString();
    }
    return out;
  }

 private:
  std::unique_ptr<StreamLog> log_;
  std::unique_ptr<StreamTailer> tailer_;
  std::unique_ptr<ClusterState> state_;  // snapshots and leases, on a client of their own
  mutable std::mutex mu_;
  std::vector<StreamId> positions_;  // the tailer's, copied after each poll; guarded by mu_
  uint64_t watermark_ = 0;           // guarded by mu_
  std::string snap_kind_ = "snap";   // set before use (SetGroup at start)
  std::vector<std::string> group_kinds_{"snap"};
};

}  // namespace

Result<std::shared_ptr<SharedLog>> NewStreamSharedLog(RedisClusterOptions cluster, StreamLogOptions log_options,
                                                      StreamTailer::Options tailer_options) {
  VANE_ASSIGN_OR_RETURN(auto log, StreamLog::Open(cluster, log_options));
  VANE_ASSIGN_OR_RETURN(auto state_client, RedisCluster::Connect(cluster));
  auto state = std::make_unique<ClusterState>(std::move(state_client), log_options.prefix, log_options.partitions);
  VANE_ASSIGN_OR_RETURN(auto tailer, StreamTailer::Open(std::move(cluster), std::move(log_options), tailer_options));
  return std::shared_ptr<SharedLog>(
      std::make_shared<StreamSharedLog>(std::move(log), std::move(tailer), std::move(state)));
}

}  // namespace vane::cluster
