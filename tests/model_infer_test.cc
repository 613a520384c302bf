// Incremental C++ inference against the libtorch forward pass (the oracle).
#include "vane/model/infer.h"

#include <gtest/gtest.h>

#include <cmath>

namespace vane {
namespace {

SeqSplit RandomSeqs(int users, int items, int len, uint64_t seed) {
  SeqSplit s;
  uint64_t x = seed;
  for (int u = 0; u < users; ++u) {
    std::vector<uint32_t> q;
    for (int k = 0; k < len; ++k) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      q.push_back(static_cast<uint32_t>((x >> 33) % static_cast<uint64_t>(items)));
    }
    s.train.push_back(q);
    s.val_target.push_back(UINT32_MAX);
    s.test_target.push_back(UINT32_MAX);
  }
  return s;
}

// A small untuned model's configuration: one thread, the default learning rate and dropout.
SeqModelConfig Shape(int dim, int layers, int heads, int max_len, int epochs) {
  SeqModelConfig c;
  c.dim = dim;
  c.layers = layers;
  c.heads = heads;
  c.max_len = max_len;
  c.epochs = epochs;
  c.threads = 1;
  return c;
}

TEST(SeqInference, AppendingEventsMatchesTheFullForwardPass) {
  SeqSplit s = RandomSeqs(60, 25, 10, 3);
  SeqModelConfig c = Shape(16, 2, 2, 12, 3);
  ItemText text;
  text.vocab_size = 6;
  for (uint32_t i = 0; i < 25; ++i) text.pieces.push_back({static_cast<int>(i % 6), static_cast<int>((i / 6) % 6)});
  auto m = SeqModel::Train(s, 25, c, nullptr, false, &text);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  SeqInference inf = SeqInference::FromModel(*m);
  SeqInference::State st;
  std::vector<uint32_t> hist;
  std::vector<float> fast, ref;
  for (uint32_t item : {3u, 17u, 4u, 4u, 22u, 0u, 9u, 13u, 5u, 1u, 24u, 8u}) {  // 12 events = max_len
    inf.Append(st, item);
    hist.push_back(item);
    inf.Score(st, fast);
    m->Score(hist, ref);
    ASSERT_EQ(fast.size(), ref.size());
    double worst = 0;
    for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(fast[i]) - ref[i]));
    EXPECT_LT(worst, 1e-4) << "after " << hist.size() << " events";
  }
  EXPECT_EQ(inf.StateBytes(), 2u * 2 * 12 * 16 * sizeof(float) + 16 * sizeof(float));
}

TEST(SeqInference, PrefillEqualsAppendingOneByOneBitForBit) {
  // The position-parallel build of a state (a user's first request, the background pass) must be the incremental
  // path exactly: keys, values, hidden state and attended position, for every length up to max_len, with and
  // without side embeddings.
  for (bool side : {false, true}) {
    SeqSplit s = RandomSeqs(40, 30, 14, side ? 9 : 7);
    if (side)
      for (auto& q : s.train) s.side.push_back(std::vector<uint8_t>(q.size(), PackSide(1, 3)));
    SeqModelConfig c = Shape(16, 3, 4, /*max_len: not a multiple of the 8-position block*/ 13, 2);
    auto m = SeqModel::Train(s, 30, c, nullptr, false);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    SeqInference inf = SeqInference::FromModel(*m);
    EXPECT_EQ(inf.weights().act.empty(), !side);
    std::vector<uint32_t> tokens;
    uint64_t x = 11;
    for (int k = 0; k < c.max_len; ++k) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      tokens.push_back(static_cast<uint32_t>((x >> 33) % 30));
    }
    for (size_t n = 1; n <= tokens.size(); ++n) {
      SeqInference::State one, all;
      for (size_t k = 0; k < n; ++k) inf.Append(one, tokens[k]);
      inf.Prefill(all, std::span<const uint32_t>(tokens.data(), n));
      EXPECT_EQ(all.count, one.count) << n;
      EXPECT_EQ(all.attended, one.attended) << n;
      EXPECT_EQ(all.h, one.h) << "side " << side << ", " << n << " events";
      EXPECT_EQ(all.k, one.k) << n;
      EXPECT_EQ(all.v, one.v) << n;
      // And it goes on like one built by appending.
      inf.Append(one, 5);
      inf.Append(all, 5);
      EXPECT_EQ(all.h, one.h) << n;
    }
  }
}

