// Store format 2: the event block codec, and the RocksDB store reading a format-1 store (written here key by key as
// the format-1 code wrote it), one index entry per (user, batch), deletion inside shared blocks, damaged blocks.
#include "vane/store/event_block.h"

#include <gtest/gtest.h>

#include <rocksdb/db.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/write_batch.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "test_util.h"
#include "vane/store/store.h"

namespace vane {
namespace {

namespace fs = std::filesystem;

RawEvent Full(std::string user, std::string item, Timestamp ts) {
  RawEvent e = testing::RawEv(std::move(user), std::move(item), "view", ts);
  e.query = "trail 鞋 \"quoted\"";
  e.value = -2.5;
  e.has_value = true;
  e.session = "s-1";
  e.context = R"({"page":"/p","n":[1,2]})";
  return e;
}

std::vector<std::pair<uint64_t, std::string>> Decode(uint64_t first, std::string_view block, Status* status = nullptr) {
  std::vector<std::pair<uint64_t, std::string>> out;
  Status s = ForEachStoredEvent(first, block, [&](uint64_t seq, RawEvent&& e) { out.emplace_back(seq, EventToJson(e)); });
  if (status) *status = s;
  else EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

TEST(EventBlock, EveryFieldRoundTrips) {
  RawEvent bare;  // only a user: no item, action, time or value
  bare.user = "u\x01";
  RawEvent neg = Full("u2", "i2", -1700000000);
  neg.value = 1e300;
  std::string embedded_nul("a\0b", 3);
  RawEvent odd = Full(embedded_nul, std::string(300, 'x'), INT64_MAX);
  std::vector<RawEvent> events = {Full("u1", "i1", 1700000000), bare, neg, odd};
  std::string block = EncodeEventBlock(events);
  EXPECT_TRUE(IsEventBlock(block));
  auto back = Decode(100, block);
  ASSERT_EQ(back.size(), events.size());
  for (size_t k = 0; k < events.size(); ++k) {
    EXPECT_EQ(back[k].first, 100 + k);
    EXPECT_EQ(back[k].second, EventToJson(events[k])) << k;
  }
  EventBlockReader r(100, block);
  EventView v;
  ASSERT_TRUE(r.Next(v));
  ASSERT_TRUE(r.Next(v));
  EXPECT_FALSE(v.has_ts);
  EXPECT_FALSE(v.has_value);
  EXPECT_TRUE(v.item.empty());
  ASSERT_TRUE(r.Next(v));
  EXPECT_EQ(v.ts, -1700000000);
  EXPECT_EQ(v.value, 1e300);
  ASSERT_TRUE(r.Next(v));
  EXPECT_EQ(v.user, embedded_nul);
  EXPECT_EQ(v.ts, INT64_MAX);
  EXPECT_FALSE(r.Next(v));
  EXPECT_TRUE(r.status().ok());
  EXPECT_LT(block.size(), EventToJson(events[0]).size() * events.size()) << "smaller than the JSON it replaces";
}

TEST(EventBlock, ARewrittenBlockKeepsEveryEventAtItsPosition) {
  std::vector<RawEvent> events;
  for (int k = 0; k < 10; ++k) events.push_back(Full(k % 3 == 0 ? "gone" : "kept" + std::to_string(k), "i", k));
  std::string block = EncodeEventBlock(events);
  EventBlockReader r(50, block);
  EventBlockWriter w(r.size());
  EventView v;
  while (r.Next(v))
    if (v.user != "gone") w.Add(v);
  ASSERT_TRUE(r.status().ok());
  EXPECT_EQ(w.entries(), 6u);
  auto back = Decode(50, w.Finish());
  std::vector<uint64_t> positions;
  for (auto& [seq, json] : back) positions.push_back(seq);
  EXPECT_EQ(positions, (std::vector<uint64_t>{51, 52, 54, 55, 57, 58}));
  EXPECT_EQ(back[2].second, EventToJson(events[4]));
}

TEST(EventBlock, DamageIsAStatusWithThePositionNeverACrash) {
  std::vector<RawEvent> events = {Full("u1", "i1", 1), Full("u2", "i2", 2), Full("u3", "i3", 3)};
  const std::string block = EncodeEventBlock(events);
  // Every cut: fewer events (a cut between two events) or a failure that names the block; never more, never a crash.
  size_t failed = 0;
  for (size_t n = 1; n < block.size(); ++n) {  // (an empty value is not a block: it is read as format 1's JSON)
    Status s;
    auto back = Decode(7, std::string_view(block).substr(0, n), &s);
    EXPECT_LT(back.size(), events.size()) << n;
    if (!s.ok()) {
      ++failed;
      EXPECT_EQ(s.reason(), "store_corrupt");
      EXPECT_NE(s.message().find("position 7"), std::string::npos) << s.message();
    }
  }
  EXPECT_EQ(failed, block.size() - 1 - 3) << "only the cuts between events (after the header, the 1st, the 2nd) read as whole";
  // Every single byte changed to every value: no crash, and no event beyond the block's size.
  std::mt19937 rng(3);
  for (size_t at = 1; at < block.size(); ++at)
    for (int b = 0; b < 256; b += 1 + static_cast<int>(rng() % 7)) {
      std::string bad = block;
      bad[at] = static_cast<char>(b);
      Status s;
      for (auto& [seq, json] : Decode(7, bad, &s)) EXPECT_LT(seq, 7u + 3u);
    }
  // Named cases.
  auto reason = [](std::string value) {
    Status s;
    Decode(0, value, &s);
    return s.message();
  };
  EXPECT_NE(reason(std::string("\x02\x02\x05\x00\x01u", 6)).find("past the block's 2 positions"), std::string::npos);
  EXPECT_NE(reason(std::string("\x02\x02\x00\x80\x01u", 6)).find("unknown event flags"), std::string::npos);
  EXPECT_NE(reason(std::string("\x02\x02\x00\x00\x00", 5)).find("empty user"), std::string::npos);
  EXPECT_NE(reason(std::string("\x02\x02\x00\x00\xff\xff\xff\xff\x0f", 9)).find("past the end"), std::string::npos);
  EXPECT_NE(reason(std::string("\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11)).find("longer than 10 bytes"),
            std::string::npos);
  EXPECT_NE(reason("{not json").find("not JSON"), std::string::npos) << "a value that is not a block is format 1";
  // A value is written finite only (the cleaner refuses others): NaN or infinity is damage.
  EXPECT_NE(reason(std::string("\x02\x02\x00\x02\x01u\x00\x00\x00\x00\x00\x00\xf8\x7f", 14)).find("not a finite"),
            std::string::npos);
  EXPECT_NE(reason(std::string("\x02\x02\x00\x02\x01u\x00\x00\x00\x00\x00\x00\xf0\x7f", 14)).find("not a finite"),
            std::string::npos);
  EXPECT_NE(reason(R"({"user":"u","item":"i","action":"view","value":1e999})").find("not JSON"), std::string::npos)
      << "JSON has no infinity: nlohmann refuses a number beyond the double range";
}

// ---- the RocksDB store ----

std::string TempDir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("vane_store_format_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d.string();
}

std::string SeqKey(uint64_t seq) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i, seq >>= 8) k[static_cast<size_t>(i)] = static_cast<char>(seq & 0xff);
  return k;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream b;
  b << in.rdbuf();
  return b.str();
}

// Files holding `needle`: raw bytes, or a table file's decompressed keys and values.
std::vector<std::string> FilesHolding(const std::string& dir, const std::string& needle) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    bool found = ReadFile(e.path()).find(needle) != std::string::npos;
    if (!found && e.path().extension() == ".sst") {
      rocksdb::SstFileReader reader{rocksdb::Options()};
      if (reader.Open(e.path().string()).ok()) {
        std::unique_ptr<rocksdb::Iterator> it(reader.NewIterator(rocksdb::ReadOptions()));
        for (it->SeekToFirst(); it->Valid() && !found; it->Next())
          found = it->key().ToString().find(needle) != std::string::npos ||
                  it->value().ToString().find(needle) != std::string::npos;
      }
    }
    if (found) out.push_back(e.path().filename().string());
  }
  return out;
}

// Raw RocksDB access to a store folder, with its column families in the store's order.
class RawDb {
 public:
  explicit RawDb(const std::string& dir, bool create = false) {
    rocksdb::Options o;
    o.create_if_missing = create;
    o.create_missing_column_families = create;
    std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName, "events", "user_events", "items", "users",
                                      "counters"};
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* db = nullptr;
    status_ = rocksdb::DB::Open(o, dir, cfs, &h_, &db);
    db_.reset(db);
  }
  ~RawDb() {
    for (auto* x : h_) db_->DestroyColumnFamilyHandle(x);
  }
  bool ok() const { return status_.ok(); }
  rocksdb::Status Write(rocksdb::WriteBatch& b) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return db_->Write(wo, &b);
  }
  rocksdb::ColumnFamilyHandle* cf(int k) { return h_[static_cast<size_t>(k)]; }

 private:
  rocksdb::Status status_;
  std::vector<rocksdb::ColumnFamilyHandle*> h_;
  std::unique_ptr<rocksdb::DB> db_;
};

