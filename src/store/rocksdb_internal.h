// What the RocksDB store, its check and repair (check.cc) and the fault-injecting file system share. Private to
// src/store.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vane/store/store.h"

namespace vane::store_internal {

// The column families, in the order of RocksSetup::families and of the handles a store keeps.
enum Family { kMeta = 0, kEvents, kUserEvents, kItems, kUsers, kCounters, kFamilyCount };

// Metadata key present while a user's deletion has not yet been erased from the files (see store.h, "Erasure").
inline constexpr std::string_view kErasureKey = "erasure_pending";

std::string SeqKey(uint64_t seq);
uint64_t SeqFromKey(std::string_view k);
inline rocksdb::Slice S(std::string_view v) { return rocksdb::Slice(v.data(), v.size()); }

// RocksDB's status as ours: corruption is "store_corrupt", a full disk "disk_full", anything else
// "store_unavailable"; the message starts with "store: <what>: ".
Status FromRocks(const rocksdb::Status& s, std::string_view what);

// The options every opening of a store uses: the service's, `vane store check` (read-only) and repair.
struct RocksSetup {
  std::unique_ptr<rocksdb::Env> env;  // the fault-injecting file system, when RocksDbOptions::faults is set
  rocksdb::Options db;
  std::vector<rocksdb::ColumnFamilyDescriptor> families;  // in Family order
};
RocksSetup MakeSetup(const RocksDbOptions& o);

// The file system that carries out a StoreFaults plan (fault_fs.cc).
std::shared_ptr<rocksdb::FileSystem> NewFaultFileSystem(std::shared_ptr<StoreFaults> plan);

// What a store folder holds, by RocksDB's file names.
struct FolderInventory {
  bool exists = false;
  bool has_current = false;
  std::vector<std::string> tables, wals, manifests;  // file names, sorted
  uint64_t table_bytes = 0, wal_bytes = 0;
  // A store's data is (or was) here: CURRENT, a table file, or a non-empty write-ahead log. A folder without any
  // of these is new (RocksDB may create a store in it); one with them is never created over.
  bool HoldsData() const { return has_current || !tables.empty() || wal_bytes > 0; }
  // "CURRENT, MANIFEST-000005, 15 table files (3.2 MB), 1 write-ahead log (000012.log, 2.1 MB)"
  std::string Describe() const;
};
FolderInventory Inventory(const std::string& dir);

// The write-ahead logs, read record by record with their checksums (RocksDB's log format: 32 KiB blocks of
// fragments with a 7-byte header, CRC32C over type and payload).
struct WalProblem {
  std::string file;
  uint64_t offset = 0;  // of the damaged fragment's header
  uint64_t bytes = 0;   // from there to the next intact fragment, or to the end of the file
  std::string what;     // "checksum mismatch", "record cut off by the end of the file", ...
  bool to_end = false;  // nothing intact follows it in its file
  std::string ToString() const;
};
struct WalRecord {
  std::string file;
  uint64_t offset = 0;
  std::string batch;  // a complete logical record: one write batch
};
struct WalScan {
  std::vector<WalProblem> problems;
  std::vector<WalRecord> records;  // kept only when asked
  uint64_t record_count = 0;
};
WalScan ScanWals(const std::string& dir, const FolderInventory& inv, bool keep_records);
// Every problem is a cut-off or damaged last record of the newest log with nothing intact after it: what a crash
// during a write that was never acknowledged leaves (see store.h, "Recovery").
bool OnlyATornTail(const WalScan& scan, const FolderInventory& inv);

}  // namespace vane::store_internal
