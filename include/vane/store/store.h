// The durable store behind `vane serve`: the interface every implementation keeps, and the implementations.
//
// What it holds:
//   - the event log: accepted events at consecutive positions (sequence numbers), with an index by user;
//   - the catalogue (items) and client user records (e.g. Gorse's {UserId, Labels, Comment}, stored as given);
//   - counters (named 64-bit totals that survive restarts: online impressions, clicks, conversions, ...);
//   - metadata: named values (the action registry the events were accepted under, the store format, model version
//     records, and a state snapshot with the log position it covers once restarts use snapshots).
//
// Contracts every implementation keeps (tests/store_test.cc runs one suite against all of them):
//   - Durability: a call that returned OK survives a crash of the process (RocksDB: the write-ahead log is fsync'ed
//     before the call returns). A failed call changed nothing (writes are atomic batches).
//   - Positions are idempotent ids: AppendEvents at positions [first, first+n) writes exactly those positions, so
//     a retry of a batch whose outcome was unknown, at the same positions, replaces the same events instead of
//     adding copies (RocksDB: the same block keys). A position is otherwise written once (the caller hands out positions; the service under its lock).
//   - Reads see every acknowledged write. Thread-safe: any method may be called from any thread.
//   - A failed write was not acknowledged; whether it reached the disk is unknown (the log may hold it, e.g. when
//     its sync failed): a retry at the same positions settles it. A crash never loses an acknowledged write.
//
// Creation (RocksDB): a store is created only in an absent folder or one without a store's data (CURRENT, a table
// file, a non-empty write-ahead log). A folder with data that does not open (CURRENT or the MANIFEST lost, a
// damaged log or table) is refused, naming what it holds and what RocksDB said, with a hint to `vane store check`
// and `vane store repair`; it is never created over, so never filled with seed data while its files are deleted.
//
// Recovery after a crash (RocksDB). Every acknowledged write was fsync'ed to the write-ahead log before the call
// returned, so on a disk that keeps what it synced, a crash can leave only one thing incomplete: the last record of
// the newest log, when the write it belongs to was cut off before it was acknowledged. Damage anywhere else is
// damage to acknowledged data. Hence: the store opens with WALRecoveryMode::kAbsoluteConsistency (any damage to any
// log fails the open) and, when that fails, reads the logs itself (record by record with their CRC32C): when the
// only damage is a cut-off or damaged last record of the newest log with nothing intact after it, that record is
// dropped (reopening with kPointInTimeRecovery, which stops there) and stderr says so with the file, offset and
// bytes; anything else is refused (reason "store_corrupt") with the file and offset. Not RocksDB's default
// kPointInTimeRecovery alone (it stops at the first damage and drops every acknowledged write after it without a
// word), nor kTolerateCorruptedTailRecords (it drops a cut-off tail silently), nor kSkipAnyCorruptedRecords (it
// applies later writes over a hole without a word): filling the store past a hole is `vane store repair`'s job,
// which says what is lost. The limit: a
// log truncated behind the store's back, or damaged only in its very last record, looks like a write the crash cut
// off; that record is dropped loudly rather than refused (a log cut at a record boundary leaves no trace at all).
//
// Erasure (DeleteUser and EraseUserEvents, RocksDB). The deletion (each event block holding the user's events written again without
// them, or deleted once empty) is acknowledged once durable, and every read forgets the user at once; but the
// user's events (with their queries and context), index entries and record still lie in plain text in the files
// (the write-ahead log, table files: the blocks' old versions) until those are rewritten. A background thread
// erases them right after the acknowledgement: it flushes every column family's memtable (the logs that held the
// text become obsolete and are deleted: no log archive, no recycling) and compacts, down to the bottom level
// (kForce), the range of the rewritten blocks in "events" and the whole "user_events" and "users" families (the deletion's tombstones go too). Guarantee:
// gone from the store's files within seconds of the acknowledgement (one flush and the rewrite of the table files
// the user's positions span; a failed pass is retried every 10 seconds), or at the latest at the next start: the
// deletion's batch carries a marker, and a store that opens with the marker erases before Open returns; closing a
// store finishes the pending erasures first. Not covered: the contents of deleted files on the device until
// overwritten, copies made outside the store (backups, `vane store repair`'s DIR.damaged-* copy), and the user's
// id itself where it was a table file's boundary key in the MANIFEST's history (rewritten at the next start).
//
// Implementations: RocksDB (the default, embedded, one directory), memory (the oracle of the tests; nothing
// survives the process), and FaultStore (a wrapper that injects failed, partial and slow writes at this interface
// for the service tests). On Redis Cluster: cluster_store/redis_store.h (its own module; docs/cluster.md).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vane/core/status.h"
#include "vane/events/types.h"