TEST(SeqInferenceDeathTest, PrefillRefusesAUsedStateTooManyTokensAndSearches) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  SeqSplit s = RandomSeqs(20, 10, 6, 3);
  SeqModelConfig c = Shape(8, 1, 2, 4, 1);
  auto m = SeqModel::Train(s, 10, c, nullptr, false);
  ASSERT_TRUE(m.ok());
  SeqInference inf = SeqInference::FromModel(*m);
  const std::vector<uint32_t> five = {1, 2, 3, 4, 5}, search = {1, 10};
  SeqInference::State used;
  inf.Append(used, 1);
  EXPECT_DEATH(inf.Prefill(used, std::span<const uint32_t>(five.data(), 2)), "append to a used one");
  SeqInference::State fresh;
  EXPECT_DEATH(inf.Prefill(fresh, five), "at most max_len");
  EXPECT_DEATH(inf.Prefill(fresh, search), "items only");
  inf.Prefill(fresh, std::span<const uint32_t>(five.data(), 4));  // what it is made for
  EXPECT_EQ(fresh.count, 4);
}

TEST(SeqInference, BeyondTheWindowTheCacheSlides) {
  SeqSplit s = RandomSeqs(30, 10, 6, 5);
  // With one layer, cached keys depend only on their own event: sliding is exact.
  SeqModelConfig c = Shape(8, 1, 2, 4, 2);
  auto m = SeqModel::Train(s, 10, c, nullptr, false);
  ASSERT_TRUE(m.ok());
  SeqInference inf = SeqInference::FromModel(*m);
  SeqInference::State st;
  std::vector<uint32_t> hist;
  std::vector<float> fast, ref;
  for (uint32_t item : {1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u, 9u}) {
    inf.Append(st, item);
    hist.push_back(item);
  }
  inf.Score(st, fast);
  m->Score(hist, ref);  // the libtorch path uses the last max_len events
  for (size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR(fast[i], ref[i], 1e-4);
}

}  // namespace
}  // namespace vane

namespace vane {
namespace {

// Items 0..9 are category 0, 10..19 category 1; users stay in one category. The interest head must say which, and
// the incremental path must agree with the libtorch one.
TEST(SeqInterestHead, LearnsTheCategoryAndBothPathsAgree) {
  SeqSplit s;
  uint64_t x = 5;
  for (int u = 0; u < 100; ++u) {
    std::vector<uint32_t> q;
    for (int k = 0; k < 6; ++k) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      q.push_back((u % 2 ? 10u : 0u) + static_cast<uint32_t>((x >> 33) % 10));
    }
    s.train.push_back(q);
    s.val_target.push_back(UINT32_MAX);
    s.test_target.push_back(UINT32_MAX);
  }
  ItemCategories cats;
  cats.num_categories = 2;
  for (int i = 0; i < 20; ++i) cats.main.push_back(i < 10 ? 0 : 1);
  SeqModelConfig c;
  c.dim = 16;
  c.layers = 1;
  c.max_len = 8;
  c.epochs = 15;
  c.lr = 1e-2f;
  c.warmup_steps = 5;
  c.threads = 1;
  c.interest_weight = 1.0f;
  auto m = SeqModel::Train(s, 20, c, nullptr, false, nullptr, &cats);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->num_categories(), 2);
  std::vector<uint32_t> hist = {12, 15, 11};
  auto p = m->PredictInterest(hist);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_NEAR(p[0] + p[1], 1.0, 1e-5);
  EXPECT_GT(p[1], 0.8);
  SeqInference inf = SeqInference::FromModel(*m);
  SeqInference::State st;
  for (uint32_t i : hist) inf.Append(st, i);
  std::vector<float> q;
  inf.Interest(st, q);
  ASSERT_EQ(q.size(), 2u);
  EXPECT_NEAR(q[1], p[1], 1e-4);
}

}  // namespace
}  // namespace vane
