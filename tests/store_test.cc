// Every store implementation against one suite; the memory store is also the oracle the RocksDB store is compared
// with on a random sequence of operations. FaultStore's injected failures are checked here too.
#include "vane/store/store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "test_util.h"

namespace vane {
namespace {

RawEvent Ev(std::string user, std::string item, Timestamp ts) { return testing::RawEv(std::move(user), std::move(item), "view", ts); }

Item It(std::string id, std::string title) {
  Item it;
  it.id = std::move(id);
  it.title = std::move(title);
  it.categories = {"C"};
  return it;
}

std::string TempDir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("vane_store_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  return d.string();
}

struct Loaded {
  std::vector<std::string> items;
  std::vector<std::pair<uint64_t, std::string>> events;  // position, stored JSON
  uint64_t next = 0;
  bool operator==(const Loaded&) const = default;
};

Loaded LoadAll(const Store& s) {
  Loaded l;
  auto next = s.Load([&](Item&& it) { l.items.push_back(ItemToJson(it)); },
                     [&](uint64_t seq, RawEvent&& e) { l.events.emplace_back(seq, EventToJson(e)); });
  EXPECT_TRUE(next.ok()) << next.status().ToString();
  l.next = next.ok() ? *next : 0;
  return l;
}

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "rocksdb") {
      dir_ = TempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
      store_ = Reopen();
    } else {
      store_ = NewMemoryStore();
    }
  }
  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<Store> Reopen() {
    store_.reset();
    auto s = OpenRocksDbStore(dir_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s.value()) : nullptr;
  }
  std::string dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, EventsComeBackInPositionOrderWithTheNextPosition) {
  Store& s = *store_;
  EXPECT_EQ(LoadAll(s).next, 0u);
  std::vector<RawEvent> a = {Ev("u1", "i1", 10), Ev("u2", "i2", 11)}, b = {Ev("u1", "i3", 12)};
  ASSERT_TRUE(s.AppendEvents(0, a).ok());
  ASSERT_TRUE(s.AppendEvents(2, b).ok());
  Loaded l = LoadAll(s);
  ASSERT_EQ(l.events.size(), 3u);
  EXPECT_EQ(l.events[0].first, 0u);
  EXPECT_EQ(l.events[2].first, 2u);
  EXPECT_EQ(l.events[2].second, EventToJson(b[0]));
  EXPECT_EQ(l.next, 3u);
  std::vector<uint64_t> from;
  auto next = s.LoadEvents(2, [&](uint64_t seq, RawEvent&&) { from.push_back(seq); });
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(from, std::vector<uint64_t>{2});
  auto past = s.LoadEvents(10, [&](uint64_t, RawEvent&&) { ADD_FAILURE() << "nothing is at or after 10"; });
  ASSERT_TRUE(past.ok());
  EXPECT_EQ(*past, 3u) << "the next position follows the last stored event even when nothing is read";
}

TEST_P(StoreTest, RetryingABatchAtTheSamePositionsAddsNoCopies) {
  std::vector<RawEvent> a = {Ev("u1", "i1", 10), Ev("u1", "i2", 11)};
  ASSERT_TRUE(store_->AppendEvents(0, a).ok());
  ASSERT_TRUE(store_->AppendEvents(0, a).ok());
  EXPECT_EQ(LoadAll(*store_).events.size(), 2u);
  auto ue = store_->UserEvents("u1", 10);
  ASSERT_TRUE(ue.ok());
  EXPECT_EQ(ue->size(), 2u);
}

TEST_P(StoreTest, UserEventsAreNewestFirstAndLimited) {
  std::vector<RawEvent> a = {Ev("u1", "i1", 10), Ev("u2", "i2", 11), Ev("u1", "i3", 12), Ev("u1", "i4", 13)};
  ASSERT_TRUE(store_->AppendEvents(0, a).ok());
  auto ue = store_->UserEvents("u1", 2);
  ASSERT_TRUE(ue.ok());
  ASSERT_EQ(ue->size(), 2u);
  EXPECT_EQ((*ue)[0].first, 3u);
  EXPECT_EQ((*ue)[0].second.item, "i4");
  EXPECT_EQ((*ue)[1].second.item, "i3");
  // A user whose id is a prefix of another's sees only their own events.
  ASSERT_TRUE(store_->AppendEvents(4, std::vector<RawEvent>{Ev("u", "i9", 14)}).ok());
  auto prefix = store_->UserEvents("u", 10);
  ASSERT_TRUE(prefix.ok());
  ASSERT_EQ(prefix->size(), 1u);
  EXPECT_EQ((*prefix)[0].second.item, "i9");
  auto none = store_->UserEvents("nobody", 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreTest, DeletingAUserRemovesTheirEventsAndRecordOnly) {
  std::vector<RawEvent> a = {Ev("u1", "i1", 10), Ev("u2", "i2", 11), Ev("u1", "i3", 12)};
  ASSERT_TRUE(store_->AppendEvents(0, a).ok());
  ASSERT_TRUE(store_->PutUser("u1", R"({"Comment":"x"})").ok());
  ASSERT_TRUE(store_->PutUser("u2", R"({"Comment":"y"})").ok());
  auto n = store_->DeleteUser("u1");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
  Loaded l = LoadAll(*store_);
  ASSERT_EQ(l.events.size(), 1u);
  EXPECT_EQ(l.events[0].first, 1u);
  EXPECT_FALSE(store_->GetUser("u1").value().has_value());
  EXPECT_EQ(store_->GetUser("u2").value().value(), R"({"Comment":"y"})");
  EXPECT_TRUE(store_->UserEvents("u1", 10).value().empty());
  EXPECT_EQ(store_->DeleteUser("u1").value(), 0u);
}

TEST_P(StoreTest, ItemsAreReplacedByIdAndDeleted) {
  std::vector<Item> items = {It("a", "first"), It("b", "second")};
  ASSERT_TRUE(store_->PutItems(items).ok());
  ASSERT_TRUE(store_->PutItem(It("a", "renamed")).ok());
  ASSERT_TRUE(store_->DeleteItem("b").ok());
  ASSERT_TRUE(store_->DeleteItem("never-there").ok());
  std::vector<Item> back;
  ASSERT_TRUE(store_->LoadItems([&](Item&& it) { back.push_back(std::move(it)); }).ok());
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].id, "a");
  EXPECT_EQ(back[0].title, "renamed");
  EXPECT_EQ(back[0].categories, std::vector<std::string>{"C"});
}

