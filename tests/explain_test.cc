// Every reason is consistent with what the same user is shown about their interests.
#include <gtest/gtest.h>

#include <set>

#include "test_util.h"
#include "vane/eval/capture.h"
#include "vane/gen/generator.h"
#include "vane/interest/describe.h"
#include "vane/recommend/engine.h"

namespace vane {
namespace {

TEST(Explain, EveryMoveOnReasonNamesACategoryTheUserIsShownAsLikelyNext) {
  gen::GenOptions go;
  go.users = 300;
  gen::Generated g = gen::Generate(go);
  Dataset ds;
  ImportReport report;
  ASSERT_TRUE(BuildGeneratedDataset(g, ds, report).ok());
  Engine engine(ds);
  for (const Event& e : ds.events) engine.Ingest(e);
  const std::string prefix = "your interests often move on to ";
  size_t checked = 0;
  for (uint32_t u = 0; u < ds.num_users(); ++u) {
    const UserState* st = engine.interests().Find(UserIdx(u));
    if (!st || st->num_events == 0) continue;
    const Timestamp now = st->last_ts + 30;
    InterestSummary sum = Describe(engine.interests(), UserIdx(u), now);
    std::set<std::string> likely;
    for (const auto& [line, p] : sum.likely_next) likely.insert(line.name);
    RecommendRequest req;
    req.user = ds.users.Name(u);
    req.n = 30;
    req.now = now;
    for (const auto& r : engine.Recommend(req).items) {
      if (r.reason_en.rfind(prefix, 0) != 0) continue;
      std::string cat = r.reason_en.substr(prefix.size());
      cat = cat.substr(0, cat.size() - std::string(" next").size());
      EXPECT_TRUE(likely.count(cat)) << req.user << ": \"" << r.reason_en << "\" but likely next is "
                                     << (sum.likely_next.empty() ? "(none)" : sum.likely_next[0].first.name);
      ++checked;
    }
  }
  EXPECT_GT(checked, 10u) << "the generated users should get some move-on reasons";
}

TEST(Explain, AModelReasonNamesTheAttendedItemOnlyWhenItIsRelated) {
  Dataset ds = testing::TwoTopicDataset();
  Engine engine(ds);
  Evidence ev;
  ev.kind = EvidenceKind::kModel;
  ev.ref = ds.catalog.Find("r0")->v;  // the model attended to a trail running shoe
  std::string related = engine.Explain(ev, *ds.catalog.Find("r1"), 1000, false);
  EXPECT_NE(related.find("trail running shoes model 0"), std::string::npos) << related;
  std::string unrelated = engine.Explain(ev, *ds.catalog.Find("h1"), 1000, false);
  EXPECT_EQ(unrelated, "predicted from your sequence of actions");
  EXPECT_EQ(engine.Explain(ev, *ds.catalog.Find("h1"), 1000, true), "模型根据你的行为序列推荐");
}

}  // namespace
}  // namespace vane
