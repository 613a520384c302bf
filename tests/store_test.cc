// Every store implementation against one suite; the memory store is also the oracle the RocksDB store is compared
// with on a random sequence of operations. FaultStore's injected failures are checked here too.
#include "vane/store/store.h"

#include <gtest/gtest.h>

#include <rocksdb/db.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/write_batch.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "store_conformance.h"
#include "test_util.h"

namespace vane {
namespace {

std::string TempDir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("vane_store_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  return d.string();
}

std::unique_ptr<Store> OpenStoreForTest(const std::string& impl, const std::string& test) {
  if (impl == "memory") return NewMemoryStore();
  auto s = OpenRocksDbStore(TempDir(test));
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s.value()) : nullptr;
}
void CloseStoreForTest(const std::string& impl, const std::string& test) {
  if (impl == "rocksdb") std::filesystem::remove_all(TempDir(test));
}

INSTANTIATE_TEST_SUITE_P(Implementations, StoreTest, ::testing::Values("memory", "rocksdb"),
                         [](const auto& info) { return info.param; });

TEST(RocksDbStore, EverythingSurvivesAReopen) {
  std::string dir = TempDir("reopen");
  {
    auto s = OpenRocksDbStore(dir);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_TRUE((*s)->AppendEvents(0, std::vector<RawEvent>{Ev("u1", "i1", 10), Ev("u2", "i1", 11)}).ok());
    ASSERT_TRUE((*s)->PutItem(It("i1", "one")).ok());
    ASSERT_TRUE((*s)->PutUser("u1", "{}").ok());
    ASSERT_TRUE((*s)->AddCounters(std::vector<std::pair<std::string, int64_t>>{{"c", 4}}).ok());
  }
  auto s = OpenRocksDbStore(dir);
  ASSERT_TRUE(s.ok());
  Loaded l = LoadAll(**s);
  EXPECT_EQ(l.events.size(), 2u);
  EXPECT_EQ(l.next, 2u);
  EXPECT_EQ(l.items.size(), 1u);
  EXPECT_TRUE((*s)->GetUser("u1").value().has_value());
  EXPECT_EQ((*s)->Counters("c").value().at("c"), 4);
  EXPECT_EQ((*s)->GetMeta("format").value().value(), std::to_string(kStoreFormatVersion));
  s.value().reset();
  std::filesystem::remove_all(dir);
}

TEST(RocksDbStore, RefusesAStoreOfANewerFormat) {
  std::string dir = TempDir("format");
  {
    auto s = OpenRocksDbStore(dir);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->PutMeta("format", std::to_string(kStoreFormatVersion + 1)).ok());
  }
  auto s = OpenRocksDbStore(dir);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("refusing"), std::string::npos) << s.status().message();
  std::filesystem::remove_all(dir);
}

TEST(FaultStore, AFailedWriteChangesNothingAndTheNextOneGoesThrough) {
  FaultStore fs(NewMemoryStore());
  fs.FailNext(FaultStore::Op::kAppend);
  Status s = fs.AppendEvents(0, std::vector<RawEvent>{Ev("u", "i", 1)});
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.reason(), "store_unavailable");
  EXPECT_TRUE(LoadAll(fs.inner()).events.empty());
  EXPECT_TRUE(fs.AppendEvents(0, std::vector<RawEvent>{Ev("u", "i", 1)}).ok());
  EXPECT_EQ(LoadAll(fs.inner()).events.size(), 1u);
  EXPECT_EQ(fs.injected(), 1u);
  // Failures are per kind; kAny fails whichever write comes next.
  fs.FailNext(FaultStore::Op::kPutItems);
  EXPECT_TRUE(fs.PutUser("u", "{}").ok());
  EXPECT_FALSE(fs.PutItem(It("i", "t")).ok());
  fs.FailNext(FaultStore::Op::kAny);
  EXPECT_FALSE(fs.PutMeta("k", "v").ok());
  EXPECT_TRUE(fs.PutMeta("k", "v").ok());
}

