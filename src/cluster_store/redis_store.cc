// The Store on Redis Cluster (cluster_store/redis_store.h): key layout and scripts.
#include "vane/cluster_store/redis_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <limits>

namespace vane::cluster {
namespace {

using Args = std::vector<std::string>;

// ARGV[1]: the prefix of the users' index keys; then (position, user, event) triples. A position written before
// leaves its old user's index first (a retried batch at the same positions replaces, never adds).
constexpr const char* kAppend = R"lua(
local pre = ARGV[1]
for i = 2, #ARGV, 3 do
  local pos, user = ARGV[i], ARGV[i + 1]
  local old = redis.call('HGET', KEYS[2], pos)
  if old then redis.call('ZREM', pre .. old, pos) end
  redis.call('HSET', KEYS[1], pos, ARGV[i + 2])
  redis.call('HSET', KEYS[2], pos, user)
  redis.call('ZADD', KEYS[3], 0, pos)
  redis.call('ZADD', pre .. user, 0, pos)
end
return (#ARGV - 1) / 3
)lua";

// KEYS: ev, who, seq, the user's index, rec, ids. ARGV[1]: the user.
constexpr const char* kDeleteUser = R"lua(
local pos = redis.call('ZRANGE', KEYS[4], 0, -1)
for _, p in ipairs(pos) do
  redis.call('HDEL', KEYS[1], p)
  redis.call('HDEL', KEYS[2], p)
  redis.call('ZREM', KEYS[3], p)
end
redis.call('DEL', KEYS[4])
redis.call('HDEL', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[6], ARGV[1])
return #pos
)lua";

// KEYS: ev, who, seq, the user's index. ARGV: the positions to remove (only those still in the user's index).
constexpr const char* kErase = R"lua(
local n = 0
for _, p in ipairs(ARGV) do
  if redis.call('ZSCORE', KEYS[4], p) then
    redis.call('HDEL', KEYS[1], p)
    redis.call('HDEL', KEYS[2], p)
    redis.call('ZREM', KEYS[3], p)
    redis.call('ZREM', KEYS[4], p)
    n = n + 1
  end
end
return n
)lua";

// KEYS: a sorted set of names, the hash of their values. ARGV: min, max, offset, count, 'rev' or 'fwd'.
// Returns name, value, name, value, ... (a missing value is nil).
constexpr const char* kRange = R"lua(
local names
if ARGV[5] == 'rev' then
  names = redis.call('ZREVRANGEBYLEX', KEYS[1], ARGV[2], ARGV[1], 'LIMIT', ARGV[3], ARGV[4])
else
  names = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', ARGV[3], ARGV[4])
end
local out = {}
for _, k in ipairs(names) do
  out[#out + 1] = k
  out[#out + 1] = redis.call('HGET', KEYS[2], k)
end
return out
)lua";

// KEYS: rec, ids. ARGV: id, record.
constexpr const char* kPutUser = R"lua(
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
)lua";

// KEYS: counters. ARGV: name, delta pairs.
constexpr const char* kAddCounters = R"lua(
for i = 1, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
)lua";

std::string Pos(uint64_t seq) { return fmt::format("{:020}", seq); }

Result<uint64_t> ParsePos(const std::string& s) {
  uint64_t v = 0;
  if (s.size() != 20 || std::sscanf(s.c_str(), "%20lu", &v) != 1)
    return Status(StatusCode::kIoError, "store_corrupt", "redis store: a position is corrupt: '" + s + "'");
  return v;
}

std::string Count(size_t limit) {
  return limit > static_cast<size_t>(std::numeric_limits<int64_t>::max()) ? "-1" : std::to_string(limit);
}

class RedisClusterStore : public Store {
 public:
  RedisClusterStore(std::unique_ptr<RedisCluster> client, const std::string& prefix)
      : client_(std::move(client)),
        ev_("{" + prefix + ":log}:ev"),
        who_("{" + prefix + ":log}:who"),
        seq_("{" + prefix + ":log}:seq"),
        user_pre_("{" + prefix + ":log}:u:"),
        rec_("{" + prefix + ":log}:rec"),
        ids_("{" + prefix + ":log}:ids"),
        items_("{" + prefix + ":items}"),
        counters_("{" + prefix + ":counters}"),
        meta_("{" + prefix + ":meta}") {}

  Status AppendEvents(uint64_t first_seq, std::span<const RawEvent> events) override {
    if (events.empty()) return Status::Ok();
    Args argv = {"EVAL", kAppend, "3", ev_, who_, seq_, user_pre_};
    for (size_t i = 0; i < events.size(); ++i) {
      argv.push_back(Pos(first_seq + i));
      argv.push_back(events[i].user);
      argv.push_back(EventToJson(events[i]));
    }
    return Call(ev_, argv).status();
  }

