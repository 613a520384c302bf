// The RocksDB store (Debian librocksdb-dev): embedded, one directory, synchronous writes.
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "vane/store/store.h"

namespace vane {
namespace {

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

rocksdb::Slice S(std::string_view v) { return rocksdb::Slice(v.data(), v.size()); }

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  if (s.IsCorruption())
    return Status(StatusCode::kIoError, "store_corrupt", fmt::format("store: {}: {}", what, s.ToString()));
  return Status::Unavailable("store_unavailable", fmt::format("store: {}: {}", what, s.ToString()));
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

class RocksDbStore : public Store {
 public:
  enum Family { kMeta = 0, kEvents, kUserEvents, kItems, kUsers, kCounters };

  ~RocksDbStore() override {
    for (auto* h : cf_)
      if (db_ && h) db_->DestroyColumnFamilyHandle(h);
  }

  static Result<std::unique_ptr<Store>> Open(const std::string& dir, const RocksDbOptions& o) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);  // RocksDB creates the last level only
    if (ec) return Status::IoError(fmt::format("store: cannot create {}: {}", dir, ec.message()));
    rocksdb::Options opt;
    opt.create_if_missing = true;
    opt.create_missing_column_families = true;
    opt.IncreaseParallelism(2);
    opt.db_write_buffer_size = o.memtable_mb << 20;
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = rocksdb::NewLRUCache(o.block_cache_mb << 20);
    table.cache_index_and_filter_blocks = true;
    rocksdb::ColumnFamilyOptions cf_opt;
    cf_opt.write_buffer_size = std::max<size_t>(4, o.memtable_mb / 4) << 20;
    cf_opt.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    rocksdb::ColumnFamilyOptions counter_opt = cf_opt;
    counter_opt.merge_operator = std::make_shared<AddOperator>();
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {{rocksdb::kDefaultColumnFamilyName, cf_opt},
                                                        {"events", cf_opt},
                                                        {"user_events", cf_opt},
                                                        {"items", cf_opt},
                                                        {"users", cf_opt},
                                                        {"counters", counter_opt}};
    auto store = std::unique_ptr<RocksDbStore>(new RocksDbStore());
    rocksdb::DB* raw = nullptr;
    auto s = rocksdb::DB::Open(opt, dir, cfs, &store->cf_, &raw);
    if (!s.ok()) return Status::IoError(fmt::format("store: cannot open {}: {}", dir, s.ToString()));
    store->db_.reset(raw);
    store->sync_.sync = true;
    VANE_RETURN_IF_ERROR(store->CheckFormat(dir));
    return std::unique_ptr<Store>(std::move(store));
  }

  Status AppendEvents(uint64_t first_seq, std::span<const RawEvent> events) override {
    if (events.empty()) return Status::Ok();
    rocksdb::WriteBatch batch;
    uint64_t seq = first_seq;
    for (const RawEvent& e : events) {
      std::string key = SeqKey(seq++);
      batch.Put(cf_[kEvents], key, EventToJson(e));
      batch.Put(cf_[kUserEvents], e.user + std::string(1, '\0') + key, "");
    }
    return Write(batch, "appending events");
  }