TEST_P(StoreTest, CountersAddUpByNameAndPrefix) {
  using D = std::vector<std::pair<std::string, int64_t>>;
  ASSERT_TRUE(store_->AddCounters(D{{"online/a/impressions", 3}, {"online/a/clicks", 1}, {"other", 7}}).ok());
  ASSERT_TRUE(store_->AddCounters(D{{"online/a/impressions", 2}, {"online/b/clicks", -1}}).ok());
  auto c = store_->Counters("online/");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, (std::map<std::string, int64_t>{{"online/a/clicks", 1}, {"online/a/impressions", 5}, {"online/b/clicks", -1}}));
  EXPECT_EQ(store_->Counters("").value().size(), 4u);
  EXPECT_TRUE(store_->Counters("zzz").value().empty());
}

TEST_P(StoreTest, MetadataAndUserRecords) {
  EXPECT_FALSE(store_->GetMeta("actions").value().has_value());
  ASSERT_TRUE(store_->PutMeta("actions", "[1,2]").ok());
  EXPECT_EQ(store_->GetMeta("actions").value().value(), "[1,2]");
  EXPECT_FALSE(store_->GetUser("u").value().has_value());
  ASSERT_TRUE(store_->PutUser("u", "{}").ok());
  EXPECT_EQ(store_->GetUser("u").value().value(), "{}");
}

TEST_P(StoreTest, AgreesWithTheMemoryOracleOnARandomHistory) {
  std::unique_ptr<Store> oracle = NewMemoryStore();
  std::mt19937 rng(7);
  uint64_t next = 0;
  for (int step = 0; step < 300; ++step) {
    int op = static_cast<int>(rng() % 10);
    std::string user = "u" + std::to_string(rng() % 12);
    if (op < 6) {
      std::vector<RawEvent> batch;
      for (int k = 0, n = 1 + static_cast<int>(rng() % 5); k < n; ++k)
        batch.push_back(Ev("u" + std::to_string(rng() % 12), "i" + std::to_string(rng() % 30), 1000 + step));
      ASSERT_TRUE(store_->AppendEvents(next, batch).ok());
      ASSERT_TRUE(oracle->AppendEvents(next, batch).ok());
      next += batch.size();
    } else if (op == 6) {
      ASSERT_EQ(store_->DeleteUser(user).value(), oracle->DeleteUser(user).value());
    } else if (op == 7) {
      Item it = It("i" + std::to_string(rng() % 30), "t" + std::to_string(step));
      ASSERT_TRUE(store_->PutItem(it).ok());
      ASSERT_TRUE(oracle->PutItem(it).ok());
    } else if (op == 8) {
      ASSERT_TRUE(store_->PutUser(user, std::to_string(step)).ok());
      ASSERT_TRUE(oracle->PutUser(user, std::to_string(step)).ok());
    } else {
      auto a = store_->UserEvents(user, 3), b = oracle->UserEvents(user, 3);
      ASSERT_TRUE(a.ok() && b.ok());
      ASSERT_EQ(a->size(), b->size());
      for (size_t k = 0; k < a->size(); ++k) EXPECT_EQ(EventToJson((*a)[k].second), EventToJson((*b)[k].second));
    }
  }
  Loaded a = LoadAll(*store_), b = LoadAll(*oracle);
  EXPECT_EQ(a.items, b.items);
  EXPECT_EQ(a.events, b.events);
  for (int u = 0; u < 12; ++u)
    EXPECT_EQ(store_->GetUser("u" + std::to_string(u)).value(), oracle->GetUser("u" + std::to_string(u)).value());
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

}  // namespace
}  // namespace vane
