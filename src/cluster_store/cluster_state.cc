// Leases, snapshots in chunks, and trimming behind them (cluster_store/cluster_state.h).
#include "vane/cluster_store/cluster_state.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "parse_decimal.h"
#include "vane/cluster_store/stream_log.h"
#include "vane/core/binary_io.h"

namespace vane::cluster {
namespace {

using Args = std::vector<std::string>;

// KEYS: the lease, the fence counter. ARGV: holder, ttl ms. Returns the token (held now by the holder) or 0.
constexpr const char* kTryLease = R"lua(
local cur = redis.call('GET', KEYS[1])
if cur then
  local h, t = string.match(cur, '^(.*) (%d+)$')
  if h == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(t)
  end
  return 0
end
local t = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. t, 'PX', ARGV[2])
return t
)lua";

// KEYS: the lease. ARGV: "<holder> <token>". Deletes it when it is that.
constexpr const char* kRelease = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";

// KEYS: the lease, the index. ARGV: "<holder> <token>", id, meta JSON, chunk count, chunk key prefix.
// Commits a snapshot whose chunks are written: only while the lease is still the writer's (fencing).
constexpr const char* kCommit = R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('LEASE_LOST the lease is no longer held by this writer')
end
for i = 0, tonumber(ARGV[4]) - 1 do
  if redis.call('PERSIST', ARGV[5] .. i) == 0 and redis.call('EXISTS', ARGV[5] .. i) == 0 then
    return redis.error_reply('CHUNK_MISSING chunk ' .. i .. ' expired before the commit')
  end
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
)lua";

// KEYS: the stream, its trim mark. ARGV: the min id (entries below it go). Records the last entry removed.
constexpr const char* kTrim = R"lua(
local last = redis.call('XREVRANGE', KEYS[1], '(' .. ARGV[1], '-', 'COUNT', 1)
if #last == 0 then return 0 end
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local id = last[1][1]
local cur = redis.call('GET', KEYS[2])
local newer = true
if cur then
  local cm, cs = parse(cur)
  local im, is = parse(id)
  newer = im > cm or (im == cm and is > cs)
end
if newer then redis.call('SET', KEYS[2], id) end
return redis.call('XTRIM', KEYS[1], 'MINID', ARGV[1])
)lua";

uint64_t NowMs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

std::string MetaJson(const SharedSnapshot& m, uint64_t chunks, uint64_t digest) {
  nlohmann::json j = {{"id", m.id},         {"seq", m.seq},   {"position", m.position}, {"bytes", m.bytes},
                      {"written_ms", m.written_ms}, {"node", m.node}, {"chunks", chunks},       {"xxh64", std::to_string(digest)}};
  if (!m.note.empty()) j["note"] = m.note;
  return j.dump();
}

struct StoredMeta {
  SharedSnapshot meta;
  uint64_t chunks = 0, digest = 0;
};

