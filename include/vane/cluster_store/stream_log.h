// The event log of a vane cluster as Redis Streams (docs/cluster.md, "The event log as Redis Streams").
//
// Partitions. The log is P streams, {<prefix>:p<k>}:log for k in [0, P); an event goes to partition
// KeySlot(user) mod P, so a user's events stay in one stream, in the order they were appended, and the partitions'
// hash tags spread the streams over the cluster's slots (and so over its masters). One stream entry holds one
// batch's events of that partition (fields "b": the batch id, "e": a JSON array of events as EventToJson writes
// them, "n": their count).
//
// Appending. StreamLog::Append(batch_id, events) runs one Lua script per partition the batch touches (the
// partitions' scripts go out pipelined, grouped by master). The script is idempotent: the partition remembers the
// batch ids it took (a hash {..}:batches, id -> entry id, forgotten after `dedup_ttl`), and a batch id it has seen
// returns the entry it wrote then instead of writing again. So a client that did not get its answer (a timeout, a
// failover) sends the same batch with the same id again and nothing is counted twice; the client layer's own
// resends (redis_cluster.h: at-least-once) are covered the same way. With `wait_replicas` > 0 each master that
// took part is then asked `WAIT wait_replicas wait_timeout` on the connection that wrote, and the batch is
// acknowledged only when every one of them confirms: Redis 7.0's WAIT proves that many replicas hold the write in
// memory, not on disk (the table of what each setting survives is in docs/cluster.md). A batch that spans
// partitions is not atomic across them: a failed Append may have written some partitions (the tailers see those);
// the retry with the same id writes the rest.
//
// Reading in one order everywhere. Every node reads every partition (StreamTailer) and must apply the entries in
// one order that does not depend on when it read them, so that two nodes at the same positions hold the same
// state. The order: by entry id (milliseconds, sequence), then partition. A tailer releases an entry only once no
// entry before it in that order can still appear: each poll reads each partition's master's clock (TIME, in the
// same script as the read), and an entry is released when its milliseconds are below the watermark W = the
// smallest of those clocks minus `order_margin`. A master gives a new entry an id at or above its clock, so every
// entry still to come lies at or after W. Two tailers release the same sequence, only cut at different places.
// The limit: after a failover to a replica whose clock is behind its old master's by more than `order_margin`, a
// new entry can get an id below a watermark already passed; the tailer then releases it at once, out of the
// common order, and counts it (stats().late_entries): nothing is lost, per-user order holds (a user lives in one
// partition), only the interleaving with other partitions may differ between nodes.
//
// Positions. A tailer's position is the id of the last entry it released in each partition; a write's token
// (AppendReceipt::Token) names the entries the write created, and StreamTailer::Covers says whether a tailer has
// released them (read-your-writes across nodes). Malformed entries (not written by vane, or damaged) are released
// as rejections naming the partition, the entry id and the reason, never silently dropped nor applied.
//
// Thread-safety: StreamLog is thread-safe (its client serialises calls). A StreamTailer is used by one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vane/cluster/redis_cluster.h"
#include "vane/events/types.h"
#include "vane/store/shared_log.h"

namespace vane::cluster {

// A stream entry id: milliseconds and a sequence number within them ("1701234567890-3").
struct StreamId {
  uint64_t ms = 0, seq = 0;
  std::string ToString() const { return std::to_string(ms) + "-" + std::to_string(seq); }
  // Parses "ms-seq"; nullopt for anything else.
  static std::optional<StreamId> Parse(std::string_view s);
  auto operator<=>(const StreamId&) const = default;
};

struct StreamLogOptions {
  std::string prefix = "vane";  // no '{' or '}'
  int partitions = 16;          // fixed for the life of a log: every node must use the same number
  // > 0: Append waits until this many replicas of each master involved hold the batch (WAIT).
  int wait_replicas = 0;
  std::chrono::milliseconds wait_timeout{1000};
  std::chrono::seconds dedup_ttl{24 * 3600};  // how long a partition remembers a batch id
};

// What one partition took of a batch.
struct PartitionEntry {
  int partition = 0;
  StreamId id;
  uint64_t events = 0;
  bool duplicate = false;  // the batch id was known: `id` is the entry written the first time
};

struct AppendReceipt {
  std::vector<PartitionEntry> entries;  // by partition
  // The write's position token: "p:ms-seq" per entry, comma-separated ("" for an empty batch).
  std::string Token() const;
  bool duplicate() const;  // every partition already had the batch
};

// A token's entries; InvalidArgument naming the part that does not read (a token comes from outside).
Result<std::vector<std::pair<int, StreamId>>> ParseToken(std::string_view token, int partitions);

class StreamLog {
 public:
  // Connects; InvalidArgument for a bad prefix or partitions outside [1, 1024].
  static Result<std::unique_ptr<StreamLog>> Open(RedisClusterOptions cluster, StreamLogOptions options);
  ~StreamLog();

  int Partition(std::string_view user) const;
  std::string StreamKey(int partition) const;
  const StreamLogOptions& options() const { return options_; }

