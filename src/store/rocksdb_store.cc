// The RocksDB store (Debian librocksdb-dev): embedded, one directory, synchronous writes; opening refuses damage
// to acknowledged data, and a background thread erases deleted users from the files (store.h).
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <condition_variable>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "rocksdb_internal.h"
#include "vane/store/event_block.h"

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
    VANE_RETURN_IF_ERROR(store->CheckFormat(dir, setup.db.create_if_missing));
    VANE_RETURN_IF_ERROR(store->FinishEarlierErasure());
    store->eraser_ = std::thread([s = store.get()] { s->EraseLoop(); });
    return std::unique_ptr<Store>(std::move(store));
  }

  // Format 2 (store.h): the batch as event blocks of at most kMaxBlockEvents under their first positions, and one
  // index entry per user and block, in one atomic write.
  Status AppendEvents(uint64_t first_seq, std::span<const RawEvent> events) override {
    rocksdb::WriteBatch batch;
    std::unordered_map<std::string_view, uint32_t> count;
    std::vector<std::string_view> users;  // in order of appearance: the batch is the same whatever the hash order
    std::string index_key;
    for (size_t at = 0; at < events.size(); at += kMaxBlockEvents) {
      auto block = events.subspan(at, std::min(kMaxBlockEvents, events.size() - at));
      const std::string key = SeqKey(first_seq + at);
      VANE_RETURN_IF_ERROR(FromRocks(batch.Put(cf_[kEvents], key, EncodeEventBlock(block)), "appending events"));
      count.clear();
      users.clear();
      for (const RawEvent& e : block)
        if (count[e.user]++ == 0) users.push_back(e.user);
      for (std::string_view u : users) {
        index_key.assign(u).push_back('\0');
        index_key.append(key);
        VANE_RETURN_IF_ERROR(
            FromRocks(batch.Put(cf_[kUserEvents], index_key, EncodeIndexValue(count[u])), "appending events"));
      }
    }
    return batch.Count() ? Write(batch, "appending events") : Status::Ok();
  }

  // The user's index entries newest first; each names a block (format 2) or one event (format 1), where the
  // user's events are picked out by their user id (an entry may be stale: see "positions" in the header).
  Result<std::vector<std::pair<uint64_t, RawEvent>>> UserEvents(std::string_view user, size_t limit) const override {
    std::vector<std::pair<uint64_t, RawEvent>> out;
    std::string prefix = std::string(user) + std::string(1, '\0');
    std::string end = std::string(user) + std::string(1, '\1');  // just past every key of the user
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_[kUserEvents]));
    std::string value;
    std::vector<std::pair<uint64_t, RawEvent>> found;
    for (it->SeekForPrev(end); it->Valid() && it->key().starts_with(prefix) && out.size() < limit; it->Prev()) {
      std::string_view seq_key(it->key().data() + prefix.size(), it->key().size() - prefix.size());
      rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_[kEvents], S(seq_key), &value);
      if (s.IsNotFound()) continue;
      VANE_RETURN_IF_ERROR(FromRocks(s, "reading a user's event"));
      found.clear();
      VANE_RETURN_IF_ERROR(PickUser(SeqFromKey(seq_key), value, user, found));
      for (auto e = found.rbegin(); e != found.rend() && out.size() < limit; ++e) out.push_back(std::move(*e));
    }
    VANE_RETURN_IF_ERROR(FromRocks(it->status(), "reading a user's events"));
    return out;
  }

  // The deletion, then its erasure from the files in the background (store.h, "Erasure"). Each block holding the
  // user's events is written again without them (deleted once empty); a format-1 event is deleted. The batch
  // carries the erasure marker, so a crash before the erasure ends leaves it to the next start.
  Result<uint64_t> DeleteUser(std::string_view user) override { return Erase(user, nullptr); }
  Result<uint64_t> EraseUserEvents(std::string_view user, const EventFilter& drop) override { return Erase(user, &drop); }

  // From the block (or format-1 event) holding from_seq on, in key order; blocks never overlap in the positions
  // they hold (a block's entries lie before the next block's key).
  Result<uint64_t> LoadEvents(uint64_t from_seq, const std::function<void(uint64_t, RawEvent&&)>& on_event) const override {
    uint64_t next = 0;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_[kEvents]));
    it->SeekForPrev(SeqKey(from_seq));
    if (!it->Valid()) it->Seek(SeqKey(from_seq));
    for (; it->Valid(); it->Next()) {
      const uint64_t key_seq = SeqFromKey(it->key().ToStringView());
      const std::string_view value = it->value().ToStringView();
      if (!IsEventBlock(value)) {  // format 1: one JSON event
        if (key_seq < from_seq) continue;
        VANE_ASSIGN_OR_RETURN(RawEvent e, StoredEventFromJson(key_seq, value));
        on_event(key_seq, std::move(e));
        next = key_seq + 1;
        continue;
      }
      EventBlockReader r(key_seq, value);
      EventView v;
      while (r.Next(v)) {
        if (key_seq + v.offset < from_seq) continue;
        on_event(key_seq + v.offset, v.ToRaw());
        next = key_seq + v.offset + 1;
      }
      VANE_RETURN_IF_ERROR(r.status());
    }
    VANE_RETURN_IF_ERROR(FromRocks(it->status(), "reading events"));
    if (next == 0) {  // nothing at or after from_seq: the next position still follows the last stored event
      it->SeekToLast();
      if (it->Valid()) {
        VANE_ASSIGN_OR_RETURN(next, NextAfter(SeqFromKey(it->key().ToStringView()), it->value().ToStringView()));
      }
      VANE_RETURN_IF_ERROR(FromRocks(it->status(), "reading events"));
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

  // The files of the store's folder on disk (tables, logs, manifest, options): what `du` says, less the blocks.
  // (RocksDB's estimate-live-data-size counts table files only: 0 while everything is still in the log.)
  uint64_t ApproximateBytes() const override {
    uint64_t total = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(db_->GetName(), ec); !ec && it != std::filesystem::directory_iterator();
         it.increment(ec)) {
      std::error_code fe;
      if (it->is_regular_file(fe)) total += it->file_size(fe);
    }
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

  // A store without a format key is format 1 (the layout before the key existed), unless it was created just now;
  // a newer format is refused. A format-1 store is read as it is (ForEachStoredEvent reads both forms) and marked
  // format 2 from now on, since its new events are written in blocks that builds before format 2 cannot read.
  Status CheckFormat(const std::string& dir, bool created) {
    VANE_ASSIGN_OR_RETURN(auto f, GetMeta("format"));
    if (!f && created) return PutMeta("format", std::to_string(kStoreFormatVersion));
    int v = f ? std::atoi(f->c_str()) : 1;
    if (v < 1 || v > kStoreFormatVersion)
      return Status::FailedPrecondition(fmt::format(
          "store: {} has format '{}', this build reads format 1..{}: refusing to open it", dir, *f, kStoreFormatVersion));
    if (v == kStoreFormatVersion) return Status::Ok();
    VANE_RETURN_IF_ERROR(PutMeta("format", std::to_string(kStoreFormatVersion)));
    std::fprintf(stderr,
                 "note: store %s: format %d (one JSON value and one index entry per event) upgraded to format %d: the "
                 "stored events stay as they are and are read as before, new batches are written as event blocks; "
                 "builds before format %d refuse to open the store from now on\n",
                 dir.c_str(), v, kStoreFormatVersion, kStoreFormatVersion);
    return Status::Ok();
  }

  // DeleteUser (drop null: every event of the user, the index entries and the record) or EraseUserEvents (the
  // events `drop` selects; an index entry stays, with its new count, while the block holds others of the user's).
  Result<uint64_t> Erase(std::string_view user, const EventFilter* drop) {
    std::lock_guard rewrite(delete_mu_);  // two deletions never rewrite the same block from the same old value
    std::string prefix = std::string(user) + std::string(1, '\0');
    rocksdb::WriteBatch batch;
    uint64_t n = 0, lo = UINT64_MAX, hi = 0;
    std::string value;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_[kUserEvents]));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      rocksdb::Slice k = it->key();
      std::string_view seq_key(k.data() + prefix.size(), k.size() - prefix.size());
      const uint64_t first = SeqFromKey(seq_key);
      rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_[kEvents], S(seq_key), &value);
      if (s.IsNotFound()) {
        batch.Delete(cf_[kUserEvents], k);  // a stale entry
        continue;
      }
      VANE_RETURN_IF_ERROR(FromRocks(s, "reading a user's events"));
      VANE_ASSIGN_OR_RETURN(Rewritten r, Without(first, value, user, drop));
      if (r.left == 0) batch.Delete(cf_[kUserEvents], k);
      else if (r.removed > 0) batch.Put(cf_[kUserEvents], k, EncodeIndexValue(static_cast<uint32_t>(r.left)));
      if (r.removed == 0) continue;
      n += r.removed;
      if (r.rest) batch.Put(cf_[kEvents], S(seq_key), *r.rest);
      else batch.Delete(cf_[kEvents], S(seq_key));
      lo = std::min(lo, first);
      hi = std::max(hi, first);
    }
    VANE_RETURN_IF_ERROR(FromRocks(it->status(), "reading a user's events"));
    bool erase = n > 0;
    if (!drop) {
      VANE_ASSIGN_OR_RETURN(auto record, GetUser(user));
      batch.Delete(cf_[kUsers], S(user));
      erase = erase || record.has_value();
    }
    std::lock_guard marker(marker_mu_);
    if (erase) batch.Put(cf_[kMeta], S(kErasureKey), "1");
    if (batch.Count() == 0) return n;
    VANE_RETURN_IF_ERROR(Write(batch, drop ? "erasing a user's events" : "deleting a user's events"));
    if (erase) RequestErasure(lo, hi);
    return n;
  }

  // The user's events in a stored value (a block or a format-1 event), in position order.
  static Status PickUser(uint64_t key_seq, std::string_view value, std::string_view user,
                         std::vector<std::pair<uint64_t, RawEvent>>& out) {
    if (!IsEventBlock(value)) {
      VANE_ASSIGN_OR_RETURN(RawEvent e, StoredEventFromJson(key_seq, value));
      if (e.user == user) out.emplace_back(key_seq, std::move(e));
      return Status::Ok();
    }
    EventBlockReader r(key_seq, value);
    EventView v;
    while (r.Next(v))
      if (v.user == user) out.emplace_back(key_seq + v.offset, v.ToRaw());
    return r.status();
  }

  // A stored value without the user's events that `drop` selects (null: all of them): how many were removed, how
  // many of the user's are left, and what is left of the value (none: delete the key).
  struct Rewritten {
    uint64_t removed = 0, left = 0;
    std::optional<std::string> rest;
  };
  static Result<Rewritten> Without(uint64_t key_seq, std::string_view value, std::string_view user,
                                   const EventFilter* drop) {
    Rewritten out;
    if (!IsEventBlock(value)) {
      VANE_ASSIGN_OR_RETURN(RawEvent e, StoredEventFromJson(key_seq, value));
      const bool mine = e.user == user;
      if (mine && (!drop || (*drop)(key_seq, e))) {
        out.removed = 1;
      } else {
        out.left = mine;
        out.rest = std::string(value);
      }
      return out;
    }
    EventBlockReader r(key_seq, value);
    EventBlockWriter w(r.size());
    w.Reserve(value.size());
    EventView v;
    while (r.Next(v)) {
      const bool mine = v.user == user;
      if (mine && (!drop || (*drop)(key_seq + v.offset, v.ToRaw()))) {
        ++out.removed;
        continue;
      }
      out.left += mine;
      w.Add(v);
    }
    VANE_RETURN_IF_ERROR(r.status());
    if (w.entries() > 0) out.rest = w.Finish();
    return out;
  }

  // One past the last event a stored value holds.
  static Result<uint64_t> NextAfter(uint64_t key_seq, std::string_view value) {
    uint64_t next = key_seq + 1;
    if (!IsEventBlock(value)) {
      VANE_RETURN_IF_ERROR(StoredEventFromJson(key_seq, value).status());
      return next;
    }
    EventBlockReader r(key_seq, value);
    EventView v;
    while (r.Next(v)) next = key_seq + v.offset + 1;
    VANE_RETURN_IF_ERROR(r.status());
    return next;
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

  std::mutex delete_mu_;  // one deletion at a time rewrites blocks
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
