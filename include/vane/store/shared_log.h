// The event log shared by the nodes of a vane cluster, as a node's service sees it (docs/cluster.md, "Nodes
// applying the log"). The implementation on Redis Streams is cluster_store/stream_log.h (NewStreamSharedLog); the
// service only knows this interface, so the serving modules do not link hiredis.
//
// Contract: Append is idempotent under its batch id and returns the write's position token once the log holds the
// batch (as durably as the log is configured to acknowledge). Poll returns the entries that follow the previous
// Poll's in one order that every node sees (the common order); Covers says whether Poll has returned every entry a
// token names. Append and Covers may be called from any thread, Poll from one thread at a time.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vane/core/status.h"
#include "vane/events/types.h"

namespace vane {

struct SharedLogEntry {
  std::string batch;            // the batch id it was appended under
  std::vector<RawEvent> events;
  std::vector<Item> items;      // catalogue writes travel in the log too (an entry holds events or items)
  std::string delete_user;      // non-empty: the entry deletes this user (docs/cluster.md, "Deletion")
  // Non-empty kind: a record about `record_user` (AppendRecord): "user" (the user's record), "feedback" (online
  // feedback), "unfeedback" (the removal of some of the user's events); the body is JSON.
  std::string record_kind, record_user, record_body;
  std::string error;            // non-empty: a malformed entry (no events), with where it lies
};

// A node's state image kept in the cluster (docs/cluster.md, "Snapshots in the cluster").
struct SharedSnapshot {
  std::string id;          // unique: "<seq>-<node>-<unix ms>"
  uint64_t seq = 0;        // the log position (in the common order) the state covers
  std::string position;    // the log's Position() when it was taken: a node that loads it reads on from there
  uint64_t bytes = 0;      // the image's size
  uint64_t written_ms = 0; // unix milliseconds
  std::string node;        // the node that wrote it
  std::string note;        // what else the writer records (a model version's description, as JSON)
};

class SharedLog {
 public:
  virtual ~SharedLog() = default;
  virtual Result<std::string> Append(const std::string& batch_id, std::span<const RawEvent> events) = 0;
  virtual Result<std::string> AppendItems(const std::string& batch_id, std::span<const Item> items) = 0;
  // Appends the deletion of a user, in the user's order (after every event of theirs acknowledged before).
  virtual Result<std::string> AppendDeletion(const std::string& batch_id, const std::string& user) {
    (void)batch_id, (void)user;
    return Status::NotImplemented("this shared log cannot carry deletions");
  }
  // Appends a record of `kind` about `user` (a JSON body), in the user's order.
  virtual Result<std::string> AppendRecord(const std::string& batch_id, const std::string& kind,
                                           const std::string& user, const std::string& body) {
    (void)batch_id, (void)kind, (void)user, (void)body;
    return Status::NotImplemented("this shared log cannot carry records");
  }
  virtual Result<std::vector<SharedLogEntry>> Poll() = 0;
  // InvalidArgument (reason "bad_token") for a token that does not read.
  virtual Result<bool> Covers(const std::string& token) const = 0;
  // The position reached by Poll, as text (metrics, the dashboard).
  virtual std::string Position() const = 0;
  // Unix milliseconds below which Poll has returned every entry (0: unknown); now minus this is the node's lag.
  virtual uint64_t WatermarkMs() const { return 0; }

