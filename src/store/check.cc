// `vane store check` and `vane store repair`: what a store folder holds, where it is damaged, and what can be saved.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>

#include "rocksdb_internal.h"
#include "vane/store/event_block.h"

namespace vane {

using namespace store_internal;
namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxListed = 20;  // problems of one kind, then a count

// A DB opened for the check or the repair, with its column family handles.
struct Db {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> cf;
  ~Db() { Close(); }
  void Close() {
    for (auto* h : cf)
      if (db && h) db->DestroyColumnFamilyHandle(h);
    cf.clear();
    db.reset();
  }
  rocksdb::Status Open(const std::string& dir, const RocksSetup& setup, bool read_only) {
    Close();
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = read_only ? rocksdb::DB::OpenForReadOnly(setup.db, dir, setup.families, &cf, &raw)
                                  : rocksdb::DB::Open(setup.db, dir, setup.families, &cf, &raw);
    if (s.ok()) db.reset(raw);
    return s;
  }
};

// What the events family holds: count, first and last position, the ranges missing in between, unreadable values,
// and how they are stored (format-2 blocks, format-1 events).
struct EventTally {
  uint64_t count = 0, blocks = 0, format1 = 0;
  std::optional<uint64_t> first, last;
  std::vector<std::pair<uint64_t, uint64_t>> gaps;
  std::vector<std::string> problems;
};

void AddProblem(std::vector<std::string>& problems, size_t& n, std::string p) {
  if (n++ < kMaxListed) problems.push_back(std::move(p));
}

EventTally TallyEvents(const Db& d) {
  EventTally t;
  size_t bad = 0;
  rocksdb::ReadOptions ro;
  ro.verify_checksums = true;
  std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(ro, d.cf[kEvents]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view value = it->value().ToStringView();
    ++(IsEventBlock(value) ? t.blocks : t.format1);
    Status s = ForEachStoredEvent(SeqFromKey(it->key().ToStringView()), value, [&](uint64_t seq, RawEvent&&) {
      if (t.last && seq > *t.last + 1 && t.gaps.size() < 1000) t.gaps.emplace_back(*t.last + 1, seq - 1);
      if (!t.first) t.first = seq;
      t.last = seq;
      ++t.count;
    });
    if (!s.ok()) AddProblem(t.problems, bad, s.message());
  }
  if (!it->status().ok()) t.problems.push_back("reading events: " + it->status().ToString());
  if (bad > kMaxListed) t.problems.push_back(fmt::format("... {} unreadable event values in all", bad));
  return t;
}

uint64_t TallyItems(const Db& d, std::vector<std::string>& problems) {
  uint64_t n = 0;
  size_t bad = 0;
  rocksdb::ReadOptions ro;
  ro.verify_checksums = true;
  std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(ro, d.cf[kItems]));
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++n)
    if (auto item = StoredItemFromJson(it->key().ToStringView(), it->value().ToStringView()); !item.ok())
      AddProblem(problems, bad, item.status().message());
  if (!it->status().ok()) problems.push_back("reading items: " + it->status().ToString());
  return n;
}

uint64_t CountKeys(const Db& d, Family f, std::vector<std::string>& problems) {
  uint64_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(d.db->NewIterator(rocksdb::ReadOptions(), d.cf[f]));
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
  if (!it->status().ok()) problems.push_back("reading the user index: " + it->status().ToString());
  return n;
}

std::string Positions(const std::optional<uint64_t>& first, const std::optional<uint64_t>& last) {
  return first ? fmt::format("positions {}..{}", *first, *last) : "no positions";
}

// The positions of the events a stored value holds (what could be read of a damaged one).
std::vector<uint64_t> StoredPositions(const rocksdb::Slice& key, const rocksdb::Slice& value) {
  std::vector<uint64_t> out;
  // A damaged value: the positions before the damage (TallyEvents reports the damage itself).
  (void)ForEachStoredEvent(SeqFromKey(key.ToStringView()), value.ToStringView(),
                           [&](uint64_t seq, RawEvent&&) { out.push_back(seq); });
  return out;
}

