// What the RocksDB store, its check and repair share: keys, statuses, the options and the folder's inventory.
#include <rocksdb/cache.h>
#include <rocksdb/file_checksum.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/table.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "rocksdb_internal.h"

namespace vane::store_internal {
namespace {

std::string EncodeI64(int64_t v) {
  std::string s(8, '\0');
  std::memcpy(s.data(), &v, 8);
  return s;
}

int64_t DecodeI64(std::string_view s) {
  int64_t v = 0;
  if (s.size() == 8) std::memcpy(&v, s.data(), 8);
  return v;
}

// Counters add: a merge operand is an 8-byte delta, the value their sum (no read-modify-write on the write path).
class AddOperator : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value, std::string* new_value,
             rocksdb::Logger*) const override {
    int64_t base = existing ? DecodeI64(existing->ToStringView()) : 0;
    *new_value = EncodeI64(base + DecodeI64(value.ToStringView()));
    return true;
  }
  const char* Name() const override { return "vane.add_i64"; }
};

std::string Mb(uint64_t bytes) { return fmt::format("{:.1f} MB", static_cast<double>(bytes) / (1 << 20)); }

}  // namespace

std::string SeqKey(uint64_t seq) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i, seq >>= 8) k[static_cast<size_t>(i)] = static_cast<char>(seq & 0xff);
  return k;
}

uint64_t SeqFromKey(std::string_view k) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < k.size(); ++i) v = (v << 8) | static_cast<unsigned char>(k[i]);
  return v;
}

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string m = fmt::format("store: {}: {}", what, s.ToString());
  if (s.IsCorruption()) return Status(StatusCode::kIoError, "store_corrupt", std::move(m));
  if (s.IsNoSpace()) return Status::Unavailable("disk_full", std::move(m) + " (the disk is full: reads go on; writes resume within seconds of space being freed)");
  return Status::Unavailable("store_unavailable", std::move(m));
}

RocksSetup MakeSetup(const RocksDbOptions& o) {
  RocksSetup r;
  rocksdb::Options& opt = r.db;
  if (o.faults) {
    r.env = rocksdb::NewCompositeEnv(NewFaultFileSystem(o.faults));
    opt.env = r.env.get();
  }
  opt.create_if_missing = false;  // OpenRocksDbStore decides (store.h: never created over existing data)
  opt.create_missing_column_families = true;
  opt.IncreaseParallelism(2);
  opt.db_write_buffer_size = o.memtable_mb << 20;
  // Recovery (store.h): any damage to the logs is refused; the store's open falls back to dropping a torn tail
  // only after reading the logs itself.
  opt.wal_recovery_mode = rocksdb::WALRecoveryMode::kAbsoluteConsistency;
  opt.paranoid_checks = true;
  // Erasure (store.h): a log that no memtable needs is deleted at once, never archived or recycled.
  opt.WAL_ttl_seconds = 0;
  opt.WAL_size_limit_MB = 0;
  opt.recycle_log_file_num = 0;
  // Whole-file checksums in the MANIFEST, for `vane store check` (DB::VerifyFileChecksums).
  opt.file_checksum_gen_factory = rocksdb::GetFileChecksumGenCrc32cFactory();
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(o.block_cache_mb << 20);
  table.cache_index_and_filter_blocks = true;
  rocksdb::ColumnFamilyOptions cf_opt;
  cf_opt.write_buffer_size = std::max<size_t>(4, o.memtable_mb / 4) << 20;
  cf_opt.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::ColumnFamilyOptions counter_opt = cf_opt;
  counter_opt.merge_operator = std::make_shared<AddOperator>();
  static_cast<rocksdb::ColumnFamilyOptions&>(opt) = cf_opt;
  r.families = {{rocksdb::kDefaultColumnFamilyName, cf_opt}, {"events", cf_opt}, {"user_events", cf_opt},
                {"items", cf_opt},  {"users", cf_opt},   {"counters", counter_opt}};
  return r;
}

FolderInventory Inventory(const std::string& dir) {
  FolderInventory inv;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return inv;
  inv.exists = true;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (!e.is_regular_file(ec)) continue;
    std::string name = e.path().filename().string();
    uint64_t size = e.file_size(ec);
    if (ec) size = 0;
    if (name == "CURRENT") {
      inv.has_current = true;
    } else if (name.ends_with(".sst") || name.ends_with(".blob")) {
      inv.tables.push_back(name);
      inv.table_bytes += size;
    } else if (name.ends_with(".log") && name != "LOG") {
      inv.wals.push_back(name);
      inv.wal_bytes += size;
    } else if (name.starts_with("MANIFEST-")) {
      inv.manifests.push_back(name);
    }
  }
  for (auto* v : {&inv.tables, &inv.wals, &inv.manifests}) std::sort(v->begin(), v->end());
  return inv;
}

std::string FolderInventory::Describe() const {
  if (!exists) return "no such folder";
  std::vector<std::string> parts;
  parts.push_back(has_current ? "CURRENT" : "no CURRENT");
  if (manifests.empty()) parts.push_back("no MANIFEST");
  for (const auto& m : manifests) parts.push_back(m);
  parts.push_back(fmt::format("{} table files ({})", tables.size(), Mb(table_bytes)));
  if (wals.empty()) parts.push_back("no write-ahead log");
  else parts.push_back(fmt::format("{} write-ahead log{} ({}, {})", wals.size(), wals.size() == 1 ? "" : "s",
                                   fmt::join(wals, ", "), Mb(wal_bytes)));
  return fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace vane::store_internal
