#include "vane/eval/evaluator.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "test_util.h"

namespace vane {
namespace {

// A planted sequential pattern (test_util.h): co-visitation must find the next item; popularity cannot.
Dataset Chains(int users, int items, int len, uint64_t seed) { return testing::ChainDataset(users, items, len, seed); }

TEST(Evaluate, LeaveOneOutFindsAPlantedSequence) {
  Dataset ds = Chains(300, 60, 8, 7);
  EvalOptions opt;
  opt.progress = false;
  auto rep = Evaluate(ds, EngineConfig{}, opt);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_EQ(rep->users, 300u);
  const RankingMetrics* covisit = nullptr;
  const RankingMetrics* popular = nullptr;
  const RankingMetrics* blend = nullptr;
  for (const auto& r : rep->test) {
    if (r.name == "covisit") covisit = &r.metrics;
    if (r.name == "popular") popular = &r.metrics;
    if (r.name == "blend") blend = &r.metrics;
  }
  ASSERT_TRUE(covisit && popular && blend);
  EXPECT_GT(covisit->hr10, 0.95);
  EXPECT_GT(covisit->ndcg10, 0.8);
  EXPECT_LT(popular->hr10, 0.4);
  EXPECT_GE(blend->ndcg10, covisit->ndcg10 - 0.02);
  // JSON has the fields the CLI promises.
  std::string j = rep->ToJson();
  for (const char* k : {"\"hr@10\"", "\"ndcg@10\"", "\"hr@20\"", "\"ndcg@20\"", "\"mrr\"", "\"coverage@10\"", "\"seconds\""})
    EXPECT_NE(j.find(k), std::string::npos) << k;
}

TEST(Evaluate, DeterministicGivenSeed) {
  Dataset ds = Chains(200, 40, 6, 11);
  EvalOptions opt;
  opt.progress = false;
  opt.max_users = 100;
  auto a = Evaluate(ds, EngineConfig{}, opt);
  auto b = Evaluate(ds, EngineConfig{}, opt);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->test.size(), b->test.size());
  for (size_t i = 0; i < a->test.size(); ++i) {
    EXPECT_EQ(a->test[i].metrics.hr10, b->test[i].metrics.hr10);
    EXPECT_EQ(a->test[i].metrics.ndcg10, b->test[i].metrics.ndcg10);
    EXPECT_EQ(a->test[i].metrics.users, 100u);
  }
}

TEST(Evaluate, TemporalNeedsTimestamps) {
  Dataset ds = Chains(10, 10, 5, 1);
  EvalOptions opt;
  opt.protocol = "temporal";
  opt.progress = false;
  auto r = Evaluate(ds, EngineConfig{}, opt);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  ds.has_timestamps = true;
  auto t = Evaluate(ds, EngineConfig{}, opt);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_GT(t->users, 0u);
}

TEST(Evaluate, StreamingReplayPredictsBeforeEachEvent) {
  Dataset ds = Chains(100, 30, 6, 5);
  StreamingReport r = EvaluateStreaming(ds, EngineConfig{}, 1, false);
  EXPECT_EQ(r.events, ds.events.size());
  EXPECT_EQ(r.predictions, 100u * 5);  // every event but each user's first
  EXPECT_GT(r.metrics.hr10, 0.5);
}

}  // namespace
}  // namespace vane

namespace vane {
namespace {

TEST(ColdStart, ColdItemsKeepOnlyTheirTestEventsAndOnlyTheirUsersAreTested) {
  Dataset ds = Chains(300, 60, 8, 7);
  const size_t before = ds.events.size();
  std::vector<uint8_t> cold = MakeColdItems(ds, 0.2, 42);
  ASSERT_EQ(cold.size(), 60u);
  size_t n_cold = static_cast<size_t>(std::count(cold.begin(), cold.end(), 1));
  EXPECT_EQ(n_cold, 12u);  // every item is some user's test target here: 20% of 60
  EXPECT_LT(ds.events.size(), before);
  // A cold item's remaining events are all last events of their users (test targets).
  std::vector<uint32_t> last(ds.num_users(), UINT32_MAX);
  for (uint32_t k = 0; k < ds.events.size(); ++k) last[ds.events[k].user.v] = k;
  size_t cold_events = 0;
  for (uint32_t k = 0; k < ds.events.size(); ++k)
    if (cold[ds.events[k].item.v]) {
      ++cold_events;
      EXPECT_EQ(last[ds.events[k].user.v], k) << "a cold item kept a non-target event";
    }
  EXPECT_GT(cold_events, 0u);
  EvalOptions opt;
  opt.progress = false;
  opt.per_source = true;
  opt.test_items = cold;
  auto rep = Evaluate(ds, EngineConfig{}, opt);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_LE(rep->users, cold_events);
  EXPECT_GT(rep->users, 0u);
  // Nobody has seen a cold item follow anything: co-visitation cannot find it.
  for (const auto& r : rep->test) {
    if (r.name == "covisit") {
      EXPECT_EQ(r.metrics.hr10, 0.0);
    }
  }
  // Same share and seed, same items.
  Dataset again = Chains(300, 60, 8, 7);
  EXPECT_EQ(MakeColdItems(again, 0.2, 42), cold);
}

}  // namespace
}  // namespace vane
