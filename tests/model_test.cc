#include "vane/model/seq_model.h"

#include "model_test_util.h"
#include "vane/model/infer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace vane {
namespace {

using testing::Chains;
using testing::Tiny;

TEST(SeqModel, SaveLoadGivesTheSameScores) {
  SeqSplit s = Chains(50, 12, 6, 5);
  SeqModelConfig c = Tiny();
  c.epochs = 2;
  auto m = SeqModel::Train(s, 12, c, nullptr, false);
  ASSERT_TRUE(m.ok());
  auto dir = (std::filesystem::temp_directory_path() / "vane_model_test").string();
  ASSERT_TRUE(m->Save(dir).ok());
  auto back = SeqModel::Load(dir);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  std::vector<float> a, b;
  std::vector<uint32_t> hist = {1, 2, 3};
  m->Score(hist, a);
  back->Score(hist, b);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_FLOAT_EQ(a[i], b[i]);
  std::filesystem::remove_all(dir);
}

TEST(SeqModel, SameSeedSameModel) {
  SeqSplit s = Chains(40, 10, 6, 9);
  SeqModelConfig c = Tiny();
  c.epochs = 2;
  auto a = SeqModel::Train(s, 10, c, nullptr, false);
  auto b = SeqModel::Train(s, 10, c, nullptr, false);
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<float> x, y;
  std::vector<uint32_t> hist = {0, 1};
  a->Score(hist, x);
  b->Score(hist, y);
  EXPECT_EQ(x, y);
}

TEST(SeqModel, ClearErrors) {
  SeqSplit empty;
  auto m = SeqModel::Train(empty, 10, Tiny(), nullptr, false);
  EXPECT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  auto l = SeqModel::Load("/nonexistent/model");
  EXPECT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace vane

namespace vane {
namespace {

// Hand computation of the training objective from the plain C++ inference's outputs. Per item target of each
// sequence (a search is no target): the next-item cross-entropy over every item but `untrained` (left out of the
// softmax, as in training), the interest head's cross-entropy when the target has a category, and the keyword
// head's cross-entropy against the uniform distribution over the target's keywords when it has any.
struct HandLoss {
  double item = 0, interest = 0, keyword = 0;
  int items = 0, interests = 0, keywords = 0;
};

HandLoss ComputeHandLoss(const SeqInference& inf, const SeqSplit& s, uint32_t num_items, uint32_t untrained,
                         const ItemCategories* cats, const ItemKeywords* kws) {
  HandLoss h;
  std::vector<float> scores, probs;
  for (const auto& seq : s.train) {
    SeqInference::State st;
    for (size_t k = 0; k + 1 < seq.size(); ++k) {
      inf.Append(st, seq[k]);
      const uint32_t target = seq[k + 1];
      if (target >= num_items) continue;
      inf.Score(st, scores);
      double z = 0;
      for (uint32_t i = 0; i < num_items; ++i)
        if (i != untrained) z += std::exp(static_cast<double>(scores[i]));
      h.item += std::log(z) - scores[target];
      ++h.items;
      if (cats && cats->main[target] >= 0) {
        inf.Interest(st, probs);
        h.interest -= std::log(static_cast<double>(probs[static_cast<size_t>(cats->main[target])]));
        ++h.interests;
      }
      if (kws && !kws->ids[target].empty()) {
        inf.Keywords(st, probs);
        double sum = 0;
        for (int w : kws->ids[target]) sum -= std::log(static_cast<double>(probs[static_cast<size_t>(w)]));
        h.keyword += sum / static_cast<double>(kws->ids[target].size());
        ++h.keywords;
      }
    }
  }
  return h;
}

TEST(SeqModelChecks, TrainingLossMatchesAHandComputation) {
  constexpr uint32_t kItems = 10, kUntrained = 9;  // item 9 never occurs; tokens 10 and 11 are searches
  SeqSplit s;
  s.num_queries = 2;
  s.train = {{0, 1, 2, 3}, {4, 10, 5, 6, 7}, {2, 3, 11, 8}, {8, 7}, {5}};
  s.val_target.assign(s.train.size(), UINT32_MAX);
  s.test_target.assign(s.train.size(), UINT32_MAX);
  ItemText text;
  text.vocab_size = 5;
  for (uint32_t i = 0; i < kItems; ++i) text.pieces.push_back({static_cast<int>(i % 5)});
  text.query_pieces = {{1, 2}, {3}};
  ItemCategories cats;
  cats.num_categories = 3;
  cats.main = {0, 0, 1, 1, 2, 2, -1, 0, 1, 2};  // item 6 has none
  ItemKeywords kws;
  kws.names = {"a", "b", "c", "d"};
  kws.ids = {{0}, {0, 1}, {1}, {}, {2, 3}, {3}, {0, 2}, {}, {1, 3}, {2}};
  SeqModelConfig c = Tiny();
  c.epochs = 2;
  c.interest_weight = 0.3f;
  c.keyword_weight = 0.2f;
  auto m = SeqModel::Train(s, kItems, c, nullptr, false, &text, &cats, &kws);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto loss = m->TrainingLoss(s);
  ASSERT_TRUE(loss.ok()) << loss.status().ToString();
  HandLoss h = ComputeHandLoss(SeqInference::FromModel(*m), s, kItems, kUntrained, &cats, &kws);
  ASSERT_EQ(h.items, 9);
  ASSERT_EQ(h.interests, 8);
  ASSERT_EQ(h.keywords, 5);
  double want = h.item / h.items + 0.3 * h.interest / h.interests + 0.2 * h.keyword / h.keywords;
  EXPECT_NEAR(*loss, want, 1e-4 * want);

  // Without the heads only the next-item term is left.
  SeqModelConfig plain = c;
  plain.interest_weight = 0;
  plain.keyword_weight = 0;
  auto m0 = SeqModel::Train(s, kItems, plain, nullptr, false, &text);
  ASSERT_TRUE(m0.ok()) << m0.status().ToString();
  auto loss0 = m0->TrainingLoss(s);
  ASSERT_TRUE(loss0.ok()) << loss0.status().ToString();
  HandLoss h0 = ComputeHandLoss(SeqInference::FromModel(*m0), s, kItems, kUntrained, nullptr, nullptr);
  EXPECT_NEAR(*loss0, h0.item / h0.items, 1e-4 * h0.item / h0.items);
}

TEST(SeqModelChecks, AttentionIsCausal) {
  SeqModelConfig c = Tiny();
  auto r = CheckCausality(30, c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(*r);
}

}  // namespace
}  // namespace vane

#include "vane/text/subword.h"

namespace vane {
namespace {

// libtorch's protobuf and Debian sentencepiece's embedded protobuf must coexist in one process.
TEST(SeqModelProcess, TokenizerWorksBesideLibtorch) {
  SeqSplit s = Chains(20, 10, 6, 2);
  SeqModelConfig c = Tiny();
  c.epochs = 1;
  auto m = SeqModel::Train(s, 10, c, nullptr, false);
  ASSERT_TRUE(m.ok());
  auto tok = text::SubwordTokenizer::Train({"trail running shoes", "越野跑鞋 推荐", "camping tent 帐篷"}, {});
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_FALSE(tok->Encode("越野跑鞋").empty());
}

}  // namespace
}  // namespace vane


namespace vane {
namespace {

TEST(SeqModelCheckpoint, ResumeEqualsUninterrupted) {
  SeqSplit s = Chains(80, 15, 7, 4);
  SeqModelConfig c = Tiny();
  c.dropout = 0.2f;  // the dropout generator must come back too
  c.epochs = 4;
  c.negatives = 5;   // and the sampling of negatives
  auto dir = (std::filesystem::temp_directory_path() / "vane_ckpt_test").string();
  std::filesystem::remove_all(dir);
  std::vector<EpochLog> full_log;
  auto full = SeqModel::Train(s, 15, c, &full_log, false);
  ASSERT_TRUE(full.ok());
  // Interrupted after two epochs, then resumed to four.
  SeqModelConfig first = c;
  first.checkpoint_dir = dir;
  // The learning-rate schedule depends on the planned total: plan 4 epochs, stop after 2 by patience-free means.
  first.epochs = 4;
  first.stop_after_epoch = 2;
  ASSERT_TRUE(SeqModel::Train(s, 15, first, nullptr, false).ok());
  SeqModelConfig second = c;
  second.checkpoint_dir = dir;
  second.resume = true;
  std::vector<EpochLog> log;
  auto resumed = SeqModel::Train(s, 15, second, &log, false);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  ASSERT_EQ(log.size(), 4u);  // the curve of the first part comes back with the checkpoint
  // Epochs 3 and 4 ran after the resume: identical losses mean identical weights, optimiser state, dropout masks
  // and sampled negatives.
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(log[i].loss, full_log[i].loss) << "epoch " << i + 1;
    EXPECT_EQ(log[i].val_ndcg10, full_log[i].val_ndcg10) << "epoch " << i + 1;
  }
  std::vector<float> a, b;
  std::vector<uint32_t> hist = {2, 3, 4};
  full->Score(hist, a);
  resumed->Score(hist, b);
  EXPECT_EQ(a, b);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vane