namespace vane {

// The on-disk layout version this build writes (metadata key "format"); it reads formats 1 and 2. A store written
// by a newer layout is refused rather than misread; a store without the key is format 1 (the first layout).
inline constexpr int kStoreFormatVersion = 2;

class Store {
 public:
  virtual ~Store() = default;

  // ---- event log ----
  // Appends events at positions first_seq, first_seq+1, ... durably, in one atomic batch.
  virtual Status AppendEvents(uint64_t first_seq, std::span<const RawEvent> events) = 0;
  // The newest `limit` events of `user` (newest first) with their positions, through the per-user index.
  virtual Result<std::vector<std::pair<uint64_t, RawEvent>>> UserEvents(std::string_view user, size_t limit) const = 0;
  // Removes every event of `user` and the user's record; returns how many events. RocksDB rewrites the batches
  // holding them, so it must not run while a batch holding them is retried (the service's write gate).
  virtual Result<uint64_t> DeleteUser(std::string_view user) = 0;
  // Removes the events of `user` that `drop` selects (given each one's position), in one atomic write, and keeps
  // every other event at its position; the user's record stays. Returns how many were removed. The removed events
  // leave the files as a deletion's do ("Erasure" above). The same rule as DeleteUser on batches being retried.
  using EventFilter = std::function<bool(uint64_t seq, const RawEvent&)>;
  virtual Result<uint64_t> EraseUserEvents(std::string_view user, const EventFilter& drop) = 0;
  // Calls on_event for every event at a position >= from_seq, in position order. Returns the next free position
  // (one past the last stored event; 0 for an empty log).
  virtual Result<uint64_t> LoadEvents(uint64_t from_seq, const std::function<void(uint64_t seq, RawEvent&&)>& on_event) const = 0;

  // ---- catalogue and users ----
  // Writes the items in one atomic batch (an existing id is replaced).
  virtual Status PutItems(std::span<const Item> items) = 0;
  virtual Status DeleteItem(std::string_view id) = 0;
  virtual Status LoadItems(const std::function<void(Item&&)>& on_item) const = 0;
  virtual Status PutUser(std::string_view id, std::string_view record) = 0;
  virtual Result<std::optional<std::string>> GetUser(std::string_view id) const = 0;
  // The user records whose id sorts (bytewise) after `after` ("" = from the first), in id order, at most `limit`:
  // (id, record) pairs, for paging through the users. NotImplemented where a store cannot list them.
  virtual Result<std::vector<std::pair<std::string, std::string>>> UserRecordsAfter(std::string_view after,
                                                                                     size_t limit) const {
    (void)after, (void)limit;
    return Status::NotImplemented("not_implemented", "this store cannot list user records");
  }

  // ---- counters ----
  // Adds each delta to its named counter in one atomic batch (absent counters start at 0).
  virtual Status AddCounters(std::span<const std::pair<std::string, int64_t>> deltas) = 0;
  // Every counter whose name starts with `prefix`, by name.
  virtual Result<std::map<std::string, int64_t>> Counters(std::string_view prefix) const = 0;

  // ---- metadata ----
  virtual Status PutMeta(std::string_view key, std::string_view value) = 0;
  virtual Result<std::optional<std::string>> GetMeta(std::string_view key) const = 0;

  // Approximate bytes the store occupies (on disk for a store with files; 0 when the implementation cannot tell).
  virtual uint64_t ApproximateBytes() const = 0;

  // ---- erasure (see "Erasure" above; stores that keep no files have nothing to erase) ----
  // Waits until every deletion acknowledged before the call is erased from the store's files. Returns the failure
  // of an erasure attempt that failed meanwhile (it is retried), else OK.
  virtual Status WaitForErasures() { return Status::Ok(); }
  // Deletions acknowledged but not yet erased from the files.
  virtual uint64_t PendingErasures() const { return 0; }

