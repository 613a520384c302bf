#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "test_util.h"
#include "vane/interest/describe.h"
#include "vane/interest/user_state.h"

namespace vane {
namespace {

using testing::Ev;
using testing::TwoTopicDataset;

float CatS(const InterestStore& st, UserIdx u, const Dataset& ds, const std::string& name, Timestamp now) {
  uint32_t id = *ds.catalog.category_vocab().Find(name);
  for (auto& c : st.Categories(u, now))
    if (c.id == id) return c.s;
  return 0;
}
float CatL(const InterestStore& st, UserIdx u, const Dataset& ds, const std::string& name, Timestamp now) {
  uint32_t id = *ds.catalog.category_vocab().Find(name);
  for (auto& c : st.Categories(u, now))
    if (c.id == id) return c.l;
  return 0;
}

TEST(InterestStore, PositiveEventRaisesCategoryByActionWeight) {
  Dataset ds = TwoTopicDataset();
  InterestStore st(ds);
  Event e = Ev(ds, "a", "r0", "purchase", 1000);
  st.Apply(e);
  UserIdx u = e.user;
  float w = ds.actions.EffectiveWeight(e.action, 0, false);
  EXPECT_FLOAT_EQ(w, 5.0f);
  EXPECT_FLOAT_EQ(CatS(st, u, ds, "Trail running", 1000), w);
  EXPECT_FLOAT_EQ(CatL(st, u, ds, "Trail running", 1000), w);
  EXPECT_FLOAT_EQ(CatS(st, u, ds, "Hiking", 1000), 0);
  // Keywords of the item's text get keyword_share of the weight.
  auto kws = st.Keywords(u, 1000);
  ASSERT_FALSE(kws.empty());
  EXPECT_FLOAT_EQ(kws[0].s, w * st.config().keyword_share);
}

TEST(InterestStore, ShortTermDecaysByHalfLifeLongTermBarely) {
  Dataset ds = TwoTopicDataset();
  InterestConfig cfg;
  cfg.short_half_life_s = 100;
  cfg.long_half_life_s = 100000;
  InterestStore st(ds, cfg);
  Event e = Ev(ds, "a", "r0", "view", 1000);
  st.Apply(e);
  EXPECT_NEAR(CatS(st, e.user, ds, "Trail running", 1100), 0.5f, 1e-6);
  EXPECT_NEAR(CatS(st, e.user, ds, "Trail running", 1200), 0.25f, 1e-6);
  EXPECT_NEAR(CatL(st, e.user, ds, "Trail running", 1200), std::exp2(-200.0 / 100000), 1e-6);
  // A second event decays the first exactly as a read would.
  st.Apply(Ev(ds, "a", "r1", "view", 1100));
  EXPECT_NEAR(CatS(st, e.user, ds, "Trail running", 1100), 1.5f, 1e-6);
}

TEST(InterestStore, NegativeEventsLowerHeldInterestsOnly) {
  Dataset ds = TwoTopicDataset();
  InterestStore st(ds);
  Event a = Ev(ds, "a", "r0", "like", 1000);
  st.Apply(a);
  st.Apply(Ev(ds, "a", "r1", "dislike", 1000));
  EXPECT_FLOAT_EQ(CatS(st, a.user, ds, "Trail running", 1000), 2.0f - 2.0f);
  st.Apply(Ev(ds, "a", "h0", "dislike", 1000));  // never liked hiking: nothing to lower, no node created
  EXPECT_EQ(st.Categories(a.user, 1000).size(), 1u);
  // Negative items are not history.
  EXPECT_EQ(st.Interacted(a.user).size(), 1u);
}

TEST(InterestStore, SearchRaisesTheCategoryItsWordsPointTo) {
  Dataset ds = TwoTopicDataset();
  InterestStore st(ds);
  Event e = Ev(ds, "a", "", "search", 1000, "alpine boots");
  st.RebuildKeywordIndex();
  st.Apply(e);
  auto cats = st.Categories(e.user, 1000);
  ASSERT_FALSE(cats.empty());
  EXPECT_EQ(ds.catalog.category_vocab().Name(cats[0].id), "Hiking");
  EXPECT_EQ(st.Find(e.user)->session_searches, 1);
}

TEST(InterestStore, MemoryPerUserIsBoundedAndSmall) {
  EXPECT_LE(sizeof(UserState), 400u);
  Dataset ds;
  ds.actions = ActionRegistry::Preset("ecommerce").value();
  for (int i = 0; i < 50; ++i) ds.catalog.Upsert(testing::MakeItem("x" + std::to_string(i), "product", "thing " + std::to_string(i), {"c" + std::to_string(i)}));
  InterestStore st(ds);
  UserIdx u;
  for (int i = 0; i < 50; ++i) {
    Event e = Ev(ds, "a", "x" + std::to_string(i), "view", 1000 + i);
    u = e.user;
    st.Apply(e);
  }
  EXPECT_EQ(st.Categories(u, 1100).size(), static_cast<size_t>(UserState::kCats));
  EXPECT_LE(st.Keywords(u, 1100).size(), static_cast<size_t>(UserState::kKeywords));
  EXPECT_EQ(st.Find(u)->num_recent, UserState::kRecent);
  // The newest event is first in the ring.
  EXPECT_EQ(st.Find(u)->Recent(0).ref, ds.catalog.Find("x49")->v);
  EXPECT_EQ(st.Find(u)->Recent(1).ref, ds.catalog.Find("x48")->v);
}

TEST(InterestStore, HistoryCapKeepsTheNewestItems) {
  Dataset ds;
  ds.actions = ActionRegistry::Preset("ecommerce").value();
  for (int i = 0; i < 50; ++i) ds.catalog.Upsert(testing::MakeItem("x" + std::to_string(i), "product", "thing", {"c"}));
  InterestConfig cfg;
  cfg.history_cap = 10;
  InterestStore capped(ds, cfg), whole(ds);
  UserIdx u;
  for (int i = 0; i < 50; ++i) {
    Event e = Ev(ds, "a", "x" + std::to_string(i), "purchase", 1000 + i);
    u = e.user;
    capped.Apply(e);
    whole.Apply(e);
    ASSERT_LT(capped.Interacted(u).size(), 15u);  // never 1.5 x the cap
  }
  EXPECT_EQ(whole.Interacted(u).size(), 50u);
  auto h = capped.Interacted(u);
  ASSERT_GE(h.size(), 10u);
  EXPECT_EQ(h.back().v, ds.catalog.Find("x49")->v);  // the newest kept, in order
  EXPECT_EQ(h[h.size() - 10].v, ds.catalog.Find("x40")->v);
  EXPECT_EQ(capped.Consumed(u).size(), h.size());   // purchases consume: the same bound
}

TEST(InterestStore, MarkovTransitionsMatchHandComputedSmoothing) {
  Dataset ds = TwoTopicDataset();
  InterestStore st(ds);
  // User a: run -> hike -> run -> hike. User b: run -> run.
  Timestamp t = 1000;
  for (const char* it : {"r0", "h0", "r1", "h1"}) st.Apply(Ev(ds, "a", it, "view", t += 10));
  for (const char* it : {"r2", "r3"}) st.Apply(Ev(ds, "b", it, "view", t += 10));
  uint32_t run = *ds.catalog.category_vocab().Find("Trail running");
  uint32_t hike = *ds.catalog.category_vocab().Find("Hiking");
  // Global counts: run->hike 2, hike->run 1, run->run 1. Row(run) = 3.
  // Prior: positive weight per category, add-one: run (4 views) -> (4+1)/(6+2), hike (2) -> (2+1)/(6+2).
  float prior_run = 5.0f / 8, prior_hike = 3.0f / 8;
  EXPECT_FLOAT_EQ(st.CategoryPrior(run), prior_run);
  EXPECT_FLOAT_EQ(st.GlobalTransition(run, hike), (2 + 1.0f * prior_hike) / (3 + 1.0f));
  EXPECT_FLOAT_EQ(st.GlobalTransition(run, run), (1 + 1.0f * prior_run) / (3 + 1.0f));
  // User a is now in hike; own edges from hike: hike->run 1. P_a(run | hike) = (1 + 3 * Pg(run|hike)) / (1 + 3).
  UserIdx a(*ds.users.Find("a"));
  auto pred = st.PredictNextCategory(a, 5);
  ASSERT_FALSE(pred.empty());
  float pg = st.GlobalTransition(hike, run);
  EXPECT_EQ(pred[0].first, run);
  EXPECT_FLOAT_EQ(pred[0].second, (1 + 3 * pg) / (1 + 3));
  auto switch_pred = st.PredictNextCategory(a, 5, /*exclude_current=*/true);
  for (auto& [c, p] : switch_pred) EXPECT_NE(c, hike);
}

TEST(InterestStore, BayesianLikeProbabilityMatchesFormula) {
  Dataset ds = TwoTopicDataset();
  InterestStore st(ds);
  Event e = Ev(ds, "a", "r0", "view", 1000);
  st.Apply(e);
  st.Apply(Ev(ds, "b", "h0", "view", 1000));
  st.Apply(Ev(ds, "b", "h1", "view", 1000));
  uint32_t run = *ds.catalog.category_vocab().Find("Trail running");
  uint32_t hike = *ds.catalog.category_vocab().Find("Hiking");
  float a = st.config().bayes_alpha;
  // User a holds l(run) = 1, total 1.
  EXPECT_FLOAT_EQ(st.LikeProbability(e.user, run, 1000), (a * st.CategoryPrior(run) + 1) / (a + 1));
  EXPECT_FLOAT_EQ(st.LikeProbability(e.user, hike, 1000), (a * st.CategoryPrior(hike)) / (a + 1));
  EXPECT_GT(st.LikeProbability(e.user, run, 1000), st.CategoryPrior(run));
}

TEST(InterestStore, AReturningUserKeepsTheLongTermProfileTheyLeftWith) {
  Dataset ds = TwoTopicDataset();
  InterestStore st(ds);
  Timestamp t = 1000;
  for (int k = 0; k < 5; ++k) st.Apply(Ev(ds, "a", "h" + std::to_string(k % 5), "like", t += 60));
  st.Apply(Ev(ds, "a", "r0", "view", t += 60));
  UserIdx u(*ds.users.Find("a"));
  const float hike_before = CatL(st, u, ds, "Hiking", t), run_before = CatL(st, u, ds, "Trail running", t);
  // A year away: "now" is empty, the long-term distribution is the one they left with.
  const Timestamp back = t + 365 * 86400;
  EXPECT_LT(CatS(st, u, ds, "Hiking", back), 1e-6f);
  EXPECT_NEAR(CatL(st, u, ds, "Hiking", back) / CatL(st, u, ds, "Trail running", back), hike_before / run_before, 1e-4);
  uint32_t hike = *ds.catalog.category_vocab().Find("Hiking");
  const float p_left = st.LikeProbability(u, hike, t), prior = st.CategoryPrior(hike);
  ASSERT_GT(p_left, prior);
  EXPECT_GT(st.LikeProbability(u, hike, back) - prior, 0.5f * (p_left - prior)) << "the evidence did not evaporate";
  // One new event on the minor interest: the long-term top is still the old one.
  st.Apply(Ev(ds, "a", "r1", "view", back));
  auto cats = st.Categories(u, back);
  ASSERT_EQ(cats.size(), 2u);
  auto strongest_long = std::max_element(cats.begin(), cats.end(), [](auto& x, auto& y) { return x.l < y.l; });
  EXPECT_EQ(strongest_long->id, hike);
  EXPECT_NE(cats[0].id, hike) << "the short-term top is what they just did";
}

TEST(InterestStore, AnEventWithSeveralCategoriesNeverEvictsItsOwnNodes) {
  Dataset ds;
  ds.actions = ActionRegistry::Preset("ecommerce").value();
  for (int i = 0; i < UserState::kCats; ++i)
    ds.catalog.Upsert(testing::MakeItem("x" + std::to_string(i), "product", "thing", {"c" + std::to_string(i)}));
  ds.catalog.Upsert(testing::MakeItem("film", "video", "a film", {"Animation", "Children's", "Musical"}));
  InterestStore st(ds);
  Timestamp t = 1000;
  // A full graph: seven categories liked three times (stronger than any one event) and one viewed once.
  for (int r = 0; r < 3; ++r)
    for (int i = 0; i + 1 < UserState::kCats; ++i) st.Apply(Ev(ds, "a", "x" + std::to_string(i), "purchase", t += 10));
  st.Apply(Ev(ds, "a", "x" + std::to_string(UserState::kCats - 1), "view", t += 10));
  // The film's first category takes the weak slot; its other two find no weaker slot than the one it just wrote.
  st.Apply(Ev(ds, "a", "film", "purchase", t += 10));
  UserIdx u(*ds.users.Find("a"));
  std::set<std::string> held;
  for (auto& c : st.Categories(u, t)) held.insert(ds.catalog.category_vocab().Name(c.id));
  EXPECT_TRUE(held.count("Animation")) << "the event's first category was replaced by its own later ones";
  EXPECT_FALSE(held.count("c7")) << "the weak interest made room";
  EXPECT_EQ(held.size(), static_cast<size_t>(UserState::kCats));
}

TEST(Describe, SaysWhatIsNowAndWhatIsFadingInBothLanguages) {
  Dataset ds = TwoTopicDataset();
  InterestConfig cfg;
  InterestStore st(ds, cfg);
  Timestamp t = 1000;
  // Long ago: lots of hiking. Now: trail running searches and views.
  for (int k = 0; k < 5; ++k) st.Apply(Ev(ds, "a", "h" + std::to_string(k), "like", t += 60));
  t += 5 * 86400;
  st.RebuildKeywordIndex();
  st.Apply(Ev(ds, "a", "", "search", t += 30, "trail running shoes"));
  st.Apply(Ev(ds, "a", "", "search", t += 30, "running shoes"));
  st.Apply(Ev(ds, "a", "r0", "view", t += 30));
  UserIdx u(*ds.users.Find("a"));
  InterestSummary s = Describe(st, u, t);
  ASSERT_FALSE(s.now.empty());
  EXPECT_EQ(s.now[0].name, "Trail running");
  EXPECT_EQ(s.now[0].trend, Trend::kRising);
  EXPECT_EQ(s.now[0].searches, 2);
  ASSERT_FALSE(s.fading.empty());
  EXPECT_EQ(s.fading[0].name, "Hiking");
  EXPECT_NE(s.text_en.find("Now: Trail running (rising, searched twice in 1 min, 1 item)"), std::string::npos) << s.text_en;
  EXPECT_NE(s.text_en.find("Fading: Hiking"), std::string::npos) << s.text_en;
  EXPECT_NE(s.text_zh.find("现在："), std::string::npos) << s.text_zh;
  EXPECT_NE(s.text_zh.find("搜索 2 次"), std::string::npos) << s.text_zh;
}

TEST(Describe, UnknownUserGetsAPlainSentence) {
  Dataset ds = TwoTopicDataset();
  InterestStore st(ds);
  InterestSummary s = Describe(st, UserIdx(99), 0);
  EXPECT_TRUE(s.now.empty());
  EXPECT_FALSE(s.text_en.empty());
  EXPECT_FALSE(s.text_zh.empty());
}

TEST(Ago, EnglishAndChinese) {
  EXPECT_EQ(Ago(100, 130), "just now");
  EXPECT_EQ(Ago(0, 150), "2 minutes ago");
  EXPECT_EQ(Ago(0, 90000), "yesterday");
  EXPECT_EQ(Ago(0, 150, true), "2 分钟前");
}

}  // namespace
}  // namespace vane