// The events positions a write batch from a log puts.
class PositionsOf : public rocksdb::WriteBatch::Handler {
 public:
  PositionsOf(uint32_t events, std::vector<uint64_t>& out) : events_(events), out_(out) {}
  rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice& key, const rocksdb::Slice& value) override {
    if (cf == events_ && key.size() == 8)
      for (uint64_t seq : StoredPositions(key, value)) out_.push_back(seq);
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(uint32_t, const rocksdb::Slice&) override { return rocksdb::Status::OK(); }
  rocksdb::Status SingleDeleteCF(uint32_t, const rocksdb::Slice&) override { return rocksdb::Status::OK(); }
  rocksdb::Status DeleteRangeCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }
  rocksdb::Status MergeCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override { return rocksdb::Status::OK(); }
  void LogData(const rocksdb::Slice&) override {}

 private:
  uint32_t events_;
  std::vector<uint64_t>& out_;
};

std::vector<uint64_t> BatchPositions(const std::string& rep, uint32_t events_cf) {
  std::vector<uint64_t> out;
  rocksdb::WriteBatch batch(rep);
  PositionsOf h(events_cf, out);
  batch.Iterate(&h).PermitUncheckedError();
  return out;
}

uint64_t BatchSequence(const std::string& rep) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < rep.size(); ++i) v |= uint64_t(static_cast<unsigned char>(rep[i])) << (8 * i);
  return v;
}

// Re-issues a logged write batch's operations on the opened store's families, leaving out those of a family that
// already holds them (`done[f]`: the newest sequence number family f holds). A logged family id is the family
// with that id in the opened store, else the family created in that place (stores create them in Family order).
class Replay : public rocksdb::WriteBatch::Handler {
 public:
  Replay(const Db& d, const std::vector<uint64_t>& done, uint64_t seq, rocksdb::WriteBatch& out)
      : d_(d), done_(done), seq_(seq), out_(out) {}
  uint64_t events = 0, dropped = 0;

  rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice& k, const rocksdb::Slice& v) override {
    if (auto* h = Target(cf)) {
      if (h == d_.cf[kEvents]) events += StoredPositions(k, v).size();
      return out_.Put(h, k, v);
    }
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(uint32_t cf, const rocksdb::Slice& k) override {
    auto* h = Target(cf);
    return h ? out_.Delete(h, k) : rocksdb::Status::OK();
  }
  rocksdb::Status SingleDeleteCF(uint32_t cf, const rocksdb::Slice& k) override {
    auto* h = Target(cf);
    return h ? out_.SingleDelete(h, k) : rocksdb::Status::OK();
  }
  rocksdb::Status DeleteRangeCF(uint32_t cf, const rocksdb::Slice& a, const rocksdb::Slice& b) override {
    auto* h = Target(cf);
    return h ? out_.DeleteRange(h, a, b) : rocksdb::Status::OK();
  }
  rocksdb::Status MergeCF(uint32_t cf, const rocksdb::Slice& k, const rocksdb::Slice& v) override {
    auto* h = Target(cf);
    return h ? out_.Merge(h, k, v) : rocksdb::Status::OK();
  }
  void LogData(const rocksdb::Slice&) override {}

 private:
  rocksdb::ColumnFamilyHandle* Target(uint32_t id) {
    int f = -1;
    for (int k = 0; k < kFamilyCount && f < 0; ++k)
      if (d_.cf[k]->GetID() == id) f = k;
    if (f < 0 && id < kFamilyCount) f = static_cast<int>(id);
    if (f < 0) ++dropped;
    return f < 0 || seq_ <= done_[f] ? nullptr : d_.cf[f];
  }
  const Db& d_;
  const std::vector<uint64_t>& done_;
  uint64_t seq_;
  rocksdb::WriteBatch& out_;
};

