// The RocksDB store (Debian librocksdb-dev): embedded, one directory, synchronous writes; opening refuses damage
// to acknowledged data, and a background thread erases deleted users from the files (store.h).
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <condition_variable>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "rocksdb_internal.h"

namespace vane {
namespace {

using namespace store_internal;

// Why a folder with a store's data did not open, with what it holds and what to do.
Status Refusal(const std::string& dir, const FolderInventory& inv, const std::string& why, const WalScan* scan) {
  std::string damage;
  if (scan)
    for (const WalProblem& p : scan->problems) damage += fmt::format("; damaged log: {}", p.ToString());
  return Status(StatusCode::kIoError, "store_corrupt",
                fmt::format("store: cannot open {}: {}{}. The folder holds {}. Refusing to start, and never creating a "
                            "new store over existing data: run `vane store check --store {}` to see what is there, "
                            "then `vane store repair --store {}` to save what can be saved (it keeps a copy first)",
                            dir, why, damage, inv.Describe(), dir, dir));
}

class RocksDbStore : public Store {
 public:
  ~RocksDbStore() override {
    {
      std::lock_guard l(erase_mu_);
      stop_ = true;
    }
    erase_cv_.notify_all();
    if (eraser_.joinable()) eraser_.join();  // finishes the pending erasures first
    for (auto* h : cf_)
      if (db_ && h) db_->DestroyColumnFamilyHandle(h);
  }

  static Result<std::unique_ptr<Store>> Open(const std::string& dir, const RocksDbOptions& o) {
    auto store = std::unique_ptr<RocksDbStore>(new RocksDbStore());
    RocksSetup setup = MakeSetup(o);
    store->env_ = std::move(setup.env);
    FolderInventory inv = Inventory(dir);
    if (!inv.HoldsData()) {  // absent or new: the only case a store is created
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);  // RocksDB creates the last level only
      if (ec) return Status::IoError(fmt::format("store: cannot create {}: {}", dir, ec.message()));
      setup.db.create_if_missing = true;
    } else if (!inv.has_current) {
      return Refusal(dir, inv, "its CURRENT file is missing (it names the MANIFEST that lists the store's files)", nullptr);
    }
    VANE_RETURN_IF_ERROR(store->OpenDb(dir, inv, setup));
    store->sync_.sync = true;
    VANE_RETURN_IF_ERROR(store->CheckFormat(dir));
    VANE_RETURN_IF_ERROR(store->FinishEarlierErasure());
    store->eraser_ = std::thread([s = store.get()] { s->EraseLoop(); });
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