  // Convenience: one item; everything (items, then events from position 0).
  Status PutItem(const Item& item) { return PutItems(std::span<const Item>(&item, 1)); }
  Result<uint64_t> Load(const std::function<void(Item&&)>& on_item,
                        const std::function<void(uint64_t seq, RawEvent&&)>& on_event) const;
};

// The stored forms of an event and an item (JSON; the same text the API accepts), and the way back. A stored value
// that does not parse is corruption: the Status names the position or key.
std::string EventToJson(const RawEvent& e);
std::string ItemToJson(const Item& item);
Result<RawEvent> StoredEventFromJson(uint64_t seq, std::string_view value);
Result<Item> StoredItemFromJson(std::string_view key, std::string_view value);

// ---- implementations ----

// Failures injected below RocksDB, in the files it writes (tests; set RocksDbOptions::faults), after LevelDB's
// fault-injection Env. Write failures, syncs and tears apply to the write-ahead logs (*.log); a full disk to every
// file. Thread-safe.
class StoreFaults {
 public:
  // The next `n` appends to a log fail, writing nothing.
  void FailNextWalWrites(int n = 1);
  // The next `n` syncs of a log fail (what was appended stays in the file, unsynced).
  void FailNextWalSyncs(int n = 1);
  // The next append to a log writes only its first `keep` bytes, then fails: a torn write, as a crash mid-write
  // leaves it (that log takes no more writes or syncs).
  void TearNextWalWrite(size_t keep);
  // While set, every append and sync fails with "no space left on device" (IOStatus::NoSpace).
  void SetDiskFull(bool full);
  // A power loss: truncates every log to what was last synced (call with the store closed).
  void DropUnsyncedData();
  uint64_t injected() const;

  // What the file system does (src/store/fault_fs.cc).
  enum class Action { kPass, kFail, kTear, kNoSpace };
  Action OnAppend(const std::string& file, size_t n, size_t* keep);
  Action OnSync(const std::string& file);
  void Written(const std::string& file, uint64_t size, bool synced);  // a log's size, and whether all is synced

 private:
  mutable std::mutex mu_;
  int fail_writes_ = 0, fail_syncs_ = 0;  // guarded by mu_
  std::optional<size_t> tear_;            // guarded by mu_
  bool full_ = false;                     // guarded by mu_
  uint64_t injected_ = 0;                 // guarded by mu_
  std::map<std::string, uint64_t> synced_;  // log path -> bytes synced; guarded by mu_
};

struct RocksDbOptions {
  // RocksDB's memory is bounded: every column family's memtables share `memtable_mb` (a write-buffer manager
  // flushes beyond it) and every table reader's blocks, index and filter blocks included, share one
  // `block_cache_mb` LRU cache.
  size_t memtable_mb = 64;
  size_t block_cache_mb = 32;
  // Tests: the store's files go through a file system that carries out this plan.
  std::shared_ptr<StoreFaults> faults;
};
// Opens the RocksDB store in `dir` (Debian librocksdb-dev), creating it only when the folder is absent or holds no
// store's data (see "Creation" and "Recovery" above). Column families (format 2, store/event_block.h): "events"
// (key: 8-byte big-endian first position of a batch, value: its event block; format 1: one event as JSON per
// position), "user_events" (key: user id, 0x00, a block's key; value: the user's event count in the block; format
// 1: one entry per event, empty value), "items", "users", "counters" (8-byte little-endian values) and the default
// family (metadata). A format-1 store is read as it is and marked format 2 on open (a note on stderr). Every write is synchronous
// (WriteOptions::sync). A full disk fails writes with reason "disk_full"; reads go on, and writes resume within
// about 5 seconds of space being freed (RocksDB's SstFileManager retries its recovery). After another failed log
// write RocksDB stops taking writes until the store is reopened.
Result<std::unique_ptr<Store>> OpenRocksDbStore(const std::string& dir, const RocksDbOptions& opt = {});

// ---- check and repair (`vane store check`, `vane store repair`) ----
struct StoreCheckReport {
  std::string folder;  // what the folder holds (FolderInventory: CURRENT, MANIFEST, table files, logs)
  bool opened = false;  // RocksDB opened it read-only, every log whole (kAbsoluteConsistency)
  bool skipped = false;  // counted up to the first damage of the logs (when it did not open whole)
  uint64_t after_damage = 0;  // then: events in intact log records after the damage (what repair writes again)
  uint64_t events = 0, items = 0, user_index = 0;
  uint64_t blocks = 0, format1_events = 0;  // how the events are stored: format-2 blocks, format-1 JSON values
  std::optional<uint64_t> first, last;  // positions
  std::string format;                   // the metadata "format" ("" when absent)
  std::vector<std::string> problems;    // each with its file and offset (or position, or key) where known
  bool clean() const { return problems.empty(); }
  std::string ToString() const;
};
// Opens the store read-only (never changes it): lists its files, reads every log record by record, verifies
// every table block's checksum (DB::VerifyChecksum) and whole-file checksums where recorded (VerifyFileChecksums),
// reads every event, item and index entry.
StoreCheckReport CheckStore(const std::string& dir, const RocksDbOptions& opt = {});

struct StoreRepairReport {
  std::string backup;                 // the copy of the damaged folder, kept as it was
  std::vector<std::string> actions;   // what was done, in order
  std::vector<std::string> lost;      // what could not be saved: damaged log records (file, offset, bytes, the
                                      // positions around them), table files RocksDB set aside (DIR/lost/)
  uint64_t events = 0, items = 0;     // what the repaired store holds
  std::optional<uint64_t> first, last;
  std::vector<std::pair<uint64_t, uint64_t>> gaps;  // position ranges [a, b] absent between first and last: lost,
                                                    // or events of deleted users (deletion leaves no trace)
  std::string ToString() const;
};
// Saves what can be saved, after copying the folder to DIR.damaged-<UTC time> (refused when the copy fails; the
// original data is never deleted without that copy): RocksDB replays the logs up to the first damage
// (kPointInTimeRecovery) or, when that fails (CURRENT or the MANIFEST lost, a damaged table), rebuilds the MANIFEST
// from the table files (rocksdb::RepairDB); then every intact log record the store does not hold yet, after the
// damage included, is written again in log order (a damaged record is skipped, not the rest of the log). Counter
// additions logged after a table already counted them can count twice on the RepairDB path. The repaired store
// opens normally.
Result<StoreRepairReport> RepairStore(const std::string& dir, const RocksDbOptions& opt = {});

// Everything in memory, behind one mutex: the reference the other implementations are tested against.
std::unique_ptr<Store> NewMemoryStore();

// Wraps a store and injects failures at this interface, for tests of what the service does when the store fails.
// Each write operation (append, items, item deletion, user record, user deletion, event erasure, counters, metadata)
// consults the plan: a failure returns kUnavailable without calling the wrapped store; a partial append writes the
// first half of the batch to the wrapped store and then reports failure (what a crash mid-write of a non-atomic
// store would leave); a delay sleeps before the write. Thread-safe.
class FaultStore : public Store {
 public:
  enum class Op { kAppend, kPutItems, kDeleteItem, kPutUser, kDeleteUser, kEraseEvents, kCounters, kMeta, kAny };
  explicit FaultStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  // The next `count` writes of `op` fail (kAny: of any kind).
  void FailNext(Op op, int count = 1);
  // The next append writes half its events, then fails.
  void PartialNextAppend();
  // Every write sleeps this long first (0: none).
  void SetWriteDelay(std::chrono::milliseconds d) { delay_ms_ = d.count(); }
  // Every read fails while set.
  void SetReadsFail(bool fail) { reads_fail_ = fail; }
  // Every read sleeps this long first (0: none).
  void SetReadDelay(std::chrono::milliseconds d) { read_delay_ms_ = d.count(); }
  // Writes that reached the wrapped store (successful or partial), and writes refused by the plan.
  uint64_t writes() const { return writes_; }
  uint64_t injected() const { return injected_; }
  Store& inner() { return *inner_; }