// The newest sequence number each family's table files hold.
std::vector<uint64_t> TableSequences(const Db& d) {
  std::vector<uint64_t> done(kFamilyCount, 0);
  std::vector<rocksdb::LiveFileMetaData> files;
  d.db->GetLiveFilesMetaData(&files);
  for (const auto& m : files)
    for (int k = 0; k < kFamilyCount; ++k)
      if (m.column_family_name == d.cf[k]->GetName()) done[k] = std::max<uint64_t>(done[k], m.largest_seqno);
  return done;
}

// Writes the intact logged batches the store does not hold yet, in log order. Returns the events they put.
Result<uint64_t> ReplayLogs(const Db& d, const WalScan& scan, const std::vector<uint64_t>& done, bool write) {
  uint64_t events = 0;
  rocksdb::WriteOptions sync;
  sync.sync = true;
  for (const WalRecord& rec : scan.records) {
    rocksdb::WriteBatch out;
    Replay h(d, done, BatchSequence(rec.batch), out);
    if (rocksdb::Status s = rocksdb::WriteBatch(rec.batch).Iterate(&h); !s.ok())
      return FromRocks(s, fmt::format("replaying the log record at {} offset {}", rec.file, rec.offset));
    events += h.events;
    if (write && out.Count() > 0) VANE_RETURN_IF_ERROR(FromRocks(d.db->Write(sync, &out), "replaying a log record"));
  }
  return events;
}

// A damaged log record, with the positions of the intact event batches around it in the same log.
std::string LostRecord(const WalProblem& p, const WalScan& scan, uint32_t events_cf) {
  std::optional<uint64_t> before, after;
  for (const WalRecord& r : scan.records) {
    if (r.file != p.file) continue;
    std::vector<uint64_t> pos = BatchPositions(r.batch, events_cf);
    if (pos.empty()) continue;
    if (r.offset < p.offset) before = *std::max_element(pos.begin(), pos.end());
    else if (!after) after = *std::min_element(pos.begin(), pos.end());
  }
  std::string where = before && after ? fmt::format("its events lay between positions {} and {}", *before, *after)
                     : after           ? fmt::format("its events came before position {}", *after)
                     : before          ? fmt::format("its events came after position {}", *before)
                                       : "no intact event batch around it";
  return fmt::format("write-ahead log {}: the write batch there is lost ({})", p.ToString(), where);
}

std::string UtcStamp() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// Copies the folder to DIR.damaged-<UTC time>; nothing is changed when the copy fails.
Result<std::string> Backup(const std::string& dir) {
  std::string backup = dir + ".damaged-" + UtcStamp();
  for (int k = 2; fs::exists(backup); ++k) backup = dir + ".damaged-" + UtcStamp() + "-" + std::to_string(k);
  std::error_code ec;
  fs::copy(dir, backup, fs::copy_options::recursive, ec);
  if (ec) {
    fs::remove_all(backup, ec);
    return Status::IoError(fmt::format("store repair: cannot copy {} to {} ({}): nothing was changed", dir, backup,
                                       ec.message()));
  }
  return backup;
}

void CheckTables(const Db& d, StoreCheckReport& r) {
  if (rocksdb::Status s = d.db->VerifyChecksum(); !s.ok()) r.problems.push_back("table checksums: " + s.ToString());
  rocksdb::Status f = d.db->VerifyFileChecksums(rocksdb::ReadOptions());
  if (!f.ok() && !f.IsNotSupported()) r.problems.push_back("whole-file checksums: " + f.ToString());
}

}  // namespace