// What the format-1 code wrote for AppendEvents: per event, its JSON under its position in "events" and an empty
// index entry "user \0 position" in "user_events".
void AppendFormat1(RawDb& db, uint64_t first, const std::vector<RawEvent>& events) {
  rocksdb::WriteBatch b;
  uint64_t seq = first;
  for (const RawEvent& e : events) {
    std::string key = SeqKey(seq++);
    ASSERT_TRUE(b.Put(db.cf(1), key, EventToJson(e)).ok());
    ASSERT_TRUE(b.Put(db.cf(2), e.user + std::string(1, '\0') + key, "").ok());
  }
  ASSERT_TRUE(db.Write(b).ok());
}

struct Loaded {
  std::vector<std::pair<uint64_t, std::string>> events;
  uint64_t next = 0;
};

Loaded LoadFrom(const Store& s, uint64_t from) {
  Loaded l;
  auto next = s.LoadEvents(from, [&](uint64_t seq, RawEvent&& e) { l.events.emplace_back(seq, EventToJson(e)); });
  EXPECT_TRUE(next.ok()) << next.status().ToString();
  l.next = next.ok() ? *next : 0;
  return l;
}

std::vector<std::pair<uint64_t, std::string>> UserEventsOf(const Store& s, const std::string& user, size_t n) {
  std::vector<std::pair<uint64_t, std::string>> out;
  auto ue = s.UserEvents(user, n);
  EXPECT_TRUE(ue.ok()) << ue.status().ToString();
  if (ue.ok())
    for (auto& [seq, e] : *ue) out.emplace_back(seq, EventToJson(e));
  return out;
}