  Status AppendEvents(uint64_t first_seq, std::span<const RawEvent> events) override;
  Result<std::vector<std::pair<uint64_t, RawEvent>>> UserEvents(std::string_view user, size_t limit) const override;
  Result<uint64_t> DeleteUser(std::string_view user) override;
  Result<uint64_t> EraseUserEvents(std::string_view user, const EventFilter& drop) override;
  Result<uint64_t> LoadEvents(uint64_t from_seq, const std::function<void(uint64_t, RawEvent&&)>& on_event) const override;
  Status PutItems(std::span<const Item> items) override;
  Status DeleteItem(std::string_view id) override;
  Status LoadItems(const std::function<void(Item&&)>& on_item) const override;
  Status PutUser(std::string_view id, std::string_view record) override;
  Result<std::optional<std::string>> GetUser(std::string_view id) const override;
  Result<std::vector<std::pair<std::string, std::string>>> UserRecordsAfter(std::string_view after,
                                                                             size_t limit) const override;
  Status AddCounters(std::span<const std::pair<std::string, int64_t>> deltas) override;
  Result<std::map<std::string, int64_t>> Counters(std::string_view prefix) const override;
  Status PutMeta(std::string_view key, std::string_view value) override;
  Result<std::optional<std::string>> GetMeta(std::string_view key) const override;
  uint64_t ApproximateBytes() const override { return inner_->ApproximateBytes(); }
  Status WaitForErasures() override { return inner_->WaitForErasures(); }
  uint64_t PendingErasures() const override { return inner_->PendingErasures(); }

 private:
  // Sleeps the configured delay; returns a failure when the plan says this write fails.
  Status BeforeWrite(Op op);
  Status BeforeRead() const;

  std::unique_ptr<Store> inner_;
  mutable std::mutex mu_;
  std::map<Op, int> fail_;  // guarded by mu_
  bool partial_ = false;    // guarded by mu_
  std::atomic<int64_t> delay_ms_{0}, read_delay_ms_{0};
  std::atomic<bool> reads_fail_{false};
  std::atomic<uint64_t> writes_{0}, injected_{0};
};

}  // namespace vane
