// The durable store behind `vane serve`: RocksDB (Debian librocksdb-dev), embedded, one directory.
//
// Column families: "events" (key: 8-byte big-endian sequence number, value: the accepted event as JSON),
// "user_events" (key: user id, 0x00, sequence number; empty value: the index that makes deleting a user's events
// cheap), "items" (key: item id, value: the item as JSON), "users" (key: user id, value: the user record a client
// sent, e.g. Gorse labels, as JSON) and the default family (metadata).
// Every write is synchronous (WriteOptions::sync: the write-ahead log is fsync'ed before the call returns), so a
// caller may acknowledge once the call returned OK. Concurrent writers are group-committed by RocksDB itself (one
// leader writes and syncs the log for every waiting writer). Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vane/core/status.h"
#include "vane/events/types.h"

namespace vane {

class Store {
 public:
  ~Store();
  // Opens (creating when absent) the store in `dir`. RocksDB's memory is bounded: every column family's memtables
  // share `memtable_mb` (a write-buffer manager flushes beyond it) and every table reader's blocks, index and
  // filter blocks included, share one `block_cache_mb` LRU cache.
  static Result<std::unique_ptr<Store>> Open(const std::string& dir, size_t memtable_mb = 64, size_t block_cache_mb = 32);

  // Appends events with consecutive sequence numbers starting at `first_seq`, durably, in one atomic batch.
  Status AppendEvents(uint64_t first_seq, const std::vector<RawEvent>& events);
  Status PutItem(const Item& item);
  Status DeleteItem(std::string_view id);
  Status PutUser(std::string_view id, std::string_view record);
  std::optional<std::string> GetUser(std::string_view id) const;
  // Store-wide settings (the default column family), e.g. the action registry the stored events were checked
  // against. GetMeta: nullopt when absent.
  Status PutMeta(std::string_view key, std::string_view value);
  std::optional<std::string> GetMeta(std::string_view key) const;
  // Removes every event of `user` and its record; returns how many events.
  Result<uint64_t> DeleteUser(std::string_view user);

  // The newest `limit` events of `user` (newest first) with their sequence numbers, through the per-user index.
  Result<std::vector<std::pair<uint64_t, RawEvent>>> UserEvents(std::string_view user, size_t limit) const;

  // Reads everything back, items first, then events in sequence order. Returns the next free sequence number.
  Result<uint64_t> Load(const std::function<void(Item&&)>& on_item,
                        const std::function<void(uint64_t seq, RawEvent&&)>& on_event) const;
  uint64_t ApproximateBytes() const;

  static std::string EventToJson(const RawEvent& e);
  static std::string ItemToJson(const Item& item);

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vane