StoreCheckReport CheckStore(const std::string& dir, const RocksDbOptions& o) {
  StoreCheckReport r;
  FolderInventory inv = Inventory(dir);
  r.folder = inv.Describe();
  if (!inv.exists || !inv.HoldsData()) {
    r.problems.push_back(fmt::format("{}: {}", dir, inv.exists ? "holds no store (no CURRENT, table file or log)" : "no such folder"));
    return r;
  }
  if (!inv.has_current)
    r.problems.push_back("CURRENT is missing: RocksDB cannot open the store; its table files and logs still hold "
                         "the data (`vane store repair` rebuilds the MANIFEST from them)");
  WalScan scan = ScanWals(dir, inv, false);
  for (const WalProblem& p : scan.problems) r.problems.push_back("write-ahead log " + p.ToString());
  if (!inv.has_current) return r;
  RocksSetup setup = MakeSetup(o);
  Db d;
  if (rocksdb::Status s = d.Open(dir, setup, true); !s.ok()) {
    r.problems.push_back("opening (every log whole): " + s.ToString());
    setup.db.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
    if (rocksdb::Status again = d.Open(dir, setup, true); !again.ok()) {
      r.problems.push_back("opening (up to the first damage): " + again.ToString());
      return r;
    }
    r.skipped = true;
    std::vector<uint64_t> done(kFamilyCount, d.db->GetLatestSequenceNumber());
    auto more = ReplayLogs(d, ScanWals(dir, inv, true), done, false);
    if (more.ok()) r.after_damage = *more;
  } else {
    r.opened = true;
  }
  CheckTables(d, r);
  EventTally t = TallyEvents(d);
  r.events = t.count, r.first = t.first, r.last = t.last, r.blocks = t.blocks, r.format1_events = t.format1;
  r.problems.insert(r.problems.end(), t.problems.begin(), t.problems.end());
  r.items = TallyItems(d, r.problems);
  r.user_index = CountKeys(d, kUserEvents, r.problems);
  std::string format;
  if (d.db->Get(rocksdb::ReadOptions(), d.cf[kMeta], "format", &format).ok()) r.format = format;
  return r;
}

std::string StoreCheckReport::ToString() const {
  std::string out = fmt::format("folder: {}\n", folder);
  if (opened || skipped)
    out += fmt::format("events: {} ({}; {} event blocks, {} format-1 events); items: {}; user index entries: {}; "
                       "format: {}{}\n", events, Positions(first, last), blocks, format1_events, items, user_index,
                       format.empty() ? "absent (1)" : format,
                       skipped ? fmt::format(" (up to the first damage; {} more events lie in intact log records "
                                             "after it, which `vane store repair` replays)", after_damage)
                               : "");
  for (const auto& p : problems) out += "problem: " + p + "\n";
  out += problems.empty() ? "clean\n"
                          : fmt::format("{} problem{}: run `vane store repair` to save what can be saved\n", problems.size(),
                                        problems.size() == 1 ? "" : "s");
  return out;
}

namespace {

// RocksDB replays the logs up to the first damage (kPointInTimeRecovery, which keeps each family consistent); when
// that fails (CURRENT or the MANIFEST lost, a table damaged or ahead of the logs), the logs are set aside (the
// backup has them) and rocksdb::RepairDB rebuilds the MANIFEST from the table files, setting unreadable ones
// aside. Either way the intact log records the store does not hold yet are then written again, in log order:
// RocksDB's own kSkipAnyCorruptedRecords fails on a record after a damaged fragmented one (7.8), and RepairDB
// drops logged writes to families that have no table file yet.
Status Salvage(const std::string& dir, const FolderInventory& inv, const WalScan& scan, RocksSetup& setup, Db& d,
               StoreRepairReport& r) {
  setup.db.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  rocksdb::Status s = inv.has_current ? d.Open(dir, setup, false) : rocksdb::Status::NotFound("CURRENT is missing");
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos)  // never repair a store in use
    return Status::Unavailable("store_locked", fmt::format("store repair: {} is in use ({}): stop the server first, "
                                                           "nothing was changed", dir, s.ToString()));
  if (s.ok() && !(s = d.db->VerifyChecksum()).ok()) d.Close();
  std::vector<uint64_t> done;
  if (s.ok()) {
    r.actions.push_back("RocksDB replayed the logs up to the first damage (kPointInTimeRecovery)");
    done.assign(kFamilyCount, d.db->GetLatestSequenceNumber());
  } else {
    std::error_code ec;
    for (const auto& w : inv.wals) fs::remove(dir + "/" + w, ec);
    r.actions.push_back(fmt::format("RocksDB could not open it ({}): set the logs aside and rebuilt the MANIFEST "
                                    "from {} table files (rocksdb::RepairDB)", s.ToString(), inv.tables.size()));
    if (rocksdb::Status rs = rocksdb::RepairDB(dir, setup.db, setup.families); !rs.ok())
      return Status::IoError("store repair: RocksDB's repair failed: " + rs.ToString());
    for (const auto& e : fs::directory_iterator(dir + "/lost", ec))
      if (e.path().extension() == ".sst")
        r.lost.push_back(fmt::format("table file {}: unreadable, set aside (a copy is in the backup)", e.path().filename().string()));
    fs::remove_all(dir + "/lost", ec);  // RocksDB's set-aside files (old MANIFESTs, tables): all in the backup
    VANE_RETURN_IF_ERROR(FromRocks(d.Open(dir, setup, false), "opening the repaired store"));
    done = TableSequences(d);
  }
  VANE_ASSIGN_OR_RETURN(uint64_t replayed, ReplayLogs(d, scan, done, true));
  r.actions.push_back(fmt::format("wrote again the intact log records the store did not hold ({} events)", replayed));
  return Status::Ok();
}

}  // namespace