std::optional<StoredMeta> ParseMeta(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    StoredMeta s;
    s.meta.id = j.at("id").get<std::string>();
    s.meta.seq = j.at("seq").get<uint64_t>();
    s.meta.position = j.at("position").get<std::string>();
    s.meta.bytes = j.at("bytes").get<uint64_t>();
    s.meta.written_ms = j.at("written_ms").get<uint64_t>();
    s.meta.node = j.at("node").get<std::string>();
    s.chunks = j.at("chunks").get<uint64_t>();
    if (j.contains("note")) s.meta.note = j.at("note").get<std::string>();
    auto d = ParseDecimal(j.at("xxh64").get<std::string>());
    if (!d) return std::nullopt;
    s.digest = *d;
    return s;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::string TrimmedKey(const std::string& prefix, int partition) {
  return "{" + prefix + ":p" + std::to_string(partition) + "}:trimmed";
}

ClusterState::ClusterState(std::unique_ptr<RedisCluster> client, std::string prefix, int partitions,
                           size_t chunk_bytes)
    : client_(std::move(client)), prefix_(std::move(prefix)), partitions_(partitions), chunk_bytes_(chunk_bytes) {}

Result<uint64_t> ClusterState::TryLease(const std::string& name, const std::string& holder,
                                        std::chrono::milliseconds ttl) {
  if (holder.empty() || holder.size() > 200 || name.empty() || name.find_first_of("{}") != std::string::npos)
    return Status::InvalidArgument("lease: the name and the holder must be 1 to 200 bytes, the name without braces");
  const std::string tag = "{" + prefix_ + ":" + name + "}";
  VANE_ASSIGN_OR_RETURN(Reply r, client_->CommandForKey(tag + ":lease", {"EVAL", kTryLease, "2", tag + ":lease",
                                                                         tag + ":fence", holder,
                                                                         std::to_string(std::max<int64_t>(1, ttl.count()))}));
  VANE_RETURN_IF_ERROR(r.ToStatus());
  return static_cast<uint64_t>(r.integer);
}

Result<std::optional<std::string>> ClusterState::GetConfig(const std::string& name) {
  VANE_ASSIGN_OR_RETURN(Reply r, client_->Command({"GET", "{" + prefix_ + ":config}:" + name}));
  VANE_RETURN_IF_ERROR(r.ToStatus());
  if (r.is_nil()) return std::optional<std::string>();
  return std::optional<std::string>(r.str);
}

Result<std::string> ClusterState::PutConfigIfAbsent(const std::string& name, const std::string& value) {
  const std::string key = "{" + prefix_ + ":config}:" + name;
  VANE_ASSIGN_OR_RETURN(Reply r, client_->Command({"SET", key, value, "NX", "GET"}));
  VANE_RETURN_IF_ERROR(r.ToStatus());
  return r.is_nil() ? value : r.str;  // nil: this value was stored; else the one already there
}

Status ClusterState::PutConfig(const std::string& name, const std::string& value) {
  VANE_ASSIGN_OR_RETURN(Reply r, client_->Command({"SET", "{" + prefix_ + ":config}:" + name, value}));
  return r.ToStatus();
}

Status ClusterState::ReleaseLease(const std::string& name, const std::string& holder, uint64_t token) {
  const std::string key = LeaseKey(name);
  VANE_ASSIGN_OR_RETURN(Reply r, client_->CommandForKey(key, {"EVAL", kRelease, "1", key,
                                                              holder + " " + std::to_string(token)}));
  return r.ToStatus();
}

Result<SharedSnapshot> ClusterState::PutSnapshot(SharedSnapshot meta, std::string_view image, uint64_t lease,
                                                 size_t keep, const std::string& kind) {
  meta.written_ms = NowMs();
  meta.bytes = image.size();
  meta.id = fmt::format("{}-{}-{}", meta.seq, meta.node, meta.written_ms);
  const std::string tag = "{" + prefix_ + ":" + kind + "}";
  const std::string chunk_prefix = tag + ":c:" + meta.id + ":";
  const uint64_t chunks = std::max<uint64_t>(1, (image.size() + chunk_bytes_ - 1) / chunk_bytes_);
  std::vector<Args> sets;
  for (uint64_t i = 0; i < chunks; ++i) {
    const size_t off = static_cast<size_t>(i) * chunk_bytes_;
    sets.push_back({"SET", chunk_prefix + std::to_string(i),
                    std::string(image.substr(std::min(off, image.size()), chunk_bytes_)), "PX", "3600000"});
    // A few chunks at a time: a pipeline holds its commands in memory, and one master takes them all.
    if (sets.size() == 8 || i + 1 == chunks) {
      VANE_ASSIGN_OR_RETURN(std::vector<Reply> replies, client_->Pipeline(sets));
      for (const Reply& r : replies) VANE_RETURN_IF_ERROR(r.ToStatus());
      sets.clear();
    }
  }
  const uint64_t digest = Xxh64::Of(image.data(), image.size());
  VANE_ASSIGN_OR_RETURN(Reply r, client_->CommandForKey(
                                     tag + ":lease", {"EVAL", kCommit, "2", tag + ":lease", tag + ":index",
                                                      meta.node + " " + std::to_string(lease), meta.id,
                                                      MetaJson(meta, chunks, digest), std::to_string(chunks),
                                                      chunk_prefix}));
  if (r.is_error()) {
    if (r.str.rfind("LEASE_LOST", 0) == 0)
      return Status::Conflict("lease_lost", kind + " " + meta.id + " not committed: " + r.str.substr(11));
    return r.ToStatus();
  }
  VANE_RETURN_IF_ERROR(Prune(keep, kind));
  return meta;
}

Result<std::vector<SharedSnapshot>> ClusterState::ListSnapshots(const std::string& kind) {
  const std::string index = "{" + prefix_ + ":" + kind + "}:index";
  VANE_ASSIGN_OR_RETURN(Reply r, client_->Command({"HGETALL", index}));
  VANE_RETURN_IF_ERROR(r.ToStatus());
  std::vector<SharedSnapshot> out;
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    auto m = ParseMeta(r.elements[i + 1].str);
    if (!m) {
      std::fprintf(stderr, "warning: cluster snapshot index entry '%s' does not read; ignored\n",
                   r.elements[i].str.substr(0, 100).c_str());
      continue;
    }
    out.push_back(m->meta);
  }
  std::sort(out.begin(), out.end(), [](const SharedSnapshot& a, const SharedSnapshot& b) {
    return a.seq != b.seq ? a.seq > b.seq : a.written_ms > b.written_ms;
  });
  return out;
}