TEST(FaultStore, APartialAppendLeavesTheFirstHalf) {
  FaultStore fs(NewMemoryStore());
  fs.PartialNextAppend();
  std::vector<RawEvent> batch = {Ev("u", "a", 1), Ev("u", "b", 2), Ev("u", "c", 3), Ev("u", "d", 4)};
  EXPECT_FALSE(fs.AppendEvents(0, batch).ok());
  Loaded l = LoadAll(fs.inner());
  ASSERT_EQ(l.events.size(), 2u);
  EXPECT_EQ(l.events[1].second, EventToJson(batch[1]));
}

TEST(FaultStore, ReadsCanFail) {
  FaultStore fs(NewMemoryStore());
  fs.SetReadsFail(true);
  EXPECT_EQ(fs.UserEvents("u", 1).status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(fs.Load([](Item&&) {}, [](uint64_t, RawEvent&&) {}).ok());
  fs.SetReadsFail(false);
  EXPECT_TRUE(fs.UserEvents("u", 1).ok());
}

TEST(StoredForms, CorruptValuesAreNamed) {
  auto e = StoredEventFromJson(42, "{not json");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().reason(), "store_corrupt");
  EXPECT_NE(e.status().message().find("event 42"), std::string::npos);
  auto i = StoredItemFromJson("sku-1", R"({"title": "no id"})");
  ASSERT_FALSE(i.ok());
  EXPECT_NE(i.status().message().find("item sku-1"), std::string::npos);
  RawEvent r = Ev("u", "i", 5);
  r.query = "trail 鞋";
  r.context = R"({"page":"x"})";
  auto back = StoredEventFromJson(0, EventToJson(r));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(EventToJson(*back), EventToJson(r));
}


// ---- damaged stores, failures below RocksDB, erasure (RocksDB only) ----

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream b;
  b << in.rdbuf();
  return b.str();
}

// A table file's keys and values, decompressed (as `sst_dump --command=scan` shows them), hold `needle`.
bool TableHolds(const fs::path& p, const std::string& needle) {
  rocksdb::Options o;
  rocksdb::SstFileReader reader(o);
  if (!reader.Open(p.string()).ok()) return false;
  std::unique_ptr<rocksdb::Iterator> it(reader.NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next())
    if (it->key().ToStringView().find(needle) != std::string_view::npos ||
        it->value().ToStringView().find(needle) != std::string_view::npos)
      return true;
  return false;
}

// Every file under `dir` holding `needle`: in its raw bytes (logs, tables, MANIFEST, LOG, OPTIONS, any archive) or,
// for a table file, in its decompressed keys and values (a compressed block can hide text from a byte search).
std::vector<std::string> FilesHolding(const std::string& dir, const std::string& needle) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && (ReadFile(e.path()).find(needle) != std::string::npos ||
                                (e.path().extension() == ".sst" && TableHolds(e.path(), needle))))
      out.push_back(e.path().filename().string());
  return out;
}

std::vector<std::string> FilesEndingIn(const std::string& dir, const std::string& ext) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().ends_with(ext) && e.path().filename() != "LOG") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::unique_ptr<Store> MustOpen(const std::string& dir, const RocksDbOptions& o = {}) {
  auto s = OpenRocksDbStore(dir, o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s.value()) : nullptr;
}

// `batches` batches of `per` events each at consecutive positions from `first`.
void AppendBatches(Store& s, uint64_t first, int batches, int per, const std::string& user = "u") {
  for (int b = 0; b < batches; ++b) {
    std::vector<RawEvent> batch;
    for (int k = 0; k < per; ++k) {
      RawEvent e = Ev(user + std::to_string(k % 7), "item-" + std::to_string((b * per + k) % 97), 1700000000 + b);
      e.context = R"({"page":"/product/detail","referrer":"campaign-spring"})";
      batch.push_back(std::move(e));
    }
    ASSERT_TRUE(s.AppendEvents(first + static_cast<uint64_t>(b) * per, batch).ok());
  }
}

uint64_t EventCount(const Store& s) { return LoadAll(s).events.size(); }

class DamagedStore : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = TempDir(::testing::UnitTest::GetInstance()->current_test_info()->name()); }
  void TearDown() override {
    fs::remove_all(dir_);
    for (const auto& e : fs::directory_iterator(fs::path(dir_).parent_path()))
      if (e.path().string().starts_with(dir_ + ".damaged-")) fs::remove_all(e.path());
  }
  std::string dir_;
};