  // Snapshots and leases (the defaults: a log without them).
  // Reads on after `position` (a Position() string, e.g. a snapshot's); only before the first Poll.
  virtual Status Seek(const std::string& position) {
    (void)position;
    return Status::NotImplemented("this shared log cannot seek");
  }
  // Stores an image as a snapshot, committed only while `lease` (a fencing token from TryLease("snapshot", ...))
  // is still held by `meta.node`; keeps the newest `keep` snapshots and removes the others. Returns the stored meta.
  virtual Result<SharedSnapshot> PutSnapshot(SharedSnapshot meta, std::string_view image, uint64_t lease, size_t keep) {
    (void)meta, (void)image, (void)lease, (void)keep;
    return Status::NotImplemented("this shared log keeps no snapshots");
  }
  // The newest snapshot (nullopt: none), and its image checked against its checksum.
  virtual Result<std::optional<SharedSnapshot>> LatestSnapshot() { return std::optional<SharedSnapshot>(); }
  virtual Result<std::string> ReadSnapshot(const SharedSnapshot& meta) {
    (void)meta;
    return Status::NotImplemented("this shared log keeps no snapshots");
  }
  // Removes the log entries every kept snapshot covers; returns how many went.
  virtual Result<uint64_t> TrimBehindSnapshots() { return uint64_t{0}; }
  // A lease held by one node at a time: returns its fencing token (> 0, larger on every new acquisition) when
  // `holder` now holds `name` for `ttl` (acquired, or renewed when it held it already), 0 when another holder does.
  virtual Result<uint64_t> TryLease(const std::string& name, const std::string& holder, std::chrono::milliseconds ttl) {
    (void)name, (void)holder, (void)ttl;
    return Status::NotImplemented("this shared log has no leases");
  }
  // Published model versions (the trainer's lease is "models"): the same chunked, fenced storage as snapshots,
  // `meta.note` describing the version; the newest `keep` stay.
  virtual Result<SharedSnapshot> PutModel(SharedSnapshot meta, std::string_view files, uint64_t lease, size_t keep) {
    (void)meta, (void)files, (void)lease, (void)keep;
    return Status::NotImplemented("this shared log keeps no models");
  }
  virtual Result<std::optional<SharedSnapshot>> LatestModel() { return std::optional<SharedSnapshot>(); }
  virtual Result<std::string> ReadModel(const SharedSnapshot& meta) {
    (void)meta;
    return Status::NotImplemented("this shared log keeps no models");
  }
  // Configuration every node must share (the fitted blend): Get reads it (nullopt: none yet); PutIfAbsent stores
  // `value` unless a value is there and returns the value that is (the first writer's); Put replaces it.
  virtual Result<std::optional<std::string>> GetConfig(const std::string& name) {
    (void)name;
    return std::optional<std::string>();
  }
  virtual Result<std::string> PutConfigIfAbsent(const std::string& name, const std::string& value) {
    (void)name;
    return value;
  }
  virtual Status PutConfig(const std::string& name, const std::string& value) {
    (void)name, (void)value;
    return Status::Ok();
  }
  // Asks every server that keeps files (append-only file, RDB saves) to rewrite them, so that what was removed
  // (a deleted user's entries) leaves the disk too; returns how many were asked.
  virtual Result<int> RewriteFiles() { return 0; }
  // Node groups (docs/cluster.md, "Node groups"): the partition of a user's entries; which group this node is in.
  // A group keeps snapshots of its own (SnapshotKind(), also the name of their lease), and the log is trimmed
  // behind the oldest snapshot of every group.
  virtual int Partitions() const { return 1; }
  virtual int PartitionOf(const std::string& user) const {
    (void)user;
    return 0;
  }
  virtual Status SetGroup(int group, int groups) {
    return group == 0 && groups == 1 ? Status::Ok() : Status::NotImplemented("this shared log has no node groups");
  }
  virtual std::string SnapshotKind() const { return "snap"; }
  // Membership: this node's description (JSON holding "ms", the unix milliseconds it was written), refreshed
  // while it runs; Leave removes it; Members returns every node's (readers drop the stale ones by "ms").
  virtual Status Heartbeat(const std::string& node, const std::string& info) {
    (void)node, (void)info;
    return Status::NotImplemented("this shared log has no membership");
  }
  virtual Status Leave(const std::string& node) {
    (void)node;
    return Status::Ok();
  }
  virtual Result<std::map<std::string, std::string>> Members() { return std::map<std::string, std::string>(); }
  // Gives the lease up when `holder` holds it under `token`.
  virtual Status ReleaseLease(const std::string& name, const std::string& holder, uint64_t token) {
    (void)name, (void)holder, (void)token;
    return Status::NotImplemented("this shared log has no leases");
  }
};

}  // namespace vane
