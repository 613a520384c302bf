// HNSW against the exact index (the oracle) on a clustered set large enough to measure recall (slow label).
#include "vane/retrieve/ann.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

namespace vane {
namespace {

TEST(VectorIndex, HnswRecallAgainstExactOnClusteredVectors) {
  // 20,000 vectors in 200 clusters (item embeddings are clustered by topic), 32 dims.
  const size_t n = 20000;
  const int d = 32;
  std::mt19937_64 rng(3);
  std::normal_distribution<float> g(0, 1);
  std::vector<float> centres(200 * d), v(n * d);
  for (float& c : centres) c = g(rng);
  for (size_t r = 0; r < n; ++r)
    for (int c = 0; c < d; ++c) v[r * d + c] = centres[(r % 200) * d + c] + 0.3f * g(rng);
  auto exact = MakeExactIndex();
  auto hnsw = MakeHnswIndex();
  exact->Build(v.data(), n, d);
  hnsw->Build(v.data(), n, d);
  EXPECT_EQ(hnsw->size(), n);
  double hits = 0, total = 0;
  for (int t = 0; t < 100; ++t) {
    std::vector<float> q(d);
    for (float& x : q) x = g(rng);
    auto a = exact->Search(q.data(), 10), b = hnsw->Search(q.data(), 10);
    ASSERT_EQ(b.size(), 10u);
    std::set<uint32_t> truth;
    for (auto& p : a) truth.insert(p.first);
    for (auto& p : b) hits += truth.count(p.first);
    total += 10;
    for (size_t i = 1; i < b.size(); ++i) EXPECT_GE(b[i - 1].second, b[i].second);  // best first
  }
  EXPECT_GE(hits / total, 0.95);
}

}  // namespace
}  // namespace vane
