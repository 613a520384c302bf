#include "vane/eval/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"

namespace vane {
namespace {

TEST(Metrics, HitAndNdcgByHand) {
  EXPECT_EQ(HitAt(1, 10), 1.0);
  EXPECT_EQ(HitAt(10, 10), 1.0);
  EXPECT_EQ(HitAt(10.5, 10), 0.0);
  EXPECT_DOUBLE_EQ(NdcgAt(1, 10), 1.0);
  EXPECT_DOUBLE_EQ(NdcgAt(3, 10), 0.5);
  EXPECT_DOUBLE_EQ(NdcgAt(11, 10), 0.0);
  EXPECT_DOUBLE_EQ(NdcgAt(15, 20), 0.25);
}

TEST(Metrics, RankCountsGreaterAndHalfTheTies) {
  // Items 0..4; item 3 excluded (history); target = 2.
  std::vector<float> s = {0.9f, 0.5f, 0.5f, 1.0f, 0.0f};
  std::vector<uint32_t> touched = {0, 1, 2, 3};
  std::vector<uint8_t> excl = {0, 0, 0, 1, 0};
  RankResult r = RankTarget(ItemIdx(2), touched, [&](uint32_t i) { return s[i]; }, excl, 1, 5, 10);
  EXPECT_DOUBLE_EQ(r.rank, 2.5);  // item 0 ahead, item 1 tied
  ASSERT_EQ(r.top.size(), 3u);     // excluded and zero-score items are not listed
  EXPECT_EQ(r.top[0], ItemIdx(0));
  EXPECT_EQ(r.top[1], ItemIdx(1));  // tie broken by id
  EXPECT_EQ(r.top[2], ItemIdx(2));
}

TEST(Metrics, UntouchedTargetTiesWithEveryOtherUnscoredItem) {
  std::vector<float> s = {0.9f, 0, 0, 0, 0};
  std::vector<uint32_t> touched = {0};
  std::vector<uint8_t> excl = {0, 0, 0, 1, 0};
  RankResult r = RankTarget(ItemIdx(2), touched, [&](uint32_t i) { return s[i]; }, excl, 1, 5, 10);
  // Item 0 ahead; items 1 and 4 tie with the target (3 is excluded): rank = 1 + 1 + 2/2.
  EXPECT_DOUBLE_EQ(r.rank, 3.0);
}

TEST(Metrics, AccumulatorAveragesAndListMetrics) {
  Dataset ds;
  ds.catalog.Upsert(testing::MakeItem("a", "x", "a", {"c1"}));
  ds.catalog.Upsert(testing::MakeItem("b", "x", "b", {"c2"}));
  ds.catalog.Upsert(testing::MakeItem("c", "x", "c", {"c1"}));
  ds.catalog.Upsert(testing::MakeItem("d", "x", "d", {"c1", "c2"}));
  std::vector<uint32_t> counts = {10, 5, 1, 0};
  MetricAccumulator acc(ds.catalog, counts);
  std::vector<ItemIdx> l1 = {ItemIdx(0), ItemIdx(1)};   // categories {c1} vs {c2}: distance 1
  std::vector<ItemIdx> l2 = {ItemIdx(0), ItemIdx(2)};   // {c1} vs {c1}: distance 0
  acc.Add(1, l1);
  acc.Add(4, l2);
  RankingMetrics m = acc.Result();
  EXPECT_EQ(m.users, 2u);
  EXPECT_DOUBLE_EQ(m.hr10, 1.0);
  EXPECT_DOUBLE_EQ(m.ndcg10, (1.0 + 1.0 / std::log2(5.0)) / 2);
  EXPECT_DOUBLE_EQ(m.mrr, (1.0 + 0.25) / 2);
  EXPECT_DOUBLE_EQ(m.coverage10, 3.0 / 4);
  EXPECT_DOUBLE_EQ(m.diversity10, 0.5);
  // Short head = the most popular 20% of 4 items, rounded up: {a}. Listed: a, b, a, c -> tail items b, c -> 2/4.
  EXPECT_DOUBLE_EQ(m.long_tail10, 0.5);
  // Novelty: mean of -log2((count+1)/(16+4)).
  double nov = (-std::log2(11.0 / 20) * 2 - std::log2(6.0 / 20) - std::log2(2.0 / 20)) / 4;
  EXPECT_NEAR(m.novelty10, nov, 1e-12);
}

}  // namespace
}  // namespace vane
