#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"
#include "vane/recommend/engine.h"

namespace vane {
namespace {

using testing::Ev;
using testing::TwoTopicDataset;

TEST(Covisit, EdgesFollowOrderWithReverseShareAndDistance) {
  Dataset ds = TwoTopicDataset();
  EngineConfig cfg;
  Engine engine(ds, cfg);
  engine.Ingest(Ev(ds, "a", "r0", "view", 1000));
  engine.Ingest(Ev(ds, "a", "r1", "view", 1010));
  engine.Ingest(Ev(ds, "a", "r2", "view", 1020));
  const auto& cov = dynamic_cast<const CovisitSource&>(engine.source(kSrcCovisit));
  auto id = [&](const char* s) { return *ds.catalog.Find(s); };
  EXPECT_FLOAT_EQ(cov.Weight(id("r0"), id("r1")), 1.0f);
  EXPECT_FLOAT_EQ(cov.Weight(id("r1"), id("r0")), cfg.covisit.reverse_weight);
  EXPECT_FLOAT_EQ(cov.Weight(id("r0"), id("r2")), 0.5f);  // distance 2
  EXPECT_FLOAT_EQ(cov.Weight(id("r1"), id("r2")), 1.0f);
  EXPECT_FLOAT_EQ(cov.Weight(id("r2"), id("r0")), 0.5f * cfg.covisit.reverse_weight);
  // A gap longer than a session breaks the chain.
  engine.Ingest(Ev(ds, "a", "h0", "view", 1020 + 7200));
  EXPECT_FLOAT_EQ(cov.Weight(id("r2"), id("h0")), 0.0f);
  // Negative events add no edges.
  engine.Ingest(Ev(ds, "a", "h1", "dislike", 1020 + 7210));
  EXPECT_FLOAT_EQ(cov.Weight(id("h0"), id("h1")), 0.0f);
}

TEST(Covisit, EdgeCapKeepsTheStrongestNeighbours) {
  Dataset ds = TwoTopicDataset();
  EngineConfig cfg;
  cfg.covisit.window = 1;
  cfg.covisit.reverse_weight = 0;
  cfg.covisit.max_edges_per_item = 2;
  Engine engine(ds, cfg);
  auto id = [&](const char* s) { return *ds.catalog.Find(s); };
  // r0 is followed by r1 three times, r2 twice, then once each by h0..h3: r0's edges reach twice the cap.
  Timestamp t = 1000;
  int user = 0;
  auto pair = [&](const char* next) {
    std::string u = "p" + std::to_string(user++);
    engine.Ingest(Ev(ds, u, "r0", "view", t += 10));
    engine.Ingest(Ev(ds, u, next, "view", t += 10));
  };
  for (const char* next : {"r1", "r1", "r1", "r2", "r2", "h0", "h1", "h2", "h3"}) pair(next);
  const auto& cov = dynamic_cast<const CovisitSource&>(engine.source(kSrcCovisit));
  EXPECT_FLOAT_EQ(cov.Weight(id("r0"), id("r1")), 3.0f);  // the strongest survive the pruning
  EXPECT_FLOAT_EQ(cov.Weight(id("r0"), id("r2")), 2.0f);
  // The fifth edge (h2) found four: the two weakest (h0, h1) went, h2 and h3 came after.
  EXPECT_EQ(cov.Weight(id("r0"), id("h0")), 0.0f);
  EXPECT_EQ(cov.Weight(id("r0"), id("h1")), 0.0f);
  EXPECT_FLOAT_EQ(cov.Weight(id("r0"), id("h3")), 1.0f);
  EXPECT_EQ(cov.num_edges(), 4u);

  EngineConfig all = cfg;
  all.covisit.max_edges_per_item = 0;  // unbounded: every edge stays
  Engine whole(ds, all);
  for (const auto& e : ds.events) whole.Ingest(e);
  const auto& wc = dynamic_cast<const CovisitSource&>(whole.source(kSrcCovisit));
  EXPECT_EQ(wc.num_edges(), 6u);
}

TEST(Covisit, GenerateScoresNeighboursOfRecentItemsWithEvidence) {
  Dataset ds = TwoTopicDataset();
  Engine engine(ds);
  for (const char* u : {"a", "b", "c"}) {
    engine.Ingest(Ev(ds, u, "r0", "view", 1000));
    engine.Ingest(Ev(ds, u, "h3", "view", 1010));
  }
  engine.Ingest(Ev(ds, "d", "r0", "purchase", 2000));
  UserIdx d(*ds.users.Find("d"));
  const ScoreBuffer& buf = engine.ScoreSource(kSrcCovisit, d, 2010, 100);
  ItemIdx h3 = *ds.catalog.Find("h3");
  ASSERT_TRUE(buf.Has(h3));
  EXPECT_EQ(buf.EvidenceOf(h3).kind, EvidenceKind::kAfterItem);
  EXPECT_EQ(buf.EvidenceOf(h3).ref, ds.catalog.Find("r0")->v);
  EXPECT_EQ(engine.Explain(buf.EvidenceOf(h3), h3, 2010 + 86400, false),
            "often chosen after \"trail running shoes model 0\", which you bought yesterday");
}

TEST(Popularity, CountsAndDecays) {
  Dataset ds = TwoTopicDataset();
  EngineConfig cfg;
  cfg.popularity.half_life_s = 100;
  Engine engine(ds, cfg);
  engine.Ingest(Ev(ds, "a", "r0", "view", 1000));
  engine.Ingest(Ev(ds, "b", "r0", "view", 1000));
  engine.Ingest(Ev(ds, "c", "h0", "view", 1100));  // one event, one half-life later: worth two old ones
  const PopularitySource& pop = engine.popularity();
  EXPECT_NEAR(pop.Popularity(*ds.catalog.Find("r0")), pop.Popularity(*ds.catalog.Find("h0")), 1e-9);
  engine.Ingest(Ev(ds, "d", "h0", "view", 1100));
  EXPECT_EQ(pop.Ranked()[0], *ds.catalog.Find("h0"));
  // Order-only data: plain counts.
  Dataset ds2 = TwoTopicDataset();
  ds2.has_timestamps = false;
  Engine e2(ds2, cfg);
  e2.Ingest(Ev(ds2, "a", "r0", "view", 1000));
  e2.Ingest(Ev(ds2, "b", "r0", "view", 1000));
  e2.Ingest(Ev(ds2, "c", "h0", "view", 1'000'000));
  EXPECT_FLOAT_EQ(e2.popularity().Popularity(*ds2.catalog.Find("r0")), 2.0f);
}

TEST(Content, SearchRetrievesByTextInBothLanguages) {
  Dataset ds = TwoTopicDataset();
  ds.catalog.Upsert(testing::MakeItem("zh1", "product", "越野跑鞋 超轻", {"Trail running"}));
  Engine engine(ds);
  auto hits = engine.content().Search("alpine boots", 3);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(ds.catalog.item(hits[0].first).categories[0], "Hiking");
  auto zh = engine.content().Search("跑鞋", 3);
  ASSERT_FALSE(zh.empty());
  EXPECT_EQ(ds.catalog.item(zh[0].first).id, "zh1");
}

TEST(Content, RecentSearchScoresMatchingItemsWithEvidence) {
  Dataset ds = TwoTopicDataset();
  Engine engine(ds);
  Event e = Ev(ds, "a", "", "search", 5000, "alpine boots");
  engine.OnCatalogChanged();
  engine.Ingest(e);
  const ScoreBuffer& buf = engine.ScoreSource(kSrcContent, e.user, 5120, 100);
  ItemIdx h0 = *ds.catalog.Find("h0");
  ASSERT_TRUE(buf.Has(h0));
  EXPECT_FALSE(buf.Has(*ds.catalog.Find("r0")));
  EXPECT_EQ(buf.EvidenceOf(h0).kind, EvidenceKind::kSearched);
  EXPECT_EQ(engine.Explain(buf.EvidenceOf(h0), h0, 5120, false), "because you searched 'alpine boots' 2 minutes ago");
  EXPECT_EQ(engine.Explain(buf.EvidenceOf(h0), h0, 5120, true), "因为你2 分钟前搜索了「alpine boots」");
}

TEST(Affinity, ScoresItemsOfHeldCategories) {
  Dataset ds = TwoTopicDataset();
  Engine engine(ds);
  engine.Ingest(Ev(ds, "x", "h1", "view", 900));  // some popularity for h1
  Event e = Ev(ds, "a", "r0", "like", 1000);
  engine.Ingest(e);
  const ScoreBuffer& now = engine.ScoreSource(kSrcInterestNow, e.user, 1010, 100);
  EXPECT_TRUE(now.Has(*ds.catalog.Find("r0")));
  EXPECT_FALSE(now.Has(*ds.catalog.Find("h1")));
  EXPECT_EQ(now.EvidenceOf(*ds.catalog.Find("r0")).kind, EvidenceKind::kCategoryNow);
  const ScoreBuffer& lng = engine.ScoreSource(kSrcInterestLong, e.user, 1010, 100);
  EXPECT_TRUE(lng.Has(*ds.catalog.Find("r0")));
  EXPECT_EQ(lng.EvidenceOf(*ds.catalog.Find("r0")).kind, EvidenceKind::kCategoryLong);
}

}  // namespace
}  // namespace vane