class StoreFormat : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = TempDir(::testing::UnitTest::GetInstance()->current_test_info()->name()); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

// A random history of batches: user "u<k>" with a private word in the context.
std::vector<RawEvent> Batch(std::mt19937& rng, int n, int users) {
  std::vector<RawEvent> out;
  for (int k = 0; k < n; ++k) {
    std::string u = "u" + std::to_string(rng() % static_cast<unsigned>(users));
    RawEvent e = Full(u, "i" + std::to_string(rng() % 50), 1700000000 + static_cast<Timestamp>(rng() % 1000));
    e.context = R"({"secret":"word-)" + u + R"(-zq"})";
    out.push_back(std::move(e));
  }
  return out;
}

TEST_F(StoreFormat, AFormatOneStoreIsReadUpgradedAndExtendedLikeTheOracle) {
  std::unique_ptr<Store> oracle = NewMemoryStore();
  std::mt19937 rng(11);
  uint64_t next = 0;
  {
    RawDb db(dir_, true);
    ASSERT_TRUE(db.ok());
    rocksdb::WriteBatch meta;
    ASSERT_TRUE(meta.Put(db.cf(0), "format", "1").ok());
    ASSERT_TRUE(db.Write(meta).ok());
    for (int b = 0; b < 20; ++b) {
      auto batch = Batch(rng, 1 + static_cast<int>(rng() % 30), 6);
      AppendFormat1(db, next, batch);
      ASSERT_TRUE(oracle->AppendEvents(next, batch).ok());
      next += batch.size();
    }
  }
  const uint64_t format1_events = next;
  ::testing::internal::CaptureStderr();
  auto opened = OpenRocksDbStore(dir_);
  std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Store& s = **opened;
  EXPECT_NE(err.find("format 1"), std::string::npos) << "the upgrade is said: " << err;
  EXPECT_EQ(s.GetMeta("format").value().value(), "2");
  // New batches in format 2 after the format-1 ones; then everything read back against the oracle.
  for (int b = 0; b < 20; ++b) {
    auto batch = Batch(rng, 1 + static_cast<int>(rng() % 30), 6);
    ASSERT_TRUE(s.AppendEvents(next, batch).ok());
    ASSERT_TRUE(oracle->AppendEvents(next, batch).ok());
    next += batch.size();
  }
  for (uint64_t from : {uint64_t{0}, format1_events - 1, format1_events, format1_events + 3, next - 1, next + 5}) {
    Loaded a = LoadFrom(s, from), b = LoadFrom(*oracle, from);
    EXPECT_EQ(a.events, b.events) << "from " << from;
    EXPECT_EQ(a.next, b.next) << "from " << from;
  }
  for (int u = 0; u < 6; ++u)
    for (size_t n : {size_t{1}, size_t{7}, size_t{1000}}) {
      std::string user = "u" + std::to_string(u);
      EXPECT_EQ(UserEventsOf(s, user, n), UserEventsOf(*oracle, user, n)) << user << " " << n;
    }
  opened->reset();
  StoreCheckReport check = CheckStore(dir_);
  EXPECT_TRUE(check.clean()) << check.ToString();
  EXPECT_EQ(check.events, next);
  EXPECT_EQ(check.format1_events, format1_events);
  EXPECT_EQ(check.blocks, 20u);
  // A deletion reaches the user's format-1 events and blocks alike, and erases them from the files.
  opened = OpenRocksDbStore(dir_);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Store& s2 = **opened;
  ASSERT_FALSE(FilesHolding(dir_, "word-u3-zq").empty());
  EXPECT_EQ(s2.DeleteUser("u3").value(), oracle->DeleteUser("u3").value());
  ASSERT_TRUE(s2.WaitForErasures().ok());
  EXPECT_EQ(FilesHolding(dir_, "word-u3-zq"), std::vector<std::string>{});
  EXPECT_FALSE(FilesHolding(dir_, "word-u4-zq").empty());
  opened->reset();
  auto again = OpenRocksDbStore(dir_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  Loaded a = LoadFrom(**again, 0), b = LoadFrom(*oracle, 0);
  EXPECT_EQ(a.events, b.events);
  EXPECT_EQ(a.next, b.next);
  EXPECT_TRUE(UserEventsOf(**again, "u3", 100).empty());
  EXPECT_EQ(UserEventsOf(**again, "u4", 100), UserEventsOf(*oracle, "u4", 100));
}

TEST_F(StoreFormat, ABatchIsOneValueWithOneIndexEntryPerUser) {
  auto s = OpenRocksDbStore(dir_);
  ASSERT_TRUE(s.ok());
  std::vector<RawEvent> batch;
  for (int k = 0; k < 1000; ++k) batch.push_back(Full("user-" + std::to_string(k / 50), "i" + std::to_string(k), k));
  ASSERT_TRUE((*s)->AppendEvents(0, batch).ok());
  ASSERT_TRUE((*s)->AppendEvents(1000, std::vector<RawEvent>(batch.begin(), batch.begin() + 100)).ok());
  StoreCheckReport r = CheckStore(dir_);
  EXPECT_TRUE(r.clean()) << r.ToString();
  EXPECT_EQ(r.events, 1100u);
  EXPECT_EQ(r.blocks, 2u);
  EXPECT_EQ(r.user_index, 22u) << "20 users in the first batch, 2 in the second";
  auto ue = UserEventsOf(**s, "user-0", 60);
  ASSERT_EQ(ue.size(), 60u);
  EXPECT_EQ(ue[0].first, 1049u) << "newest first, across both blocks";
  EXPECT_EQ(ue[50].first, 49u);
  // A batch longer than a block: several blocks in one write, every event at its position.
  std::vector<RawEvent> big;
  for (int k = 0; k < 2500; ++k) big.push_back(Full(k % 2 ? "odd" : "even", "i" + std::to_string(k), k));
  ASSERT_TRUE((*s)->AppendEvents(1100, big).ok());
  r = CheckStore(dir_);
  EXPECT_EQ(r.blocks, 2u + 3u) << r.ToString();
  EXPECT_EQ(r.user_index, 22u + 6u) << r.ToString();
  EXPECT_EQ(r.last, std::optional<uint64_t>(3599));
  auto odd = UserEventsOf(**s, "odd", 2000);
  ASSERT_EQ(odd.size(), 1250u);
  EXPECT_EQ(odd.front().first, 3599u);
  EXPECT_EQ(odd.back().first, 1101u);
  EXPECT_EQ(odd[600].second, EventToJson(big[2499 - 1200]));
}

TEST_F(StoreFormat, ADeletedUserLeavesSharedBlocksAndTheOthersKeepTheirPositions) {
  auto opened = OpenRocksDbStore(dir_);
  ASSERT_TRUE(opened.ok());
  Store& s = **opened;
  std::unique_ptr<Store> oracle = NewMemoryStore();
  std::mt19937 rng(5);
  uint64_t next = 0;
  for (int b = 0; b < 30; ++b) {
    auto batch = Batch(rng, 40, 8);
    ASSERT_TRUE(s.AppendEvents(next, batch).ok());
    ASSERT_TRUE(oracle->AppendEvents(next, batch).ok());
    next += batch.size();
  }
  ASSERT_TRUE(s.PutUser("u2", R"({"Comment":"word-u2-zq"})").ok());
  opened->reset();  // into table files
  opened = OpenRocksDbStore(dir_);
  ASSERT_TRUE(opened.ok());
  Store& t = **opened;
  ASSERT_FALSE(FilesHolding(dir_, "word-u2-zq").empty()) << "the premise: the text is on disk";
  uint64_t expected = oracle->DeleteUser("u2").value();
  ASSERT_GT(expected, 0u);
  EXPECT_EQ(t.DeleteUser("u2").value(), expected);
  ASSERT_TRUE(t.WaitForErasures().ok());
  EXPECT_EQ(FilesHolding(dir_, "word-u2-zq"), std::vector<std::string>{}) << "erased from every file";
  for (const char* other : {"word-u1-zq", "word-u7-zq"}) EXPECT_FALSE(FilesHolding(dir_, other).empty()) << other;
  Loaded a = LoadFrom(t, 0), b = LoadFrom(*oracle, 0);
  EXPECT_EQ(a.events, b.events) << "every other event at its position";
  EXPECT_EQ(a.next, b.next);
  EXPECT_TRUE(UserEventsOf(t, "u2", 10).empty());
  EXPECT_EQ(UserEventsOf(t, "u5", 1000), UserEventsOf(*oracle, "u5", 1000));
  // Deleting every user empties the blocks, which are then deleted.
  for (int u = 0; u < 8; ++u) EXPECT_EQ(t.DeleteUser("u" + std::to_string(u)).value(), oracle->DeleteUser("u" + std::to_string(u)).value());
  EXPECT_TRUE(LoadFrom(t, 0).events.empty());
  ASSERT_TRUE(t.WaitForErasures().ok());
  opened->reset();
  StoreCheckReport r = CheckStore(dir_);
  EXPECT_EQ(r.blocks, 0u) << r.ToString();
  EXPECT_EQ(r.user_index, 0u) << r.ToString();
}

TEST_F(StoreFormat, ADamagedBlockIsNamedByItsPosition) {
  {
    auto s = OpenRocksDbStore(dir_);
    ASSERT_TRUE(s.ok());
    std::mt19937 rng(1);
    ASSERT_TRUE((*s)->AppendEvents(0, Batch(rng, 10, 3)).ok());
    ASSERT_TRUE((*s)->AppendEvents(10, Batch(rng, 10, 3)).ok());
  }
  {  // a block whose bytes RocksDB keeps intact but that this code cannot read (e.g. written by a faulty build)
    RawDb db(dir_);
    ASSERT_TRUE(db.ok());
    rocksdb::WriteBatch b;
    ASSERT_TRUE(b.Put(db.cf(1), SeqKey(10), std::string("\x02\x0a\x00\x00\x01u\x09", 7)).ok());
    ASSERT_TRUE(db.Write(b).ok());
  }
  auto s = OpenRocksDbStore(dir_);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto next = (*s)->LoadEvents(0, [](uint64_t, RawEvent&&) {});
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().reason(), "store_corrupt");
  EXPECT_NE(next.status().message().find("event block at position 10"), std::string::npos) << next.status().ToString();
  s->reset();
  StoreCheckReport r = CheckStore(dir_);
  EXPECT_FALSE(r.clean());
  EXPECT_EQ(r.events, 11u) << "the first block and the readable event of the second: " << r.ToString();
  EXPECT_NE(r.ToString().find("event block at position 10"), std::string::npos) << r.ToString();
}