Result<StoreRepairReport> RepairStore(const std::string& dir_in, const RocksDbOptions& o) {
  std::string dir = fs::path(dir_in).lexically_normal().string();
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  FolderInventory inv = Inventory(dir);
  if (!inv.exists || !inv.HoldsData())
    return Status::NotFound("store_absent", fmt::format("store repair: {} holds no store ({})", dir, inv.Describe()));
  StoreRepairReport r;
  VANE_ASSIGN_OR_RETURN(r.backup, Backup(dir));
  r.actions.push_back(fmt::format("copied {} to {} (kept as it was)", dir, r.backup));
  WalScan scan = ScanWals(dir, inv, true);
  RocksSetup setup = MakeSetup(o);
  Db d;
  VANE_RETURN_IF_ERROR(Salvage(dir, inv, scan, setup, d, r).Prefixed(fmt::format("(the damaged folder is kept at {}) ", r.backup)));
  for (const WalProblem& p : scan.problems) r.lost.push_back(LostRecord(p, scan, d.cf[kEvents]->GetID()));
  EventTally t = TallyEvents(d);
  r.events = t.count, r.first = t.first, r.last = t.last, r.gaps = t.gaps;
  std::vector<std::string> item_problems;
  r.items = TallyItems(d, item_problems);
  for (auto& p : t.problems) r.lost.push_back("still unreadable: " + p);
  for (auto& p : item_problems) r.lost.push_back("still unreadable: " + p);
  d.Close();
  auto reopened = OpenRocksDbStore(dir, o);
  if (!reopened.ok()) return reopened.status().Prefixed(fmt::format("store repair: the repaired store does not open (the damaged folder is kept at {}): ", r.backup));
  r.actions.push_back("the repaired store opens normally");
  return r;
}

std::string StoreRepairReport::ToString() const {
  std::string out;
  for (const auto& a : actions) out += "done: " + a + "\n";
  for (const auto& l : lost) out += "lost: " + l + "\n";
  out += fmt::format("saved: {} events ({}), {} items\n", events, Positions(first, last), items);
  if (!gaps.empty()) {
    std::string g;
    for (size_t i = 0; i < gaps.size() && i < 10; ++i)
      g += fmt::format("{}{}", i ? ", " : "", gaps[i].first == gaps[i].second ? std::to_string(gaps[i].first)
                                                                              : fmt::format("{}..{}", gaps[i].first, gaps[i].second));
    out += fmt::format("missing positions between the first and the last: {}{} (lost, or events of deleted users)\n", g,
                       gaps.size() > 10 ? fmt::format(" and {} more ranges", gaps.size() - 10) : "");
  }
  out += fmt::format("the damaged folder is kept at {}\n", backup);
  return out;
}

}  // namespace vane