  Result<std::vector<std::pair<uint64_t, RawEvent>>> UserEvents(std::string_view user, size_t limit) const override {
    std::vector<std::pair<uint64_t, RawEvent>> out;
    if (limit == 0) return out;
    VANE_RETURN_IF_ERROR(Range(user_pre_ + std::string(user), "-", "+", 0, limit, /*rev=*/true, out));
    return out;
  }

  Result<uint64_t> DeleteUser(std::string_view user) override {
    const std::string u(user);
    VANE_ASSIGN_OR_RETURN(Reply r, Call(ev_, {"EVAL", kDeleteUser, "6", ev_, who_, seq_, user_pre_ + u, rec_, ids_, u}));
    return static_cast<uint64_t>(r.integer);
  }

  Result<uint64_t> EraseUserEvents(std::string_view user, const EventFilter& drop) override {
    const std::string index = user_pre_ + std::string(user);
    std::vector<std::pair<uint64_t, RawEvent>> mine;
    VANE_RETURN_IF_ERROR(Range(index, "-", "+", 0, std::numeric_limits<size_t>::max(), /*rev=*/false, mine));
    Args argv = {"EVAL", kErase, "4", ev_, who_, seq_, index};
    for (const auto& [seq, e] : mine) {
      if (drop(seq, e)) argv.push_back(Pos(seq));
    }
    if (argv.size() == 7) return uint64_t{0};
    VANE_ASSIGN_OR_RETURN(Reply r, Call(ev_, argv));
    return static_cast<uint64_t>(r.integer);
  }

  Result<uint64_t> LoadEvents(uint64_t from_seq, const std::function<void(uint64_t, RawEvent&&)>& on_event) const override {
    constexpr size_t kPage = 1000;
    std::string min = "[" + Pos(from_seq);
    for (;;) {
      std::vector<std::pair<uint64_t, RawEvent>> page;
      VANE_RETURN_IF_ERROR(Range(seq_, min, "+", 0, kPage, /*rev=*/false, page));
      for (auto& [seq, e] : page) on_event(seq, std::move(e));
      if (page.size() < kPage) break;
      min = "(" + Pos(page.back().first);
    }
    VANE_ASSIGN_OR_RETURN(Reply last, Call(seq_, {"ZREVRANGEBYLEX", seq_, "+", "-", "LIMIT", "0", "1"}));
    if (last.elements.empty()) return uint64_t{0};
    VANE_ASSIGN_OR_RETURN(uint64_t top, ParsePos(last.elements[0].str));
    return top + 1;
  }

  Status PutItems(std::span<const Item> items) override {
    if (items.empty()) return Status::Ok();
    Args argv = {"HSET", items_};
    for (const Item& it : items) {
      argv.push_back(it.id);
      argv.push_back(ItemToJson(it));
    }
    return Call(items_, argv).status();
  }
  Status DeleteItem(std::string_view id) override { return Call(items_, {"HDEL", items_, std::string(id)}).status(); }
  Status LoadItems(const std::function<void(Item&&)>& on_item) const override {
    std::map<std::string, std::string> all;
    VANE_RETURN_IF_ERROR(ScanHash(items_, all));
    for (const auto& [id, json] : all) {
      VANE_ASSIGN_OR_RETURN(Item it, StoredItemFromJson(id, json));
      on_item(std::move(it));
    }
    return Status::Ok();
  }