// A crash during the write of a large block (a log record of many 32 KiB fragments) drops that batch only, loudly.
TEST_F(StoreFormat, ATornLargeBlockIsDroppedAndTheEarlierBlocksKept) {
  std::mt19937 rng(9);
  uint64_t tail_start = 0;
  {
    auto s = OpenRocksDbStore(dir_);
    ASSERT_TRUE(s.ok());
    for (int b = 0; b < 5; ++b) ASSERT_TRUE((*s)->AppendEvents(static_cast<uint64_t>(b) * 100, Batch(rng, 100, 10)).ok());
    std::vector<std::string> logs;
    for (const auto& e : fs::directory_iterator(dir_))
      if (e.path().extension() == ".log") logs.push_back(e.path().string());
    ASSERT_EQ(logs.size(), 1u);
    tail_start = fs::file_size(logs[0]);
    ASSERT_TRUE((*s)->AppendEvents(500, Batch(rng, 5000, 10)).ok());
  }
  std::string log;
  for (const auto& e : fs::directory_iterator(dir_))
    if (e.path().extension() == ".log") log = e.path().string();
  ASSERT_GT(fs::file_size(log), tail_start + 3 * 32768) << "the premise: the last record spans several blocks";
  fs::resize_file(log, tail_start + (fs::file_size(log) - tail_start) / 2);  // cut inside the last record
  ::testing::internal::CaptureStderr();
  auto s = OpenRocksDbStore(dir_);
  std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_NE(err.find("dropped the last record"), std::string::npos) << err;
  Loaded l = LoadFrom(**s, 0);
  EXPECT_EQ(l.events.size(), 500u);
  EXPECT_EQ(l.next, 500u);
  s->reset();
  EXPECT_TRUE(CheckStore(dir_).clean()) << CheckStore(dir_).ToString();
}

}  // namespace
}  // namespace vane