  // The deletion, then its erasure from the files in the background (store.h, "Erasure"). The batch carries the
  // erasure marker, so a crash before the erasure ends leaves it to the next start.
  Result<uint64_t> DeleteUser(std::string_view user) override {
    std::string prefix = std::string(user) + std::string(1, '\0');
    rocksdb::WriteBatch batch;
    uint64_t n = 0, lo = UINT64_MAX, hi = 0;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_[kUserEvents]));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      rocksdb::Slice k = it->key();
      std::string_view seq_key(k.data() + prefix.size(), k.size() - prefix.size());
      batch.Delete(cf_[kEvents], S(seq_key));
      batch.Delete(cf_[kUserEvents], k);
      lo = std::min(lo, SeqFromKey(seq_key));
      hi = std::max(hi, SeqFromKey(seq_key));
      ++n;
    }
    VANE_RETURN_IF_ERROR(FromRocks(it->status(), "reading a user's events"));
    VANE_ASSIGN_OR_RETURN(auto record, GetUser(user));
    batch.Delete(cf_[kUsers], S(user));
    bool erase = n > 0 || record.has_value();
    std::lock_guard marker(marker_mu_);
    if (erase) batch.Put(cf_[kMeta], S(kErasureKey), "1");
    VANE_RETURN_IF_ERROR(Write(batch, "deleting a user's events"));
    if (erase) RequestErasure(lo, hi);
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
    rocksdb::WriteBatch batch;
    batch.Delete(cf_[kItems], S(id));
    return Write(batch, "deleting an item");
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
    rocksdb::WriteBatch batch;
    batch.Put(cf_[kUsers], S(id), S(record));
    return Write(batch, "writing a user");
  }

  Result<std::optional<std::string>> GetUser(std::string_view id) const override { return Get(kUsers, id, "reading a user"); }

  Result<std::vector<std::pair<std::string, std::string>>> UserRecordsAfter(std::string_view after,
                                                                             size_t limit) const override {
    std::vector<std::pair<std::string, std::string>> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_[kUsers]));
    for (it->Seek(S(after)); it->Valid() && out.size() < limit; it->Next()) {
      if (it->key().ToStringView() == after) continue;
      out.emplace_back(it->key().ToString(), it->value().ToString());
    }
    VANE_RETURN_IF_ERROR(FromRocks(it->status(), "listing users"));
    return out;
  }

  Status AddCounters(std::span<const std::pair<std::string, int64_t>> deltas) override {
    rocksdb::WriteBatch batch;
    for (const auto& [k, d] : deltas) {
      std::string delta(8, '\0');
      std::memcpy(delta.data(), &d, 8);
      batch.Merge(cf_[kCounters], k, delta);
    }
    return Write(batch, "adding to counters");
  }

  Result<std::map<std::string, int64_t>> Counters(std::string_view prefix) const override {
    std::map<std::string, int64_t> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_[kCounters]));
    for (it->Seek(S(prefix)); it->Valid() && it->key().starts_with(S(prefix)); it->Next()) {
      int64_t v = 0;
      if (it->value().size() == 8) std::memcpy(&v, it->value().data(), 8);
      out[it->key().ToString()] = v;
    }
    VANE_RETURN_IF_ERROR(FromRocks(it->status(), "reading counters"));
    return out;
  }

  Status PutMeta(std::string_view key, std::string_view value) override {
    rocksdb::WriteBatch batch;
    batch.Put(cf_[kMeta], S(key), S(value));
    return Write(batch, "writing store settings");
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

  Status WaitForErasures() override {
    std::unique_lock l(erase_mu_);
    uint64_t target = erase_requested_, failures = erase_failures_;
    erase_cv_.wait(l, [&] { return erase_done_ >= target || erase_failures_ != failures; });
    return erase_done_ >= target ? Status::Ok() : erase_error_;
  }

  uint64_t PendingErasures() const override {
    std::lock_guard l(erase_mu_);
    return erase_requested_ - erase_done_;
  }

 private:
  RocksDbStore() = default;

  // Opens with every log whole; when that fails, drops only a torn tail of the newest log (store.h, "Recovery").
  Status OpenDb(const std::string& dir, const FolderInventory& inv, RocksSetup& setup) {
    rocksdb::Status s = TryOpen(dir, setup);
    if (s.ok()) return Status::Ok();
    if (!inv.HoldsData()) return Status::IoError(fmt::format("store: cannot create {}: {}", dir, s.ToString()));
    if (!s.IsCorruption()) {
      if (s.IsIOError() && s.ToString().find("lock") != std::string::npos)
        return Status::Unavailable("store_locked", fmt::format("store: cannot open {}: {} (is another vane using it?)",
                                                               dir, s.ToString()));
      return Refusal(dir, inv, s.ToString(), nullptr);
    }
    WalScan scan = ScanWals(dir, inv, false);
    if (!OnlyATornTail(scan, inv)) return Refusal(dir, inv, s.ToString(), &scan);
    setup.db.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
    rocksdb::Status again = TryOpen(dir, setup);
    if (!again.ok()) return Refusal(dir, inv, again.ToString(), &scan);
    std::fprintf(stderr,
                 "warning: store %s: dropped the last record of its newest write-ahead log, %s: the write a crash cut "
                 "off before it was acknowledged (every acknowledged write is synced first)\n",
                 dir.c_str(), scan.problems[0].ToString().c_str());
    return Status::Ok();
  }

  rocksdb::Status TryOpen(const std::string& dir, const RocksSetup& setup) {
    rocksdb::DB* raw = nullptr;
    cf_.clear();
    rocksdb::Status s = rocksdb::DB::Open(setup.db, dir, setup.families, &cf_, &raw);
    if (s.ok()) db_.reset(raw);
    return s;
  }

  // After a full disk RocksDB stops taking writes (a hard background error) and its SstFileManager retries the
  // recovery every 5 seconds, so writes resume within seconds of space being freed. Other log failures are fatal
  // to RocksDB until the store is reopened.
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

  // ---- erasure ----
  void RequestErasure(uint64_t lo, uint64_t hi) {
    {
      std::lock_guard l(erase_mu_);
      ++erase_requested_;
      erase_lo_ = std::min(erase_lo_, lo);
      erase_hi_ = std::max(erase_hi_, hi);
    }
    erase_cv_.notify_all();
  }

  // A deletion the last run acknowledged but did not erase: erased now, before the store serves anything.
  Status FinishEarlierErasure() {
    VANE_ASSIGN_OR_RETURN(auto marker, GetMeta(kErasureKey));
    if (!marker) return Status::Ok();
    VANE_RETURN_IF_ERROR(ErasePass(0, UINT64_MAX).Prefixed("erasing a deleted user left by the last run: "));
    return ClearMarkerIfDone();
  }

  // Flushes every family (the logs holding the deleted text become obsolete and are deleted) and rewrites the
  // affected ranges down to the bottom level, where the deleted values and their tombstones are dropped.
  Status ErasePass(uint64_t lo, uint64_t hi) {
    rocksdb::FlushOptions fo;
    fo.wait = true;
    fo.allow_write_stall = true;
    VANE_RETURN_IF_ERROR(FromRocks(db_->Flush(fo, cf_), "erasing: flushing"));
    rocksdb::CompactRangeOptions co;
    co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    co.exclusive_manual_compaction = false;
    std::string a = SeqKey(lo), b = SeqKey(hi);
    rocksdb::Slice begin(a), end(b);
    bool all = lo == 0 && hi == UINT64_MAX;
    if (lo <= hi)  // else the deleted user had a record but no events
      VANE_RETURN_IF_ERROR(FromRocks(db_->CompactRange(co, cf_[kEvents], all ? nullptr : &begin, all ? nullptr : &end),
                                     "erasing: compacting events"));
    // Whole families: their keys hold user ids, which compaction ranges would write into RocksDB's info LOG.
    for (Family f : {kUserEvents, kUsers})
      VANE_RETURN_IF_ERROR(FromRocks(db_->CompactRange(co, cf_[f], nullptr, nullptr), "erasing: compacting"));
    return Status::Ok();
  }

  Status ClearMarkerIfDone() {
    std::lock_guard marker(marker_mu_);
    {
      std::lock_guard l(erase_mu_);
      if (erase_done_ != erase_requested_) return Status::Ok();
    }
    rocksdb::WriteBatch batch;
    batch.Delete(cf_[kMeta], S(kErasureKey));
    return Write(batch, "erasing: clearing the marker");
  }

  void EraseLoop() {
    std::unique_lock l(erase_mu_);
    while (true) {
      erase_cv_.wait(l, [&] { return stop_ || erase_requested_ > erase_done_; });
      if (erase_requested_ == erase_done_) return;  // stopping, nothing pending
      uint64_t target = erase_requested_, lo = erase_lo_, hi = erase_hi_;
      l.unlock();
      Status s = ErasePass(lo, hi);
      l.lock();
      if (s.ok()) {
        erase_done_ = target;
        if (erase_done_ == erase_requested_) erase_lo_ = UINT64_MAX, erase_hi_ = 0;
        l.unlock();
        if (Status c = ClearMarkerIfDone(); !c.ok())  // the marker stays: the next start erases again
          std::fprintf(stderr, "warning: %s\n", c.ToString().c_str());
        l.lock();
      } else {
        erase_error_ = s;
        ++erase_failures_;
        std::fprintf(stderr, "warning: %s (retrying in 10 s)\n", s.ToString().c_str());
      }
      erase_cv_.notify_all();
      if (!s.ok() && (stop_ || erase_cv_.wait_for(l, std::chrono::seconds(10), [&] { return stop_; }))) return;
    }
  }

  std::unique_ptr<rocksdb::Env> env_;  // outlives db_
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cf_;  // in Family order
  rocksdb::WriteOptions sync_;

  std::mutex marker_mu_;  // a deletion's batch (with the marker) vs. the marker's removal; taken before erase_mu_
  mutable std::mutex erase_mu_;
  std::condition_variable erase_cv_;
  uint64_t erase_requested_ = 0, erase_done_ = 0, erase_failures_ = 0;  // guarded by erase_mu_
  uint64_t erase_lo_ = UINT64_MAX, erase_hi_ = 0;                      // positions to rewrite; guarded by erase_mu_
  Status erase_error_;                                                 // guarded by erase_mu_
  bool stop_ = false;                                                  // guarded by erase_mu_
  std::thread eraser_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenRocksDbStore(const std::string& dir, const RocksDbOptions& opt) {
  return RocksDbStore::Open(dir, opt);
}

}  // namespace vane
