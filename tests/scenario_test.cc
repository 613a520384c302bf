// The worked example of the product brief, end to end on the built-in generated data.
#include "vane/eval/scenario.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "vane/eval/capture.h"

namespace vane {
namespace {

class SeedExample : public ::testing::Test {
 protected:
  void SetUp() override {
    gen::GenOptions go;
    go.users = 120;
    g_ = gen::Generate(go);
    ImportReport report;
    ASSERT_TRUE(BuildGeneratedDataset(g_, ds_, report).ok());
    engine_ = std::make_unique<Engine>(ds_);
    for (const Event& e : ds_.events) engine_->Ingest(e);
    Timestamp start = ds_.events.back().ts + 3600;
    auto r = RunSeedExample(ds_, *engine_, "A", start);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    res_ = std::move(r.value());
  }
  gen::Generated g_;
  Dataset ds_;
  std::unique_ptr<Engine> engine_;
  SeedExampleResult res_;
};

TEST_F(SeedExample, StepsAreTheBriefsActions) {
  ASSERT_EQ(res_.steps.size(), 7u);
  for (int k = 0; k < 3; ++k) EXPECT_EQ(res_.steps[k].action, "view");
  EXPECT_EQ(res_.steps[3].action, "search");
  EXPECT_EQ(res_.steps[6].action, "purchase");
}

TEST_F(SeedExample, RecommendsAcrossTypesWithReasonsTiedToAsActions) {
  const auto& r = res_.recommendations;
  EXPECT_EQ(r.strategy, Strategy::kSessionIntent) << r.strategy_reason;
  ASSERT_EQ(r.items.size(), 10u);
  // Slates: a page and a product.
  ASSERT_EQ(r.slates.size(), 3u);
  ASSERT_EQ(r.slates[0].second.size(), 1u);
  EXPECT_EQ(r.slates[0].second[0].type, "page");
  ASSERT_EQ(r.slates[1].second.size(), 1u);
  EXPECT_EQ(r.slates[1].second[0].type, "product");
  // Nothing A already acted on comes back.
  for (const auto& x : r.items)
    for (const auto& st : res_.steps) EXPECT_NE(x.id, st.item) << "recommended an item A just " << st.action;
  // Reasons name A's own actions: the search and an item A viewed or bought.
  std::string query = res_.steps[3].query;
  bool searched = false, after_item = false;
  for (const auto& x : r.items) {
    searched |= x.reason_en.find("because you searched '" + query + "'") != std::string::npos;
    for (const auto& st : res_.steps) {
      if (st.item.empty()) continue;
      const std::string& title = ds_.catalog.item(*ds_.catalog.Find(st.item)).title;
      after_item |= x.reason_en.find("often chosen after \"" + title + "\"") != std::string::npos;
    }
    EXPECT_FALSE(x.reason_zh.empty());
  }
  EXPECT_TRUE(searched);
  EXPECT_TRUE(after_item);
  // Most of the list follows A's intent.
  size_t on = 0;
  for (const auto& x : r.items) on += ds_.catalog.item(x.item).categories[0] == "Trail running";
  EXPECT_GE(on, 6u);
}

TEST_F(SeedExample, InterestTextNamesTheTopicNowInBothLanguages) {
  ASSERT_FALSE(res_.interests.now.empty());
  EXPECT_EQ(res_.interests.now[0].name, "Trail running");
  EXPECT_NE(res_.interests.text_en.find("Now: Trail running"), std::string::npos) << res_.interests.text_en;
  EXPECT_NE(res_.interests.text_zh.find("现在：越野跑"), std::string::npos) << res_.interests.text_zh;
}

TEST(Capture, GeneratedIntentSwitchesAreCapturedQuickly) {
  gen::GenOptions go;
  go.users = 80;
  go.seed = 3;
  gen::Generated g = gen::Generate(go);
  Dataset ds;
  ImportReport report;
  ASSERT_TRUE(BuildGeneratedDataset(g, ds, report).ok());
  CaptureReport rep = MeasureCapture(g, ds, EngineConfig{}, CaptureOptions{});
  EXPECT_EQ(rep.events, g.events.size());
  EXPECT_GT(rep.switches, 100u);
  EXPECT_LE(rep.median_lag, 1.0);
  EXPECT_GE(rep.interest_accuracy, 0.85);
  // A static popularity-only engine cannot follow intents: the benchmark must be able to fail.
  EngineConfig pop_only;
  pop_only.base = {1, 0, 0, 0, 0, 0};
  pop_only.use_strategies = false;
  CaptureReport bad = MeasureCapture(g, ds, pop_only, CaptureOptions{});
  EXPECT_GT(bad.median_lag, 2.0);
}

}  // namespace
}  // namespace vane