TEST_F(DamagedStore, AFolderWithTablesButNoCurrentIsRefusedNeverCreatedOver) {
  {
    auto s = MustOpen(dir_);
    AppendBatches(*s, 0, 30, 100);
  }
  MustOpen(dir_).reset();  // the reopen flushes the log into table files
  std::vector<std::string> tables = FilesEndingIn(dir_, ".sst");
  ASSERT_FALSE(tables.empty());
  fs::remove(dir_ + "/CURRENT");
  for (const auto& w : FilesEndingIn(dir_, ".log")) fs::remove(w);
  auto refused = OpenRocksDbStore(dir_);
  ASSERT_FALSE(refused.ok()) << "a store must not be created over table files";
  EXPECT_EQ(refused.status().reason(), "store_corrupt");
  for (const char* part : {"CURRENT", "table files", "vane store check", "vane store repair"})
    EXPECT_NE(refused.status().message().find(part), std::string::npos) << part << " in " << refused.status().message();
  EXPECT_EQ(FilesEndingIn(dir_, ".sst"), tables) << "the old tables are kept";
  EXPECT_FALSE(fs::exists(dir_ + "/CURRENT"));

  StoreCheckReport check = CheckStore(dir_);
  EXPECT_FALSE(check.clean());
  ASSERT_FALSE(check.problems.empty());
  EXPECT_NE(check.problems[0].find("CURRENT is missing"), std::string::npos) << check.ToString();

  auto repaired = RepairStore(dir_);
  ASSERT_TRUE(repaired.ok()) << repaired.status().ToString();
  EXPECT_EQ(repaired->events, 3000u) << repaired->ToString();
  EXPECT_TRUE(repaired->gaps.empty());
  EXPECT_EQ(FilesEndingIn(repaired->backup, ".sst").size(), tables.size()) << "the backup keeps the damaged folder";
  auto s = MustOpen(dir_);
  EXPECT_EQ(EventCount(*s), 3000u);
  EXPECT_TRUE(CheckStore(dir_).clean()) << CheckStore(dir_).ToString();
}

TEST_F(DamagedStore, DamageInTheMiddleOfTheLogIsRefusedWithTheFileAndOffset) {
  {
    auto s = MustOpen(dir_);
    AppendBatches(*s, 0, 168, 100);
    ASSERT_TRUE(s->AppendEvents(16800, std::vector<RawEvent>(81, Ev("late", "i", 1700009999))).ok());
  }
  std::vector<std::string> logs = FilesEndingIn(dir_, ".log");
  ASSERT_EQ(logs.size(), 1u);
  std::string wal = ReadFile(logs[0]);
  size_t mid = wal.size() / 2;
  for (size_t i = 0; i < 16; ++i) wal[mid + i] = static_cast<char>(~wal[mid + i]);
  std::ofstream(logs[0], std::ios::binary | std::ios::trunc) << wal;
  std::string log_name = fs::path(logs[0]).filename().string();

  auto refused = OpenRocksDbStore(dir_);
  ASSERT_FALSE(refused.ok()) << "acknowledged events after the damage would be lost";
  EXPECT_EQ(refused.status().reason(), "store_corrupt");
  EXPECT_NE(refused.status().message().find(log_name + " offset "), std::string::npos) << refused.status().message();

  StoreCheckReport check = CheckStore(dir_);
  EXPECT_FALSE(check.clean());
  EXPECT_FALSE(check.opened);
  EXPECT_TRUE(check.skipped);
  ASSERT_FALSE(check.problems.empty());
  EXPECT_NE(check.problems[0].find(log_name + " offset "), std::string::npos) << check.ToString();
  EXPECT_LT(check.events, 16881u);

  auto repaired = RepairStore(dir_);
  ASSERT_TRUE(repaired.ok()) << repaired.status().ToString();
  std::string report = repaired->ToString();
  EXPECT_LT(repaired->events, 16881u) << report;
  EXPECT_GE(repaired->events, 16881u - 300) << "only the batches in the damaged block are lost: " << report;
  EXPECT_EQ(repaired->last, std::optional<uint64_t>(16880)) << "the batches after the damage are saved";
  uint64_t missing = 0;
  for (auto [a, b] : repaired->gaps) missing += b - a + 1;
  EXPECT_EQ(missing, 16881u - repaired->events) << report;
  ASSERT_FALSE(repaired->lost.empty());
  EXPECT_NE(repaired->lost[0].find(log_name), std::string::npos) << report;
  EXPECT_TRUE(fs::exists(repaired->backup + "/" + log_name));
  auto s = MustOpen(dir_);
  EXPECT_EQ(EventCount(*s), repaired->events);
}

