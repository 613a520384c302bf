// The learned ranking stage: vane's tree evaluator against xgboost's own predictions, the stored form and its checks,
// the engine's use of a ranker, and the fitting inside the evaluation.
#include "vane/recommend/ranker.h"

#include <gtest/gtest.h>
#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>

#include "vane/eval/evaluator.h"
#include "vane/eval/ranker_fit.h"
#include "vane/recommend/blend_config.h"
#include "test_util.h"

namespace vane {
namespace {

using json = nlohmann::json;

// Trains a small LambdaMART model with xgboost on random rows (a fifth of the values missing) and returns the
// booster's JSON and its own margin predictions on the same rows.
void TrainXgboost(std::vector<float>& x, std::vector<float>& pred, json& model) {
  const int rows = 400, groups = 40;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0, 1);
  x.assign(static_cast<size_t>(rows) * kNumRankFeatures, 0);
  std::vector<float> y(rows);
  for (int r = 0; r < rows; ++r) {
    for (int f = 0; f < kNumRankFeatures; ++f)
      x[r * kNumRankFeatures + f] = u(rng) < 0.2f ? std::numeric_limits<float>::quiet_NaN() : u(rng);
    const float a = x[r * kNumRankFeatures + 2], b = x[r * kNumRankFeatures + 30];
    y[r] = (a == a && a > 0.6f) || (b == b && b < 0.1f) ? 1.0f : 0.0f;
  }
  std::vector<unsigned> group(groups, rows / groups);
  DMatrixHandle d = nullptr;
  ASSERT_EQ(XGDMatrixCreateFromMat(x.data(), rows, kNumRankFeatures, std::numeric_limits<float>::quiet_NaN(), &d), 0);
  ASSERT_EQ(XGDMatrixSetFloatInfo(d, "label", y.data(), y.size()), 0);
  ASSERT_EQ(XGDMatrixSetUIntInfo(d, "group", group.data(), group.size()), 0);
  BoosterHandle b = nullptr;
  ASSERT_EQ(XGBoosterCreate(&d, 1, &b), 0);
  XGBoosterSetParam(b, "objective", "rank:ndcg");
  XGBoosterSetParam(b, "max_depth", "4");
  XGBoosterSetParam(b, "nthread", "1");
  for (int it = 0; it < 15; ++it) ASSERT_EQ(XGBoosterUpdateOneIter(b, it, d), 0);
  bst_ulong len = 0;
  const float* p = nullptr;
  ASSERT_EQ(XGBoosterPredict(b, d, 1, 0, 0, &len, &p), 0);
  pred.assign(p, p + len);
  const char* buf = nullptr;
  ASSERT_EQ(XGBoosterSaveModelToBuffer(b, "{\"format\": \"json\"}", &len, &buf), 0);
  model = json::parse(buf, buf + len);
  XGBoosterFree(b);
  XGDMatrixFree(d);
}

TEST(Ranker, PredictsWhatXgboostPredictsMissingValuesIncluded) {
  std::vector<float> x, pred;
  json model;
  TrainXgboost(x, pred, model);
  ASSERT_FALSE(model.is_null());
  auto r = Ranker::FromXgboostJson(model);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->num_trees(), 15u);
  float spread = 0;
  for (size_t k = 0; k < pred.size(); ++k) {
    EXPECT_NEAR(r->Predict(&x[k * kNumRankFeatures]), pred[k], 1e-4f) << "row " << k;
    spread = std::max(spread, std::abs(pred[k] - pred[0]));
  }
  EXPECT_GT(spread, 0.1f);  // the model is not a constant: the comparison means something
  std::vector<float> batch(pred.size());
  r->PredictBatch(x.data(), pred.size(), batch.data());
  for (size_t k = 0; k < pred.size(); ++k) EXPECT_EQ(batch[k], r->Predict(&x[k * kNumRankFeatures])) << "row " << k;
  r->Truncate(5);
  EXPECT_EQ(r->num_trees(), 5u);
  // Stored in vane's form and read back: the same predictions (of the 5 trees kept).
  auto back = Ranker::FromJson(json::parse(r->ToJson().dump()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  for (size_t k = 0; k < pred.size(); ++k)
    EXPECT_EQ(back->Predict(&x[k * kNumRankFeatures]), r->Predict(&x[k * kNumRankFeatures]));
}

// A one-split ranker: item_popularity < t goes left (leaf lo), else right (leaf hi).
json OneSplit(int feature, float t, float lo, float hi) {
  Ranker r;
  json j = r.ToJson();
  j["trees"] = json::array({{{"left", {1, -1, -1}}, {"right", {2, -1, -1}}, {"feature", {feature, 0, 0}},
                             {"value", {t, lo, hi}}, {"default_left", {1, 0, 0}}}});
  return j;
}

TEST(Ranker, StoredFormRefusesWhatWouldLeaveTheArrays) {
  const int pop = rank_feature::kItemPopularity;
  ASSERT_TRUE(Ranker::FromJson(OneSplit(pop, 0.5f, -1, 1)).ok());
  auto expect_bad = [](json j, const std::string& needle) {
    auto r = Ranker::FromJson(j);
    ASSERT_FALSE(r.ok()) << j.dump();
    EXPECT_NE(r.status().ToString().find(needle), std::string::npos) << r.status().ToString();
  };
  json j = OneSplit(pop, 0.5f, -1, 1);
  j["trees"][0]["left"][0] = 7;  // outside the tree
  expect_bad(j, "child 7");
  j = OneSplit(pop, 0.5f, -1, 1);
  j["trees"][0]["right"][0] = 1;  // both children the same node
  expect_bad(j, "reached twice");
  j = OneSplit(pop, 0.5f, -1, 1);
  j["trees"][0]["left"][0] = 0;  // a cycle to the root
  expect_bad(j, "child 0");
  j = OneSplit(kNumRankFeatures, 0.5f, -1, 1);
  expect_bad(j, "feature");
  j = OneSplit(pop, 0.5f, -1, 1);
  j["trees"][0]["value"][1] = "x";
  expect_bad(j, "non-number");
  j = OneSplit(pop, 0.5f, -1, 1);
  j["trees"][0]["value"].erase(2);
  expect_bad(j, "unequal");
  j = OneSplit(pop, 0.5f, -1, 1);
  j["features"][3] = "something else";
  expect_bad(j, "feature 3");
  j = OneSplit(pop, 0.5f, -1, 1);
  j["version"] = 9;
  expect_bad(j, "version");
  // Numbers out of their type's range are refused before any conversion (found by the blend_config fuzz target:
  // a feature index of 9.2e19 was converted to int, undefined behaviour).
  j = OneSplit(pop, 0.5f, -1, 1);
  j["trees"][0]["feature"][0] = 92233720368547758075.0;
  expect_bad(j, "where an integer in");
  j = OneSplit(pop, 0.5f, -1, 1);
  j["trees"][0]["left"][0] = 1.5;
  expect_bad(j, "where an integer in");
  j = OneSplit(pop, 0.5f, -1, 1);
  j["trees"][0]["value"][1] = 1e300;
  expect_bad(j, "not a finite value");
  // A non-finite leaf value is refused (JSON cannot hold one; a huge number parses as infinity in float).
  j = OneSplit(pop, 0.5f, -1, 1);
  j["base_score"] = "1";
  expect_bad(j, "base_score");
  // In a blend file the field is named.
  BlendConfig b = BlendConfig::From(EngineConfig{});
  json bj = b.ToJson();
  bj["ranker"] = {{"format", "vane-ranker"}, {"version", 1}};
  auto lb = BlendConfig::FromJson(bj);
  ASSERT_FALSE(lb.ok());
  EXPECT_EQ(lb.status().field(), "ranker");
}

// Two topics; user u0 has read r0 and r1; every other user reads widely so items have distinct popularity.
Dataset Shop() {
  Dataset ds = testing::TwoTopicDataset();
  Timestamp t = 1000;
  for (int u = 1; u <= 12; ++u)
    for (int k = 0; k < 5; ++k)
      testing::Ev(ds, "v" + std::to_string(u), (k % 2 ? "h" : "r") + std::to_string((u + k) % (k + 1)), "view", t += 30);
  testing::Ev(ds, "u0", "r0", "view", t += 30);
  testing::Ev(ds, "u0", "r1", "view", t += 30);
  return ds;
}

TEST(Ranker, EngineReordersTheHeadAsTheRankerSays) {
  Dataset ds = Shop();
  EngineConfig cfg;
  Engine plain(ds, cfg);
  for (const Event& e : ds.events) plain.Ingest(e);
  const UserIdx u0(*ds.users.Find("u0"));
  const Timestamp now = ds.events.back().ts + 60;

  // The rows: the user's own items left out, normalised scores in [0, 1], the head in blend order.
  Engine::RankRows rows;
  const Strategy st = plain.ChooseStrategy(u0, now);
  plain.RankCandidates(u0, now, st, plain.WeightsFor(st), cfg.per_source_limit, 100, true, rows);
  ASSERT_GE(rows.items.size(), 3u);
  ASSERT_EQ(rows.x.size(), rows.items.size() * kNumRankFeatures);
  for (size_t k = 0; k < rows.items.size(); ++k) {
    const std::string& id = ds.catalog.item(rows.items[k]).id;
    EXPECT_NE(id, "r0");
    EXPECT_NE(id, "r1");
    const float* x = &rows.x[k * kNumRankFeatures];
    for (int s = 0; s < kNumSources; ++s) {
      EXPECT_GE(x[rank_feature::kSourceScore + s], 0.0f);
      EXPECT_LE(x[rank_feature::kSourceScore + s], 1.0f);
    }
    EXPECT_LE(x[rank_feature::kBlendScore], 1.0f);
    EXPECT_EQ(x[rank_feature::kStrategy], static_cast<float>(static_cast<int>(st)));
    if (k) EXPECT_GE(rows.x[(k - 1) * kNumRankFeatures + rank_feature::kBlendScore], x[rank_feature::kBlendScore]);
  }

  // A ranker that puts the least popular candidates first: the engine's head follows it, in Recommend and ScoreAll.
  float lo_pop = 1e30f;
  for (size_t k = 0; k < rows.items.size(); ++k)
    lo_pop = std::min(lo_pop, rows.x[k * kNumRankFeatures + rank_feature::kItemPopularity]);
  std::vector<ItemIdx> least;
  for (size_t k = 0; k < rows.items.size(); ++k)
    if (rows.x[k * kNumRankFeatures + rank_feature::kItemPopularity] == lo_pop) least.push_back(rows.items[k]);
  ASSERT_LT(least.size(), rows.items.size());  // the ranker changes something
  ASSERT_NE(least[0], rows.items[0]);          // ... at the top
  auto r = Ranker::FromJson(OneSplit(rank_feature::kItemPopularity, lo_pop + 1e-4f, 5.0f, -5.0f));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  cfg.ranker = std::make_shared<const Ranker>(*r);
  Engine ranked(ds, cfg);
  for (const Event& e : ds.events) ranked.Ingest(e);
  RecommendRequest req;
  req.user = "u0";
  req.now = now;
  req.diversity = 0;
  auto resp = ranked.Recommend(req);
  ASSERT_FALSE(resp.items.empty());
  auto is_least = [&](ItemIdx i) { return std::find(least.begin(), least.end(), i) != least.end(); };
  EXPECT_TRUE(is_least(resp.items[0].item)) << resp.items[0].id;
  const ScoreBuffer& all = ranked.ScoreAll(u0, now);
  for (ItemIdx a : least)
    for (ItemIdx i : rows.items)
      if (!is_least(i)) EXPECT_GT(all.Score(a), all.Score(i));
  // Without the ranker the first item is the blend's.
  ranked.config().use_ranker = false;
  auto resp2 = ranked.Recommend(req);
  ASSERT_FALSE(resp2.items.empty());
  EXPECT_EQ(resp2.items[0].item, rows.items[0]);
}

TEST(RankControls, LongTailCapAndDiversityReshapeTheHead) {
  Dataset ds = Shop();
  Engine engine(ds, EngineConfig{});
  for (const Event& e : ds.events) engine.Ingest(e);
  engine.RefreshLongTail();
  RecommendRequest req;
  req.user = "u0";
  req.now = ds.events.back().ts + 60;
  req.diversity = 0;
  req.n = 4;
  req.explain = false;
  auto base = engine.Recommend(req);
  ASSERT_EQ(base.items.size(), 4u);

  // Inactive controls change nothing.
  req.controls = RankControls{};
  auto same = engine.Recommend(req);
  ASSERT_EQ(same.items.size(), base.items.size());
  for (size_t k = 0; k < base.items.size(); ++k) EXPECT_EQ(same.items[k].item, base.items[k].item);

  auto main_cat = [&](ItemIdx i) { return ds.catalog.categories(i)[0]; };
  // A category cap of a half: no category holds more than 2 of the 4 (both categories have enough items).
  req.controls = RankControls{.category_cap = 0.5f};
  auto capped = engine.Recommend(req);
  ASSERT_EQ(capped.items.size(), 4u);
  std::map<uint32_t, int> per;
  for (const auto& r : capped.items) ++per[main_cat(r.item)];
  for (const auto& [c, k] : per) EXPECT_LE(k, 2) << ds.catalog.category_vocab().Name(c);

  // Diversity: the second item's category differs from the first's.
  req.controls = RankControls{.diversity = 5.0f};
  auto diverse = engine.Recommend(req);
  ASSERT_GE(diverse.items.size(), 2u);
  EXPECT_NE(main_cat(diverse.items[0].item), main_cat(diverse.items[1].item));

  // A large long-tail bonus: the long-tail candidates come first.
  req.controls = RankControls{.long_tail = 10.0f};
  auto tail = engine.Recommend(req);
  size_t tail_in_base = 0;
  for (const auto& r : base.items) tail_in_base += engine.LongTail(r.item);
  size_t k = 0;
  while (k < tail.items.size() && engine.LongTail(tail.items[k].item)) ++k;
  EXPECT_GT(k, tail_in_base);  // more long-tail items, all ahead of the rest
  for (size_t j = k; j < tail.items.size(); ++j) EXPECT_FALSE(engine.LongTail(tail.items[j].item));
}

// Chains with two kinds of walk (test_util.h): the ranker has something to learn. Below it is fitted in the
// evaluation, saved with the blend and read back into an engine that then scores exactly as the evaluated one.
Dataset Chains(int users, int items, int len, uint64_t seed) {
  return testing::ChainDataset(users, items, len, seed, /*two_walks=*/true);
}

// An evaluation that fits the ranker quickly (40 rounds, one thread, quiet).
EvalOptions FitRankerOptions() {
  EvalOptions opt;
  opt.progress = false;
  opt.fit_ranker = true;
  opt.ranker.max_rounds = 40;
  opt.ranker.threads = 1;
  return opt;
}

TEST(Ranker, FittedInTheEvaluationSavedAndServedTheSame) {
  Dataset ds = Chains(400, 60, 9, 5);
  EvalOptions opt = FitRankerOptions();
  auto rep = Evaluate(ds, EngineConfig{}, opt);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  ASSERT_TRUE(rep->ranker);
  EXPECT_GT(rep->ranker->num_trees(), 0u);
  // Kept because its held-out gain is more than its noise; the saved figures say by how much.
  const auto& info = rep->ranker->info();
  EXPECT_GT(info.at("holdout_gain_standard_errors").get<double>(), 1.0) << info.dump();
  EXPECT_GT(info.at("holdout_ndcg@10_ranker").get<double>(), info.at("holdout_ndcg@10_blend").get<double>());
  bool with = false, without = false;
  for (const auto& t : rep->test) {
    with |= t.name == "blend";
    without |= t.name == "blend_no_ranker";
  }
  EXPECT_TRUE(with && without);
  EXPECT_NE(rep->ToJson().find("\"ranker\""), std::string::npos);

  // Deterministic: the same seed fits the same trees.
  auto rep2 = Evaluate(ds, EngineConfig{}, opt);
  ASSERT_TRUE(rep2.ok());
  EXPECT_EQ(rep->ranker->ToJson().dump(), rep2->ranker->ToJson().dump());

  // Through the blend file: the same scores for every user.
  BlendConfig b = FittedBlend(*rep, true);
  auto back = BlendConfig::FromJson(json::parse(b.ToJson().dump()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_TRUE(back->ranker);
  EngineConfig c1, c2;
  b.ApplyTo(c1);
  back->ApplyTo(c2);
  Engine e1(ds, c1), e2(ds, c2);
  for (const Event& e : ds.events) {
    e1.Ingest(e);
    e2.Ingest(e);
  }
  for (uint32_t u = 0; u < 50; ++u) {
    std::vector<std::pair<uint32_t, float>> s1, s2;
    const ScoreBuffer& a = e1.ScoreAll(UserIdx(u), 5000);
    for (uint32_t i : a.touched()) s1.emplace_back(i, a.Score(ItemIdx(i)));
    const ScoreBuffer& bb = e2.ScoreAll(UserIdx(u), 5000);
    for (uint32_t i : bb.touched()) s2.emplace_back(i, bb.Score(ItemIdx(i)));
    EXPECT_EQ(s1, s2) << "user " << u;
  }
}

TEST(Ranker, TheGateDropsARankerThatDoesNotBeatTheBlend) {
  // Cases whose target is the blend's own first item: the blend's order is perfect on the held-out users, no ranker
  // can beat it, and the fit returns none (saying why). Without the gate it would return the trees it fitted.
  Dataset ds = Chains(300, 50, 8, 13);
  Engine engine(ds, EngineConfig{});
  for (const Event& e : ds.events) engine.Ingest(e);
  std::vector<RankCase> cases;
  Engine::RankRows rows;
  for (uint32_t u = 0; u < 300; ++u) {
    const Strategy st = engine.ChooseStrategy(UserIdx(u), 5000);
    engine.RankCandidates(UserIdx(u), 5000, st, engine.WeightsFor(st), 300, 100, true, rows);
    ASSERT_FALSE(rows.items.empty());
    cases.push_back({UserIdx(u), rows.items[0], 5000});
  }
  RankerFitOptions ro;
  ro.progress = false;
  ro.threads = 1;
  ro.max_rounds = 20;
  auto fr = FitRanker(engine, cases, ro);
  ASSERT_TRUE(fr.ok()) << fr.status().ToString();
  EXPECT_DOUBLE_EQ(fr->holdout_blend_ndcg, 1.0);
  EXPECT_FALSE(fr->ranker);
  EXPECT_NE(fr->log.back().find("ranker not used"), std::string::npos) << fr->log.back();
  ro.gate = false;
  auto ungated = FitRanker(engine, cases, ro);
  ASSERT_TRUE(ungated.ok());
  EXPECT_TRUE(ungated->ranker);
}

TEST(Ranker, TheGateRefusesAGainWithinTheNoise) {
  // The same data as above, where the ranker's gain is real; asked for a gain beyond any noise it is refused, and
  // the note gives the gain and the bar.
  Dataset ds = Chains(400, 60, 9, 5);
  EvalOptions opt = FitRankerOptions();
  opt.ranker.min_gain_se = 1e6;
  auto rep = Evaluate(ds, EngineConfig{}, opt);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_FALSE(rep->ranker);
  EXPECT_NE(rep->ranker_note.find("not above 1000000 standard error(s)"), std::string::npos) << rep->ranker_note;
}

TEST(Ranker, AblationRefitsWithoutEachGroup) {
  Dataset ds = Chains(300, 50, 8, 9);
  EvalOptions opt;
  opt.progress = false;
  opt.per_source = false;
  opt.fit_ranker = true;
  opt.ranker_ablation = true;
  opt.ranker.max_rounds = 20;
  opt.ranker.threads = 1;
  auto rep = Evaluate(ds, EngineConfig{}, opt);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  ASSERT_EQ(rep->ablation.size(), 1 + RankFeatureGroups().size());
  EXPECT_EQ(rep->ablation[0].without, "");
  for (size_t k = 0; k < rep->ablation.size(); ++k) EXPECT_EQ(rep->ablation[k].test.users, rep->users) << k;
}

}  // namespace
}  // namespace vane