  Status PutUser(std::string_view id, std::string_view record) override {
    return Call(rec_, {"EVAL", kPutUser, "2", rec_, ids_, std::string(id), std::string(record)}).status();
  }
  Result<std::optional<std::string>> GetUser(std::string_view id) const override { return HashGet(rec_, id); }
  Result<std::vector<std::pair<std::string, std::string>>> UserRecordsAfter(std::string_view after,
                                                                             size_t limit) const override {
    std::vector<std::pair<std::string, std::string>> out;
    if (limit == 0) return out;
    const std::string min = after.empty() ? "-" : "(" + std::string(after);
    VANE_ASSIGN_OR_RETURN(Reply r, Call(ids_, {"EVAL", kRange, "2", ids_, rec_, min, "+", "0", Count(limit), "fwd"}));
    for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
      if (r.elements[i + 1].is_nil())
        return Status(StatusCode::kIoError, "store_corrupt", "redis store: user " + r.elements[i].str + " has no record");
      out.emplace_back(r.elements[i].str, r.elements[i + 1].str);
    }
    return out;
  }

  Status AddCounters(std::span<const std::pair<std::string, int64_t>> deltas) override {
    if (deltas.empty()) return Status::Ok();
    Args argv = {"EVAL", kAddCounters, "1", counters_};
    for (const auto& [name, d] : deltas) {
      argv.push_back(name);
      argv.push_back(std::to_string(d));
    }
    return Call(counters_, argv).status();
  }
  Result<std::map<std::string, int64_t>> Counters(std::string_view prefix) const override {
    std::map<std::string, std::string> all;
    VANE_RETURN_IF_ERROR(ScanHash(counters_, all));
    std::map<std::string, int64_t> out;
    for (const auto& [name, v] : all) {
      if (!name.starts_with(prefix)) continue;
      int64_t n = 0;
      if (std::sscanf(v.c_str(), "%ld", &n) != 1)
        return Status(StatusCode::kIoError, "store_corrupt", "redis store: counter " + name + " is not a number");
      out.emplace(name, n);
    }
    return out;
  }

  Status PutMeta(std::string_view key, std::string_view value) override {
    return Call(meta_, {"HSET", meta_, std::string(key), std::string(value)}).status();
  }
  Result<std::optional<std::string>> GetMeta(std::string_view key) const override { return HashGet(meta_, key); }
  uint64_t ApproximateBytes() const override { return 0; }

 private:
  // One command routed by `key`; a server error reply is a failed call.
  Result<Reply> Call(const std::string& key, const Args& argv) const {
    auto r = client_->CommandForKey(key, argv);
    if (!r.ok()) return r.status();
    if (r->is_error()) return r->ToStatus();
    return r;
  }

  Result<std::optional<std::string>> HashGet(const std::string& hash, std::string_view field) const {
    VANE_ASSIGN_OR_RETURN(Reply r, Call(hash, {"HGET", hash, std::string(field)}));
    if (r.is_nil()) return std::optional<std::string>();
    return std::optional<std::string>(std::move(r.str));
  }

  // Every field of a hash (HSCAN pages; a field seen twice is kept once).
  Status ScanHash(const std::string& hash, std::map<std::string, std::string>& out) const {
    std::string cursor = "0";
    do {
      VANE_ASSIGN_OR_RETURN(Reply r, Call(hash, {"HSCAN", hash, cursor, "COUNT", "1000"}));
      if (r.elements.size() != 2) return Status::Internal("redis store: HSCAN answered " + r.DebugString());
      cursor = r.elements[0].str;
      const auto& kv = r.elements[1].elements;
      for (size_t i = 0; i + 1 < kv.size(); i += 2) out[kv[i].str] = kv[i + 1].str;
    } while (cursor != "0");
    return Status::Ok();
  }

  // Events whose positions lie in [min, max] of the sorted set `index` (lex bounds), `count` of them from
  // `offset`, newest first when `rev`; appended to `out`.
  Status Range(const std::string& index, const std::string& min, const std::string& max, size_t offset, size_t count,
               bool rev, std::vector<std::pair<uint64_t, RawEvent>>& out) const {
    VANE_ASSIGN_OR_RETURN(Reply r, Call(ev_, {"EVAL", kRange, "2", index, ev_, min, max, std::to_string(offset),
                                              Count(count), rev ? "rev" : "fwd"}));
    for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
      VANE_ASSIGN_OR_RETURN(uint64_t seq, ParsePos(r.elements[i].str));
      if (r.elements[i + 1].is_nil())
        return Status(StatusCode::kIoError, "store_corrupt", fmt::format("redis store: event {} is indexed but missing", seq));
      VANE_ASSIGN_OR_RETURN(RawEvent e, StoredEventFromJson(seq, r.elements[i + 1].str));
      out.emplace_back(seq, std::move(e));
    }
    return Status::Ok();
  }

  std::unique_ptr<RedisCluster> client_;
  const std::string ev_, who_, seq_, user_pre_, rec_, ids_, items_, counters_, meta_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenRedisClusterStore(RedisClusterOptions options, std::string prefix) {
  if (prefix.find_first_of("{}") != std::string::npos)
    return Status::InvalidArgument("redis store: the prefix '" + prefix + "' must not hold '{' or '}' (hash tags)");
  VANE_ASSIGN_OR_RETURN(std::unique_ptr<RedisCluster> client, RedisCluster::Connect(std::move(options)));
  return std::unique_ptr<Store>(std::make_unique<RedisClusterStore>(std::move(client), prefix));
}

}  // namespace vane::cluster