// The shape of a served store: the seed in batches of 10,000 (one log record spanning many 32 KiB blocks), then
// live batches; 16 bytes flipped in the middle of the log land inside the big record.
TEST_F(DamagedStore, DamageInsideALargeRecordLosesOnlyThatBatch) {
  {
    auto s = MustOpen(dir_);
    AppendBatches(*s, 0, 1, 10000);
    AppendBatches(*s, 10000, 1, 6681);
    AppendBatches(*s, 16681, 2, 100);
  }
  std::vector<std::string> logs = FilesEndingIn(dir_, ".log");
  ASSERT_EQ(logs.size(), 1u);
  std::string wal = ReadFile(logs[0]);
  for (size_t i = 0; i < 16; ++i) wal[wal.size() / 2 + i] ^= 0x5a;
  std::ofstream(logs[0], std::ios::binary | std::ios::trunc) << wal;
  auto refused = OpenRocksDbStore(dir_);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find(fs::path(logs[0]).filename().string() + " offset "), std::string::npos);
  StoreCheckReport check = CheckStore(dir_);
  EXPECT_TRUE(check.skipped);
  EXPECT_GT(check.after_damage, 0u) << check.ToString();
  auto repaired = RepairStore(dir_);
  ASSERT_TRUE(repaired.ok()) << repaired.status().ToString();
  std::string report = repaired->ToString();
  uint64_t lost = 16881 - repaired->events;
  EXPECT_TRUE(lost == 10000 || lost == 6681) << "exactly the damaged batch is lost: " << report;
  EXPECT_EQ(repaired->last, std::optional<uint64_t>(16880)) << report;
  EXPECT_EQ(check.events + check.after_damage, repaired->events) << check.ToString() << report;
  auto s = MustOpen(dir_);
  EXPECT_EQ(EventCount(*s), repaired->events);
}

TEST_F(DamagedStore, ATornLastRecordIsDroppedLoudlyAndEarlierOnesKept) {
  {
    auto s = MustOpen(dir_);
    AppendBatches(*s, 0, 10, 50);
  }
  std::vector<std::string> logs = FilesEndingIn(dir_, ".log");
  ASSERT_EQ(logs.size(), 1u);
  fs::resize_file(logs[0], fs::file_size(logs[0]) - 100);  // the last write, cut off
  ::testing::internal::CaptureStderr();
  auto s = OpenRocksDbStore(dir_);
  std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(EventCount(**s), 450u);
  EXPECT_NE(err.find("dropped the last record"), std::string::npos) << err;
  EXPECT_NE(err.find(fs::path(logs[0]).filename().string() + " offset "), std::string::npos) << err;
}

TEST_F(DamagedStore, AStoreInUseIsNotRepaired) {
  auto s = MustOpen(dir_);
  AppendBatches(*s, 0, 2, 10);
  auto r = RepairStore(dir_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "store_locked") << r.status().ToString();
  EXPECT_EQ(FilesEndingIn(dir_, ".log").size(), 1u) << "the log of the running store is left alone";
  EXPECT_EQ(EventCount(*s), 20u);
}

TEST_F(DamagedStore, AStoreWithoutAFormatKeyIsFormatOneAndIsMarkedFormatTwo) {
  {
    auto s = MustOpen(dir_);
    AppendBatches(*s, 0, 2, 10);
  }
  {  // a store from before the format key
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir_, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir_, cfs, &handles, &db).ok());
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), "format").ok());
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  ::testing::internal::CaptureStderr();
  auto s = MustOpen(dir_);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(EventCount(*s), 20u);
  EXPECT_EQ(s->GetMeta("format").value().value(), "2") << "its new events are written in format 2";
  EXPECT_NE(err.find("format 1"), std::string::npos) << err;
}

