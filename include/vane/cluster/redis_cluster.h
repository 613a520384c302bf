// RedisCluster: vane's client for Redis Cluster, a thin slot-routing layer over blocking hiredis connections
// (Debian's hiredis 0.14 has no cluster support). It learns the slot map with CLUSTER SLOTS from any reachable
// node, sends each command to the master of its key's slot (key_slot.h) over one connection per node, and follows
// the cluster's redirections: MOVED (the slot has a new owner: update the map, refresh it, retry there) and ASK
// (the slot is migrating: send ASKING then the command to the named node, map unchanged). On a connection error,
// a timeout, CLUSTERDOWN, TRYAGAIN or LOADING it backs off, refreshes the map and retries, a bounded number of
// times; then it returns Unavailable naming the node and the reason. Replicas are known (topology()) but never
// read from.
//
// Commands are argv vectors, binary-safe. A command's routing key is argv[1] (GET, SET, HSET, XADD, ...);
// commands whose key sits elsewhere (EVAL, XREADGROUP, ...) name it with CommandForKey. A command with no
// argument (PING) goes to any master.
//
// Delivery: a command may be sent more than once when its connection fails before the reply arrives (the retry
// cannot know whether the first copy ran); make writes idempotent or tolerate a duplicate.
//
// Thread-safety: thread-safe; one mutex serialises every call (including its retries and backoff sleeps), so
// threads that need parallel throughput use one client each. stats() reads atomics and never waits.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vane/cluster/reply.h"
#include "vane/core/status.h"

namespace vane::cluster {

class NodeConnection;
class SlotMap;

struct RedisClusterOptions {
  std::vector<std::string> seeds;  // "host:port" of some cluster nodes; one reachable node is enough
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{2000};
  // How many times one command is sent or re-routed before Unavailable (MOVED and ASK count as attempts).
  int max_attempts = 16;
  // Backoff after a failed attempt: backoff_initial, doubled each time, at most backoff_max.
  std::chrono::milliseconds backoff_initial{10};
  std::chrono::milliseconds backoff_max{500};
};

// A range of slots and the nodes serving it, as CLUSTER SLOTS answered at the last refresh.
struct SlotRange {
  int first = 0;
  int last = 0;
  std::string master;                 // "host:port"
  std::vector<std::string> replicas;  // "host:port"
};

// What the client did so far, for tests and metrics.
struct RedisClusterStats {
  uint64_t commands = 0;   // commands answered (error replies included)
  uint64_t moved = 0;      // MOVED redirections followed
  uint64_t ask = 0;        // ASK redirections followed
  uint64_t retries = 0;    // attempts repeated after a connection error, CLUSTERDOWN, TRYAGAIN or LOADING
  uint64_t refreshes = 0;  // slot maps learned
};

class RedisCluster {
 public:
  // Connects to the first reachable seed and learns the slot map. InvalidArgument for a malformed seed or
  // option; Unavailable naming every seed and why when none answers CLUSTER SLOTS.
  static Result<std::unique_ptr<RedisCluster>> Connect(RedisClusterOptions options);
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  // Runs one command on the master of argv[1]'s slot. The reply may be an error reply (WRONGTYPE ...): it is the
  // server's answer, returned as a Reply of type kError (Reply::ToStatus() turns it into a Status). A non-OK
  // Result is Unavailable (the cluster could not answer within max_attempts) or InvalidArgument (empty argv).
  Result<Reply> Command(const std::vector<std::string>& argv);
  // The same, routed by `key` instead of argv[1].
  Result<Reply> CommandForKey(const std::string& key, const std::vector<std::string>& argv);
  // Runs a batch: the commands are grouped by node and each group is sent pipelined; the replies come back in the
  // caller's order. Each command is re-routed on its own after MOVED or ASK. Not atomic: when the batch fails
  // (Unavailable), commands that were answered before have run.
  Result<std::vector<Reply>> Pipeline(const std::vector<std::vector<std::string>>& commands);
  // The same, command i routed by keys[i] (EVAL and other commands whose key is not argv[1]).
  Result<std::vector<Reply>> Pipeline(const std::vector<std::string>& keys,
                                      const std::vector<std::vector<std::string>>& commands);
  // Runs one command on the node `address` ("host:port"), whatever slot it serves, with no redirection or retry
  // (administration: CLUSTER ..., INFO, WAIT). The connection is the one routed commands to that node use.
  Result<Reply> CommandOnNode(const std::string& address, const std::vector<std::string>& argv);

  // Learns the slot map again from any reachable node.
  Status Refresh();
  // The ranges of the current map, sorted by first slot.
  std::vector<SlotRange> topology() const;
  // The master the client would send `key` to now ("" when none).
  std::string MasterForKey(const std::string& key) const;
  RedisClusterStats stats() const;

 private:
  struct Pending;  // one command of a batch on its way (redis_cluster.cc)
  explicit RedisCluster(RedisClusterOptions options);
  Result<std::vector<Reply>> Run(std::vector<Pending>& batch);
  void SendRound(std::vector<Pending>& batch, bool& must_refresh, bool& must_back_off);
  void SendGroup(const std::string& address, std::vector<Pending*>& group, bool& must_refresh, bool& must_back_off);
  void HandleReply(Pending& p, Reply reply, const std::string& address, bool& must_refresh, bool& must_back_off);
  Result<NodeConnection*> ConnectionTo(const std::string& address);
  Status RefreshLocked();

  const RedisClusterOptions options_;
  mutable std::mutex mu_;
  std::unique_ptr<SlotMap> map_;                                  // guarded by mu_
  std::map<std::string, std::unique_ptr<NodeConnection>> conns_;  // guarded by mu_
  std::atomic<uint64_t> commands_{0}, moved_{0}, ask_{0}, retries_{0}, refreshes_{0};
};

}  // namespace vane::cluster
