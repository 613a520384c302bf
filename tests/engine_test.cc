#include "vane/recommend/engine.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "test_util.h"
#include "vane/core/clock.h"

namespace vane {
namespace {

using testing::Ev;
using testing::TwoTopicDataset;

bool Contains(const std::vector<Recommendation>& v, const std::string& id) {
  return std::any_of(v.begin(), v.end(), [&](const Recommendation& r) { return r.id == id; });
}

// Background traffic so every item has some popularity and co-visitation.
void Background(Dataset& ds, Engine& engine) {
  Timestamp t = 100;
  for (int u = 0; u < 6; ++u) {
    std::string user = "bg" + std::to_string(u);
    for (const char* it : {"r0", "r1", "r2", "r3", "h0", "h1", "h2", "h3", "pg0"}) engine.Ingest(Ev(ds, user, it, "view", t += 20));
  }
}

TEST(Engine, NewUserGetsPopularItemsWithReasons) {
  Dataset ds = TwoTopicDataset();
  ManualClock clock(10000);
  Engine engine(ds, {}, &clock);
  Background(ds, engine);
  RecommendRequest req;
  req.user = "nobody";
  req.n = 5;
  RecommendResponse r = engine.Recommend(req);
  EXPECT_EQ(r.strategy, Strategy::kNewUser);
  ASSERT_EQ(r.items.size(), 5u);
  for (const auto& x : r.items) EXPECT_FALSE(x.reason_en.empty());
}

TEST(Engine, ReadYourWritesSearchChangesTheNextRecommendation) {
  Dataset ds = TwoTopicDataset();
  ManualClock clock(10000);
  Engine engine(ds, {}, &clock);
  Background(ds, engine);
  Timestamp t = 10000;
  for (const char* it : {"r0", "r1", "r2"}) engine.Ingest(Ev(ds, "a", it, "view", t += 30));
  RecommendRequest req;
  req.user = "a";
  req.n = 3;
  req.now = t + 10;
  RecommendResponse before = engine.Recommend(req);
  EXPECT_EQ(before.strategy, Strategy::kSessionIntent);
  EXPECT_EQ(ds.catalog.item(before.items[0].item).categories[0], "Trail running");
  engine.Ingest(Ev(ds, "a", "", "search", t += 30, "alpine hiking boots"));
  req.now = t + 10;
  RecommendResponse after = engine.Recommend(req);
  ASSERT_FALSE(after.items.empty());
  EXPECT_EQ(ds.catalog.item(after.items[0].item).categories[0], "Hiking");
  EXPECT_NE(after.items[0].reason_en.find("because you searched 'alpine hiking boots'"), std::string::npos)
      << after.items[0].reason_en;
}

TEST(Engine, FiltersConsumedRecentExcludedUnavailableTypeAndCategory) {
  Dataset ds = TwoTopicDataset();
  Item off = testing::MakeItem("r4", "product", "trail running shoes model 4", {"Trail running"});
  off.available = false;
  ds.catalog.Upsert(off);
  ManualClock clock(10000);
  Engine engine(ds, {}, &clock);
  Background(ds, engine);
  engine.Ingest(Ev(ds, "a", "r0", "purchase", 10000));
  for (int k = 0; k < 8; ++k) engine.Ingest(Ev(ds, "a", "", "search", 10010 + k, "running"));  // push r0 out of the recent ring
  RecommendRequest req;
  req.user = "a";
  req.n = 20;
  req.exclude_ids = {"r1"};
  RecommendResponse r = engine.Recommend(req);
  EXPECT_FALSE(Contains(r.items, "r0"));  // purchased = consumed
  EXPECT_FALSE(Contains(r.items, "r1"));  // excluded by id
  EXPECT_FALSE(Contains(r.items, "r4"));  // unavailable
  EXPECT_TRUE(Contains(r.items, "r2"));
  req.include_consumed = true;
  EXPECT_TRUE(Contains(engine.Recommend(req).items, "r0"));
  req.include_consumed = false;
  req.item_type = "page";
  r = engine.Recommend(req);
  ASSERT_FALSE(r.items.empty());
  for (const auto& x : r.items) EXPECT_EQ(x.type, "page");
  req.item_type = "";
  req.categories = {"Hiking"};
  r = engine.Recommend(req);
  ASSERT_FALSE(r.items.empty());
  for (const auto& x : r.items) EXPECT_EQ(ds.catalog.item(x.item).categories[0], "Hiking");
  req.categories = {"No such category"};
  EXPECT_TRUE(engine.Recommend(req).items.empty());
  req.categories = {};
  req.item_type = "spaceship";
  EXPECT_TRUE(engine.Recommend(req).items.empty());
}

TEST(Engine, RecentlyViewedItemsAreNotRecommendedBack) {
  Dataset ds = TwoTopicDataset();
  ManualClock clock(10000);
  Engine engine(ds, {}, &clock);
  Background(ds, engine);
  engine.Ingest(Ev(ds, "a", "r0", "view", 10000));
  RecommendRequest req;
  req.user = "a";
  req.n = 20;
  EXPECT_FALSE(Contains(engine.Recommend(req).items, "r0"));
}

TEST(Engine, StrategyFollowsTheUsersSituation) {
  Dataset ds = TwoTopicDataset();
  Engine engine(ds);
  Background(ds, engine);
  Timestamp t = 50000;
  std::string why;
  UserIdx a = ds.InternUser("a");
  EXPECT_EQ(engine.ChooseStrategy(a, t), Strategy::kNewUser);
  for (const char* it : {"r0", "h0", "r1", "h1", "r2", "h2"}) engine.Ingest(Ev(ds, "a", it, "view", t += 30));
  // Mixed session, no searches, no dominant interest: stable taste.
  EXPECT_EQ(engine.ChooseStrategy(a, t + 10, &why), Strategy::kStableTaste) << why;
  // A day later, a burst of searches on one topic: focused session.
  t += 86400;
  engine.Ingest(Ev(ds, "a", "", "search", t += 10, "alpine boots"));
  engine.Ingest(Ev(ds, "a", "h3", "view", t += 10));
  EXPECT_EQ(engine.ChooseStrategy(a, t + 10, &why), Strategy::kSessionIntent);
  EXPECT_NE(why.find("1 search,"), std::string::npos) << why;
}

TEST(Engine, SlatesReturnOneItemPerRequestedType) {
  Dataset ds = TwoTopicDataset();
  ManualClock clock(10000);
  Engine engine(ds, {}, &clock);
  Background(ds, engine);
  engine.Ingest(Ev(ds, "a", "r0", "view", 10000));
  RecommendRequest req;
  req.user = "a";
  req.slate_types = {"page", "product", "video"};
  RecommendResponse r = engine.Recommend(req);
  ASSERT_EQ(r.slates.size(), 3u);
  ASSERT_EQ(r.slates[0].second.size(), 1u);
  EXPECT_EQ(r.slates[0].second[0].type, "page");
  ASSERT_EQ(r.slates[1].second.size(), 1u);
  EXPECT_EQ(r.slates[1].second[0].type, "product");
  EXPECT_TRUE(r.slates[2].second.empty());  // no videos in this catalogue
}

}  // namespace
}  // namespace vane