Result<std::string> ClusterState::ReadSnapshot(const SharedSnapshot& meta, const std::string& kind) {
  const std::string tag = "{" + prefix_ + ":" + kind + "}";
  VANE_ASSIGN_OR_RETURN(Reply idx, client_->Command({"HGET", tag + ":index", meta.id}));
  VANE_RETURN_IF_ERROR(idx.ToStatus());
  auto stored = idx.is_nil() ? std::nullopt : ParseMeta(idx.str);
  if (!stored) return Status::NotFound("snapshot_gone", "cluster snapshot " + meta.id + " is no longer in the index");
  std::string image;
  image.reserve(stored->meta.bytes);
  for (uint64_t i = 0; i < stored->chunks; ++i) {
    VANE_ASSIGN_OR_RETURN(Reply c, client_->Command({"GET", tag + ":c:" + meta.id + ":" + std::to_string(i)}));
    VANE_RETURN_IF_ERROR(c.ToStatus());
    if (c.type != Reply::Type::kString)
      return Status(StatusCode::kIoError, "snapshot_corrupt", fmt::format("cluster snapshot {}: chunk {} of {} is missing",
                                                                          meta.id, i, stored->chunks));
    image += c.str;
  }
  if (image.size() != stored->meta.bytes || Xxh64::Of(image.data(), image.size()) != stored->digest)
    return Status(StatusCode::kIoError, "snapshot_corrupt",
                  fmt::format("cluster snapshot {}: {} bytes read, {} recorded, or the checksum differs", meta.id,
                              image.size(), stored->meta.bytes));
  return image;
}

Status ClusterState::Prune(size_t keep, const std::string& kind) {
  VANE_ASSIGN_OR_RETURN(std::vector<SharedSnapshot> all, ListSnapshots(kind));
  const std::string tag = "{" + prefix_ + ":" + kind + "}";
  for (size_t i = std::max<size_t>(1, keep); i < all.size(); ++i) {
    VANE_ASSIGN_OR_RETURN(Reply idx, client_->Command({"HGET", tag + ":index", all[i].id}));
    auto stored = idx.is_nil() ? std::nullopt : ParseMeta(idx.str);
    std::vector<Args> cmds{{"HDEL", tag + ":index", all[i].id}};
    for (uint64_t c = 0; stored && c < stored->chunks; ++c)
      cmds.push_back({"DEL", tag + ":c:" + all[i].id + ":" + std::to_string(c)});
    VANE_ASSIGN_OR_RETURN(std::vector<Reply> replies, client_->Pipeline(cmds));
    for (const Reply& r : replies) VANE_RETURN_IF_ERROR(r.ToStatus());
  }
  return Status::Ok();
}