  Result<std::vector<std::pair<uint64_t, RawEvent>>> UserEvents(std::string_view user, size_t limit) const override {
    std::vector<std::pair<uint64_t, RawEvent>> out;
    std::string prefix = std::string(user) + std::string(1, '\0');
    std::string end = std::string(user) + std::string(1, '\1');  // just past every key of the user
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_[kUserEvents]));
    std::string value;
    for (it->SeekForPrev(end); it->Valid() && it->key().starts_with(prefix) && out.size() < limit; it->Prev()) {
      std::string_view seq_key(it->key().data() + prefix.size(), it->key().size() - prefix.size());
      rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_[kEvents], S(seq_key), &value);
      if (s.IsNotFound()) continue;
      VANE_RETURN_IF_ERROR(FromRocks(s, "reading a user's event"));
      uint64_t seq = SeqFromKey(seq_key);
      VANE_ASSIGN_OR_RETURN(RawEvent e, StoredEventFromJson(seq, value));
      if (e.user != user) continue;  // a stale index entry (see the header: positions are written once)
      out.emplace_back(seq, std::move(e));
    }
    VANE_RETURN_IF_ERROR(FromRocks(it->status(), "reading a user's events"));
    return out;
  }

  Result<uint64_t> DeleteUser(std::string_view user) override {
    std::string prefix = std::string(user) + std::string(1, '\0');
    rocksdb::WriteBatch batch;
    uint64_t n = 0;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_[kUserEvents]));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      rocksdb::Slice k = it->key();
      batch.Delete(cf_[kEvents], rocksdb::Slice(k.data() + prefix.size(), k.size() - prefix.size()));
      batch.Delete(cf_[kUserEvents], k);
      ++n;
    }
    VANE_RETURN_IF_ERROR(FromRocks(it->status(), "reading a user's events"));
    batch.Delete(cf_[kUsers], S(user));
    VANE_RETURN_IF_ERROR(Write(batch, "deleting a user's events"));
    return n;
  }

  Result<uint64_t> LoadEvents(uint64_t from_seq, const std::function<void(uint64_t, RawEvent&&)>& on_event) const override {
    uint64_t next = 0;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_[kEvents]));
    for (it->Seek(SeqKey(from_seq)); it->Valid(); it->Next()) {
      uint64_t seq = SeqFromKey(it->key().ToStringView());
      VANE_ASSIGN_OR_RETURN(RawEvent e, StoredEventFromJson(seq, it->value().ToStringView()));
      on_event(seq, std::move(e));
      next = seq + 1;
    }
    VANE_RETURN_IF_ERROR(FromRocks(it->status(), "reading events"));
    if (next == 0) {  // nothing at or after from_seq: the next position still follows the last stored event
      it->SeekToLast();
      if (it->Valid()) next = SeqFromKey(it->key().ToStringView()) + 1;
    }
    return next;
  }

  Status PutItems(std::span<const Item> items) override {
    rocksdb::WriteBatch batch;
    for (const Item& item : items) batch.Put(cf_[kItems], item.id, ItemToJson(item));
    return Write(batch, "writing items");
  }

  Status DeleteItem(std::string_view id) override {
    return FromRocks(db_->Delete(sync_, cf_[kItems], S(id)), "deleting an item");
  }

  Status LoadItems(const std::function<void(Item&&)>& on_item) const override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_[kItems]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      VANE_ASSIGN_OR_RETURN(Item item, StoredItemFromJson(it->key().ToStringView(), it->value().ToStringView()));
      on_item(std::move(item));
    }
    return FromRocks(it->status(), "reading items");
  }

  Status PutUser(std::string_view id, std::string_view record) override {
    return FromRocks(db_->Put(sync_, cf_[kUsers], S(id), S(record)), "writing a user");
  }

  Result<std::optional<std::string>> GetUser(std::string_view id) const override { return Get(kUsers, id, "reading a user"); }

  Status AddCounters(std::span<const std::pair<std::string, int64_t>> deltas) override {
    rocksdb::WriteBatch batch;
    for (const auto& [k, d] : deltas) batch.Merge(cf_[kCounters], k, EncodeI64(d));
    return Write(batch, "adding to counters");
  }

  Result<std::map<std::string, int64_t>> Counters(std::string_view prefix) const override {
    std::map<std::string, int64_t> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_[kCounters]));
    for (it->Seek(S(prefix)); it->Valid() && it->key().starts_with(S(prefix)); it->Next())
      out[it->key().ToString()] = DecodeI64(it->value().ToStringView());
    VANE_RETURN_IF_ERROR(FromRocks(it->status(), "reading counters"));
    return out;
  }

  Status PutMeta(std::string_view key, std::string_view value) override {
    return FromRocks(db_->Put(sync_, cf_[kMeta], S(key), S(value)), "writing store settings");
  }

  Result<std::optional<std::string>> GetMeta(std::string_view key) const override {
    return Get(kMeta, key, "reading store settings");
  }

  uint64_t ApproximateBytes() const override {
    uint64_t total = 0, v = 0;
    for (auto* h : cf_)
      if (db_->GetIntProperty(h, "rocksdb.estimate-live-data-size", &v)) total += v;
    return total;
  }

 private:
  RocksDbStore() = default;

  Status Write(rocksdb::WriteBatch& batch, std::string_view what) { return FromRocks(db_->Write(sync_, &batch), what); }

  Result<std::optional<std::string>> Get(Family f, std::string_view key, std::string_view what) const {
    std::string v;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_[f], S(key), &v);
    if (s.IsNotFound()) return std::optional<std::string>();
    VANE_RETURN_IF_ERROR(FromRocks(s, what));
    return std::optional<std::string>(std::move(v));
  }

  // A store without a format key is format 1 (the layout before the key existed); a newer format is refused.
  Status CheckFormat(const std::string& dir) {
    VANE_ASSIGN_OR_RETURN(auto f, GetMeta("format"));
    if (!f) return PutMeta("format", std::to_string(kStoreFormatVersion));
    int v = std::atoi(f->c_str());
    if (v < 1 || v > kStoreFormatVersion)
      return Status::FailedPrecondition(fmt::format(
          "store: {} has format '{}', this build reads format 1..{}: refusing to open it", dir, *f, kStoreFormatVersion));
    return Status::Ok();
  }

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cf_;  // in Family order
  rocksdb::WriteOptions sync_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenRocksDbStore(const std::string& dir, const RocksDbOptions& opt) {
  return RocksDbStore::Open(dir, opt);
}

}  // namespace vane