namespace vane {
namespace {

TEST(Popularity, StaysFiniteOverDecadesOfDecayedCounts) {
  Dataset ds = testing::TwoTopicDataset();
  Engine engine(ds);  // 7-day half-life: 20 years is ~1000 half-lives
  Timestamp t = 800'000'000;
  for (int k = 0; k < 1000; ++k) engine.Ingest(testing::Ev(ds, "a", k % 2 ? "r0" : "h0", "view", t += 7 * 86400));
  float r0 = engine.popularity().Popularity(*ds.catalog.Find("r0"));
  float h0 = engine.popularity().Popularity(*ds.catalog.Find("h0"));
  EXPECT_TRUE(std::isfinite(r0));
  EXPECT_TRUE(std::isfinite(h0));
  EXPECT_GT(r0, h0);  // r0 was seen last
  const ScoreBuffer& buf = engine.ScoreSource(kSrcInterestNow, UserIdx(*ds.users.Find("a")), t, 100);
  for (uint32_t i : buf.touched()) EXPECT_TRUE(std::isfinite(buf.Score(ItemIdx(i))));
}

TEST(Popularity, AnEventDatedDecadesAheadErasesNobody) {
  Dataset ds = testing::TwoTopicDataset();
  Engine engine(ds);
  Timestamp t = 1'767'225'600;  // 2026
  for (int k = 0; k < 3; ++k) engine.Ingest(testing::Ev(ds, "a" + std::to_string(k), "r0", "view", t += 60));
  engine.Ingest(testing::Ev(ds, "b", "r1", "view", t += 60));
  engine.Ingest(testing::Ev(ds, "c", "h1", "view", 2'208'988'800));  // 2040
  const PopularitySource& pop = engine.popularity();
  ItemIdx r0 = *ds.catalog.Find("r0"), r1 = *ds.catalog.Find("r1"), h1 = *ds.catalog.Find("h1");
  EXPECT_GT(pop.Popularity(r0), 0.0f);
  EXPECT_GT(pop.Popularity(r1), 0.0f);
  EXPECT_NEAR(pop.Relative(r1, r0), 1.0f / 3.0f, 1e-3) << "the old counts keep their proportions";
  const auto& ranked = pop.Ranked();
  ASSERT_GE(ranked.size(), 3u);
  EXPECT_EQ(ranked[0], h1);
  EXPECT_EQ(ranked[1], r0);
  EXPECT_EQ(ranked[2], r1);
  RecommendRequest req;
  req.user = "newcomer";
  req.n = 3;
  req.now = t;
  auto r = engine.Recommend(req);
  ASSERT_EQ(r.items.size(), 3u);
  EXPECT_EQ(r.items[1].id, "r0") << "a new user still gets the popular items, not catalogue order";
}

TEST(ItemKnn, UsesTheWholeHistoryThroughSharedEdges) {
  Dataset ds = testing::TwoTopicDataset();
  Engine engine(ds);
  for (const char* u : {"b", "c"}) {
    engine.Ingest(testing::Ev(ds, u, "h0", "view", 1000));
    engine.Ingest(testing::Ev(ds, u, "h4", "view", 1010));
  }
  // User a saw h0 long ago, then ten running items: h0 is out of the recent ring but in the history.
  Timestamp t = 5000;
  engine.Ingest(testing::Ev(ds, "a", "h0", "view", t));
  for (int k = 0; k < 10; ++k) engine.Ingest(testing::Ev(ds, "a", "r" + std::to_string(k % 4), "view", t += 10));
  UserIdx a(*ds.users.Find("a"));
  ItemIdx h4 = *ds.catalog.Find("h4");
  EXPECT_FALSE(engine.ScoreSource(kSrcCovisit, a, t, 100).Has(h4));
  const ScoreBuffer& knn = engine.ScoreSource(kSrcItemKnn, a, t, 100);
  ASSERT_TRUE(knn.Has(h4));
  EXPECT_EQ(knn.EvidenceOf(h4).ref, ds.catalog.Find("h0")->v);
  EXPECT_EQ(engine.Explain(knn.EvidenceOf(h4), h4, t, false), "often chosen with \"hiking boots alpine 0\", from your history");
}

}  // namespace
}  // namespace vane
