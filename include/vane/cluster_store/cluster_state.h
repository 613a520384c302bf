// What the nodes of a vane cluster share besides the event log (docs/cluster.md, "Snapshots in the cluster" and
// "Leases"): state snapshots kept in Redis in chunks, and leases that let one node at a time do a job.
//
// Leases. A lease `name` is two keys of one slot, {<prefix>:<name>}:lease ("<holder> <token>", with a
// millisecond expiry) and {<prefix>:<name>}:fence (a counter). TryLease acquires it when nobody holds it (the
// token is the counter incremented: every acquisition gets a larger one), renews it when the same holder asks
// again, and answers 0 while another holder has it. A holder that stalls past the expiry loses the lease without
// knowing; what it then writes under the lease is refused (fencing): the writes guarded by a lease check, in
// the same atomic script as the write, that the lease still holds "<holder> <token>".
//
// Snapshots. Under the lease "snap": an image is cut in chunks of `chunk_bytes` written as
// {<prefix>:snap}:c:<id>:<i> with a one-hour expiry (a writer that dies half way leaves nothing behind for long),
// then one script checks the lease, removes the chunks' expiry and records the snapshot's description in the hash
// {<prefix>:snap}:index (id -> JSON: seq, position, bytes, chunks, XXH64, time, node): a snapshot exists whole or
// not at all. The newest `keep` (by seq) are kept, the others removed. Everything of the snapshots lives in one
// slot, so on one master: its memory bounds the images kept (docs/cluster.md).
//
// Trimming. The log's entries that every kept snapshot covers are removed (XTRIM MINID per partition, behind the
// oldest kept snapshot's position). Each trim records in {<prefix>:p<k>}:trimmed the id of the last entry it
// removed, in the same script; a tailer that has not read that far finds out on its next poll (reason
// "log_trimmed") instead of skipping entries without a word.
//
// Thread-safety: thread-safe (the client serialises calls).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "vane/cluster/redis_cluster.h"
#include "vane/store/shared_log.h"

namespace vane::cluster {

class ClusterState {
 public:
  // `prefix` as the log's; `partitions` the log's (for trimming).
  ClusterState(std::unique_ptr<RedisCluster> client, std::string prefix, int partitions,
               size_t chunk_bytes = 4u << 20);

  Result<uint64_t> TryLease(const std::string& name, const std::string& holder, std::chrono::milliseconds ttl);
  // Shared configuration values, {<prefix>:config}:<name> (store/shared_log.h, GetConfig).
  Result<std::optional<std::string>> GetConfig(const std::string& name);
  Result<std::string> PutConfigIfAbsent(const std::string& name, const std::string& value);
  Status PutConfig(const std::string& name, const std::string& value);
  Status ReleaseLease(const std::string& name, const std::string& holder, uint64_t token);

  // See the top of this file. meta.id, bytes and written_ms are filled in here. `kind` names the family and its
  // lease: "snap" for state snapshots, "models" for published model versions (the trainer's lease).
  Result<SharedSnapshot> PutSnapshot(SharedSnapshot meta, std::string_view image, uint64_t lease, size_t keep,
                                     const std::string& kind = "snap");
  // Every snapshot, newest (highest seq) first; an index entry that does not read is skipped with a warning.
  Result<std::vector<SharedSnapshot>> ListSnapshots(const std::string& kind = "snap");
  // The image, checked (size and XXH64): IoError "snapshot_corrupt" when a chunk is missing or damaged.
  Result<std::string> ReadSnapshot(const SharedSnapshot& meta, const std::string& kind = "snap");
  // Every server of the cluster (masters and replicas) with `appendonly yes` is asked to BGREWRITEAOF, and every one
  // with RDB saves configured to BGSAVE; returns how many servers were asked. The rewrite runs in the background.
  Result<int> RewriteFiles();
  // Trims every partition behind the oldest kept snapshot's position among every family of `kinds` (node groups:
  // one family per group, each group's snapshots covering the whole log); nothing while a family has none. Returns
  // the entries removed.
  Result<uint64_t> TrimBehindSnapshots(const std::vector<std::string>& kinds = {"snap"});
  // Cluster membership, {<prefix>:members}: each node's own description (JSON, with the time it was written),
  // refreshed by the node; Members returns every entry (readers judge staleness from the time in it).
  Status Heartbeat(const std::string& node, const std::string& info);
  Status Leave(const std::string& node);
  Result<std::map<std::string, std::string>> Members();

  std::string LeaseKey(const std::string& name) const { return "{" + prefix_ + ":" + name + "}:lease"; }

 private:
  Status Prune(size_t keep, const std::string& kind);

  std::unique_ptr<RedisCluster> client_;
  std::string prefix_;
  int partitions_;
  size_t chunk_bytes_;
};

// The key of partition `p`'s trim mark (the id of the last entry a trim removed).
std::string TrimmedKey(const std::string& prefix, int partition);

}  // namespace vane::cluster
