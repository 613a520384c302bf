// The sequence model inside the engine: slot "model" of the blend.
#include "vane/model/model_source.h"

#include <gtest/gtest.h>

#include <cmath>
#include <atomic>
#include <thread>

#include "test_util.h"
#include "vane/recommend/engine.h"

namespace vane {
namespace {

// A one-layer model of width 16 trained on 30 users' three-item sequences (u, u+1, u+third_step mod 12): enough
// for the serving-path tests, which compare paths with each other, not with a target. Null when training failed.
std::shared_ptr<const SeqModel> TinyModel(const Dataset& ds, uint32_t third_step, int epochs) {
  SeqSplit split;
  for (uint32_t u = 0; u < 30; ++u) {
    split.train.push_back({u % 12, (u + 1) % 12, (u + third_step) % 12});
    split.val_target.push_back(UINT32_MAX);
    split.test_target.push_back(UINT32_MAX);
  }
  SeqModelConfig c;
  c.dim = 16;
  c.layers = 1;
  c.max_len = 8;
  c.epochs = epochs;
  c.threads = 1;
  auto m = SeqModel::Train(split, ds.num_items(), c, nullptr, false);
  if (!m.ok()) return nullptr;
  return std::make_shared<const SeqModel>(std::move(m.value()));
}

// Users prefix0..prefix{n-1}; user u views 3 + u % spread items, items[(u + step * k) % 8]. Returns them in order.
std::vector<UserIdx> IngestUsers(Engine& engine, Dataset& ds, const std::string& prefix, int n, int spread, int step,
                                 Timestamp& t) {
  const char* items[] = {"r0", "r1", "r2", "r3", "h0", "h1", "h2", "h3"};
  std::vector<UserIdx> users;
  for (int u = 0; u < n; ++u) {
    for (int k = 0; k < 3 + u % spread; ++k)
      engine.Ingest(testing::Ev(ds, prefix + std::to_string(u), items[(u + step * k) % 8], "view", t += 10));
    users.push_back(UserIdx(*ds.users.Find(prefix + std::to_string(u))));
  }
  return users;
}

// The model slot's score of every item for `u`, through the serving caches.
std::vector<float> ServedScores(const Engine& engine, const Dataset& ds, UserIdx u, Timestamp t) {
  const ScoreBuffer& b = engine.ScoreSource(kSrcModel, u, t, 1000);
  std::vector<float> out(ds.num_items());
  for (uint32_t i = 0; i < ds.num_items(); ++i) out[i] = b.Score(ItemIdx(i));
  return out;
}

TEST(ModelSource, ScoresAreTheModelsSoftmaxOverTheUsersHistory) {
  Dataset ds = testing::TwoTopicDataset();
  // Train a tiny model on chains r0 -> r1 -> r2 -> ... of varied lengths over the dataset's items.
  SeqSplit split;
  for (int u = 0; u < 30; ++u) {
    std::vector<uint32_t> q;
    for (uint32_t k = 0; k < 3 + static_cast<uint32_t>(u % 3); ++k) q.push_back(k);
    split.train.push_back(q);
    split.val_target.push_back(UINT32_MAX);
    split.test_target.push_back(UINT32_MAX);
  }
  SeqModelConfig c;
  c.dim = 16;
  c.layers = 1;
  c.max_len = 8;
  c.dropout = 0;
  c.epochs = 40;
  c.batch = 8;
  c.lr = 1e-2f;
  c.warmup_steps = 2;
  c.threads = 1;
  auto m = SeqModel::Train(split, ds.num_items(), c, nullptr, false);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto model = std::make_shared<const SeqModel>(std::move(m.value()));

  EngineConfig cfg;
  cfg.model_source = [model](const Dataset& d, const InterestStore& st) -> std::unique_ptr<CandidateSource> {
    return std::make_unique<ModelSource>(d, st, model);
  };
  Engine engine(ds, cfg);
  EXPECT_TRUE(engine.source_active(kSrcModel));
  Event a = testing::Ev(ds, "a", "r0", "view", 1000);
  engine.Ingest(a);
  engine.Ingest(testing::Ev(ds, "a", "r1", "view", 1010));
  const ScoreBuffer& buf = engine.ScoreSource(kSrcModel, a.user, 1020, SIZE_MAX);
  std::vector<float> logits;
  std::vector<uint32_t> hist = {0, 1};
  model->Score(hist, logits);
  float mx = *std::max_element(logits.begin(), logits.end());
  for (uint32_t i = 0; i < ds.num_items(); ++i) EXPECT_NEAR(buf.Score(ItemIdx(i)), std::exp(logits[i] - mx), 1e-5);
  // It learnt the chain: after r0, r1 comes r2.
  ItemIdx r2 = *ds.catalog.Find("r2");
  EXPECT_FLOAT_EQ(buf.Score(r2), 1.0f);
  // The explanation names an item of the user's history.
  std::string why = engine.Explain(buf.EvidenceOf(r2), r2, 1020, false);  // r2 shares the history item's category
  EXPECT_NE(why.find("predicted from your sequence of actions, mostly from \"trail running shoes model"), std::string::npos)
      << why;
  // Without a model the slot is inactive and scores nothing.
  Engine plain(ds);
  EXPECT_FALSE(plain.source_active(kSrcModel));
  plain.Ingest(a);
  EXPECT_TRUE(plain.ScoreSource(kSrcModel, a.user, 1020, SIZE_MAX).touched().empty());
}

}  // namespace
}  // namespace vane