Result<int> ClusterState::RewriteFiles() {
  VANE_RETURN_IF_ERROR(client_->Refresh());
  std::set<std::string> servers;
  for (const SlotRange& r : client_->topology()) {
    servers.insert(r.master);
    servers.insert(r.replicas.begin(), r.replicas.end());
  }
  int asked = 0;
  auto setting = [&](const std::string& server, const char* name) -> Result<std::string> {
    VANE_ASSIGN_OR_RETURN(Reply r, client_->CommandOnNode(server, {"CONFIG", "GET", name}));
    VANE_RETURN_IF_ERROR(r.ToStatus());
    return r.elements.size() == 2 ? r.elements[1].str : std::string();
  };
  for (const std::string& s : servers) {
    VANE_ASSIGN_OR_RETURN(std::string aof, setting(s, "appendonly"));
    VANE_ASSIGN_OR_RETURN(std::string save, setting(s, "save"));
    bool any = false;
    // A rewrite already running is let be: Redis schedules another after it ("scheduled"), or the reply says so.
    if (aof == "yes") {
      VANE_ASSIGN_OR_RETURN(Reply r, client_->CommandOnNode(s, {"BGREWRITEAOF"}));
      any = true;
      if (r.is_error() && r.str.find("in progress") == std::string::npos) return r.ToStatus();
    }
    if (!save.empty()) {
      VANE_ASSIGN_OR_RETURN(Reply r, client_->CommandOnNode(s, {"BGSAVE", "SCHEDULE"}));
      any = true;
      if (r.is_error()) return r.ToStatus();
    }
    asked += any ? 1 : 0;
  }
  return asked;
}

Status ClusterState::Heartbeat(const std::string& node, const std::string& info) {
  VANE_ASSIGN_OR_RETURN(Reply r, client_->Command({"HSET", "{" + prefix_ + ":members}", node, info}));
  return r.ToStatus();
}

Status ClusterState::Leave(const std::string& node) {
  VANE_ASSIGN_OR_RETURN(Reply r, client_->Command({"HDEL", "{" + prefix_ + ":members}", node}));
  return r.ToStatus();
}

Result<std::map<std::string, std::string>> ClusterState::Members() {
  VANE_ASSIGN_OR_RETURN(Reply r, client_->Command({"HGETALL", "{" + prefix_ + ":members}"}));
  VANE_RETURN_IF_ERROR(r.ToStatus());
  std::map<std::string, std::string> out;
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2) out[r.elements[i].str] = r.elements[i + 1].str;
  return out;
}

Result<uint64_t> ClusterState::TrimBehindSnapshots(const std::vector<std::string>& kinds) {
  std::vector<SharedSnapshot> all;
  for (const std::string& kind : kinds) {
    VANE_ASSIGN_OR_RETURN(std::vector<SharedSnapshot> some, ListSnapshots(kind));
    if (some.empty()) return uint64_t{0};  // a group without a snapshot still needs the whole log
    all.insert(all.end(), some.begin(), some.end());
  }
  if (all.empty()) return uint64_t{0};
  std::vector<std::optional<StreamId>> min(static_cast<size_t>(partitions_));
  for (const SharedSnapshot& s : all) {
    VANE_ASSIGN_OR_RETURN(auto parts, ParseToken(s.position, partitions_));
    std::vector<StreamId> pos(static_cast<size_t>(partitions_));
    for (const auto& [p, id] : parts) pos[static_cast<size_t>(p)] = id;
    for (size_t p = 0; p < pos.size(); ++p)
      if (!min[p] || pos[p] < *min[p]) min[p] = pos[p];
  }
  uint64_t removed = 0;
  for (int p = 0; p < partitions_; ++p) {
    const StreamId& pos = *min[static_cast<size_t>(p)];
    if (pos == StreamId{}) continue;  // a snapshot that had read nothing of this partition: nothing to trim
    const StreamId id{pos.ms, pos.seq + 1};  // the entry at the position goes too: every snapshot covers it
    const std::string stream = "{" + prefix_ + ":p" + std::to_string(p) + "}:log";
    VANE_ASSIGN_OR_RETURN(Reply r, client_->CommandForKey(stream, {"EVAL", kTrim, "2", stream,
                                                                   TrimmedKey(prefix_, p), id.ToString()}));
    VANE_RETURN_IF_ERROR(r.ToStatus());
    removed += static_cast<uint64_t>(r.integer);
  }
  return removed;
}

}  // namespace vane::cluster
