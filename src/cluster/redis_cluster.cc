#include "vane/cluster/redis_cluster.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "node_connection.h"
#include "slot_map.h"
#include "vane/cluster/key_slot.h"

namespace vane::cluster {

// One command of a batch on its way: where it goes next and how its attempts went.
struct RedisCluster::Pending {
  const std::vector<std::string>* argv = nullptr;
  int slot = -1;       // -1: no key, any master answers
  std::string ask_to;  // after ASK: the next attempt goes there, preceded by ASKING
  std::optional<Reply> reply;
  int attempts = 0;
  std::string last_error;  // why the last attempt did not answer, naming the node
};

namespace {

// A redirection's target ("host:port"); Redis 7 leaves the host empty (":7001") when the node's endpoint is
// unknown to it, meaning the host of the node that answered.
std::string Resolve(std::string_view target, const std::string& answered_by) {
  if (!target.empty() && target.front() != ':') return std::string(target);
  return answered_by.substr(0, answered_by.rfind(':')) + std::string(target);
}

// "MOVED 3999 127.0.0.1:7002" / "ASK 3999 127.0.0.1:7002" -> (slot, target); nullopt for any other error.
std::optional<std::pair<int, std::string>> Redirection(std::string_view error, std::string_view kind) {
  if (error.substr(0, kind.size() + 1) != fmt::format("{} ", kind)) return std::nullopt;
  std::string_view rest = error.substr(kind.size() + 1);
  size_t space = rest.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  int slot = -1;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + space, slot);
  if (ec != std::errc() || end != rest.data() + space || slot < 0 || slot >= kSlotCount) return std::nullopt;
  return std::make_pair(slot, std::string(rest.substr(space + 1)));
}

// Errors that mean "the cluster is changing; ask again shortly".
bool IsTransient(std::string_view error) {
  for (std::string_view prefix : {"CLUSTERDOWN", "TRYAGAIN", "LOADING"}) {
    if (error.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

}  // namespace

RedisCluster::RedisCluster(RedisClusterOptions options)
    : options_(std::move(options)), map_(std::make_unique<SlotMap>()) {}

RedisCluster::~RedisCluster() = default;

Result<std::unique_ptr<RedisCluster>> RedisCluster::Connect(RedisClusterOptions options) {
  if (options.seeds.empty()) return Status::InvalidArgument("redis cluster: no seed address given");
  for (const std::string& seed : options.seeds) VANE_RETURN_IF_ERROR(NodeAddress::Parse(seed).status());
  if (options.max_attempts < 1) return Status::InvalidArgument("redis cluster: max_attempts must be at least 1");
  std::unique_ptr<RedisCluster> client(new RedisCluster(std::move(options)));
  std::lock_guard lock(client->mu_);
  VANE_RETURN_IF_ERROR(client->RefreshLocked());
  return client;
}

Result<Reply> RedisCluster::Command(const std::vector<std::string>& argv) {
  if (argv.empty()) return Status::InvalidArgument("redis cluster: empty command");
  std::vector<Pending> batch(1);
  batch[0].argv = &argv;
  batch[0].slot = argv.size() > 1 ? KeySlot(argv[1]) : -1;
  std::lock_guard lock(mu_);
  VANE_ASSIGN_OR_RETURN(std::vector<Reply> replies, Run(batch));
  return std::move(replies[0]);
}

Result<Reply> RedisCluster::CommandForKey(const std::string& key, const std::vector<std::string>& argv) {
  if (argv.empty()) return Status::InvalidArgument("redis cluster: empty command");
  std::vector<Pending> batch(1);
  batch[0].argv = &argv;
  batch[0].slot = KeySlot(key);
  std::lock_guard lock(mu_);
  VANE_ASSIGN_OR_RETURN(std::vector<Reply> replies, Run(batch));
  return std::move(replies[0]);
}

Result<std::vector<Reply>> RedisCluster::Pipeline(const std::vector<std::vector<std::string>>& commands) {
  std::vector<Pending> batch(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    if (commands[i].empty()) return Status::InvalidArgument(fmt::format("redis cluster: command {} is empty", i));
    batch[i].argv = &commands[i];
    batch[i].slot = commands[i].size() > 1 ? KeySlot(commands[i][1]) : -1;
  }
  std::lock_guard lock(mu_);
  return Run(batch);
}

Result<std::vector<Reply>> RedisCluster::Pipeline(const std::vector<std::string>& keys,
                                                  const std::vector<std::vector<std::string>>& commands) {
  if (keys.size() != commands.size())
    return Status::InvalidArgument(
        fmt::format("redis cluster: {} routing keys for {} commands", keys.size(), commands.size()));
  std::vector<Pending> batch(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    if (commands[i].empty()) return Status::InvalidArgument(fmt::format("redis cluster: command {} is empty", i));
    batch[i].argv = &commands[i];
    batch[i].slot = KeySlot(keys[i]);
  }
  std::lock_guard lock(mu_);
  return Run(batch);
}

Result<Reply> RedisCluster::CommandOnNode(const std::string& address, const std::vector<std::string>& argv) {
  if (argv.empty()) return Status::InvalidArgument("redis cluster: empty command");
  std::lock_guard lock(mu_);
  VANE_ASSIGN_OR_RETURN(NodeConnection * conn, ConnectionTo(address));
  conn->Append(argv);
  Result<Reply> reply = conn->Read();
  if (!reply.ok()) conns_.erase(address);
  return reply;
}

// Rounds until every command has its reply: send what is unanswered, then back off and refresh as the round asked.
Result<std::vector<Reply>> RedisCluster::Run(std::vector<Pending>& batch) {
  std::chrono::milliseconds backoff = options_.backoff_initial;
  while (true) {
    bool must_refresh = false, must_back_off = false;
    SendRound(batch, must_refresh, must_back_off);
    bool done = true;
    for (const Pending& p : batch) {
      if (p.reply) continue;
      done = false;
      if (p.attempts >= options_.max_attempts) {
        return Status::Unavailable("cluster_unavailable",
                                   fmt::format("redis cluster: {} (slot {}) got no answer in {} attempts; last: {}",
                                               (*p.argv)[0], p.slot, p.attempts, p.last_error));
      }
    }
    if (done) break;
    if (must_back_off) {
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, options_.backoff_max);
    }
    if (must_refresh) (void)RefreshLocked();  // on failure the next round fails too and says why
  }
  std::vector<Reply> replies;
  replies.reserve(batch.size());
  for (Pending& p : batch) replies.push_back(std::move(*p.reply));
  commands_ += batch.size();
  return replies;
}

// Groups the unanswered commands by the node they go to now and sends each group pipelined.
void RedisCluster::SendRound(std::vector<Pending>& batch, bool& must_refresh, bool& must_back_off) {
  std::map<std::string, std::vector<Pending*>> groups;
  for (Pending& p : batch) {
    if (p.reply) continue;
    const std::string* target = nullptr;
    if (!p.ask_to.empty())
      target = &p.ask_to;
    else if (p.slot >= 0)
      target = map_->MasterFor(p.slot);
    else if (!map_->ranges().empty())
      target = &map_->ranges().front().master;
    if (target == nullptr) {
      ++p.attempts;
      p.last_error = fmt::format("no master serves slot {}", p.slot);
      must_refresh = must_back_off = true;
      continue;
    }
    groups[*target].push_back(&p);
  }
  for (auto& [address, group] : groups) SendGroup(address, group, must_refresh, must_back_off);
}

void RedisCluster::SendGroup(const std::string& address, std::vector<Pending*>& group, bool& must_refresh,
                             bool& must_back_off) {
  auto fail = [&](size_t from, const Status& why) {
    for (size_t i = from; i < group.size(); ++i) {
      group[i]->last_error = why.message();
      group[i]->ask_to.clear();  // the next attempt asks the slot's owner, which redirects again if need be
    }
    retries_ += group.size() - from;
    must_refresh = must_back_off = true;
  };
  for (Pending* p : group) ++p->attempts;
  Result<NodeConnection*> conn = ConnectionTo(address);
  if (!conn.ok()) return fail(0, conn.status());
  for (Pending* p : group) {
    if (!p->ask_to.empty()) (*conn)->Append({"ASKING"});
    (*conn)->Append(*p->argv);
  }
  for (size_t i = 0; i < group.size(); ++i) {
    Pending& p = *group[i];
    bool asked = !p.ask_to.empty();
    p.ask_to.clear();
    Result<Reply> asking = asked ? (*conn)->Read() : Result<Reply>(Reply{});
    Result<Reply> reply = asking.ok() ? (*conn)->Read() : asking;
    if (!reply.ok()) {
      conns_.erase(address);  // a connection that failed mid-pipeline cannot be read further
      return fail(i, reply.status());
    }
    HandleReply(p, std::move(reply).value(), address, must_refresh, must_back_off);
  }
}

void RedisCluster::HandleReply(Pending& p, Reply reply, const std::string& address, bool& must_refresh,
                               bool& must_back_off) {
  if (!reply.is_error()) {
    p.reply = std::move(reply);
    return;
  }
  if (auto moved = Redirection(reply.str, "MOVED")) {
    std::string target = Resolve(moved->second, address);
    map_->Assign(moved->first, target);
    p.last_error = fmt::format("{} answered MOVED {} {}", address, moved->first, target);
    ++moved_;
    must_refresh = true;  // a slot moved: others probably did too
  } else if (auto ask = Redirection(reply.str, "ASK")) {
    p.ask_to = Resolve(ask->second, address);
    p.last_error = fmt::format("{} answered ASK {} {}", address, ask->first, p.ask_to);
    ++ask_;
  } else if (IsTransient(reply.str)) {
    p.last_error = fmt::format("redis node {}: {}", address, reply.str);
    ++retries_;
    must_refresh = must_back_off = true;
  } else {
    p.reply = std::move(reply);  // the server's answer to this command (WRONGTYPE, syntax, ...)
  }
}

Result<NodeConnection*> RedisCluster::ConnectionTo(const std::string& address) {
  auto it = conns_.find(address);
  if (it != conns_.end()) return it->second.get();
  VANE_ASSIGN_OR_RETURN(std::unique_ptr<NodeConnection> conn,
                        NodeConnection::Open(address, options_.connect_timeout, options_.command_timeout));
  NodeConnection* raw = conn.get();
  conns_.emplace(address, std::move(conn));
  return raw;
}

Status RedisCluster::Refresh() {
  std::lock_guard lock(mu_);
  return RefreshLocked();
}

// Asks the known nodes, then the seeds, for CLUSTER SLOTS; the first complete answer becomes the map.
Status RedisCluster::RefreshLocked() {
  std::vector<std::string> candidates = map_->Nodes();
  for (const std::string& seed : options_.seeds) {
    if (std::find(candidates.begin(), candidates.end(), seed) == candidates.end()) candidates.push_back(seed);
  }
  std::vector<std::string> errors;
  for (const std::string& address : candidates) {
    Result<NodeConnection*> conn = ConnectionTo(address);
    if (!conn.ok()) {
      errors.push_back(conn.status().message());
      continue;
    }
    (*conn)->Append({"CLUSTER", "SLOTS"});
    Result<Reply> reply = (*conn)->Read();
    if (!reply.ok()) {
      conns_.erase(address);
      errors.push_back(reply.status().message());
      continue;
    }
    Result<SlotMap> map = SlotMap::FromClusterSlots(*reply, address.substr(0, address.rfind(':')));
    if (!map.ok() || map->ranges().empty()) {
      errors.push_back(fmt::format("redis node {}: {}", address,
                                   map.ok() ? "serves no slots (not a configured cluster)" : map.status().message()));
      continue;
    }
    *map_ = std::move(map).value();
    ++refreshes_;
    return Status::Ok();
  }
  return Status::Unavailable("cluster_unavailable",
                             fmt::format("redis cluster: no node answered CLUSTER SLOTS: {}", fmt::join(errors, "; ")));
}

std::vector<SlotRange> RedisCluster::topology() const {
  std::lock_guard lock(mu_);
  return map_->ranges();
}

std::string RedisCluster::MasterForKey(const std::string& key) const {
  std::lock_guard lock(mu_);
  const std::string* master = map_->MasterFor(KeySlot(key));
  return master ? *master : std::string();
}

RedisClusterStats RedisCluster::stats() const {
  return {commands_.load(), moved_.load(), ask_.load(), retries_.load(), refreshes_.load()};
}

}  // namespace vane::cluster