TEST_F(DamagedStore, CheckOfACleanStoreCountsEverything) {
  {
    auto s = MustOpen(dir_);
    AppendBatches(*s, 0, 3, 10);
    ASSERT_TRUE(s->PutItem(It("i1", "one")).ok());
  }
  StoreCheckReport r = CheckStore(dir_);
  EXPECT_TRUE(r.clean()) << r.ToString();
  EXPECT_TRUE(r.opened);
  EXPECT_EQ(r.events, 30u);
  EXPECT_EQ(r.items, 1u);
  EXPECT_EQ(r.user_index, 21u) << "one entry per user (u0..u6) and batch";
  EXPECT_EQ(r.blocks, 3u);
  EXPECT_EQ(r.format1_events, 0u);
  EXPECT_EQ(r.first, std::optional<uint64_t>(0));
  EXPECT_EQ(r.last, std::optional<uint64_t>(29));
  EXPECT_EQ(r.format, "2");
  EXPECT_FALSE(CheckStore(dir_ + "/nope").clean());
}

TEST_F(DamagedStore, AFailedLogWriteOrSyncIsNotAcknowledgedAndTheRestSurvives) {
  for (bool sync : {false, true}) {
    fs::remove_all(dir_);
    auto faults = std::make_shared<StoreFaults>();
    {
      auto s = MustOpen(dir_, {.faults = faults});
      AppendBatches(*s, 0, 5, 10);
      if (sync) faults->FailNextWalSyncs();
      else faults->FailNextWalWrites();
      Status st = s->AppendEvents(50, std::vector<RawEvent>(10, Ev("x", "i", 1)));
      EXPECT_FALSE(st.ok()) << "a write that did not reach the disk is not acknowledged";
      EXPECT_EQ(faults->injected(), 1u);
      EXPECT_EQ(EventCount(*s), 50u) << "reads go on";
    }
    faults->DropUnsyncedData();  // a power loss: what was not synced is gone
    auto s = MustOpen(dir_);
    EXPECT_EQ(EventCount(*s), 50u) << (sync ? "sync" : "write") << ": exactly the acknowledged batches";
  }
}

TEST_F(DamagedStore, ATornWriteOfAnUnacknowledgedBatchKeepsTheEarlierOnes) {
  auto faults = std::make_shared<StoreFaults>();
  {
    auto s = MustOpen(dir_, {.faults = faults});
    AppendBatches(*s, 0, 5, 40);
    faults->TearNextWalWrite(300);
    EXPECT_FALSE(s->AppendEvents(200, std::vector<RawEvent>(40, Ev("x", "i", 1))).ok());
  }
  ::testing::internal::CaptureStderr();
  auto s = MustOpen(dir_);
  ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(s);
  EXPECT_EQ(EventCount(*s), 200u);
}

TEST_F(DamagedStore, AFullDiskIsReportedReadsGoOnAndWritesResume) {
  auto faults = std::make_shared<StoreFaults>();
  {
    auto s = MustOpen(dir_, {.faults = faults});
    AppendBatches(*s, 0, 2, 10);
    faults->SetDiskFull(true);
    Status st = s->AppendEvents(20, std::vector<RawEvent>(5, Ev("x", "i", 1)));
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.reason(), "disk_full") << st.ToString();
    EXPECT_EQ(EventCount(*s), 20u);
    EXPECT_EQ(s->UserEvents("u1", 100).value().size(), 4u);
    EXPECT_EQ(s->PutMeta("k", "v").reason(), "disk_full");
    faults->SetDiskFull(false);  // RocksDB retries its recovery every 5 s: writes resume within seconds
    Status again;
    for (int i = 0; i < 150 && !(again = s->AppendEvents(20, std::vector<RawEvent>(5, Ev("x", "i", 1)))).ok(); ++i) {
      EXPECT_EQ(again.reason(), "disk_full");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_TRUE(again.ok()) << again.ToString();
  }
  faults->DropUnsyncedData();
  auto s = MustOpen(dir_);
  EXPECT_EQ(EventCount(*s), 25u);
}

