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
//   - Positions are idempotent ids: AppendEvents at positions [first, first+n) writes exactly those keys, so a
//     retry of a batch whose outcome was unknown, at the same positions, replaces the same events instead of adding
//     copies. A position is otherwise written once (the caller hands out positions; the service under its lock).
//   - Reads see every acknowledged write. Thread-safe: any method may be called from any thread.
//
// Implementations: RocksDB (the default, embedded, one directory), memory (the oracle of the tests; nothing
// survives the process), and FaultStore (a wrapper that injects failed, partial and slow writes at this interface
// for the service tests). A Redis-backed store for a cluster fits the same interface: positions map to a stream
// or sorted-set score, the per-user index to one sorted set per user, counters to INCRBY, metadata to plain keys.
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

// The on-disk layout version this build writes and reads (metadata key "format"). A store written by a newer
// layout is refused rather than misread; a store without the key is format 1 (the first layout).
inline constexpr int kStoreFormatVersion = 1;

class Store {
 public:
  virtual ~Store() = default;

  // ---- event log ----
  // Appends events at positions first_seq, first_seq+1, ... durably, in one atomic batch.
  virtual Status AppendEvents(uint64_t first_seq, std::span<const RawEvent> events) = 0;
  // The newest `limit` events of `user` (newest first) with their positions, through the per-user index.
  virtual Result<std::vector<std::pair<uint64_t, RawEvent>>> UserEvents(std::string_view user, size_t limit) const = 0;
  // Removes every event of `user` and the user's record; returns how many events.
  virtual Result<uint64_t> DeleteUser(std::string_view user) = 0;
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

  // ---- counters ----
  // Adds each delta to its named counter in one atomic batch (absent counters start at 0).
  virtual Status AddCounters(std::span<const std::pair<std::string, int64_t>> deltas) = 0;
  // Every counter whose name starts with `prefix`, by name.
  virtual Result<std::map<std::string, int64_t>> Counters(std::string_view prefix) const = 0;

  // ---- metadata ----
  virtual Status PutMeta(std::string_view key, std::string_view value) = 0;
  virtual Result<std::optional<std::string>> GetMeta(std::string_view key) const = 0;

  // Approximate bytes the store occupies (0 when the implementation cannot tell).
  virtual uint64_t ApproximateBytes() const = 0;

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

struct RocksDbOptions {
  // RocksDB's memory is bounded: every column family's memtables share `memtable_mb` (a write-buffer manager
  // flushes beyond it) and every table reader's blocks, index and filter blocks included, share one
  // `block_cache_mb` LRU cache.
  size_t memtable_mb = 64;
  size_t block_cache_mb = 32;
};
// Opens (creating when absent) the RocksDB store in `dir` (Debian librocksdb-dev). Column families: "events"
// (key: 8-byte big-endian position, value: the event as JSON), "user_events" (key: user id, 0x00, position; empty
// value: the per-user index), "items", "users", "counters" (8-byte little-endian values) and the default family
// (metadata). Every write is synchronous (WriteOptions::sync).
Result<std::unique_ptr<Store>> OpenRocksDbStore(const std::string& dir, const RocksDbOptions& opt = {});

// Everything in memory, behind one mutex: the reference the other implementations are tested against.
std::unique_ptr<Store> NewMemoryStore();

// Wraps a store and injects failures at this interface, for tests of what the service does when the store fails.
// Each write operation (append, items, item deletion, user record, user deletion, counters, metadata) consults the
// plan: a failure returns kUnavailable without calling the wrapped store; a partial append writes the first half
// of the batch to the wrapped store and then reports failure (what a crash mid-write of a non-atomic store would
// leave); a delay sleeps before the write. Thread-safe.
class FaultStore : public Store {
 public:
  enum class Op { kAppend, kPutItems, kDeleteItem, kPutUser, kDeleteUser, kCounters, kMeta, kAny };
  explicit FaultStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  // The next `count` writes of `op` fail (kAny: of any kind).
  void FailNext(Op op, int count = 1);
  // The next append writes half its events, then fails.
  void PartialNextAppend();
  // Every write sleeps this long first (0: none).
  void SetWriteDelay(std::chrono::milliseconds d) { delay_ms_ = d.count(); }
  // Every read fails while set.
  void SetReadsFail(bool fail) { reads_fail_ = fail; }
  // Writes that reached the wrapped store (successful or partial), and writes refused by the plan.
  uint64_t writes() const { return writes_; }
  uint64_t injected() const { return injected_; }
  Store& inner() { return *inner_; }

  Status AppendEvents(uint64_t first_seq, std::span<const RawEvent> events) override;
  Result<std::vector<std::pair<uint64_t, RawEvent>>> UserEvents(std::string_view user, size_t limit) const override;
  Result<uint64_t> DeleteUser(std::string_view user) override;
  Result<uint64_t> LoadEvents(uint64_t from_seq, const std::function<void(uint64_t, RawEvent&&)>& on_event) const override;
  Status PutItems(std::span<const Item> items) override;
  Status DeleteItem(std::string_view id) override;
  Status LoadItems(const std::function<void(Item&&)>& on_item) const override;
  Status PutUser(std::string_view id, std::string_view record) override;
  Result<std::optional<std::string>> GetUser(std::string_view id) const override;
  Status AddCounters(std::span<const std::pair<std::string, int64_t>> deltas) override;
  Result<std::map<std::string, int64_t>> Counters(std::string_view prefix) const override;
  Status PutMeta(std::string_view key, std::string_view value) override;
  Result<std::optional<std::string>> GetMeta(std::string_view key) const override;
  uint64_t ApproximateBytes() const override { return inner_->ApproximateBytes(); }

 private:
  // Sleeps the configured delay; returns a failure when the plan says this write fails.
  Status BeforeWrite(Op op);
  Status BeforeRead() const;

  std::unique_ptr<Store> inner_;
  mutable std::mutex mu_;
  std::map<Op, int> fail_;  // guarded by mu_
  bool partial_ = false;    // guarded by mu_
  std::atomic<int64_t> delay_ms_{0};
  std::atomic<bool> reads_fail_{false};
  std::atomic<uint64_t> writes_{0}, injected_{0};
};

}  // namespace vane
