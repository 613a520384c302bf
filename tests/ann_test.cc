// HNSW against the exact index (the oracle).
#include "vane/retrieve/ann.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

namespace vane {
namespace {

TEST(VectorIndex, ExactFindsTheLargestInnerProducts) {
  std::vector<float> v = {1, 0, 0, 1, 2, 2, -1, -1};
  auto idx = MakeExactIndex();
  idx->Build(v.data(), 4, 2);
  float q[2] = {1, 0.5f};
  auto r = idx->Search(q, 2);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].first, 2u);
  EXPECT_FLOAT_EQ(r[0].second, 3.0f);
  EXPECT_EQ(r[1].first, 0u);
}

}  // namespace
}  // namespace vane