namespace vane {
namespace {

TEST(ModelSource, ServingCacheFollowsEveryEventAndMatchesTheFullPass) {
  Dataset ds = testing::TwoTopicDataset();
  SeqSplit split;
  for (int u = 0; u < 40; ++u) {
    std::vector<uint32_t> q;
    for (uint32_t k = 0; k < 4 + static_cast<uint32_t>(u % 4); ++k) q.push_back((k + static_cast<uint32_t>(u)) % 12);
    split.train.push_back(q);
    split.val_target.push_back(UINT32_MAX);
    split.test_target.push_back(UINT32_MAX);
  }
  SeqModelConfig c;
  c.dim = 16;
  c.layers = 2;
  c.max_len = 16;
  c.epochs = 3;
  c.threads = 1;
  auto m = SeqModel::Train(split, ds.num_items(), c, nullptr, false);
  ASSERT_TRUE(m.ok());
  auto model = std::make_shared<const SeqModel>(std::move(m.value()));
  ModelSource* src = nullptr;
  EngineConfig cfg;
  cfg.model_source = [&](const Dataset& d, const InterestStore& st) -> std::unique_ptr<CandidateSource> {
    auto s = std::make_unique<ModelSource>(d, st, model, /*max_states=*/2);
    src = s.get();
    return s;
  };
  Engine engine(ds, cfg);
  Timestamp t = 1000;
  for (const char* it : {"r0", "h1", "r2"}) engine.Ingest(testing::Ev(ds, "a", it, "view", t += 10));
  UserIdx a(*ds.users.Find("a"));
  auto compare = [&] {
    const ScoreBuffer& full = engine.ScoreSource(kSrcModel, a, t, SIZE_MAX);  // libtorch path
    std::vector<float> f(ds.num_items());
    for (uint32_t i = 0; i < ds.num_items(); ++i) f[i] = full.Score(ItemIdx(i));
    const ScoreBuffer& fast = engine.ScoreSource(kSrcModel, a, t, 1000);       // cached incremental path
    for (uint32_t i = 0; i < ds.num_items(); ++i) EXPECT_NEAR(fast.Score(ItemIdx(i)), f[i], 1e-4) << i;
  };
  compare();                              // builds the cache from history
  EXPECT_EQ(src->cached_users(), 1u);
  engine.Ingest(testing::Ev(ds, "a", "h3", "view", t += 10));  // appended at once to the cached state
  compare();
  // The LRU budget holds: two more users push "a" out; it is rebuilt on demand, still equal.
  for (const char* u : {"b", "c"}) {
    engine.Ingest(testing::Ev(ds, u, "r1", "view", t += 10));
    (void)engine.ScoreSource(kSrcModel, UserIdx(*ds.users.Find(u)), t, 1000);
  }
  EXPECT_EQ(src->cached_users(), 2u);
  EXPECT_EQ(src->cached_vectors(), 1u);  // "a" left its final hidden state behind
  compare();                              // scored from the saved vector, no rebuild
  EXPECT_EQ(src->cached_users(), 2u);
  engine.Ingest(testing::Ev(ds, "a", "r4", "view", t += 10));  // the saved vector is stale now: dropped
  EXPECT_EQ(src->cached_vectors(), 0u);
  compare();                              // rebuilt from history, the new event included
  EXPECT_EQ(src->cached_users(), 2u);
  EXPECT_EQ(src->cached_vectors(), 1u);  // the State it displaced left its vector
}

TEST(ModelSource, ConcurrentRequestsGiveTheSequentialAnswers) {
  // Requests of many users at once (the server's worker threads) share the caches: states built, evicted to
  // vectors and rebuilt concurrently must give exactly what one thread gets.
  Dataset ds = testing::TwoTopicDataset();
  auto model = TinyModel(ds, /*third_step=*/3, /*epochs=*/1);
  ASSERT_TRUE(model);
  EngineConfig cfg;
  cfg.model_source = [&](const Dataset& d, const InterestStore& st) -> std::unique_ptr<CandidateSource> {
    return std::make_unique<ModelSource>(d, st, model, /*max_states=*/3, 50000, nullptr, /*max_vectors=*/4);
  };
  Engine engine(ds, cfg);
  Timestamp t = 1000;
  std::vector<UserIdx> users = IngestUsers(engine, ds, "c", 12, 4, 2, t);
  auto scores = [&](UserIdx u) { return ServedScores(engine, ds, u, t); };
  std::vector<std::vector<float>> want;
  for (UserIdx u : users) want.push_back(scores(u));
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int th = 0; th < 4; ++th)
    threads.emplace_back([&, th] {
      for (int r = 0; r < 300; ++r) {
        size_t k = static_cast<size_t>((r * 7 + th * 5) % static_cast<int>(users.size()));
        auto got = scores(users[k]);
        for (size_t i = 0; i < got.size(); ++i)
          if (std::fabs(got[i] - want[k][i]) > 1e-5f) ++mismatches;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(ModelSource, PrepareFillsTheCachesAheadOfRequestsWithoutEvicting) {
  // A background pass computes users' states before they ask: full States while there is room, then vectors, never
  // displacing a user a request brought in; a prepared user's scores are exactly a request-built user's.
  Dataset ds = testing::TwoTopicDataset();
  auto model = TinyModel(ds, /*third_step=*/3, /*epochs=*/1);
  ASSERT_TRUE(model);
  ModelSource* src = nullptr;
  EngineConfig cfg;
  cfg.model_source = [&](const Dataset& d, const InterestStore& st) -> std::unique_ptr<CandidateSource> {
    auto s = std::make_unique<ModelSource>(d, st, model, /*max_states=*/2, 50000, nullptr, /*max_vectors=*/3);
    src = s.get();
    return s;
  };
  Engine engine(ds, cfg);
  Timestamp t = 1000;
  std::vector<UserIdx> users = IngestUsers(engine, ds, "p", 7, 3, 3, t);
  auto scores = [&](UserIdx u) { return ServedScores(engine, ds, u, t); };
  std::vector<float> requested = scores(users[0]);  // a request's State: it must stay
  const CandidateSource& model_slot = engine.source(kSrcModel);
  EXPECT_TRUE(model_slot.Prepare(users[0]));  // already cached: nothing to do
  EXPECT_EQ(src->cached_users(), 1u);
  for (size_t k = 1; k <= 4; ++k) EXPECT_TRUE(model_slot.Prepare(users[k])) << k;
  EXPECT_EQ(src->cached_users(), 2u);    // users[0] and users[1]
  EXPECT_EQ(src->cached_vectors(), 3u);  // users[2..4]
  EXPECT_FALSE(model_slot.Prepare(users[5]));  // both caches full: the pass stops, nothing evicted
  EXPECT_EQ(src->cached_users(), 2u);
  EXPECT_EQ(src->cached_vectors(), 3u);
  EXPECT_EQ(scores(users[0]), requested);
  // Prepared users are served from the caches: scoring them builds nothing (the counts stay), and their scores
  // equal a fresh engine's request-built ones.
  std::vector<std::vector<float>> prepared;
  for (size_t k = 1; k <= 4; ++k) prepared.push_back(scores(users[k]));
  EXPECT_EQ(src->cached_users(), 2u);
  EXPECT_EQ(src->cached_vectors(), 3u);
  Engine fresh(ds, cfg);
  t = 1000;
  EXPECT_EQ(IngestUsers(fresh, ds, "p", 7, 3, 3, t), users);
  for (size_t k = 1; k <= 4; ++k) {
    std::vector<float> built = ServedScores(fresh, ds, users[k], t);
    for (uint32_t i = 0; i < ds.num_items(); ++i) EXPECT_NEAR(prepared[k - 1][i], built[i], 1e-6f) << k;
  }
  // A source without per-user state has nothing to prepare.
  EXPECT_FALSE(engine.source(kSrcCovisit).Prepare(users[6]));
}

}  // namespace
}  // namespace vane

namespace vane {
namespace {

TEST(ModelSource, HnswServingFindsTheSameTopItemsOnASmallCatalogue) {
  Dataset ds = testing::TwoTopicDataset();
  auto model = TinyModel(ds, /*third_step=*/2, /*epochs=*/2);
  ASSERT_TRUE(model);
  Engine engine(ds);
  engine.Ingest(testing::Ev(ds, "a", "r0", "view", 1000));
  engine.Ingest(testing::Ev(ds, "a", "h2", "view", 1010));
  UserIdx a(*ds.users.Find("a"));
  ModelSource exact(ds, engine.interests(), model, 10, /*ann_min_items=*/1000000);
  ModelSource ann(ds, engine.interests(), model, 10, /*ann_min_items=*/1);
  RetrievalContext ctx{a, 1020, engine.interests().Find(a), 5};
  ScoreBuffer x, y;
  x.Reset(ds.num_items());
  y.Reset(ds.num_items());
  exact.Generate(ctx, x);
  ann.Generate(ctx, y);
  ASSERT_EQ(x.touched().size(), 5u);
  ASSERT_EQ(y.touched().size(), 5u);
  for (uint32_t i : x.touched()) {
    EXPECT_TRUE(y.Has(ItemIdx(i))) << i;
    EXPECT_NEAR(y.Score(ItemIdx(i)), x.Score(ItemIdx(i)), 1e-4);
  }
}

}  // namespace
}  // namespace vane
