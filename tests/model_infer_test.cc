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

TEST(SeqInference, AppendingEventsMatchesTheFullForwardPass) {
  SeqSplit s = RandomSeqs(60, 25, 10, 3);
  SeqModelConfig c;
  c.dim = 16;
  c.layers = 2;
  c.heads = 2;
  c.max_len = 12;
  c.epochs = 3;
  c.threads = 1;
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

TEST(SeqInference, BeyondTheWindowTheCacheSlides) {
  SeqSplit s = RandomSeqs(30, 10, 6, 5);
  SeqModelConfig c;
  c.dim = 8;
  c.layers = 1;  // with one layer, cached keys depend only on their own event: sliding is exact
  c.heads = 2;
  c.max_len = 4;
  c.epochs = 2;
  c.threads = 1;
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
