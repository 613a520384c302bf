// Sequence-model tests that train until a planted pattern is learnt (slow label).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "model_test_util.h"
#include "vane/model/seq_model.h"

namespace vane {
namespace {

using testing::Chains;
using testing::Tiny;

TEST(SeqModel, LearnsAPlantedSequence) {
  SeqSplit s = Chains(200, 20, 8, 3);
  std::vector<EpochLog> log;
  auto m = SeqModel::Train(s, 20, Tiny(), &log, false);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_FALSE(log.empty());
  EXPECT_LT(log.back().loss, log.front().loss);
  double best = 0;
  for (const auto& e : log) best = std::max(best, e.val_hr10);
  EXPECT_GT(best, 0.9);
  // The top-scored next item after ..., 5, 6 is 7.
  std::vector<float> scores;
  std::vector<uint32_t> hist = {3, 4, 5, 6};
  m->Score(hist, scores);
  ASSERT_EQ(scores.size(), 20u);
  EXPECT_EQ(std::max_element(scores.begin(), scores.end()) - scores.begin(), 7);
}

// Items 0..7 are "alpha" items, 8..15 "beta" items, 16 is an alpha item nobody ever chose. Sequences stay within
// a group. With text, the cold alpha item must outrank every beta item after an alpha history.
TEST(SeqModelText, ItemsWithTextButNoInteractionsAreScoredByTheirText) {
  SeqSplit s;
  uint64_t x = 7;
  for (int u = 0; u < 120; ++u) {
    std::vector<uint32_t> q;
    uint32_t base = (u % 2) ? 8 : 0;
    for (int k = 0; k < 6; ++k) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      q.push_back(base + static_cast<uint32_t>((x >> 33) % 8));
    }
    s.train.push_back(q);
    s.val_target.push_back(UINT32_MAX);
    s.test_target.push_back(UINT32_MAX);
  }
  ItemText text;
  text.vocab_size = 4;  // piece 0: "alpha", 1: "beta", 2/3: per-item noise words
  for (uint32_t i = 0; i < 17; ++i) text.pieces.push_back({i < 8 || i == 16 ? 0 : 1, static_cast<int>(2 + i % 2)});
  SeqModelConfig c = Tiny();
  c.epochs = 30;
  auto m = SeqModel::Train(s, 17, c, nullptr, false, &text);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(m->has_text());
  std::vector<float> sc;
  std::vector<uint32_t> hist = {1, 3, 2, 5};
  m->Score(hist, sc);
  ASSERT_EQ(sc.size(), 17u);
  float best_beta = *std::max_element(sc.begin() + 8, sc.begin() + 16);
  EXPECT_GT(sc[16], best_beta);
  // Saved and loaded with its text tables.
  auto dir = (std::filesystem::temp_directory_path() / "vane_model_text_test").string();
  ASSERT_TRUE(m->Save(dir).ok());
  auto back = SeqModel::Load(dir);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  std::vector<float> sc2;
  back->Score(hist, sc2);
  for (size_t i = 0; i < sc.size(); ++i) EXPECT_FLOAT_EQ(sc[i], sc2[i]);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vane