// A user's events with a unique e-mail in the context and a unique word in the query; another user's with others.
std::vector<RawEvent> PrivateEvents(const std::string& user, const std::string& email, const std::string& word, int n) {
  std::vector<RawEvent> out;
  for (int k = 0; k < n; ++k) {
    RawEvent e = Ev(user, "item-" + std::to_string(k), 1700000000 + k);
    e.query = "cheap " + word + " shoes";
    e.context = R"({"email":")" + email + R"(","page":"/checkout"})";
    out.push_back(std::move(e));
  }
  return out;
}

TEST_F(DamagedStore, ADeletedUserIsErasedFromEveryFile) {
  const std::string email = "alice.q7x9@example.org", word = "zanzibarquux", other = "bob.k2v8@example.net";
  {
    auto s = MustOpen(dir_);
    ASSERT_TRUE(s->AppendEvents(0, PrivateEvents("alice", email, word, 40)).ok());
    ASSERT_TRUE(s->AppendEvents(40, PrivateEvents("bob", other, "frobnitz", 40)).ok());
    ASSERT_TRUE(s->PutUser("alice", R"({"Comment":")" + email + R"("})").ok());
  }
  auto s = MustOpen(dir_);  // the reopen flushed them into table files; more go to the new log
  ASSERT_TRUE(s->AppendEvents(80, PrivateEvents("alice", email, word, 5)).ok());
  ASSERT_FALSE(FilesHolding(dir_, email).empty()) << "the test's premise: the e-mail is on disk";
  ASSERT_FALSE(FilesHolding(dir_, word).empty());

  ASSERT_EQ(s->DeleteUser("alice").value(), 45u);
  ASSERT_TRUE(s->WaitForErasures().ok());
  EXPECT_EQ(s->PendingErasures(), 0u);
  for (const std::string& needle : {email, word})
    EXPECT_EQ(FilesHolding(dir_, needle), std::vector<std::string>{}) << needle << " is still on disk";
  EXPECT_EQ(s->UserEvents("bob", 100).value().size(), 40u);
  EXPECT_FALSE(FilesHolding(dir_, other).empty()) << "the other user's data stays";
  s.reset();
  s = MustOpen(dir_);
  for (const std::string& needle : {email, word}) EXPECT_EQ(FilesHolding(dir_, needle), std::vector<std::string>{});
  EXPECT_EQ(s->UserEvents("bob", 100).value().size(), 40u);
  EXPECT_TRUE(s->UserEvents("alice", 100).value().empty());
  EXPECT_EQ(EventCount(*s), 40u);
}

TEST_F(DamagedStore, ADeletionNotYetErasedAtACrashIsErasedAtTheNextStart) {
  const std::string email = "carol.m3p1@example.org";
  {
    auto s = MustOpen(dir_);
    ASSERT_TRUE(s->AppendEvents(0, PrivateEvents("carol", email, "quuxwidget", 20)).ok());
  }
  MustOpen(dir_).reset();  // into table files
  {  // the deletion's batch as DeleteUser writes it, and a crash before the erasure ran
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir_, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> h;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir_, cfs, &h, &db).ok());
    ASSERT_EQ(names[1], "events");
    ASSERT_EQ(names[2], "user_events");
    rocksdb::WriteBatch b;
    for (uint64_t seq = 0; seq < 20; ++seq) {
      std::string key(8, '\0');
      key[7] = static_cast<char>(seq);
      b.Delete(h[1], key);
      b.Delete(h[2], "carol" + std::string(1, '\0') + key);
    }
    b.Put(h[0], "erasure_pending", "1");
    rocksdb::WriteOptions wo;
    wo.sync = true;
    ASSERT_TRUE(db->Write(wo, &b).ok());
    for (auto* x : h) db->DestroyColumnFamilyHandle(x);
    delete db;
  }
  ASSERT_FALSE(FilesHolding(dir_, email).empty());
  auto s = MustOpen(dir_);
  EXPECT_EQ(FilesHolding(dir_, email), std::vector<std::string>{}) << "erased before the store serves";
  EXPECT_FALSE(s->GetMeta("erasure_pending").value().has_value());
  EXPECT_EQ(s->PendingErasures(), 0u);
}
}  // namespace
}  // namespace vane
