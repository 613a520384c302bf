// The model reads events, not just items: searches are positions (their query text is the input), each position
// carries its action and the time since the previous event, and subword embeddings can start from pre-trained word
// vectors. The trained-behaviour tests (search, action, keyword head) are in model_events_slow_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "model_test_util.h"
#include "test_util.h"
#include "vane/model/infer.h"
#include "vane/model/interest_text.h"
#include "vane/model/seq_model.h"
#include "vane/text/word_vectors.h"

namespace vane {
namespace {

using testing::Small;

TEST(GapBucket, BucketsAreOrderedAndBounded) {
  EXPECT_EQ(GapBucket(-5), 0);
  EXPECT_EQ(GapBucket(0), 1);
  EXPECT_EQ(GapBucket(9), 1);
  EXPECT_EQ(GapBucket(10), 2);
  EXPECT_EQ(GapBucket(59), 2);
  EXPECT_EQ(GapBucket(3599), 4);
  EXPECT_EQ(GapBucket(86400), 7);
  EXPECT_EQ(GapBucket(365LL * 86400), 9);
  EXPECT_EQ(PackSide(3, 4), (3 << 4) | 4);
  EXPECT_EQ(ActionSlot(0), 1);
  EXPECT_EQ(ActionSlot(40), 15);
}

TEST(MakeSeqSplit, SearchesArePositionsAndTargetsAreItems) {
  Dataset ds = testing::TwoTopicDataset();
  testing::Ev(ds, "u", "r0", "view", 1000);
  testing::Ev(ds, "u", "", "search", 1005, "hiking boots");
  testing::Ev(ds, "u", "h1", "view", 1100);
  testing::Ev(ds, "u", "h2", "cart", 5000);
  testing::Ev(ds, "u", "", "search", 5001, "alpine");
  testing::Ev(ds, "u", "h3", "purchase", 5002);
  const uint32_t N = static_cast<uint32_t>(ds.num_items());
  SeqSplit s = MakeSeqSplit(ds, true);
  ASSERT_EQ(s.train.size(), 1u);
  EXPECT_EQ(s.num_queries, 2u);
  // Items r0 h1 h2 h3: validation = h2, test = h3; train = r0, search, h1.
  std::vector<uint32_t> want = {ds.catalog.Find("r0")->v, N + 0, ds.catalog.Find("h1")->v};
  EXPECT_EQ(s.train[0], want);
  EXPECT_EQ(s.val_target[0], ds.catalog.Find("h2")->v);
  EXPECT_EQ(s.test_target[0], ds.catalog.Find("h3")->v);
  ASSERT_EQ(s.side[0].size(), 3u);
  // Actions vary, times are known: first event gap unknown, the search 5 s later (< 10 s), h1 95 s later (< 10 min).
  EXPECT_EQ(s.side[0][0], PackSide(ActionSlot(*ds.actions.Find("view")), 0));
  EXPECT_EQ(s.side[0][1], PackSide(ActionSlot(*ds.actions.Find("search")), 1));
  EXPECT_EQ(s.side[0][2], PackSide(ActionSlot(*ds.actions.Find("view")), 3));
  EXPECT_EQ(s.val_side[0], PackSide(ActionSlot(*ds.actions.Find("cart")), 5));  // 3,900 s: < 6 h
  // Without searches the sequence is the evaluator's item sequence.
  SeqSplit items = MakeSeqSplit(ds, false);
  EXPECT_EQ(items.train[0].size(), 2u);
  EXPECT_EQ(items.num_queries, 0u);
}

TEST(MakeSeqSplit, LowRatingsAreNeitherHistoryNorTargetAsInTheEvaluator) {
  // A rating of half the scale or less is negative feedback: the evaluator's history and targets leave it out, and
  // so must the model's training split, or the model learns sequences it is never asked about.
  Dataset ds = testing::TwoTopicDataset();
  auto rate = [&](const std::string& item, Timestamp ts, float stars) {
    testing::Ev(ds, "u", item, "rating", ts);
    ds.events.back().value = stars;
    ds.events.back().has_value = true;
  };
  testing::Ev(ds, "u", "r0", "view", 1000);
  rate("r1", 1100, 4.0f);
  rate("h0", 1200, 1.0f);  // disliked
  testing::Ev(ds, "u", "r2", "view", 1300);
  rate("h1", 1400, 2.5f);  // half the scale: not positive
  rate("r3", 1500, 5.0f);
  auto id = [&](const char* name) { return ds.catalog.Find(name)->v; };
  SeqSplit s = MakeSeqSplit(ds, false);
  EXPECT_EQ(s.train[0], (std::vector<uint32_t>{id("r0"), id("r1")}));
  EXPECT_EQ(s.val_target[0], id("r2"));
  EXPECT_EQ(s.test_target[0], id("r3"));
  auto seqs = ds.UserItemSequences();
  ASSERT_EQ(seqs[0].size(), 4u);
  EXPECT_EQ(seqs[0][2].v, id("r2"));
}

TEST(MakeSeqSplit, FollowsTimeNotFileOrderAsTheEvaluatorDoes) {
  // A MovieLens CSV is sorted by user and item: the split must read events by time (ties in file order), or the model
  // learns the catalogue's id order and is tested on sequences nobody lived.
  Dataset ds = testing::TwoTopicDataset();
  testing::Ev(ds, "u", "h0", "view", 1400);
  testing::Ev(ds, "u", "h1", "view", 1100);
  testing::Ev(ds, "u", "h2", "view", 1000);
  testing::Ev(ds, "u", "h3", "view", 1200);
  testing::Ev(ds, "u", "h4", "view", 1200);  // a tie with h3: file order
  auto id = [&](const char* name) { return ds.catalog.Find(name)->v; };
  SeqSplit s = MakeSeqSplit(ds, false);
  EXPECT_EQ(s.train[0], (std::vector<uint32_t>{id("h2"), id("h1"), id("h3")}));
  EXPECT_EQ(s.val_target[0], id("h4"));
  EXPECT_EQ(s.test_target[0], id("h0"));
  auto seqs = ds.UserItemSequences();
  ASSERT_EQ(seqs[0].size(), 5u);
  EXPECT_EQ(seqs[0].front().v, id("h2"));
  // Order-only data keeps file order whatever its synthetic times say.
  ds.has_timestamps = false;
  EXPECT_EQ(MakeSeqSplit(ds, false).test_target[0], id("h4"));
}

TEST(WordVectors, ReadsTheTextFormatAndKeepsOnlyWantedWords) {
  auto wv = text::LoadWordVectors(std::string(VANE_FIXTURES) + "/vectors/tiny.vec",
                                  [](const std::string& w) { return w != "unused"; });
  ASSERT_TRUE(wv.ok()) << wv.status().ToString();
  EXPECT_EQ(wv->dim, 4);
  EXPECT_EQ(wv->lines, 5u);
  EXPECT_EQ(wv->vectors.size(), 4u);
  EXPECT_EQ(wv->vectors.count("unused"), 0u);
  ASSERT_EQ(wv->vectors.count("越野"), 1u);
  EXPECT_FLOAT_EQ(wv->vectors.at("越野")[3], 1.0f);
}

TEST(WordVectors, MalformedFilesNameTheLineAndTheProblem) {
  auto all = [](const std::string&) { return true; };
  auto ragged = text::LoadWordVectors(std::string(VANE_FIXTURES) + "/vectors/ragged.vec", all);
  ASSERT_FALSE(ragged.ok());
  EXPECT_NE(ragged.status().message().find("ragged.vec:2: word 'beta' has 2 values, expected 3"), std::string::npos)
      << ragged.status().ToString();
  // A bad value is an error even in a line nobody wanted.
  auto notnum = text::LoadWordVectors(std::string(VANE_FIXTURES) + "/vectors/notnum.vec",
                                      [](const std::string& w) { return w == "alpha"; });
  ASSERT_FALSE(notnum.ok());
  EXPECT_NE(notnum.status().message().find("notnum.vec:2: value 2 of word 'beta' is not a number: 'x1'"),
            std::string::npos)
      << notnum.status().ToString();
  EXPECT_FALSE(text::LoadWordVectors("/nonexistent/x.vec", all).ok());
}

// Pre-trained vectors set the starting subword embeddings: two pieces with near-parallel vectors start near-parallel,
// at the random initialisation's scale; pieces without a vector keep the random start.
TEST(WordVectors, InitialiseTheSubwordTable) {
  SeqSplit s;
  for (int u = 0; u < 4; ++u) {
    s.train.push_back({0, 1, 2});
    s.val_target.push_back(UINT32_MAX);
    s.test_target.push_back(UINT32_MAX);
  }
  ItemText text;
  text.vocab_size = 4;
  text.pieces = {{0}, {1}, {2}};
  text.init_dim = 3;  // differs from the width: projected
  text.init = {1, 0, 0, /*1*/ 0.99f, 0.05f, 0, /*2*/ 0, 0, 1, /*3*/ 0, 0, 0};
  text.init_known = {1, 1, 1, 0};
  SeqModelConfig c = Small();
  c.epochs = 1;
  c.lr = 1e-12f;  // training leaves the table where it started
  auto m = SeqModel::Train(s, 3, c, nullptr, false, &text);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  SeqWeights w = m->Export();
  ASSERT_EQ(w.vocab, 4);
  auto row = [&](int p) { return std::vector<float>(w.sub.begin() + p * w.dim, w.sub.begin() + (p + 1) * w.dim); };
  auto cosine = [](const std::vector<float>& a, const std::vector<float>& b) {
    double d = 0, na = 0, nb = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      d += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    return d / std::sqrt(na * nb);
  };
  EXPECT_GT(cosine(row(0), row(1)), 0.95);
  EXPECT_LT(std::abs(cosine(row(0), row(2))), 0.6);
  double sq = 0;
  for (float v : row(0)) sq += v * v;
  EXPECT_NEAR(std::sqrt(sq), 0.02 * std::sqrt(16.0), 1e-3);  // the random initialisation's row norm
}

}  // namespace
}  // namespace vane
