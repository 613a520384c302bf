// The conformance suite every Store implementation passes (store/store.h's contracts), with the memory store as
// the oracle on a random history. A test binary includes this once, defines OpenStoreForTest and CloseStoreForTest
// in the anonymous namespace of vane, and instantiates StoreTest with the implementations it opens
// (tests/store_test.cc: memory and rocksdb; tests/cluster_store_slow_test.cc: Redis Cluster).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "test_util.h"
#include "vane/store/store.h"

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

// The implementation under test is named by the parameter; each test binary defines how it opens and closes one
// (a fresh, empty store per test).
std::unique_ptr<Store> OpenStoreForTest(const std::string& impl, const std::string& test);
void CloseStoreForTest(const std::string& impl, const std::string& test);

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    store_ = OpenStoreForTest(GetParam(), ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    store_.reset();
    CloseStoreForTest(GetParam(), ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
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

TEST_P(StoreTest, ErasingSomeOfAUsersEventsKeepsTheRestAtTheirPositions) {
  std::vector<RawEvent> a = {Ev("u1", "i1", 10), Ev("u2", "i1", 11), Ev("u1", "i3", 12), Ev("u1", "i1", 13)};
  std::vector<RawEvent> b = {Ev("u1", "i1", 14)};
  ASSERT_TRUE(store_->AppendEvents(0, a).ok());
  ASSERT_TRUE(store_->AppendEvents(4, b).ok());
  ASSERT_TRUE(store_->PutUser("u1", R"({"Comment":"x"})").ok());
  std::vector<uint64_t> asked;
  auto n = store_->EraseUserEvents("u1", [&](uint64_t seq, const RawEvent& e) {
    asked.push_back(seq);
    EXPECT_EQ(e.user, "u1") << "only the user's events are offered";
    return e.item == "i1";
  });
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 3u);
  std::sort(asked.begin(), asked.end());
  EXPECT_EQ(asked, (std::vector<uint64_t>{0, 2, 3, 4}));
  Loaded l = LoadAll(*store_);
  ASSERT_EQ(l.events.size(), 2u);
  EXPECT_EQ(l.events[0].first, 1u);
  EXPECT_EQ(l.events[1].first, 2u);
  EXPECT_EQ(l.next, 3u) << "one past the last stored event (as after a deletion)";
  auto mine = store_->UserEvents("u1", 10);
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].first, 2u);
  EXPECT_EQ((*mine)[0].second.item, "i3");
  EXPECT_EQ(store_->GetUser("u1").value().value(), R"({"Comment":"x"})") << "the record stays";
  EXPECT_EQ(store_->UserEvents("u2", 10).value().size(), 1u);
  EXPECT_EQ(store_->EraseUserEvents("u1", [](uint64_t, const RawEvent& e) { return e.item == "i1"; }).value(), 0u);
  EXPECT_EQ(store_->EraseUserEvents("nobody", [](uint64_t, const RawEvent&) { return true; }).value(), 0u);
  // Erasing the rest, then writing again: the index holds no stale entry that would hide or repeat an event.
  EXPECT_EQ(store_->EraseUserEvents("u1", [](uint64_t, const RawEvent&) { return true; }).value(), 1u);
  EXPECT_TRUE(store_->UserEvents("u1", 10).value().empty());
  std::vector<RawEvent> c = {Ev("u1", "i9", 20)};
  ASSERT_TRUE(store_->AppendEvents(LoadAll(*store_).next, c).ok());
  ASSERT_EQ(store_->UserEvents("u1", 10).value().size(), 1u);
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
    } else if (op == 6 && rng() % 2) {
      ASSERT_EQ(store_->DeleteUser(user).value(), oracle->DeleteUser(user).value());
    } else if (op == 6) {  // some of the user's events: by item, and by position
      const std::string item = "i" + std::to_string(rng() % 30);
      const uint64_t cut = next == 0 ? 0 : rng() % next;
      auto drop = [&](uint64_t seq, const RawEvent& e) { return e.item == item || seq < cut; };
      ASSERT_EQ(store_->EraseUserEvents(user, drop).value(), oracle->EraseUserEvents(user, drop).value());
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

}  // namespace
}  // namespace vane