  // Appends a batch under `batch_id` (1 to 200 bytes, chosen by the caller, unique per batch; the same id again is
  // the same batch). Unavailable when the cluster could not take it (a retry with the same id is safe);
  // Unavailable with reason "replicas_missing" when WAIT saw fewer than wait_replicas replicas: the batch is in
  // the masters but not acknowledged as replicated (a retry with the same id waits again without writing again).
  Result<AppendReceipt> Append(std::string_view batch_id, std::span<const RawEvent> events);
  // Appends catalogue items (field "i" instead of "e") as one entry of the partition KeySlot(batch_id) mod P, with
  // the same idempotence and acknowledgement: nodes apply them in the common order with the events.
  Result<AppendReceipt> AppendItems(std::string_view batch_id, std::span<const Item> items);
  // Appends the deletion of `user` (field "d") to the user's partition, after the user's events.
  Result<AppendReceipt> AppendDeletion(std::string_view batch_id, const std::string& user);
  // Appends a record of `kind` about `user` (field "r": {"k": kind, "u": user, "v": body}) to the user's partition,
  // in the user's order: the node-side writes other than events (user records, online feedback, feedback removal).
  Result<AppendReceipt> AppendRecord(std::string_view batch_id, const std::string& kind, const std::string& user,
                                     const std::string& body);

  // Removes the entries of `partition` below `min_id` (XTRIM MINID: behind the oldest snapshot kept).
  Result<uint64_t> Trim(int partition, StreamId min_id);
  // Entries in each partition now (XLEN), by partition.
  Result<std::vector<uint64_t>> Lengths();
  RedisCluster& client() { return *client_; }

 private:
  StreamLog(std::unique_ptr<RedisCluster> client, StreamLogOptions options);
  Status WaitReplicas(const std::vector<int>& partitions);
  // One idempotent append script per partition: (partition, field, JSON array, count).
  struct PartPayload {
    int partition;
    const char* field;
    std::string json;
    uint64_t count;
  };
  Result<AppendReceipt> AppendParts(std::string_view batch_id, const std::vector<PartPayload>& parts);

  std::unique_ptr<RedisCluster> client_;
  StreamLogOptions options_;
};

// One released stream entry: its events, or why it could not be read.
struct LogEntry {
  int partition = 0;
  StreamId id;
  std::string batch;
  std::vector<RawEvent> events;
  std::vector<Item> items;  // an entry of catalogue items (field "i") instead of events
  std::string delete_user;  // an entry deleting this user (field "d")
  std::string record_kind, record_user, record_body;  // a record entry (field "r"; AppendRecord)
  std::string error;  // non-empty: a malformed entry (no events), e.g. "field e: not a JSON array"
  bool late = false;  // released out of the common order (see the top of this file)
};

struct TailerStats {
  uint64_t polls = 0, entries = 0, events = 0, rejected = 0, late_entries = 0;
  uint64_t watermark_ms = 0;  // the last watermark
  uint64_t buffered = 0;      // entries read but not yet released
};

class StreamTailer {
 public:
  struct Options {
    std::chrono::milliseconds order_margin{20};  // see the top of this file
    size_t read_count = 1000;                    // entries read per partition per poll
  };
  // Reads the log of `log_options` (prefix, partitions) from `from` (one id per partition; empty: from the start)
  // with a client of its own.
  static Result<std::unique_ptr<StreamTailer>> Open(RedisClusterOptions cluster, StreamLogOptions log_options,
                                                    Options options, std::vector<StreamId> from = {});
  ~StreamTailer();

  // One round: reads every partition once (pipelined) and returns the entries that can be released now, in the
  // common order. Unavailable when a partition could not be read (nothing is released then; the next poll
  // retries from the same place). FailedPrecondition "log_trimmed" when a partition was trimmed (behind a
  // snapshot, cluster_state.h) past what this tailer has read: the entries between are gone.
  Result<std::vector<LogEntry>> Poll();
  // The id of the last entry released in each partition.
  const std::vector<StreamId>& positions() const { return released_; }
  // Reads on after `from` (one id per partition: a snapshot's positions), forgetting what was buffered.
  Status Seek(std::vector<StreamId> from);
  // Whether every entry of a token has been released here.
  bool Covers(const std::vector<std::pair<int, StreamId>>& token) const;
  TailerStats stats() const { return stats_; }

 private:
  StreamTailer(std::unique_ptr<RedisCluster> client, StreamLogOptions log_options, Options options,
               std::vector<StreamId> from);
  Status ReadAll(std::vector<uint64_t>& clocks);

  std::unique_ptr<RedisCluster> client_;
  StreamLogOptions log_;
  Options options_;
  std::vector<StreamId> read_;      // last id read, per partition
  std::vector<StreamId> released_;  // last id released, per partition
  std::vector<std::vector<LogEntry>> buffer_;  // read, not yet released, per partition (in id order)
  uint64_t watermark_ = 0;
  TailerStats stats_;
};

// The shared log of a cluster node's service (store/shared_log.h) on these streams: Append through a StreamLog,
// Poll and Covers through a StreamTailer (each with its own client). Covers may run while another thread polls.
Result<std::shared_ptr<SharedLog>> NewStreamSharedLog(RedisClusterOptions cluster, StreamLogOptions log_options,
                                                      StreamTailer::Options tailer_options = {});

}  // namespace vane::cluster
